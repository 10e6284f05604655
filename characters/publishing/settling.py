"""Sending and settling: the marker committed before any network call, then every outcome applied under the fence.

`sending_started_at` is committed before the publisher is called, so a crash from then on never leads to a blind
resend. Every write after the claim is fenced on `lease_owner = me AND status = 'publishing'`: a worker that lost
its lease changes nothing.
"""

import random
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import JSON, bindparam, exists, insert, select, update
from sqlalchemy.engine import Connection, Engine
from sqlmodel import col

from characters.core.db import write_transaction
from characters.core.models import (
    Channel,
    Character,
    Conversation,
    ConversationStatus,
    Delivery,
    DeliveryStatus,
    Membership,
    Notification,
    Post,
    Role,
)
from characters.publishing.post_status import PostInfo, refresh_posts
from characters.publishing.sql import (
    NOT_SENT,
    PENDING,
    PUBLISHING,
    Statement,
    add_audit_events,
    ids_of,
    in_ids,
    owned,
    post_is_live,
)

MAX_ATTEMPTS = 5
RETRY_BASE_SECONDS = 30.0
RETRY_MAX_SECONDS = 3600.0
MAX_ERROR_CHARS = 4000
MAX_NOTIFICATION_CHARS = 2000


@dataclass(frozen=True)
class Published:
    """The network accepted every part."""

    delivery_id: int
    refs: list[dict[str, Any]]
    url: str | None = None


@dataclass(frozen=True)
class Failure:
    """The network refused, or the delivery cannot be sent at all; retried only when `retryable`."""

    delivery_id: int
    message: str
    retryable: bool = False
    retry_after: float | None = None


@dataclass(frozen=True)
class Unconfirmed:
    """The delivery may or may not have reached the network; a person decides."""

    delivery_id: int
    reason: str


@dataclass(frozen=True)
class Missed:
    """Found later than the workspace's grace period; held for an editor."""

    delivery_id: int
    reason: str


@dataclass(frozen=True)
class Released:
    """Not sent: back to pending, optionally later (`not_before`) or off the clock (`unschedule`)."""

    delivery_id: int
    reason: str = ""
    not_before: datetime | None = None
    unschedule: bool = False


@dataclass(frozen=True)
class Resend:
    """Maybe sent, but the network proved a resend safe (absent, or deduplicated): back to pending, same key.

    Only ever the outcome of a look-up; it clears the sending marker, which nothing else may do once set.
    """

    delivery_id: int
    reason: str
    not_before: datetime | None = None


@dataclass(frozen=True)
class LookupLater:
    """Maybe sent, and the network could not be asked: stays publishing, looked up again after `not_before`.

    The lease is handed back with that expiry, so any reaper takes it up then; never taken as absence.
    """

    delivery_id: int
    reason: str
    not_before: datetime


Settlement = Published | Failure | Unconfirmed | Missed | Released | Resend | LookupLater


@dataclass(frozen=True)
class BatchResult:
    """Which deliveries a batch settled and which it marked as sending."""

    settled: set[int]
    started: set[int]


_DEFAULT_RNG = random.Random()  # noqa: S311 - jitter, not security


def start_sending(engine: Engine, worker_id: str, delivery_ids: Iterable[int], now: datetime) -> set[int]:
    """Record that these deliveries are about to be sent; return the ids that may be sent now.

    The marker is committed before any network call, so a crash from here on never leads to a blind resend.
    A delivery whose post was edited or cancelled since the claim is released instead (back to pending, off the
    clock until it is approved again).
    """
    return write_batch(engine, worker_id, now, start=delivery_ids).started


_START_SENDING = Statement(lambda postgresql: (
    update(Delivery)
    .where(in_ids(col(Delivery.id), postgresql), owned(), NOT_SENT,
           exists().where(col(Post.id) == col(Delivery.post_id), post_is_live()))
    .values(sending_started_at=bindparam("b_now"), attempts=col(Delivery.attempts) + 1)
    .returning(col(Delivery.id))))
# The post is read again here: on PostgreSQL each statement sees what is committed when it starts, so a post that
# only looked not-live to the first statement (a concurrent status refresh) keeps its schedule; the unstarted
# delivery's lease then runs out and it is claimed again.
_UNSCHEDULE_UNSENT = Statement(lambda postgresql: (
    update(Delivery).where(in_ids(col(Delivery.id), postgresql), owned(), NOT_SENT,
                           ~exists().where(col(Post.id) == col(Delivery.post_id), post_is_live()))
    .values(status=PENDING, due_at=None, lease_owner=None, lease_expires_at=None)))


