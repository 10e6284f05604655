"""Deliveries: claim due post targets atomically, publish each exactly once, and settle every outcome.

A delivery (Delivery) moves pending → publishing (claimed under a lease) → published | failed | unconfirmed |
missed, or back to pending (a retry, or a lease that expired before anything was sent). The rules that make
"exactly once" hold, whatever process dies when:

- A claim is one atomic statement: SQLite `BEGIN IMMEDIATE` + `UPDATE … RETURNING`; PostgreSQL a
  `FOR NO KEY UPDATE SKIP LOCKED` subquery with the status re-checked in the outer WHERE.
- `sending_started_at` is committed before the publisher is called. A lease that expires without it goes back to
  pending; one with it may have reached the network, so it is looked up there or held as unconfirmed for a person.
- Every write after the claim is fenced on `lease_owner = me AND status = 'publishing'`: a worker that lost its
  lease changes nothing.

Functions here take an engine (each is its own short transaction, owned by the scheduler job that calls it) or,
for people resolving held deliveries, a session (the web request owns that transaction). Times are injected.
"""

import json
import random
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import (
    JSON,
    Integer,
    String,
    TypeDecorator,
    and_,
    any_,
    bindparam,
    cast,
    exists,
    func,
    insert,
    literal,
    literal_column,
    or_,
    select,
    update,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.engine import Connection, Dialect, Engine
from sqlalchemy.sql.elements import ColumnElement
from sqlmodel import Session, col

from characters.accounts.workspaces import Action, Member
from characters.core.db import write_transaction
from characters.core.errors import DomainError, NotFound
from characters.core.models import (
    AuditEvent,
    Channel,
    Character,
    Delivery,
    DeliveryStatus,
    Notification,
    Post,
    PostPart,
    PostStatus,
    Workspace,
)

MAX_ATTEMPTS = 5
RETRY_BASE_SECONDS = 30.0
RETRY_MAX_SECONDS = 3600.0
# Posts whose status lets their deliveries go out; anything else (edited back to review, cancelled) holds them.
LIVE_POST_STATUSES = (PostStatus.APPROVED.value, PostStatus.PUBLISHING.value)
# Post statuses the scheduler owns and may recompute from the deliveries; the workflow owns the rest.
SCHEDULER_POST_STATUSES = frozenset({PostStatus.APPROVED, PostStatus.PUBLISHING, PostStatus.PUBLISHED,
                                     PostStatus.FAILED, PostStatus.UNCONFIRMED, PostStatus.MISSED})
MAX_ERROR_CHARS = 4000
MAX_NOTIFICATION_CHARS = 2000

_PENDING = DeliveryStatus.PENDING.value
_PUBLISHING = DeliveryStatus.PUBLISHING.value


@dataclass(frozen=True)
class ClaimedDelivery:
    """A delivery this worker holds under a lease."""

    id: int
    post_id: int
    channel_id: int | None
    idempotency_key: str
    due_at: datetime
    next_attempt_at: datetime | None
    attempts: int
    lease_expires_at: datetime
    sending_started_at: datetime | None = None

    @property
    def effective_due_at(self) -> datetime:
        """Return when this delivery was meant to go out: its due time, or its retry time when later."""
        if self.next_attempt_at is not None and self.next_attempt_at > self.due_at:
            return self.next_attempt_at
        return self.due_at


@dataclass(frozen=True)
class PartData:
    """One part of a post's text, with its image."""

    text: str
    image: bytes | None = None
    image_mime: str | None = None
    image_alt: str | None = None


@dataclass(frozen=True)
class ChannelData:
    """The channel a delivery goes to, as stored (secrets still encrypted)."""

    id: int
    kind: str
    label: str
    settings: dict[str, Any]
    secret_token: str | None
    disabled: bool


@dataclass(frozen=True)
class OutgoingDelivery:
    """Everything needed to publish one claimed delivery, read in a few batched queries."""

    target: ClaimedDelivery
    workspace_id: int
    author_id: int | None
    late_grace_minutes: int
    character_name: str
    character_archived: bool
    channel: ChannelData | None
    parts: list[PartData]
    reply_to: dict[str, Any] | None = None
    # The post answers another one (a scene) that has not gone out on this network yet.
    waiting_for_parent: bool = False

    def lateness(self, now: datetime) -> timedelta:
        """Return how late publishing at `now` would be."""
        return now - self.target.effective_due_at

    def too_late(self, now: datetime) -> bool:
        """Return whether the workspace's grace period has passed, so an editor must decide."""
        return self.lateness(now) > timedelta(minutes=self.late_grace_minutes)


@dataclass(frozen=True)
class Published:
    """The network accepted every part."""

    target_id: int
    refs: list[dict[str, Any]]
    url: str | None = None


@dataclass(frozen=True)
class Failure:
    """The network refused, or the delivery cannot be sent at all; retried only when `retryable`."""

    target_id: int
    message: str
    retryable: bool = False
    retry_after: float | None = None


@dataclass(frozen=True)
class Unconfirmed:
    """The delivery may or may not have reached the network; a person decides."""

    target_id: int
    reason: str


@dataclass(frozen=True)
class Missed:
    """Found later than the workspace's grace period; held for an editor."""

    target_id: int
    reason: str


@dataclass(frozen=True)
class Released:
    """Not sent: back to pending, optionally later (`not_before`) or off the clock (`unschedule`)."""

    target_id: int
    reason: str = ""
    not_before: datetime | None = None
    unschedule: bool = False


Settlement = Published | Failure | Unconfirmed | Missed | Released


@dataclass(frozen=True)
class ReapResult:
    """What the reaper did with expired leases."""

    requeued: list[int]
    # Leases that expired after sending started, now held by the reaper until it looks them up.
    to_check: list[ClaimedDelivery] = field(default_factory=list)


@dataclass(frozen=True)
class ChannelCheck:
    """A requested connection test of one channel."""

    channel_id: int
    kind: str
    settings: dict[str, Any]
    secret_token: str | None


# --- shared SQL pieces ------------------------------------------------------------------------------------------


def _key_matches_post_version() -> ColumnElement[bool]:
    """Return a condition: the delivery's idempotency key was issued for the post's current version."""
    prefix = literal("gr-") + cast(col(Post.id), String) + "-v" + cast(col(Post.version), String) + "-c%"
    return col(Delivery.idempotency_key).like(prefix)


def _post_is_approved() -> ColumnElement[bool]:
    """Return a condition on a joined post: approved, or already publishing."""
    # Two equalities, not IN (...): an IN list is re-rendered into the SQL on every execution.
    return or_(*(col(Post.status) == status for status in LIVE_POST_STATUSES))


def _post_is_live() -> ColumnElement[bool]:
    """Return a condition on a correlated post: approved for exactly the version the delivery's key names."""
    return and_(_post_is_approved(), _key_matches_post_version())


# Statements are built once, with bind parameters (all named b_*), so SQLAlchemy compiles each once per
# dialect: building and caching a statement per call cost more than the claim itself.
class _IdList(TypeDecorator[list[int]]):
    """A list of ids bound as one parameter: an integer array on PostgreSQL, a JSON array on SQLite.

    SQLAlchemy's own IN (...) re-renders the statement for every list length, which cost more than the
    statements themselves in the scheduler's small, frequent transactions.
    """

    impl = String
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> Any:
        return dialect.type_descriptor(ARRAY(Integer()) if dialect.name == "postgresql" else String())

    def process_bind_param(self, value: list[int] | None, dialect: Dialect) -> Any:
        return value if dialect.name == "postgresql" else json.dumps(value)


def _in_ids(column: Any, postgresql: bool) -> ColumnElement[bool]:
    """Return `column IN (the ids bound as b_ids)` in the form each database handles best."""
    ids = bindparam("b_ids", type_=_IdList())
    if postgresql:
        condition: ColumnElement[bool] = column == any_(ids)
        return condition
    condition = column.in_(select(literal_column("value")).select_from(func.json_each(ids)))
    return condition


def _waiting() -> ColumnElement[bool]:
    """Return a condition on a delivery: pending with a due time, and no retry scheduled after b_now."""
    return and_(col(Delivery.status) == _PENDING, col(Delivery.due_at).is_not(None),
                col(Delivery.due_at) <= bindparam("b_now"),
                or_(col(Delivery.next_attempt_at).is_(None), col(Delivery.next_attempt_at) <= bindparam("b_now")))


def _owned() -> ColumnElement[bool]:
    """Return the fence every write after a claim carries: leased to b_worker and still publishing."""
    return and_(col(Delivery.lease_owner) == bindparam("b_worker"), col(Delivery.status) == _PUBLISHING)


def _is_postgresql(connection: Connection) -> bool:
    return connection.dialect.name == "postgresql"


class _Statement:
    """A statement built once for each database: id lists and row locks are written differently."""

    def __init__(self, build: Callable[[bool], Any]) -> None:
        self._built = {False: build(False), True: build(True)}

    def on(self, connection: Connection) -> Any:
        """Return the statement for this connection's database."""
        return self._built[_is_postgresql(connection)]


_RETURNED_TARGET = (col(Delivery.id), col(Delivery.post_id), col(Delivery.channel_id),
                    col(Delivery.idempotency_key), col(Delivery.due_at), col(Delivery.next_attempt_at),
                    col(Delivery.attempts), col(Delivery.lease_expires_at), col(Delivery.sending_started_at))


def _ids(rows: Iterable[Any]) -> set[int]:
    """Return the ids in a result of one-column rows."""
    return {int(row[0]) for row in rows}


def _claimed(row: Any) -> ClaimedDelivery:
    return ClaimedDelivery(id=row.id, post_id=row.post_id, channel_id=row.channel_id,
                         idempotency_key=row.idempotency_key, due_at=row.due_at, next_attempt_at=row.next_attempt_at,
                         attempts=row.attempts, lease_expires_at=row.lease_expires_at,
                         sending_started_at=row.sending_started_at)


_INSERT_AUDIT = insert(AuditEvent)
_INSERT_NOTIFICATION = insert(Notification)


def _add_audit_events(connection: Connection, events: list[dict[str, Any]]) -> None:
    """Append scheduler audit events (actor None unless a person resolved something)."""
    if events:
        connection.execute(_INSERT_AUDIT, [{"actor_id": None, "scene_id": None, "reason": None,
                                                "details": {}, **event} for event in events])


def _add_notifications(connection: Connection, notes: list[dict[str, Any]], now: datetime) -> None:
    rows = [{**note, "message": note["message"][:MAX_NOTIFICATION_CHARS], "created_at": now, "read_at": None}
            for note in notes if note["user_id"] is not None]
    if rows:
        connection.execute(_INSERT_NOTIFICATION, rows)


# --- claiming ---------------------------------------------------------------------------------------------------


def _claim_statement(postgresql: bool, late_only: bool = False) -> Any:
    """Return the claim: lease up to b_limit waiting deliveries of live posts to b_worker, oldest due first."""
    # The key's version is checked when sending starts (start_sending), not here: PostgreSQL cannot estimate
    # that LIKE, and with it scanned, joined and sorted every pending row instead of walking the due-time index.
    candidates = (select(col(Delivery.id)).join(Post, col(Post.id) == col(Delivery.post_id))
                  .where(_waiting(), _post_is_approved())
                  .order_by(col(Delivery.due_at)).limit(bindparam("b_limit")))
    if late_only:  # the missed-post sweep: due (and any retry) before b_cutoff, in workspaces with b_grace
        candidates = candidates.where(
            col(Delivery.due_at) < bindparam("b_cutoff"),
            or_(col(Delivery.next_attempt_at).is_(None), col(Delivery.next_attempt_at) < bindparam("b_cutoff")),
            col(Post.workspace_id).in_(select(col(Workspace.id))
                                       .where(col(Workspace.late_grace_minutes) == bindparam("b_grace"))))
    if not postgresql:  # one writer at a time: nothing can change between the subquery and the update
        return _claim_update(col(Delivery.id).in_(candidates.scalar_subquery()), _waiting())
    # Lock the post rows too: a post an editor is changing right now is skipped, not waited for. Locking
    # re-evaluates these conditions on the newest version of each row, and skips rows locked by others.
    locked = candidates.with_for_update(of=[col(Delivery.id), col(Post.id)], skip_locked=True,
                                        key_share=True).cte("candidates").prefix_with("MATERIALIZED")
    # Materialized once: as a plain IN (subquery) the planner may run it again and exceed LIMIT. Then rows are
    # found by primary key (`id = ANY(ARRAY(...))`) and the status is re-checked in the outer WHERE, as a claim
    # on PostgreSQL must. The due-time conditions stay out of that WHERE: with stale statistics the planner
    # used them to walk every pending row through the due-time index (270 ms a claim instead of 1 ms).
    return _claim_update(col(Delivery.id) == any_(func.array(select(locked.c.id).scalar_subquery())),
                         col(Delivery.status) == _PENDING)


def _claim_update(chosen: ColumnElement[bool], recheck: ColumnElement[bool]) -> Any:
    return (update(Delivery).where(chosen, recheck)
            .values(status=_PUBLISHING, lease_owner=bindparam("b_worker"), lease_expires_at=bindparam("b_until"),
                    sending_started_at=None)
            .returning(*_RETURNED_TARGET))


_CLAIM = _Statement(_claim_statement)
_CLAIM_LATE = _Statement(lambda postgresql: _claim_statement(postgresql, late_only=True))
_START_POSTS = _Statement(lambda postgresql: (
    update(Post).where(_in_ids(col(Post.id), postgresql), col(Post.status) == PostStatus.APPROVED.value)
    .values(status=PostStatus.PUBLISHING.value, updated_at=bindparam("b_now"))
    .returning(col(Post.id), col(Post.workspace_id), col(Post.scene_id))))


def _claim(connection: Connection, worker_id: str, now: datetime, limit: int, lease_seconds: float,
           late: tuple[datetime, int] | None = None) -> list[ClaimedDelivery]:
    """Lease up to `limit` waiting deliveries inside the caller's transaction (late ones only, given `late`)."""
    params: dict[str, Any] = {"b_now": now, "b_limit": limit, "b_worker": worker_id,
                              "b_until": now + timedelta(seconds=lease_seconds)}
    statements = _CLAIM
    if late is not None:
        statements = _CLAIM_LATE
        params.update(b_cutoff=late[0], b_grace=late[1])
    rows = connection.execute(statements.on(connection), params)
    claimed = sorted((_claimed(row) for row in rows), key=lambda target: (target.due_at, target.id))
    if claimed and late is None:
        _start_posts(connection, {target.post_id for target in claimed}, now)
    return claimed


def _start_posts(connection: Connection, post_ids: set[int], now: datetime) -> None:
    """Move posts whose first delivery was just claimed from approved to publishing, with an audit event."""
    started = connection.execute(_START_POSTS.on(connection), {"b_ids": sorted(post_ids), "b_now": now}).all()
    _add_audit_events(connection, [
        {"workspace_id": row.workspace_id, "post_id": row.id, "scene_id": row.scene_id, "action": "publishing",
         "from_status": PostStatus.APPROVED.value, "to_status": PostStatus.PUBLISHING.value, "created_at": now}
        for row in started])


def claim_due_targets(engine: Engine, worker_id: str, now: datetime, limit: int,
                      lease_seconds: float) -> list[ClaimedDelivery]:
    """Atomically lease up to `limit` due deliveries for `worker_id`; no two workers ever get the same one."""
    with write_transaction(engine) as connection:
        return _claim(connection, worker_id, now, limit, lease_seconds)


_SCHEDULED = (select(col(Delivery.due_at)).join(Post, col(Post.id) == col(Delivery.post_id))
              .where(col(Delivery.status) == _PENDING, col(Delivery.due_at).is_not(None), _post_is_approved()))
# Two index-friendly queries instead of one ORDER BY over an expression: first attempts, then retries.
_NEXT_FIRST_ATTEMPT = (_SCHEDULED.where(col(Delivery.next_attempt_at).is_(None))
                       .order_by(col(Delivery.due_at)).limit(1))
_NEXT_RETRY = (_SCHEDULED.with_only_columns(func.min(col(Delivery.next_attempt_at)))
               .where(col(Delivery.next_attempt_at).is_not(None)))


def next_due_time(engine: Engine) -> datetime | None:
    """Return when the earliest waiting delivery of a live post falls due (possibly in the past), or None."""
    with engine.connect() as connection:
        first = connection.execute(_NEXT_FIRST_ATTEMPT).scalar()
        retry = connection.execute(_NEXT_RETRY).scalar()
    times = [time for time in (first, retry) if time is not None]
    return min(times) if times else None


# --- loading what to publish ------------------------------------------------------------------------------------


_LOAD_POSTS = _Statement(lambda postgresql: (
    select(col(Post.id), col(Post.workspace_id), col(Post.author_id), col(Post.reply_to_post_id),
           col(Character.name), col(Character.archived_at), col(Workspace.late_grace_minutes))
    .join(Character, col(Character.id) == col(Post.character_id))
    .join(Workspace, col(Workspace.id) == col(Post.workspace_id))
    .where(_in_ids(col(Post.id), postgresql))))
_LOAD_PARTS = _Statement(lambda postgresql: (
    select(col(PostPart.post_id), col(PostPart.text), col(PostPart.image), col(PostPart.image_mime),
           col(PostPart.image_alt))
    .where(_in_ids(col(PostPart.post_id), postgresql)).order_by(col(PostPart.post_id), col(PostPart.position))))
_LOAD_CHANNELS = _Statement(lambda postgresql: (
    select(col(Channel.id), col(Channel.kind), col(Channel.label), col(Channel.settings), col(Channel.secret_token),
           col(Channel.disabled_at))
    .where(_in_ids(col(Channel.id), postgresql))))
_LOAD_PARENTS = _Statement(lambda postgresql: (
    select(col(Delivery.post_id), col(Delivery.status), col(Delivery.remote_refs), col(Channel.kind))
    .join(Channel, col(Channel.id) == col(Delivery.channel_id))
    .where(_in_ids(col(Delivery.post_id), postgresql))))


def load_deliveries(engine: Engine, claimed: Sequence[ClaimedDelivery]) -> list[OutgoingDelivery]:
    """Read the posts, parts, channels and characters of claimed deliveries in a few queries."""
    if not claimed:
        return []
    post_ids = {target.post_id for target in claimed}
    channel_ids = {target.channel_id for target in claimed if target.channel_id is not None}
    with engine.connect() as connection:
        posts = {row.id: row for row in connection.execute(_LOAD_POSTS.on(connection), {"b_ids": sorted(post_ids)})}
        parts: dict[int, list[PartData]] = defaultdict(list)
        for row in connection.execute(_LOAD_PARTS.on(connection), {"b_ids": sorted(post_ids)}):
            parts[row.post_id].append(PartData(text=row.text, image=row.image, image_mime=row.image_mime,
                                               image_alt=row.image_alt))
        channels = {row.id: ChannelData(id=row.id, kind=row.kind, label=row.label, settings=dict(row.settings or {}),
                                        secret_token=row.secret_token, disabled=row.disabled_at is not None)
                    for row in connection.execute(_LOAD_CHANNELS.on(connection), {"b_ids": sorted(channel_ids)})}
        parents = _parent_deliveries(connection, {row.reply_to_post_id for row in posts.values()} - {None})
    deliveries = []
    for target in claimed:
        post = posts.get(target.post_id)
        if post is None:  # deleted with its character between the claim and now; nothing left to publish
            continue
        channel = channels.get(target.channel_id) if target.channel_id is not None else None
        reply_to, waiting = _reply_of(parents.get(post.reply_to_post_id, []), channel)
        deliveries.append(OutgoingDelivery(
            target=target, workspace_id=post.workspace_id, author_id=post.author_id,
            late_grace_minutes=post.late_grace_minutes, character_name=post.name,
            character_archived=post.archived_at is not None, channel=channel, parts=parts.get(target.post_id, []),
            reply_to=reply_to, waiting_for_parent=waiting))
    return deliveries


def _parent_deliveries(connection: Connection, parent_ids: set[Any]) -> dict[int, list[Any]]:
    """Return the deliveries of posts that other posts answer, keyed by post id, with their network."""
    if not parent_ids:
        return {}
    found: dict[int, list[Any]] = defaultdict(list)
    for row in connection.execute(_LOAD_PARENTS.on(connection), {"b_ids": sorted(parent_ids)}):
        found[row.post_id].append(row)
    return found


def _reply_of(parent_targets: list[Any], channel: ChannelData | None) -> tuple[dict[str, Any] | None, bool]:
    """Return the remote post to answer on this delivery's network, and whether to wait for it first."""
    if channel is None:
        return None, False
    for parent in parent_targets:
        if parent.kind != channel.kind:
            continue
        if parent.status == DeliveryStatus.PUBLISHED.value and parent.remote_refs:
            return dict(parent.remote_refs[-1]), False  # answer the end of the parent's thread
        if parent.status in (_PENDING, _PUBLISHING):
            return None, True
    return None, False


# --- sending and settling ---------------------------------------------------------------------------------------


def start_sending(engine: Engine, worker_id: str, target_ids: Iterable[int], now: datetime) -> set[int]:
    """Record that these deliveries are about to be sent; return the ids that may be sent now.

    The marker is committed before any network call, so a crash from here on never leads to a blind resend.
    A delivery whose post was edited or cancelled since the claim is released instead (back to pending, off the
    clock until it is approved again).
    """
    return write_batch(engine, worker_id, now, start=target_ids).started


def _start_sending(connection: Connection, worker_id: str, ids: list[int], now: datetime) -> set[int]:
    if not ids:
        return set()
    params = {"b_ids": ids, "b_worker": worker_id, "b_now": now}
    started = _ids(connection.execute(_START_SENDING.on(connection), params))
    stale = [target_id for target_id in ids if target_id not in started]
    if stale:
        connection.execute(_UNSCHEDULE_UNSENT.on(connection), {"b_ids": stale, "b_worker": worker_id})
    return started


@dataclass(frozen=True)
class BatchResult:
    """Which deliveries a batch settled and which it marked as sending."""

    settled: set[int]
    started: set[int]


def write_batch(engine: Engine, worker_id: str, now: datetime, *, settle: Sequence[Settlement] = (),
                start: Iterable[int] = (), rng: random.Random | None = None) -> BatchResult:
    """Settle outcomes and mark deliveries as sending, in one transaction (a worker's group commit)."""
    ids = sorted(start)
    if not settle and not ids:
        return BatchResult(set(), set())
    with write_transaction(engine) as connection:
        settled = _settle(connection, worker_id, settle, now, rng or _DEFAULT_RNG) if settle else set()
        return BatchResult(settled, _start_sending(connection, worker_id, ids, now))


_NOT_SENT = col(Delivery.sending_started_at).is_(None)
_START_SENDING = _Statement(lambda postgresql: (
    update(Delivery)
    .where(_in_ids(col(Delivery.id), postgresql), _owned(), _NOT_SENT,
           exists().where(col(Post.id) == col(Delivery.post_id), _post_is_live()))
    .values(sending_started_at=bindparam("b_now"), attempts=col(Delivery.attempts) + 1)
    .returning(col(Delivery.id))))
_UNSCHEDULE_UNSENT = _Statement(lambda postgresql: (
    update(Delivery).where(_in_ids(col(Delivery.id), postgresql), _owned(), _NOT_SENT)
    .values(status=_PENDING, due_at=None, lease_owner=None, lease_expires_at=None)))
_HEARTBEAT = _Statement(lambda postgresql: (
    update(Delivery).where(_in_ids(col(Delivery.id), postgresql), _owned())
    .values(lease_expires_at=bindparam("b_until")).returning(col(Delivery.id))))


def heartbeat(engine: Engine, worker_id: str, target_ids: Iterable[int], now: datetime,
              lease_seconds: float) -> set[int]:
    """Extend the leases this worker still holds; return the ids whose lease was extended."""
    ids = sorted(target_ids)
    if not ids:
        return set()
    with write_transaction(engine) as connection:
        return _ids(connection.execute(_HEARTBEAT.on(connection), {"b_ids": ids, "b_worker": worker_id,
                                                    "b_until": now + timedelta(seconds=lease_seconds)}))


def retry_delay(attempts: int, retry_after: float | None, rng: random.Random) -> float:
    """Return seconds to wait before attempt `attempts + 1`: exponential, jittered, never before Retry-After."""
    ceiling = min(RETRY_MAX_SECONDS, RETRY_BASE_SECONDS * 2.0 ** max(attempts - 1, 0))
    # Half-to-full jitter: spreads retries of many deliveries failing together, never waits less than half.
    delay = ceiling * (0.5 + rng.random() / 2)
    return max(delay, retry_after) if retry_after is not None else delay


_DEFAULT_RNG = random.Random()  # noqa: S311 - jitter, not security


def settle(engine: Engine, worker_id: str, settlements: Sequence[Settlement], now: datetime,
           rng: random.Random | None = None) -> set[int]:
    """Apply outcomes to deliveries this worker still leases, in one transaction; return the ids applied.

    Settlements for deliveries whose lease was lost (reaped, or taken by the reaper) change nothing.
    """
    return write_batch(engine, worker_id, now, settle=settlements, rng=rng).settled


def _settle(connection: Connection, worker_id: str, settlements: Sequence[Settlement], now: datetime,
            rng: random.Random) -> set[int]:
    by_id = {settlement.target_id: settlement for settlement in settlements}
    rows = {row.id: row for row in connection.execute(_SETTLING.on(connection),
                                                      {"b_ids": sorted(by_id), "b_worker": worker_id})}
    changes: dict[str, list[dict[str, Any]]] = defaultdict(list)
    notes: list[tuple[int, str]] = []  # (post id, message)
    for target_id, row in rows.items():
        kind, values, note = _change_for(by_id[target_id], row, now, rng)
        if kind is None:
            continue
        changes[kind].append({"b_id": target_id, **values})
        if note:
            notes.append((row.post_id, note))
    for kind, params in changes.items():
        connection.execute(_SETTLE_STATEMENTS[kind], params)
    applied = {param["b_id"] for params in changes.values() for param in params}
    locked = {row.post_id: _PostInfo(row.post_status, row.workspace_id, row.author_id, row.scene_id)
              for target_id, row in rows.items() if target_id in applied}
    posts = _refresh_posts(connection, set(locked), now, locked=locked)
    _add_notifications(connection, [
        {"user_id": posts[post_id].author_id, "workspace_id": posts[post_id].workspace_id, "post_id": post_id,
         "message": message} for post_id, message in notes if post_id in posts], now)
    return applied


def _settling_statement(postgresql: bool) -> Any:
    """Return the fenced read of the deliveries being settled with their posts, both locked on PostgreSQL."""
    query: Any = (select(col(Delivery.id), col(Delivery.post_id), col(Delivery.attempts),
                    col(Delivery.sending_started_at), col(Channel.label), col(Post.status).label("post_status"),
                    col(Post.workspace_id), col(Post.author_id), col(Post.scene_id))
             .join(Post, col(Post.id) == col(Delivery.post_id))
             .outerjoin(Channel, col(Channel.id) == col(Delivery.channel_id))
             .where(_in_ids(col(Delivery.id), postgresql), _owned()).order_by(col(Post.id), col(Delivery.id)))
    # Post rows are locked in id order, as _refresh_posts does, so two settlers never wait on each other in a circle.
    return query.with_for_update(of=[col(Delivery.id), col(Post.id)], key_share=True) if postgresql else query


_SETTLING = _Statement(_settling_statement)


def _target_update(**values: Any) -> Any:
    """Return an executemany-ready fenced UPDATE of one delivery (bind names are prefixed with b_)."""
    return (update(Delivery)
            .where(col(Delivery.id) == bindparam("b_id"), col(Delivery.status) == _PUBLISHING)
            .values(lease_owner=None, lease_expires_at=None, **values))


_SETTLE_STATEMENTS = {
    "published": _target_update(status=DeliveryStatus.PUBLISHED.value, published_at=bindparam("b_now"),
                                remote_refs=bindparam("b_refs", type_=JSON), remote_url=bindparam("b_url"),
                                last_error=None),
    "failed": _target_update(status=DeliveryStatus.FAILED.value, last_error=bindparam("b_error")),
    "retry": _target_update(status=_PENDING, next_attempt_at=bindparam("b_next"), last_error=bindparam("b_error"),
                            sending_started_at=None),
    "unconfirmed": _target_update(status=DeliveryStatus.UNCONFIRMED.value, last_error=bindparam("b_error")),
    "missed": _target_update(status=DeliveryStatus.MISSED.value, last_error=bindparam("b_error")),
    "released": _target_update(status=_PENDING, next_attempt_at=bindparam("b_next"), sending_started_at=None),
    "unscheduled": _target_update(status=_PENDING, due_at=None, sending_started_at=None),
}


def _change_for(settlement: Settlement, row: Any, now: datetime,
                rng: random.Random) -> tuple[str | None, dict[str, Any], str | None]:
    """Return (statement kind, bind values, notification for the author) for one settlement."""
    label = row.label or "a removed channel"
    if isinstance(settlement, Published):
        return "published", {"b_now": now, "b_refs": settlement.refs, "b_url": settlement.url}, None
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
            f"Post #{row.post_id} may or may not have reached {label}: {settlement.reason} "
            "Check the account, then mark it published or send it again.")
    if isinstance(settlement, Missed):
        return "missed", {"b_error": settlement.reason[:MAX_ERROR_CHARS]}, (
            f"Post #{row.post_id} was not published to {label}: {settlement.reason}")
    if row.sending_started_at is not None:  # a release of something maybe sent would be a blind resend
        return None, {}, None
    if settlement.unschedule:
        return "unscheduled", {}, None
    return "released", {"b_next": settlement.not_before}, None


