"""Ingest: what the networks say about a character, stored once per item, with triage signals and the cursor.

The scheduler's listeners turn each network's notifications into `Incoming` items and a `Poll`; `ingest` stores a
poll in one transaction: the new conversations (an item already stored, by this or another scheduler, is skipped
by the database's unique key: INSERT ... ON CONFLICT DO NOTHING), the channel's new cursor and its like and repost
counts. Counts and cursor move together and only from the cursor the poll started at (compare-and-set), so two
schedulers that polled the same page count it once. A failed poll keeps the cursor: the next poll resumes there.
"""

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select, text, update
from sqlalchemy.dialects import sqlite
from sqlalchemy.engine import Connection, Engine
from sqlmodel import col

from characters.core.db import write_transaction
from characters.core.models import (
    SOCIAL_NETWORKS,
    Channel,
    Character,
    Conversation,
    ConversationStatus,
    Delivery,
    DeliveryStatus,
    Workspace,
)
from characters.listening.signals import triage

LISTENED_KINDS = SOCIAL_NETWORKS
REASONS = ("mention", "reply", "quote")
# A thread longer than this is cut to its root, the posts nearest the conversation, and the first replies to it.
MAX_THREAD_POSTS = 100
THREAD_REPLIES_KEPT = 20
# A failed poll is tried again after 30 s, doubling per failure in a row, at most every 30 minutes, and never
# before the network's Retry-After.
RETRY_BASE_SECONDS = 30.0
RETRY_MAX_SECONDS = 1800.0
MAX_ERROR_CHARS = 2000
MAX_NETWORK_ID = 500  # the column's width; a longer id is not a real post's
_CHUNK = 1000  # ids or names per IN (...) list, rows per INSERT


@dataclass(frozen=True)
class Incoming:
    """One mention, reply or quote of the character, as a listener read it from the network."""

    network_id: str  # Bluesky at:// URI, Mastodon status id
    reason: str  # mention, reply or quote
    text: str
    posted_at: datetime
    author_ref: str = ""
    author_handle: str = ""
    author_name: str = ""
    author_avatar_url: str | None = None
    url: str | None = None
    # What a publisher needs to reply: {"id", "url", "cid", "root_uri", "root_cid", "instance"}.
    remote_ref: dict[str, Any] = field(default_factory=dict)
    # The posts this one answers or quotes (parent first, then root): matched against the character's own posts.
    subject_refs: tuple[str, ...] = ()
    # The author blocks the character (or deleted it already): stored for the record, never replied to.
    gone: bool = False


@dataclass(frozen=True)
class Poll:
    """What one poll of a channel found: new items, likes and reposts to count, and the cursor to resume from."""

    items: Sequence[Incoming]
    cursor: str | None
    likes: int = 0
    reposts: int = 0


@dataclass(frozen=True)
class ListenTarget:
    """A channel due for a poll, as stored (credentials still encrypted)."""

    id: int
    kind: str
    workspace_id: int
    character_id: int
    label: str
    settings: dict[str, Any]
    secret_token: str | None
    session_token: str | None
    cursor: str | None
    failures: int


@dataclass(frozen=True)
class IngestReport:
    """What `ingest` did: conversations stored, items already there, and whether this poll moved the cursor."""

    stored: int
    duplicates: int
    cursor_moved: bool


@dataclass(frozen=True)
class ThreadWanted:
    """A conversation whose thread has not been fetched yet."""

    conversation_id: int
    network_id: str
    remote_ref: dict[str, Any]


def _waiting_for_poll(row: Any, now: datetime) -> bool:
    if row.listen_retry_at is not None and row.listen_retry_at > now:
        return False
    interval = timedelta(seconds=max(int(row.listen_interval_seconds or 60), 1))
    return row.listened_at is None or row.listened_at + interval <= now


