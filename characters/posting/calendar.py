"""The schedule as a calendar: posts in a time range, and the workspace's iCalendar feed behind a secret token."""

import functools
import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, bindparam, func, or_, union_all
from sqlalchemy import select as sa_select
from sqlmodel import Session, col, select

from characters.accounts.workspaces import Action, Member
from characters.core.errors import NotFound
from characters.core.models import Campaign, Character, Post, PostPart, PostStatus, UTCDateTime, Workspace, utcnow

SCHEDULED = (PostStatus.APPROVED, PostStatus.PUBLISHING, PostStatus.PUBLISHED, PostStatus.FAILED,
             PostStatus.UNCONFIRMED, PostStatus.MISSED)
FEED_PAST = timedelta(days=7)
FEED_AHEAD = timedelta(days=60)
FEED_PAST_EVENTS = 100
FEED_AHEAD_EVENTS = 400
_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f]")
EVENT_MINUTES = 15


@dataclass(frozen=True)
class CalendarEntry:
    """One scheduled post as the calendar shows it."""

    post: Post
    character: Character
    text: str
    campaign: Campaign | None


def _scheduled(workspace: Workspace, start: datetime, end: datetime, statuses: tuple[PostStatus, ...],
               character_id: int | None, campaign_id: int | None) -> list[ColumnElement[bool]]:
    """Return the conditions for the workspace's posts due in [start, end) with these statuses and filters."""
    conditions = [col(Post.workspace_id) == workspace.id, col(Post.due_at) >= start, col(Post.due_at) < end,
                  col(Post.status).in_([status.value for status in statuses])]
    if character_id is not None:
        conditions.append(col(Post.character_id) == character_id)
    if campaign_id is not None:
        conditions.append(col(Post.campaign_id) == campaign_id)
    return conditions


def _entries(session: Session, condition: ColumnElement[bool], *order: Any, limit: int | None = None
             ) -> list[CalendarEntry]:
    """Return the posts matching `condition` with their character, first part's text and campaign."""
    query = (select(Post, Character, PostPart.text, Campaign)
             .join(Character, col(Character.id) == col(Post.character_id))
             .join(PostPart, (col(PostPart.post_id) == col(Post.id)) & (col(PostPart.position) == 0), isouter=True)
             .join(Campaign, col(Campaign.id) == col(Post.campaign_id), isouter=True)
             .where(condition).order_by(*order).limit(limit))
    return [CalendarEntry(post, character, text or "", campaign)
            for post, character, text, campaign in session.exec(query).all()]


def calendar_entries(session: Session, workspace: Workspace, start: datetime, end: datetime, *,
                     character_id: int | None = None, campaign_id: int | None = None,
                     statuses: tuple[PostStatus, ...] = SCHEDULED, after: Post | None = None,
                     limit: int | None = None) -> list[CalendarEntry]:
    """Return the workspace's posts due in [start, end), soonest first: the first `limit` of them after `after`."""
    conditions = _scheduled(workspace, start, end, statuses, character_id, campaign_id)
    if after is not None and after.due_at is not None:
        conditions.append(or_(col(Post.due_at) > after.due_at,
                              and_(col(Post.due_at) == after.due_at, col(Post.id) > after.id)))
    return _entries(session, and_(*conditions), col(Post.due_at), col(Post.id), limit=limit)


@dataclass(frozen=True)
class ShownPost:
    """What a calendar cell shows of a post (read as a plain row, not an ORM post)."""

    id: int
    status: PostStatus
    version: int
    due_at: datetime


@dataclass(frozen=True)
class ShownCharacter:
    """What a calendar cell shows of a post's character."""

    id: int
    name: str
    slug: str
    has_avatar: bool
    updated_at: datetime


@dataclass(frozen=True)
class ShownCampaign:
    """What a calendar cell shows of a post's campaign."""

    name: str


@dataclass(frozen=True)
class DayEntry:
    """One post in a calendar cell: the post, its character, its first part's text and its campaign."""

    post: ShownPost
    character: ShownCharacter
    text: str
    campaign: ShownCampaign | None


@dataclass(frozen=True)
class CalendarDays:
    """A calendar's days: how many posts each has, and the first few of each, soonest first."""

    counts: list[int]
    entries: list[list[DayEntry]]