def complete_target(engine: Engine, worker_id: str, target_id: int, refs: list[dict[str, Any]], url: str | None,
                    now: datetime) -> bool:
    """Mark a delivery published, only while `worker_id` still holds its lease; return whether it did."""
    return target_id in settle(engine, worker_id, [Published(target_id, refs, url)], now)


def fail_target(engine: Engine, worker_id: str, target_id: int, message: str, now: datetime, *,
                retryable: bool = False, retry_after: float | None = None, rng: random.Random | None = None) -> bool:
    """Record a failed attempt: retry later with backoff when it may help and attempts remain, else failed."""
    failure = Failure(target_id, message, retryable=retryable, retry_after=retry_after)
    return target_id in settle(engine, worker_id, [failure], now, rng)


def mark_unconfirmed(engine: Engine, worker_id: str, target_id: int, reason: str, now: datetime) -> bool:
    """Hold a delivery that may have been sent for a person to resolve; never resend it automatically."""
    return target_id in settle(engine, worker_id, [Unconfirmed(target_id, reason)], now)


def release_unsent(engine: Engine, worker_id: str, target_ids: Iterable[int], now: datetime) -> set[int]:
    """Give back claimed deliveries that were never sent (a graceful stop), so any worker may take them."""
    return settle(engine, worker_id, [Released(target_id, "stopping") for target_id in target_ids], now)