def _start_sending(connection: Connection, worker_id: str, ids: list[int], now: datetime) -> set[int]:
    if not ids:
        return set()
    params = {"b_ids": ids, "b_worker": worker_id, "b_now": now}
    started = ids_of(connection.execute(_START_SENDING.on(connection), params))
    stale = [delivery_id for delivery_id in ids if delivery_id not in started]
    if stale:
        connection.execute(_UNSCHEDULE_UNSENT.on(connection), {"b_ids": stale, "b_worker": worker_id})
    return started


def write_batch(engine: Engine, worker_id: str, now: datetime, *, settle: Sequence[Settlement] = (),
                start: Iterable[int] = (), rng: random.Random | None = None) -> BatchResult:
    """Settle outcomes and mark deliveries as sending, in one transaction (a worker's group commit)."""
    ids = sorted(start)
    if not settle and not ids:
        return BatchResult(set(), set())
    with write_transaction(engine) as connection:
        settled = settle_in_transaction(connection, worker_id, settle, now, rng) if settle else set()
        return BatchResult(settled, _start_sending(connection, worker_id, ids, now))


def retry_delay(attempts: int, retry_after: float | None, rng: random.Random) -> float:
    """Return seconds to wait before attempt `attempts + 1`: exponential, jittered, never before Retry-After."""
    ceiling = min(RETRY_MAX_SECONDS, RETRY_BASE_SECONDS * 2.0 ** max(attempts - 1, 0))
    # Half-to-full jitter: spreads retries of many deliveries failing together, never waits less than half.
    delay = ceiling * (0.5 + rng.random() / 2)
    return max(delay, retry_after) if retry_after is not None else delay


def settle(engine: Engine, worker_id: str, settlements: Sequence[Settlement], now: datetime,
           rng: random.Random | None = None) -> set[int]:
    """Apply outcomes to deliveries this worker still leases, in one transaction; return the ids applied.

    Settlements for deliveries whose lease was lost (reaped, or taken by the reaper) change nothing.
    """
    return write_batch(engine, worker_id, now, settle=settlements, rng=rng).settled


def settle_in_transaction(connection: Connection, worker_id: str, settlements: Sequence[Settlement],
                          now: datetime, rng: random.Random | None = None) -> set[int]:
    """Apply outcomes inside the caller's transaction, then the posts' statuses and the notifications."""
    by_id = {settlement.delivery_id: settlement for settlement in settlements}
    rows = {row.id: row for row in connection.execute(_SETTLING.on(connection),
                                                      {"b_ids": sorted(by_id), "b_worker": worker_id})}
    changes: dict[str, list[dict[str, Any]]] = defaultdict(list)
    notes: list[tuple[int, str, bool]] = []  # (post id, message, held for a person)
    for delivery_id, row in rows.items():
        kind, values, note = _change_for(by_id[delivery_id], row, now, rng or _DEFAULT_RNG)
        if kind is None:
            continue
        changes[kind].append({"b_id": delivery_id, **values})
        if note:
            notes.append((row.post_id, note, kind in _HELD))
    for kind, params in changes.items():
        connection.execute(_SETTLE_STATEMENTS[kind], params)
    applied = {param["b_id"] for params in changes.values() for param in params}
    locked = {row.post_id: PostInfo(row.post_status, row.workspace_id, row.author_id, row.scene_id)
              for delivery_id, row in rows.items() if delivery_id in applied}
    posts = refresh_posts(connection, set(locked), now, locked=locked)
    _add_notifications(connection, _notification_rows(connection, notes, posts), now)
    _mark_conversations_replied(connection, [(rows[param["b_id"]], param.get("b_url"))
                                             for param in changes.get("published", [])], now)
    return applied


def _mark_conversations_replied(connection: Connection, published: list[tuple[Any, str | None]],
                                now: datetime) -> None:
    """Mark the conversations these published replies answer as replied, once: the first reply's time stays."""
    replies = [(row, url) for row, url in published if row.conversation_id is not None]
    if not replies:
        return
    events: list[dict[str, Any]] = []
    for row, url in replies:
        changed = connection.execute(
            update(Conversation).where(col(Conversation.id) == row.conversation_id,
                                       col(Conversation.replied_at).is_(None))
            .values(replied_at=now, status=ConversationStatus.REPLIED.value, status_changed_at=now,
                    status_changed_by_id=None)).rowcount
        if changed:
            events.append({"workspace_id": row.workspace_id, "post_id": row.post_id, "action": "conversation.replied",
                           "to_status": ConversationStatus.REPLIED.value,
                           "details": {"conversation_id": row.conversation_id, "url": url}})
    add_audit_events(connection, events)