def calendar_days(session: Session, workspace: Workspace, bounds: list[datetime], *, per_day: int,
                  character_id: int | None = None, campaign_id: int | None = None,
                  statuses: tuple[PostStatus, ...] = SCHEDULED) -> CalendarDays:
    """Count the posts due on each day (day i is [bounds[i], bounds[i + 1])) and return the first `per_day` of each.

    Three queries whatever the number of posts, each made of one small index range per day: every day's count,
    the ids of every day's first posts, and those posts.
    """
    counting, firsts = _day_statements(len(bounds) - 1, per_day, character_id is not None, campaign_id is not None)
    params = {"workspace": workspace.id, "statuses": [status.value for status in statuses],
              "character": character_id, "campaign": campaign_id,
              **{f"bound{number}": bound for number, bound in enumerate(bounds)}}
    counts = [int(count or 0) for count in session.execute(counting, params).one()]
    entries: list[list[DayEntry]] = [[] for _ in counts]
    if any(counts):
        ids = list(session.execute(firsts, params).scalars())
        for entry in _day_entries(session, ids):
            entries[_day_of(bounds, entry.post.due_at)].append(entry)
    return CalendarDays(counts=counts, entries=entries)


def _day_entries(session: Session, ids: list[int]) -> list[DayEntry]:
    """Return the posts `ids` as plain rows with their character, first part's text and campaign, soonest first.

    A month shows ~170 posts: building ORM posts, characters and campaigns for them cost more than the query.
    """
    rows = session.execute(
        sa_select(col(Post.id), col(Post.status), col(Post.version), col(Post.due_at), col(Character.id),
                  col(Character.name), col(Character.slug), col(Character.avatar_png).is_not(None),
                  col(Character.updated_at), col(PostPart.text), col(Campaign.name))
        .join(Character, col(Character.id) == col(Post.character_id))
        .join(PostPart, (col(PostPart.post_id) == col(Post.id)) & (col(PostPart.position) == 0), isouter=True)
        .join(Campaign, col(Campaign.id) == col(Post.campaign_id), isouter=True)
        .where(col(Post.id).in_(ids)).order_by(col(Post.due_at), col(Post.id))).all()
    characters: dict[int, ShownCharacter] = {}
    campaigns: dict[str, ShownCampaign] = {}
    entries = []
    for (post_id, status, version, due_at, character_id, name, slug, has_avatar, updated_at, text,
         campaign) in rows:
        character = characters.get(character_id)
        if character is None:
            character = characters[character_id] = ShownCharacter(character_id, name, slug, bool(has_avatar),
                                                                   updated_at)
        shown = None if campaign is None else campaigns.setdefault(campaign, ShownCampaign(campaign))
        entries.append(DayEntry(ShownPost(post_id, status, version, due_at), character, text or "", shown))
    return entries


@functools.lru_cache(maxsize=32)
def _day_statements(days: int, per_day: int, by_character: bool, by_campaign: bool) -> tuple[Select[Any], Any]:
    """Return the statements that count each day's posts and list its first ones, with bound parameters.

    Built once per shape and reused: building (and keying) a statement of 42 subqueries took longer than running it.
    """
    def day(number: int) -> list[ColumnElement[bool]]:
        conditions = [col(Post.workspace_id) == bindparam("workspace"),
                      col(Post.due_at) >= bindparam(f"bound{number}", type_=UTCDateTime()),
                      col(Post.due_at) < bindparam(f"bound{number + 1}", type_=UTCDateTime()),
                      col(Post.status).in_(bindparam("statuses", expanding=True))]
        if by_character:
            conditions.append(col(Post.character_id) == bindparam("character"))
        if by_campaign:
            conditions.append(col(Post.campaign_id) == bindparam("campaign"))
        return conditions

    counting = sa_select(*[sa_select(func.count()).select_from(Post).where(*day(number)).scalar_subquery()
                           for number in range(days)])
    firsts = [sa_select(col(Post.id)).where(*day(number)).order_by(col(Post.due_at), col(Post.id)).limit(per_day)
              .subquery() for number in range(days)]
    return counting, union_all(*[sa_select(first.c.id) for first in firsts])