# --- post status ------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _PostInfo:
    status: str
    workspace_id: int
    author_id: int | None
    scene_id: int | None


def post_status_for(delivery_statuses: Iterable[str], current: str) -> str:
    """Return a post's status given its deliveries' statuses (cancelled deliveries do not count)."""
    statuses = {status for status in delivery_statuses if status != DeliveryStatus.CANCELLED.value}
    if not statuses:
        return current
    if statuses <= {_PENDING}:
        return current if current == PostStatus.APPROVED.value else PostStatus.PUBLISHING.value
    if statuses & {_PENDING, _PUBLISHING}:
        return PostStatus.PUBLISHING.value
    for held in (DeliveryStatus.UNCONFIRMED, DeliveryStatus.FAILED, DeliveryStatus.MISSED):
        if held.value in statuses:
            return held.value
    return PostStatus.PUBLISHED.value


_TRANSITION_ACTIONS = {
    PostStatus.PUBLISHING.value: "publishing",
    PostStatus.PUBLISHED.value: "published",
    PostStatus.FAILED.value: "publish_failed",
    PostStatus.UNCONFIRMED.value: "publish_unconfirmed",
    PostStatus.MISSED.value: "publish_missed",
}


def _lock_posts_statement(postgresql: bool) -> Any:
    query = (select(col(Post.id), col(Post.status), col(Post.workspace_id), col(Post.author_id), col(Post.scene_id))
             .where(_in_ids(col(Post.id), postgresql)).order_by(col(Post.id)))
    # Serialize settlers of one post: each must see the others' committed deliveries, or a post whose last
    # two deliveries finish at once would stay "publishing" forever.
    return query.with_for_update(key_share=True) if postgresql else query