# Outcomes that wait for a person: anyone who may resolve them is told, not only the author.
_HELD = frozenset({"unconfirmed", "missed"})
_RESOLVERS = (Role.OWNER.value, Role.EDITOR.value)


def _notification_rows(connection: Connection, notes: list[tuple[int, str, bool]],
                       posts: dict[int, PostInfo]) -> list[dict[str, Any]]:
    """Address each note: the author always; for a held post also every editor and owner, once per post."""
    held_workspaces = {posts[post_id].workspace_id for post_id, _, held in notes if held and post_id in posts}
    resolvers: dict[int, list[int]] = defaultdict(list)
    if held_workspaces:  # one query per batch, whatever its size
        for workspace_id, user_id in connection.execute(
                select(col(Membership.workspace_id), col(Membership.user_id))
                .where(col(Membership.workspace_id).in_(sorted(held_workspaces)),
                       col(Membership.role).in_(_RESOLVERS))
                .order_by(col(Membership.user_id))):
            resolvers[workspace_id].append(user_id)
    rows: list[dict[str, Any]] = []
    told: set[tuple[int, int | None]] = set()  # (post id, user id) already told about a held post
    for post_id, message, held in notes:
        if post_id not in posts:
            continue
        info = posts[post_id]
        recipients: list[int | None] = [info.author_id, *(resolvers[info.workspace_id] if held else [])]
        for recipient in recipients:
            if held and (post_id, recipient) in told:
                continue
            told.add((post_id, recipient))
            rows.append({"user_id": recipient, "workspace_id": info.workspace_id, "post_id": post_id,
                         "message": message})
    return rows


def _settling_statement(postgresql: bool) -> Any:
    """Return the fenced read of the deliveries being settled with their posts, both locked on PostgreSQL."""
    query: Any = (select(col(Delivery.id), col(Delivery.post_id), col(Delivery.attempts),
                    col(Delivery.sending_started_at), col(Channel.label), col(Post.status).label("post_status"),
                    col(Post.workspace_id), col(Post.author_id), col(Post.scene_id), col(Post.conversation_id),
                    col(Character.name).label("character_name"))
             .join(Post, col(Post.id) == col(Delivery.post_id))
             .join(Character, col(Character.id) == col(Post.character_id))
             .outerjoin(Channel, col(Channel.id) == col(Delivery.channel_id))
             .where(in_ids(col(Delivery.id), postgresql), owned()).order_by(col(Post.id), col(Delivery.id)))
    # Post rows are locked in id order, as refresh_posts does, so two settlers never wait on each other in a circle.
    return query.with_for_update(of=[col(Delivery.id), col(Post.id)], key_share=True) if postgresql else query


_SETTLING = Statement(_settling_statement)


def _delivery_update(**values: Any) -> Any:
    """Return an executemany-ready fenced UPDATE of one delivery (bind names are prefixed with b_)."""
    return (update(Delivery)
            .where(col(Delivery.id) == bindparam("b_id"), col(Delivery.status) == PUBLISHING)
            .values(lease_owner=None, lease_expires_at=None, **values))


_SETTLE_STATEMENTS = {
    "published": _delivery_update(status=DeliveryStatus.PUBLISHED.value, published_at=bindparam("b_now"),
                                  remote_refs=bindparam("b_refs", type_=JSON), remote_url=bindparam("b_url"),
                                  last_error=None),
    "failed": _delivery_update(status=DeliveryStatus.FAILED.value, last_error=bindparam("b_error")),
    "retry": _delivery_update(status=PENDING, next_attempt_at=bindparam("b_next"), last_error=bindparam("b_error"),
                              sending_started_at=None),
    "unconfirmed": _delivery_update(status=DeliveryStatus.UNCONFIRMED.value, last_error=bindparam("b_error")),
    "missed": _delivery_update(status=DeliveryStatus.MISSED.value, last_error=bindparam("b_error")),
    "released": _delivery_update(status=PENDING, next_attempt_at=bindparam("b_next"), sending_started_at=None),
    # Still publishing with its marker; the lease runs out at b_until, when a reaper looks it up again.
    "lookup_later": (update(Delivery)
                     .where(col(Delivery.id) == bindparam("b_id"), col(Delivery.status) == PUBLISHING)
                     .values(lease_owner=None, lease_expires_at=bindparam("b_until"), last_error=bindparam("b_error"))),
    "unscheduled": _delivery_update(status=PENDING, due_at=None, sending_started_at=None),
}


