"""Work on many posts at once: each post is its own step, so one refusal never undoes the others."""

from datetime import date, datetime

from sqlmodel import Session

from characters.accounts.workspaces import Action, Member
from characters.audit.log import record_event
from characters.consistency.judge import LlmJudge
from characters.core.errors import DomainError
from characters.core.models import Post, PostStatus
from characters.posting.planning import next_time_or_refuse
from characters.posting.posts import EDITABLE, checked_campaign_id
from characters.posting.rhythm import local_to_utc, zones_of
from characters.posting.workflow import (
    approve_post,
    cancel_post,
    character_of,
    refusal,
    reschedule_post,
    submit_post,
)

# What the posts list offers, in the words of its menu.
BULK_ACTIONS = {
    "submit": "Submit for review",
    "approve": "Approve for the next free slot",
    "campaign": "Move to the campaign",
    "reschedule": "Move to another day",
    "cancel": "Delete (cancel)",
}
MAX_BULK = 200


def apply_bulk(
    *,
    session: Session,
    member: Member,
    post: Post,
    action: str,
    now: datetime,
    campaign_id: int | None = None,
    day: date | None = None,
    judge: LlmJudge | None = None,
) -> str:
    """Apply one of BULK_ACTIONS to one post and say what happened; DomainError (or a refusal) when it cannot."""
    if action == "submit":
        check = submit_post(session=session, member=member, post=post, expected_version=post.version, judge=judge)
        return f"Submitted (score {check.score}, {check.verdict})."
    if action == "approve":
        due = next_time_or_refuse(session, post, character_of(session, post), now)
        approve_post(
            session=session, member=member, post=post, expected_version=post.version, due_at=due, now=now, judge=judge
        )
        return f"Approved for {due:%Y-%m-%d %H:%M} UTC."
    if action == "cancel":
        cancel_post(
            session=session,
            member=member,
            post=post,
            expected_version=post.version,
            reason="Deleted from the posts list.",
        )
        return "Cancelled: nothing of it will be published."
    if action == "campaign":
        return move_to_campaign(session, member, post, campaign_id)
    if action == "reschedule":
        return move_to_day(session, member, post, day, now)
    raise DomainError("Pick what to do with the selected posts.")


def move_to_campaign(session: Session, member: Member, post: Post, campaign_id: int | None) -> str:
    """Put a post that can still be edited into a campaign (or take it out with None)."""
    member.require(Action.DRAFT)
    if post.status not in EDITABLE or post.scene_id is not None:
        raise DomainError(
            refusal(post.status, "moved to a campaign")
            if post.scene_id is None
            else "A scene's line moves with its scene."
        )
    before = post.campaign_id
    post.campaign_id = checked_campaign_id(session, member.workspace, campaign_id)
    session.add(post)
    session.flush()
    record_event(
        session,
        workspace_id=post.workspace_id,
        actor=member.user,
        action="campaign",
        post=post,
        details={"from": before, "to": post.campaign_id},
    )
    return "Moved to the campaign." if post.campaign_id else "Taken out of its campaign."


def move_to_day(session: Session, member: Member, post: Post, day: date | None, now: datetime) -> str:
    """Move an approved post to `day` at the same time of day in its character's zone."""
    if day is None:
        raise DomainError("Pick the day to move the posts to.", field="day")
    if post.status != PostStatus.APPROVED or post.due_at is None:
        raise DomainError(refusal(post.status, "rescheduled"))
    zone = zones_of(session, [character_of(session, post)])[post.character_id]
    local = post.due_at.astimezone(zone)
    due = local_to_utc(day, local.time().replace(tzinfo=None), zone)
    reschedule_post(session=session, member=member, post=post, expected_version=post.version, due_at=due, now=now)
    return f"Moved to {due.astimezone(zone):%a %d %b, %H:%M} {zone.key} time."
