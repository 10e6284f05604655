"""The schedule as a calendar: posts in a time range, and the workspace's iCalendar feed behind a secret token."""

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from icalendar import Calendar, Event
from sqlmodel import Session, col, select

from characters.accounts.workspaces import Action, Member
from characters.core.errors import NotFound
from characters.core.models import Campaign, Character, Post, PostPart, PostStatus, Workspace, utcnow

SCHEDULED = (PostStatus.APPROVED, PostStatus.PUBLISHING, PostStatus.PUBLISHED, PostStatus.FAILED,
             PostStatus.UNCONFIRMED, PostStatus.MISSED)
FEED_PAST = timedelta(days=30)
FEED_AHEAD = timedelta(days=180)
EVENT_MINUTES = 15


@dataclass(frozen=True)
class CalendarEntry:
    """One scheduled post as the calendar shows it."""

    post: Post
    character: Character
    text: str
    campaign: Campaign | None


def calendar_entries(session: Session, workspace: Workspace, start: datetime, end: datetime, *,
                     character_id: int | None = None, campaign_id: int | None = None,
                     statuses: tuple[PostStatus, ...] = SCHEDULED, limit: int = 2000) -> list[CalendarEntry]:
    """Return the workspace's posts due in [start, end), soonest first, with their first part's text."""
    query = (select(Post, Character, PostPart.text, Campaign)
             .join(Character, col(Character.id) == col(Post.character_id))
             .join(PostPart, (col(PostPart.post_id) == col(Post.id)) & (col(PostPart.position) == 0), isouter=True)
             .join(Campaign, col(Campaign.id) == col(Post.campaign_id), isouter=True)
             .where(Post.workspace_id == workspace.id, col(Post.due_at) >= start, col(Post.due_at) < end,
                    col(Post.status).in_([status.value for status in statuses])))
    if character_id is not None:
        query = query.where(Post.character_id == character_id)
    if campaign_id is not None:
        query = query.where(Post.campaign_id == campaign_id)
    rows = session.exec(query.order_by(col(Post.due_at), col(Post.id)).limit(limit)).all()
    return [CalendarEntry(post, character, text or "", campaign) for post, character, text, campaign in rows]


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def rotate_feed_token(*, session: Session, member: Member) -> str:
    """Create (or replace) the workspace's calendar feed token; returned once, stored hashed."""
    member.require(Action.MANAGE_SETTINGS)
    token = secrets.token_urlsafe(24)
    workspace = member.workspace
    workspace.calendar_token_hash = _hash(token)
    session.add(workspace)
    session.flush()
    return token


def revoke_feed_token(*, session: Session, member: Member) -> None:
    """Turn the feed off: the old URL stops working."""
    member.require(Action.MANAGE_SETTINGS)
    member.workspace.calendar_token_hash = None
    session.add(member.workspace)
    session.flush()


def workspace_for_feed_token(session: Session, token: str) -> Workspace:
    """Return the workspace whose feed token this is, or NotFound (same answer for any wrong token)."""
    if not token or len(token) > 200:
        raise NotFound("No such calendar.")
    workspace = session.exec(select(Workspace).where(Workspace.calendar_token_hash == _hash(token))).first()
    if workspace is None:
        raise NotFound("No such calendar.")
    return workspace


def feed_ics(session: Session, workspace: Workspace, now: datetime | None = None) -> bytes:
    """Write the workspace's schedule (30 days back, 180 ahead) as an iCalendar file."""
    moment = now or utcnow()
    calendar = Calendar()
    calendar.add("prodid", "-//Greenroom//Schedule//EN")
    calendar.add("version", "2.0")
    calendar.add("x-wr-calname", f"{workspace.name} · Greenroom")
    for entry in calendar_entries(session, workspace, moment - FEED_PAST, moment + FEED_AHEAD):
        due = entry.post.due_at
        if due is None:
            continue
        event = Event()
        event.add("uid", f"post-{entry.post.id}@{workspace.slug}.greenroom")
        event.add("dtstamp", entry.post.updated_at)
        event.add("dtstart", due)
        event.add("dtend", due + timedelta(minutes=EVENT_MINUTES))
        event.add("summary", f"{entry.character.name}: {_one_line(entry.text)}")
        event.add("description", f"{entry.text}\n\nStatus: {entry.post.status}, version {entry.post.version}"
                  + (f"\nCampaign: {entry.campaign.name}" if entry.campaign else ""))
        event.add("categories", [entry.character.name])
        # Only what is approved or out is confirmed; a failed or unconfirmed delivery still needs a person.
        settled = entry.post.status in (PostStatus.APPROVED, PostStatus.PUBLISHING, PostStatus.PUBLISHED)
        event.add("status", "CONFIRMED" if settled else "TENTATIVE")
        calendar.add_component(event)
    ical: bytes = calendar.to_ical()
    return ical


def _one_line(text: str, limit: int = 60) -> str:
    line = " ".join(text.split())
    return line if len(line) <= limit else line[: limit - 1] + "…"