def claim_channels_due(engine: Engine, now: datetime, limit: int = 50) -> list[ListenTarget]:
    """Return the channels whose workspace's interval has passed (and no backoff holds), each taken by one caller.

    Taking one sets `listened_at` only if nobody changed it since it was read, so two schedulers never poll the same
    channel in the same interval.
    """
    query = (select(col(Channel.id), col(Channel.kind), col(Channel.workspace_id), col(Channel.character_id),
                    col(Channel.label), col(Channel.settings), col(Channel.secret_token), col(Channel.session_token),
                    col(Channel.listen_cursor), col(Channel.listen_failures), col(Channel.listened_at),
                    col(Channel.listen_retry_at), col(Workspace.listen_interval_seconds))
             .join(Workspace, col(Workspace.id) == col(Channel.workspace_id))
             .join(Character, col(Character.id) == col(Channel.character_id))
             .where(col(Channel.kind).in_(LISTENED_KINDS), col(Channel.disabled_at).is_(None),
                    col(Character.archived_at).is_(None))
             .order_by(col(Channel.listened_at).is_not(None), col(Channel.listened_at), col(Channel.id)))
    with engine.connect() as connection:
        due = [row for row in connection.execute(query) if _waiting_for_poll(row, now)][:limit]
    taken: list[ListenTarget] = []
    for row in due:
        with write_transaction(engine) as connection:
            won = connection.execute(
                update(Channel).where(col(Channel.id) == row.id,
                                      col(Channel.listened_at).is_not_distinct_from(row.listened_at))
                .values(listened_at=now)).rowcount
        if won:
            taken.append(ListenTarget(id=row.id, kind=row.kind, workspace_id=row.workspace_id,
                                      character_id=row.character_id, label=row.label,
                                      settings=dict(row.settings or {}), secret_token=row.secret_token,
                                      session_token=row.session_token, cursor=row.listen_cursor,
                                      failures=row.listen_failures))
    return taken


def ingest(engine: Engine, channel_id: int, poll: Poll, now: datetime, *, since_cursor: str | None) -> IngestReport:
    """Store a poll of one channel in one transaction; `since_cursor` is the cursor the poll started from."""
    with write_transaction(engine) as connection:
        return ingest_in_transaction(connection, channel_id, poll, now, since_cursor=since_cursor)


def ingest_in_transaction(connection: Connection, channel_id: int, poll: Poll, now: datetime, *,
                          since_cursor: str | None) -> IngestReport:
    """Store a poll inside the caller's transaction (see `ingest`)."""
    channel = connection.execute(select(col(Channel.workspace_id), col(Channel.character_id), col(Channel.kind))
                                 .where(col(Channel.id) == channel_id)).one_or_none()
    if channel is None:  # removed while it was being polled: nothing to store it under
        return IngestReport(stored=0, duplicates=len(poll.items), cursor_moved=False)
    received = _unique(poll.items)
    # Items stored before (a poll reads back past its cursor) are skipped before any work; one stored meanwhile by
    # another scheduler is skipped by the unique key.
    known = _stored_already(connection, channel_id, [item.network_id for item in received])
    items = [item for item in received if item.network_id not in known]
    rows = _rows(connection, channel, channel_id, items, now)
    stored = _insert_new(connection, rows)
    moved = connection.execute(
        update(Channel).where(col(Channel.id) == channel_id,
                              col(Channel.listen_cursor).is_not_distinct_from(since_cursor))
        .values(listen_cursor=poll.cursor if poll.cursor is not None else since_cursor, listened_at=now,
                listen_error=None, listen_failures=0, listen_retry_at=None,
                likes_received=col(Channel.likes_received) + max(poll.likes, 0),
                reposts_received=col(Channel.reposts_received) + max(poll.reposts, 0))).rowcount
    if not moved:  # another scheduler stored this page first: its counts stand, ours would count it twice
        connection.execute(update(Channel).where(col(Channel.id) == channel_id)
                           .values(listened_at=now, listen_error=None, listen_failures=0, listen_retry_at=None))
    return IngestReport(stored=stored, duplicates=len(poll.items) - stored, cursor_moved=bool(moved))


def _unique(items: Iterable[Incoming]) -> list[Incoming]:
    """Return the items once each (a page boundary can repeat one), oldest first, mentions/replies/quotes only."""
    seen: dict[str, Incoming] = {}
    for item in items:
        if item.reason in REASONS and 0 < len(item.network_id) <= MAX_NETWORK_ID and item.network_id not in seen:
            seen[item.network_id] = item
    return sorted(seen.values(), key=lambda item: (item.posted_at, item.network_id))


