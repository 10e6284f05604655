"""Campaigns: a named push with a date range, a goal and characters; posts belong to one and show its progress."""

from dataclasses import dataclass
from datetime import date

from pydantic import BaseModel, Field, field_validator, model_validator
from sqlalchemy import func
from sqlmodel import Session, col, select

from characters.accounts.workspaces import Action, Member
from characters.core.errors import DomainError, NotFound
from characters.core.models import Campaign, Character, Post, PostStatus, Workspace, require_id


class CampaignInput(BaseModel):
    """A campaign as a form sends it, validated before it is saved."""

    name: str = Field(min_length=1, max_length=200)
    goal: str = Field(default="", max_length=2000)
    starts_on: date | None = None
    ends_on: date | None = None
    character_ids: list[int] = Field(default_factory=list, max_length=500)

    @field_validator("name")
    @classmethod
    def _strip_name(cls, value: str) -> str:
        value = value.strip()
        if not value:
            raise ValueError("a campaign needs a name")
        return value

    @model_validator(mode="after")
    def _range(self) -> "CampaignInput":
        if self.starts_on and self.ends_on and self.ends_on < self.starts_on:
            raise ValueError("the campaign cannot end before it starts")
        return self


def _checked_characters(session: Session, workspace: Workspace, ids: list[int]) -> list[int]:
    if not ids:
        return []
    rows = session.exec(select(Character.id).where(Character.workspace_id == workspace.id,
                                                   col(Character.id).in_(ids))).all()
    found = {character_id for character_id in rows if character_id is not None}
    if len(found) != len(set(ids)):
        raise DomainError("Pick characters of this workspace only.", field="character_ids")
    return sorted(found)


def create_campaign(*, session: Session, member: Member, data: CampaignInput) -> Campaign:
    """Create a campaign (editors and owners plan campaigns)."""
    member.require(Action.SCHEDULE)
    campaign = Campaign(workspace_id=require_id(member.workspace), name=data.name, goal=data.goal.strip(),
                        starts_on=data.starts_on, ends_on=data.ends_on,
                        character_ids=_checked_characters(session, member.workspace, data.character_ids))
    session.add(campaign)
    session.flush()
    return campaign


def update_campaign(*, session: Session, member: Member, campaign: Campaign, data: CampaignInput) -> Campaign:
    """Change a campaign's name, goal, dates and characters."""
    member.require(Action.SCHEDULE)
    if campaign.workspace_id != member.workspace.id:
        raise NotFound("No such campaign in this workspace.")
    campaign.name, campaign.goal = data.name, data.goal.strip()
    campaign.starts_on, campaign.ends_on = data.starts_on, data.ends_on
    campaign.character_ids = _checked_characters(session, member.workspace, data.character_ids)
    session.add(campaign)
    session.flush()
    return campaign


def list_campaigns(session: Session, workspace: Workspace) -> list[Campaign]:
    """Return the workspace's campaigns, latest start first (undated ones last)."""
    campaigns = list(session.exec(select(Campaign).where(Campaign.workspace_id == workspace.id)).all())
    return sorted(campaigns, key=lambda c: (c.starts_on is None, -(c.starts_on or date.min).toordinal(), c.name))


def get_campaign(session: Session, workspace: Workspace, campaign_id: int) -> Campaign:
    """Return a campaign of this workspace or raise NotFound."""
    campaign = session.get(Campaign, campaign_id)
    if campaign is None or campaign.workspace_id != workspace.id:
        raise NotFound("No such campaign in this workspace.")
    return campaign


@dataclass(frozen=True)
class Progress:
    """How far a campaign's posts have come."""

    drafted: int
    in_review: int
    approved: int
    published: int
    other: int

    @property
    def total(self) -> int:
        """Return the number of posts in the campaign."""
        return self.drafted + self.in_review + self.approved + self.published + self.other

    def percent(self, count: int) -> int:
        """Return `count` as a whole percentage of the total."""
        return round(100 * count / self.total) if self.total else 0


def progress_of(session: Session, campaign: Campaign) -> Progress:
    """Count the campaign's posts by stage (publishing counts as approved; cancelled, failed… as other)."""
    rows = session.exec(select(Post.status, func.count()).where(Post.campaign_id == campaign.id)
                        .group_by(col(Post.status))).all()
    counts = {PostStatus(status): count for status, count in rows}
    return Progress(drafted=counts.get(PostStatus.DRAFT, 0), in_review=counts.get(PostStatus.IN_REVIEW, 0),
                    approved=counts.get(PostStatus.APPROVED, 0) + counts.get(PostStatus.PUBLISHING, 0),
                    published=counts.get(PostStatus.PUBLISHED, 0),
                    other=sum(count for status, count in counts.items() if status not in (
                        PostStatus.DRAFT, PostStatus.IN_REVIEW, PostStatus.APPROVED, PostStatus.PUBLISHING,
                        PostStatus.PUBLISHED)))