_LOCK_POSTS = _Statement(_lock_posts_statement)
_POST_DELIVERIES = _Statement(lambda postgresql: (
    select(col(Delivery.post_id), col(Delivery.status), col(Delivery.last_error))
    .where(_in_ids(col(Delivery.post_id), postgresql))))
_UPDATE_POSTS = _Statement(lambda postgresql: (
    update(Post).where(_in_ids(col(Post.id), postgresql))
    .values(status=bindparam("b_status"), updated_at=bindparam("b_now"),
            published_at=func.coalesce(col(Post.published_at), bindparam("b_published")),
            last_error=bindparam("b_error"))))


def _refresh_posts(connection: Connection, post_ids: set[int], now: datetime, actor_id: int | None = None,
                   reason: str | None = None, locked: dict[int, _PostInfo] | None = None) -> dict[int, _PostInfo]:
    """Recompute the status of posts from their deliveries, auditing each change; return what was read.

    `locked`: the posts as the caller already read and locked them in this transaction (saves a round trip).
    """
    if not post_ids:
        return {}
    ids = {"b_ids": sorted(post_ids)}
    posts = locked if locked is not None else {
        row.id: _PostInfo(row.status, row.workspace_id, row.author_id, row.scene_id)
        for row in connection.execute(_LOCK_POSTS.on(connection), ids)}
    statuses: dict[int, list[str]] = defaultdict(list)
    errors: dict[int, str] = {}
    for row in connection.execute(_POST_DELIVERIES.on(connection), ids):
        statuses[row.post_id].append(row.status)
        if row.last_error and row.status != DeliveryStatus.PUBLISHED.value:
            errors[row.post_id] = row.last_error
    # Posts moving to the same status with the same error are updated together (usually all "published").
    updates: dict[tuple[str, str | None], list[int]] = defaultdict(list)
    events = []
    for post_id, info in posts.items():
        if info.status not in SCHEDULER_POST_STATUSES:
            continue
        new_status = post_status_for(statuses[post_id], info.status)
        if new_status == info.status:
            continue
        error = None if new_status in LIVE_POST_STATUSES + (PostStatus.PUBLISHED.value,) else errors.get(post_id)
        updates[new_status, error].append(post_id)
        events.append({"workspace_id": info.workspace_id, "post_id": post_id, "scene_id": info.scene_id,
                       "actor_id": actor_id, "action": _TRANSITION_ACTIONS[new_status], "from_status": info.status,
                       "to_status": new_status, "reason": reason or errors.get(post_id), "created_at": now})
    for (new_status, error), post_ids_ in updates.items():
        connection.execute(_UPDATE_POSTS.on(connection), {
            "b_ids": post_ids_, "b_status": new_status, "b_now": now, "b_error": error,
            "b_published": now if new_status == PostStatus.PUBLISHED.value else None})
    _add_audit_events(connection, events)
    return posts