def _rows(connection: Connection, channel: Any, channel_id: int, items: list[Incoming],
          now: datetime) -> list[dict[str, Any]]:
    """Return the rows to insert: signals, first-time authors, and the character's post each one answers."""
    known = _known_authors(connection, channel.character_id, {item.author_ref for item in items if item.author_ref})
    subjects = _published_posts(connection, channel_id) if any(item.subject_refs for item in items) else {}
    rows: list[dict[str, Any]] = []
    for item in items:
        signals = triage(item.text)
        first_time = bool(item.author_ref) and item.author_ref not in known
        if item.author_ref:
            known.add(item.author_ref)
        subject = next((subjects[ref] for ref in item.subject_refs if ref in subjects), None)
        rows.append({
            "workspace_id": channel.workspace_id, "character_id": channel.character_id, "channel_id": channel_id,
            "network": channel.kind, "network_id": item.network_id, "reason": item.reason,
            "author_ref": item.author_ref[:300], "author_handle": item.author_handle[:300],
            "author_name": item.author_name[:300], "author_avatar_url": (item.author_avatar_url or None),
            "text": item.text, "url": item.url, "remote_ref": dict(item.remote_ref), "posted_at": item.posted_at,
            "received_at": now, "thread": [], "thread_fetched_at": None, "subject_post_id": subject,
            "is_question": signals.is_question, "is_negative": signals.is_negative, "first_time_author": first_time,
            "status": ConversationStatus.OPEN.value, "assignee_id": None, "status_changed_by_id": None,
            "status_changed_at": None, "replied_at": None, "overdue_notified_at": None,
            "gone_at": now if item.gone else None})
    return rows


def _chunks(values: Sequence[Any]) -> Iterable[Sequence[Any]]:
    for start in range(0, len(values), _CHUNK):
        yield values[start:start + _CHUNK]


def _stored_already(connection: Connection, channel_id: int, network_ids: list[str]) -> set[str]:
    """Return which of these network ids the channel has stored already."""
    found: set[str] = set()
    for chunk in _chunks(network_ids):
        found.update(connection.execute(
            select(col(Conversation.network_id))
            .where(col(Conversation.channel_id) == channel_id, col(Conversation.network_id).in_(chunk))).scalars())
    return found


def _known_authors(connection: Connection, character_id: int, authors: set[str]) -> set[str]:
    """Return which of these authors already wrote to the character (a returning author)."""
    known: set[str] = set()
    for chunk in _chunks(sorted(authors)):
        known.update(connection.execute(
            select(col(Conversation.author_ref)).distinct()
            .where(col(Conversation.character_id) == character_id, col(Conversation.author_ref).in_(chunk))).scalars())
    return known


def _published_posts(connection: Connection, channel_id: int) -> dict[str, int]:
    """Return the network id (Bluesky URI, Mastodon status id) of every part this channel published → its post."""
    found: dict[str, int] = {}
    for post_id, refs in connection.execute(
            select(col(Delivery.post_id), col(Delivery.remote_refs))
            .where(col(Delivery.channel_id) == channel_id, col(Delivery.status) == DeliveryStatus.PUBLISHED.value)):
        for ref in refs or []:
            if isinstance(ref, dict) and ref.get("id"):
                found[str(ref["id"])] = post_id
                uri = (ref.get("extra") or {}).get("uri")  # Mastodon: the status's ActivityPub URI too
                if uri:
                    found[str(uri)] = post_id
    return found


# PostgreSQL: the whole batch as one JSON parameter, unpacked by the server. A multi-row VALUES list of 26 columns
# per row made psycopg parse thousands of placeholders per statement on the client: 10,000 rows took ~5 s that way.
_COLUMN_TYPES = {
    "workspace_id": "int", "character_id": "int", "channel_id": "int", "network": "text", "network_id": "text",
    "reason": "text", "author_ref": "text", "author_handle": "text", "author_name": "text",
    "author_avatar_url": "text", "text": "text", "url": "text", "remote_ref": "json", "posted_at": "timestamptz",
    "received_at": "timestamptz", "thread": "json", "subject_post_id": "int", "is_question": "boolean",
    "is_negative": "boolean", "first_time_author": "boolean", "status": "text", "gone_at": "timestamptz",
}
_COLUMNS = ", ".join(_COLUMN_TYPES)
_RECORD = ", ".join(f"{name} {kind}" for name, kind in _COLUMN_TYPES.items())
# Every name in it is a constant above; the rows are a bound parameter.
_INSERT_FROM_JSON = text(
    f"INSERT INTO conversation ({_COLUMNS}) SELECT {_COLUMNS} "  # noqa: S608
    f"FROM jsonb_to_recordset(CAST(:rows AS jsonb)) AS r({_RECORD}) "
    "ON CONFLICT (channel_id, network_id) DO NOTHING RETURNING id")
_INSERT_SQLITE = (sqlite.insert(Conversation).on_conflict_do_nothing(index_elements=["channel_id", "network_id"])
                  .returning(col(Conversation.id)))


def _json_row(row: dict[str, Any]) -> dict[str, Any]:
    return {name: value.isoformat() if isinstance(value, datetime) else value
            for name, value in row.items() if name in _COLUMN_TYPES}