def _day_of(bounds: list[datetime], due: datetime) -> int:
    return next(number for number, bound in enumerate(bounds[1:]) if due < bound)


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
    """Write the workspace's schedule as an iCalendar file: the posts of the last 7 days and the next 60.

    A busy workspace has more than a calendar app wants: the feed then holds the 100 latest past posts and the
    400 next ones, and its description says which dates it covers and that Greenroom's calendar has the rest.
    Written by hand (RFC 5545 text escaping and line folding): a thousand events take milliseconds.
    """
    moment = now or utcnow()
    past = list(reversed(_feed_events(session, _scheduled(workspace, moment - FEED_PAST, moment, SCHEDULED, None, None),
                                      col(Post.due_at).desc(), col(Post.id).desc(), limit=FEED_PAST_EVENTS + 1)))
    ahead = _feed_events(session, _scheduled(workspace, moment, moment + FEED_AHEAD, SCHEDULED, None, None),
                         col(Post.due_at), col(Post.id), limit=FEED_AHEAD_EVENTS + 1)
    cut = len(past) > FEED_PAST_EVENTS or len(ahead) > FEED_AHEAD_EVENTS
    entries = past[-FEED_PAST_EVENTS:] + ahead[:FEED_AHEAD_EVENTS]
    description = f"Posts due from {_day(moment - FEED_PAST)} to {_day(moment + FEED_AHEAD)}."
    if cut and entries:
        description = (f"This feed holds at most {FEED_PAST_EVENTS + FEED_AHEAD_EVENTS:,} posts: those due from "
                       f"{_day(entries[0].due_at)} to {_day(entries[-1].due_at)}. Greenroom's calendar shows them all.")
    lines = ["BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//Greenroom//Schedule//EN",
             f"X-WR-CALNAME:{_ics_text(f'{workspace.name} · Greenroom')}", f"X-WR-CALDESC:{_ics_text(description)}"]
    for entry in entries:
        lines += _event_lines(entry, workspace.slug)
    lines.append("END:VCALENDAR")
    return "".join(_fold(line) + "\r\n" for line in lines).encode()


@dataclass(frozen=True)
class _FeedEvent:
    """One post as the iCal feed writes it."""

    id: int
    status: str
    version: int
    updated_at: datetime
    due_at: datetime
    character: str
    text: str
    campaign: str | None


def _feed_events(session: Session, conditions: list[ColumnElement[bool]], *order: Any, limit: int
                 ) -> list[_FeedEvent]:
    """Return the feed's posts matching `conditions` with what an event shows, read as plain rows.

    Not as ORM objects: building 500 posts with their characters and campaigns was most of the feed's time.
    """
    query = (sa_select(col(Post.id), col(Post.status), col(Post.version), col(Post.updated_at), col(Post.due_at),
                       col(Character.name), col(PostPart.text), col(Campaign.name))
             .join(Character, col(Character.id) == col(Post.character_id))
             .join(PostPart, (col(PostPart.post_id) == col(Post.id)) & (col(PostPart.position) == 0), isouter=True)
             .join(Campaign, col(Campaign.id) == col(Post.campaign_id), isouter=True)
             .where(*conditions).order_by(*order).limit(limit))
    return [_FeedEvent(post_id, status, version, updated_at, due_at, character, text or "", campaign)
            for post_id, status, version, updated_at, due_at, character, text, campaign in session.execute(query)]


def _event_lines(event: _FeedEvent, workspace_slug: str) -> list[str]:
    due = event.due_at
    description = (f"{event.text}\n\nStatus: {event.status}, version {event.version}"
                   + (f"\nCampaign: {event.campaign}" if event.campaign else ""))
    # Only what is approved or out is confirmed; a failed or unconfirmed delivery still needs a person.
    settled = event.status in (PostStatus.APPROVED, PostStatus.PUBLISHING, PostStatus.PUBLISHED)
    return ["BEGIN:VEVENT", f"UID:post-{event.id}@{workspace_slug}.greenroom",
            f"DTSTAMP:{_ics_time(event.updated_at)}",
            f"DTSTART:{_ics_time(due)}", f"DTEND:{_ics_time(due + timedelta(minutes=EVENT_MINUTES))}",
            f"SUMMARY:{_ics_text(f'{event.character}: {_one_line(event.text)}')}",
            f"DESCRIPTION:{_ics_text(description)}", f"CATEGORIES:{_ics_text(event.character)}",
            f"STATUS:{'CONFIRMED' if settled else 'TENTATIVE'}", "END:VEVENT"]


def _day(moment: datetime) -> str:
    return f"{moment:%a} {moment.day} {moment:%b %Y}"


def _ics_time(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")


def _ics_text(text: str) -> str:
    """Escape a TEXT value (RFC 5545 3.3.11); control characters other than newlines are dropped."""
    text = text.replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,")
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\n", "\\n")
    return _CONTROL.sub("", text)


def _fold(line: str) -> str:
    """Fold a content line into 75-octet pieces (RFC 5545 3.1), never inside a UTF-8 character."""
    data = line.encode()
    if len(data) <= 75:
        return line
    pieces, start, width = [], 0, 75
    while start < len(data):
        end = min(start + width, len(data))
        while end < len(data) and data[end] & 0xC0 == 0x80:  # a continuation byte: cut before its character
            end -= 1
        pieces.append(data[start:end].decode())
        start, width = end, 74  # a continuation line starts with a space
    return "\r\n ".join(pieces)


def _one_line(text: str, limit: int = 60) -> str:
    line = " ".join(text.split())
    return line if len(line) <= limit else line[: limit - 1] + "…"