# --- recovery ---------------------------------------------------------------------------------------------------


def _expired() -> ColumnElement[bool]:
    return and_(col(Delivery.status) == _PUBLISHING, col(Delivery.lease_expires_at) < bindparam("b_now"))


def _expired_statement(postgresql: bool) -> Any:
    query = (select(col(Delivery.id)).where(_expired())
             .order_by(col(Delivery.lease_expires_at), col(Delivery.id)).limit(bindparam("b_limit")))
    return query.with_for_update(skip_locked=True, key_share=True) if postgresql else query


_EXPIRED = _Statement(_expired_statement)
_REQUEUE_EXPIRED = _Statement(lambda postgresql: (
    update(Delivery).where(_in_ids(col(Delivery.id), postgresql), _expired(), _NOT_SENT)
    .values(status=_PENDING, lease_owner=None, lease_expires_at=None).returning(col(Delivery.id))))
_TAKE_OVER_EXPIRED = _Statement(lambda postgresql: (
    update(Delivery).where(_in_ids(col(Delivery.id), postgresql), _expired(), ~_NOT_SENT)
    .values(lease_owner=bindparam("b_worker"), lease_expires_at=bindparam("b_until"))
    .returning(*_RETURNED_TARGET)))


def reap_expired_leases(engine: Engine, worker_id: str, now: datetime, lease_seconds: float,
                        limit: int = 200) -> ReapResult:
    """Recover deliveries whose worker vanished: unsent ones go back to pending, maybe-sent ones to the reaper.

    The maybe-sent ones are leased to `worker_id`, which must look each up on its network and settle it as
    published or unconfirmed; if the reaper dies too, its lease expires and the next reaper does the same.
    """
    params: dict[str, Any] = {"b_now": now, "b_limit": limit, "b_worker": worker_id,
                              "b_until": now + timedelta(seconds=lease_seconds)}
    with write_transaction(engine) as connection:
        ids = sorted(connection.execute(_EXPIRED.on(connection), params).scalars())
        if not ids:
            return ReapResult(requeued=[])
        params["b_ids"] = ids
        requeued = _ids(connection.execute(_REQUEUE_EXPIRED.on(connection), params))
        taken = [_claimed(row) for row in connection.execute(_TAKE_OVER_EXPIRED.on(connection), params)]
    return ReapResult(requeued=sorted(requeued), to_check=sorted(taken, key=lambda target: target.id))