def _insert_new(connection: Connection, rows: list[dict[str, Any]]) -> int:
    """Insert the rows not stored yet (by channel and network id) and return how many were new."""
    if not rows:
        return 0
    stored = 0
    for chunk in _chunks(rows):
        if connection.dialect.name == "postgresql":
            found = connection.execute(_INSERT_FROM_JSON, {"rows": json.dumps([_json_row(row) for row in chunk])})
        else:
            found = connection.execute(_INSERT_SQLITE, list(chunk))
        stored += len(found.all())
    return stored


def retry_at(failures: int, now: datetime, retry_after: float | None) -> datetime:
    """Return when to poll again after `failures` failures in a row (exponential, never before Retry-After)."""
    delay = min(RETRY_MAX_SECONDS, RETRY_BASE_SECONDS * 2.0 ** max(failures - 1, 0))
    if retry_after is not None:
        delay = max(delay, retry_after)
    return now + timedelta(seconds=delay)


def record_poll_failure(engine: Engine, channel_id: int, message: str, now: datetime,
                        retry_after: float | None = None) -> datetime:
    """Show why a poll failed on the channel and hold the next one back; the cursor stays. Return the retry time."""
    with write_transaction(engine) as connection:
        failures = connection.execute(select(col(Channel.listen_failures))
                                      .where(col(Channel.id) == channel_id)).scalar_one_or_none() or 0
        when = retry_at(failures + 1, now, retry_after)
        connection.execute(update(Channel).where(col(Channel.id) == channel_id)
                           .values(listen_error=message[:MAX_ERROR_CHARS], listen_failures=failures + 1,
                                   listen_retry_at=when))
    return when


def threads_to_fetch(engine: Engine, channel_id: int, limit: int = 25) -> list[ThreadWanted]:
    """Return conversations of the channel whose thread was never fetched, oldest first."""
    with engine.connect() as connection:
        return [ThreadWanted(conversation_id=row.id, network_id=row.network_id, remote_ref=dict(row.remote_ref or {}))
                for row in connection.execute(
                    select(col(Conversation.id), col(Conversation.network_id), col(Conversation.remote_ref))
                    .where(col(Conversation.channel_id) == channel_id, col(Conversation.thread_fetched_at).is_(None),
                           col(Conversation.gone_at).is_(None))
                    .order_by(col(Conversation.received_at), col(Conversation.id)).limit(limit))]


def save_thread(engine: Engine, conversation_id: int, thread: list[dict[str, Any]], now: datetime) -> None:
    """Cache a conversation's thread (root first); it is not fetched again."""
    with write_transaction(engine) as connection:
        connection.execute(update(Conversation).where(col(Conversation.id) == conversation_id)
                           .values(thread=thread, thread_fetched_at=now))


def mark_gone(engine: Engine, conversation_ids: Sequence[int], now: datetime) -> int:
    """Record that these conversations' posts are deleted or out of reach (blocked); return how many changed."""
    if not conversation_ids:
        return 0
    with write_transaction(engine) as connection:
        return int(connection.execute(
            update(Conversation).where(col(Conversation.id).in_(list(conversation_ids)),
                                       col(Conversation.gone_at).is_(None))
            .values(gone_at=now, thread_fetched_at=func.coalesce(col(Conversation.thread_fetched_at), now))).rowcount)


def trim_thread(ancestors: Sequence[dict[str, Any]], focus: dict[str, Any], replies: Sequence[dict[str, Any]],
                limit: int = MAX_THREAD_POSTS) -> list[dict[str, Any]]:
    """Return the thread root first, at most `limit` posts: the root, the posts nearest the focus, the focus, and
    the first replies to it. A gap is marked on the post after it (`omitted_before`: how many were left out)."""
    kept_replies = list(replies[:min(THREAD_REPLIES_KEPT, max(limit // 5, 0))])
    room = max(limit - 1 - len(kept_replies), 0)  # what is left for the ancestors
    chain = list(ancestors)
    if len(chain) > room:
        head = chain[:1] if room else []
        tail_size = max(room - len(head), 0)
        tail = chain[len(chain) - tail_size:] if tail_size else []
        omitted = len(chain) - len(head) - len(tail)
        first_after_gap = dict(tail[0] if tail else focus)
        first_after_gap["omitted_before"] = omitted
        if tail:
            tail = [first_after_gap, *tail[1:]]
        else:
            focus = first_after_gap
        chain = [*head, *tail]
    more_replies = len(replies) - len(kept_replies)
    thread = [*chain, dict(focus), *kept_replies]
    if more_replies > 0 and kept_replies:
        thread[-1] = {**thread[-1], "omitted_after": more_replies}
    return thread