def _change_for(settlement: Settlement, row: Any, now: datetime,
                rng: random.Random) -> tuple[str | None, dict[str, Any], str | None]:
    """Return (statement kind, bind values, notification message) for one settlement."""
    label = row.label or "a removed channel"
    if isinstance(settlement, Published):  # the author hears it went out, with the link when there is one
        where = f": {settlement.url}" if settlement.url else "."
        return "published", {"b_now": now, "b_refs": settlement.refs, "b_url": settlement.url}, (
            f"Post #{row.post_id} ({row.character_name}) was published to {label}{where}")
    if isinstance(settlement, Failure):
        message = settlement.message[:MAX_ERROR_CHARS]
        if settlement.retryable and row.attempts < MAX_ATTEMPTS:
            delay = retry_delay(row.attempts, settlement.retry_after, rng)
            return "retry", {"b_next": now + timedelta(seconds=delay), "b_error": message}, None
        if settlement.retryable:
            message = f"Gave up after {row.attempts} attempts. Last error: {message}"[:MAX_ERROR_CHARS]
        return "failed", {"b_error": message}, f"Post #{row.post_id} could not be published to {label}: {message}"
    if isinstance(settlement, Unconfirmed):
        return "unconfirmed", {"b_error": settlement.reason[:MAX_ERROR_CHARS]}, (
            f"Post #{row.post_id} ({row.character_name}) may or may not have reached {label}: {settlement.reason} "
            "Check the account, then mark it published or send it again.")
    if isinstance(settlement, Missed):
        return "missed", {"b_error": settlement.reason[:MAX_ERROR_CHARS]}, (
            f"Post #{row.post_id} ({row.character_name}) was not published to {label}: {settlement.reason}")
    if isinstance(settlement, LookupLater | Resend):
        return _after_lookup(settlement, row, now, label)
    if row.sending_started_at is not None:  # a release of something maybe sent would be a blind resend
        return None, {}, None
    if settlement.unschedule:
        return "unscheduled", {}, None
    return "released", {"b_next": settlement.not_before}, None


def _after_lookup(settlement: "LookupLater | Resend", row: Any, now: datetime,
                  label: str) -> tuple[str, dict[str, Any], str | None]:
    """Return the change for a maybe-sent delivery after a look-up: ask again later, or send it again."""
    if isinstance(settlement, LookupLater):
        return "lookup_later", {"b_until": settlement.not_before, "b_error": settlement.reason[:MAX_ERROR_CHARS]}, None
    if row.attempts >= MAX_ATTEMPTS:  # interrupted every time: stop, although nothing is on the network
        message = f"Gave up after {row.attempts} interrupted attempts, none of which reached the network."
        return "failed", {"b_error": message}, f"Post #{row.post_id} could not be published to {label}: {message}"
    return "retry", {"b_next": settlement.not_before or now, "b_error": settlement.reason[:MAX_ERROR_CHARS]}, None


_INSERT_NOTIFICATION = insert(Notification)


def _add_notifications(connection: Connection, notes: list[dict[str, Any]], now: datetime) -> None:
    rows = [{**note, "message": note["message"][:MAX_NOTIFICATION_CHARS], "created_at": now, "read_at": None}
            for note in notes if note["user_id"] is not None]
    if rows:
        connection.execute(_INSERT_NOTIFICATION, rows)


def complete_delivery(engine: Engine, worker_id: str, delivery_id: int, refs: list[dict[str, Any]],
                      url: str | None, now: datetime) -> bool:
    """Mark a delivery published, only while `worker_id` still holds its lease; return whether it did."""
    return delivery_id in settle(engine, worker_id, [Published(delivery_id, refs, url)], now)


def fail_delivery(engine: Engine, worker_id: str, delivery_id: int, message: str, now: datetime, *,
                  retryable: bool = False, retry_after: float | None = None,
                  rng: random.Random | None = None) -> bool:
    """Record a failed attempt: retry later with backoff when it may help and attempts remain, else failed."""
    failure = Failure(delivery_id, message, retryable=retryable, retry_after=retry_after)
    return delivery_id in settle(engine, worker_id, [failure], now, rng)


def mark_unconfirmed(engine: Engine, worker_id: str, delivery_id: int, reason: str, now: datetime) -> bool:
    """Hold a delivery that may have been sent for a person to resolve; never resend it automatically."""
    return delivery_id in settle(engine, worker_id, [Unconfirmed(delivery_id, reason)], now)


def release_unsent(engine: Engine, worker_id: str, delivery_ids: Iterable[int], now: datetime) -> set[int]:
    """Give back claimed deliveries that were never sent (a graceful stop), so any worker may take them."""
    return settle(engine, worker_id, [Released(delivery_id, "stopping") for delivery_id in delivery_ids], now)