def sweep_missed(engine: Engine, worker_id: str, now: datetime, limit: int = 500) -> list[int]:
    """Hold deliveries found later than their workspace's grace period as missed, for an editor; return ids.

    Nothing late is dropped silently and nothing stale goes out on its own: an editor re-queues or cancels it.
    """
    missed: list[int] = []
    with engine.connect() as connection:
        graces = list(connection.execute(select(col(Workspace.late_grace_minutes)).distinct()).scalars())
    for grace in sorted(graces):
        with write_transaction(engine) as connection:
            # Claimed and settled in one transaction, so the post goes straight from approved to missed.
            claimed = _claim(connection, worker_id, now, limit, lease_seconds=60,
                             late=(now - timedelta(minutes=grace), grace))
            missed += _settle(connection, worker_id, [Missed(target.id, _missed_reason(target, now, grace))
                                                      for target in claimed], now, _DEFAULT_RNG)
    return sorted(missed)


def _missed_reason(target: ClaimedDelivery, now: datetime, grace_minutes: int) -> str:
    late_minutes = int((now - target.effective_due_at).total_seconds() // 60)
    return (f"it was due {target.effective_due_at:%Y-%m-%d %H:%M} UTC and the scheduler found it {late_minutes} "
            f"minutes late, past this workspace's {grace_minutes}-minute grace period; an editor can send it now "
            "or cancel it.")


def missed_reason(delivery: OutgoingDelivery, now: datetime) -> str:
    """Explain why a delivery found too late is held instead of published."""
    return _missed_reason(delivery.target, now, delivery.late_grace_minutes)


# --- people resolving held deliveries ---------------------------------------------------------------------------


def _held_target(session: Session, member: Member, target_id: int, status: DeliveryStatus) -> Delivery:
    member.require(Action.SCHEDULE)
    target = session.get(Delivery, target_id)
    post = session.get(Post, target.post_id) if target is not None else None
    if target is None or post is None or post.workspace_id != member.workspace.id:
        raise NotFound("No such delivery in this workspace.")
    if target.status != status:
        raise DomainError(f"This delivery is {target.status}, not {status.value}; reload the page.")
    return target


def _resolve(session: Session, member: Member, target: Delivery, values: dict[str, Any], now: datetime,
             action: str, reason: str) -> None:
    connection = session.connection()
    changed = connection.execute(update(Delivery)
                                 .where(col(Delivery.id) == target.id, col(Delivery.status) == target.status)
                                 .values(**values).returning(col(Delivery.id))).first()
    if changed is None:
        raise DomainError("Someone else resolved this delivery first; reload the page.")
    _add_audit_events(connection, [{
        "workspace_id": member.workspace.id, "post_id": target.post_id, "actor_id": member.user.id,
        "action": action, "from_status": target.status, "to_status": values["status"], "reason": reason,
        "details": {"target_id": target.id, "channel_id": target.channel_id}, "created_at": now}])
    _refresh_posts(connection, {target.post_id}, now, actor_id=member.user.id, reason=reason)
    session.expire_all()


def resolve_unconfirmed(*, session: Session, member: Member, target_id: int, published: bool, now: datetime,
                        url: str | None = None) -> None:
    """Settle an unconfirmed delivery by hand: it did go out (`published`), or send it again now."""
    target = _held_target(session, member, target_id, DeliveryStatus.UNCONFIRMED)
    if published:
        values: dict[str, Any] = {"status": DeliveryStatus.PUBLISHED.value, "published_at": now,
                                  "remote_url": url or target.remote_url, "last_error": None}
        reason = "Confirmed published by hand."
    else:
        values = _requeue_values(now)
        reason = "Checked: it did not go out; sending again."
    _resolve(session, member, target, values, now, "resolve_unconfirmed", reason)


def requeue_missed(*, session: Session, member: Member, target_id: int, now: datetime) -> None:
    """Send a delivery that was held as missed now, despite being late."""
    target = _held_target(session, member, target_id, DeliveryStatus.MISSED)
    _resolve(session, member, target, _requeue_values(now), now, "requeue_missed", "Sent late on purpose.")


def _requeue_values(now: datetime) -> dict[str, Any]:
    # The retry time is "now", so the grace period counts from the editor's decision, not the old due time.
    return {"status": _PENDING, "next_attempt_at": now, "sending_started_at": None, "lease_owner": None,
            "lease_expires_at": None, "last_error": None}


# --- connection checks ------------------------------------------------------------------------------------------


def take_connection_checks(engine: Engine, limit: int = 20) -> list[ChannelCheck]:
    """Take the channels whose connection test was requested; each request is taken by one scheduler only."""
    requested = select(col(Channel.id)).where(col(Channel.check_requested_at).is_not(None)).limit(1)
    with engine.connect() as connection:  # a plain read first: this runs every few seconds, usually for nothing
        if connection.execute(requested).first() is None:
            return []
    with write_transaction(engine) as connection:
        candidates = (select(col(Channel.id)).where(col(Channel.check_requested_at).is_not(None))
                      .order_by(col(Channel.check_requested_at)).limit(limit))
        if _is_postgresql(connection):
            candidates = candidates.with_for_update(skip_locked=True, key_share=True)
        ids = list(connection.execute(candidates).scalars())
        if not ids:
            return []
        rows = connection.execute(
            update(Channel).where(col(Channel.id).in_(ids), col(Channel.check_requested_at).is_not(None))
            .values(check_requested_at=None)
            .returning(col(Channel.id), col(Channel.kind), col(Channel.settings), col(Channel.secret_token))).all()
    return [ChannelCheck(channel_id=row.id, kind=row.kind, settings=dict(row.settings or {}),
                         secret_token=row.secret_token) for row in rows]


def record_connection_check(engine: Engine, channel_id: int, ok: bool, message: str, now: datetime) -> None:
    """Store the result of a connection test for the channel page."""
    with write_transaction(engine) as connection:
        connection.execute(update(Channel).where(col(Channel.id) == channel_id)
                           .values(last_checked_at=now, last_check_ok=ok, last_check_message=message[:2000]))

