"""Claiming due deliveries under leases, keeping the leases alive, and when the next one falls due.

A claim is one atomic statement: SQLite `BEGIN IMMEDIATE` + `UPDATE … RETURNING`; PostgreSQL a
`FOR NO KEY UPDATE SKIP LOCKED` subquery with the status re-checked in the outer WHERE. No two workers ever get
the same delivery.
"""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import any_, bindparam, func, or_, select, update
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.sql.elements import ColumnElement
from sqlmodel import col

from characters.core.db import write_transaction
from characters.core.models import Delivery, Post, PostStatus, Workspace
from characters.publishing.sql import (
    PENDING,
    PUBLISHING,
    Statement,
    add_audit_events,
    ids_of,
    in_ids,
    owned,
    post_is_approved,
    waiting,
)


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


# What a claim (or the reaper taking over a lease) returns of each delivery.
CLAIMED_COLUMNS = (col(Delivery.id), col(Delivery.post_id), col(Delivery.channel_id),
                   col(Delivery.idempotency_key), col(Delivery.due_at), col(Delivery.next_attempt_at),
                   col(Delivery.attempts), col(Delivery.lease_expires_at), col(Delivery.sending_started_at))


def claimed_from_row(row: Any) -> ClaimedDelivery:
    """Return the claimed delivery in a row of `CLAIMED_COLUMNS`."""
    return ClaimedDelivery(id=row.id, post_id=row.post_id, channel_id=row.channel_id,
                           idempotency_key=row.idempotency_key, due_at=row.due_at,
                           next_attempt_at=row.next_attempt_at, attempts=row.attempts,
                           lease_expires_at=row.lease_expires_at, sending_started_at=row.sending_started_at)


def _claim_statement(postgresql: bool, late_only: bool = False) -> Any:
    """Return the claim: lease up to b_limit waiting deliveries of live posts to b_worker, oldest due first."""
    # The key's version is checked when sending starts (start_sending), not here: PostgreSQL cannot estimate
    # that LIKE, and with it scanned, joined and sorted every pending row instead of walking the due-time index.
    candidates = (select(col(Delivery.id)).join(Post, col(Post.id) == col(Delivery.post_id))
                  .where(waiting(), post_is_approved())
                  .order_by(col(Delivery.due_at)).limit(bindparam("b_limit")))
    if late_only:  # the missed-post sweep: due (and any retry) before b_cutoff, in workspaces with b_grace
        candidates = candidates.where(
            col(Delivery.due_at) < bindparam("b_cutoff"),
            or_(col(Delivery.next_attempt_at).is_(None), col(Delivery.next_attempt_at) < bindparam("b_cutoff")),
            col(Post.workspace_id).in_(select(col(Workspace.id))
                                       .where(col(Workspace.late_grace_minutes) == bindparam("b_grace"))))
    if not postgresql:  # one writer at a time: nothing can change between the subquery and the update
        return _claim_update(col(Delivery.id).in_(candidates.scalar_subquery()), waiting())
    # Lock the post rows too: a post an editor is changing right now is skipped, not waited for. Locking
    # re-evaluates these conditions on the newest version of each row, and skips rows locked by others.
    locked = candidates.with_for_update(of=[col(Delivery.id), col(Post.id)], skip_locked=True,
                                        key_share=True).cte("candidates").prefix_with("MATERIALIZED")
    # Materialized once: as a plain IN (subquery) the planner may run it again and exceed LIMIT. Then rows are
    # found by primary key (`id = ANY(ARRAY(...))`) and the status is re-checked in the outer WHERE, as a claim
    # on PostgreSQL must. The due-time conditions stay out of that WHERE: with stale statistics the planner
    # used them to walk every pending row through the due-time index (270 ms a claim instead of 1 ms).
    return _claim_update(col(Delivery.id) == any_(func.array(select(locked.c.id).scalar_subquery())),
                         col(Delivery.status) == PENDING)


def _claim_update(chosen: ColumnElement[bool], recheck: ColumnElement[bool]) -> Any:
    return (update(Delivery).where(chosen, recheck)
            .values(status=PUBLISHING, lease_owner=bindparam("b_worker"), lease_expires_at=bindparam("b_until"),
                    sending_started_at=None)
            .returning(*CLAIMED_COLUMNS))


_CLAIM = Statement(_claim_statement)
_CLAIM_LATE = Statement(lambda postgresql: _claim_statement(postgresql, late_only=True))
_START_POSTS = Statement(lambda postgresql: (
    update(Post).where(in_ids(col(Post.id), postgresql), col(Post.status) == PostStatus.APPROVED.value)
    .values(status=PostStatus.PUBLISHING.value, updated_at=bindparam("b_now"))
    .returning(col(Post.id), col(Post.workspace_id), col(Post.scene_id))))


def claim_in_transaction(connection: Connection, worker_id: str, now: datetime, limit: int, lease_seconds: float,
                         late: tuple[datetime, int] | None = None) -> list[ClaimedDelivery]:
    """Lease up to `limit` waiting deliveries inside the caller's transaction (late ones only, given `late`).

    `late` is (cutoff, grace minutes): the missed-post sweep claims what fell due before the cutoff in workspaces
    with that grace period, and leaves the posts' status to its own settling.
    """
    params: dict[str, Any] = {"b_now": now, "b_limit": limit, "b_worker": worker_id,
                              "b_until": now + timedelta(seconds=lease_seconds)}
    statements = _CLAIM
    if late is not None:
        statements = _CLAIM_LATE
        params.update(b_cutoff=late[0], b_grace=late[1])
    rows = connection.execute(statements.on(connection), params)
    claimed = sorted((claimed_from_row(row) for row in rows), key=lambda delivery: (delivery.due_at, delivery.id))
    if claimed and late is None:
        _start_posts(connection, {delivery.post_id for delivery in claimed}, now)
    return claimed


def _start_posts(connection: Connection, post_ids: set[int], now: datetime) -> None:
    """Move posts whose first delivery was just claimed from approved to publishing, with an audit event."""
    started = connection.execute(_START_POSTS.on(connection), {"b_ids": sorted(post_ids), "b_now": now}).all()
    add_audit_events(connection, [
        {"workspace_id": row.workspace_id, "post_id": row.id, "scene_id": row.scene_id, "action": "publishing",
         "from_status": PostStatus.APPROVED.value, "to_status": PostStatus.PUBLISHING.value, "created_at": now}
        for row in started])


def claim_due_deliveries(engine: Engine, worker_id: str, now: datetime, limit: int,
                         lease_seconds: float) -> list[ClaimedDelivery]:
    """Atomically lease up to `limit` due deliveries for `worker_id`; no two workers ever get the same one."""
    with write_transaction(engine) as connection:
        return claim_in_transaction(connection, worker_id, now, limit, lease_seconds)


_SCHEDULED = (select(col(Delivery.due_at)).join(Post, col(Post.id) == col(Delivery.post_id))
              .where(col(Delivery.status) == PENDING, col(Delivery.due_at).is_not(None), post_is_approved()))
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


_HEARTBEAT = Statement(lambda postgresql: (
    update(Delivery).where(in_ids(col(Delivery.id), postgresql), owned())
    .values(lease_expires_at=bindparam("b_until")).returning(col(Delivery.id))))


def heartbeat(engine: Engine, worker_id: str, delivery_ids: Iterable[int], now: datetime,
              lease_seconds: float) -> set[int]:
    """Extend the leases this worker still holds; return the ids whose lease was extended."""
    ids = sorted(delivery_ids)
    if not ids:
        return set()
    with write_transaction(engine) as connection:
        return ids_of(connection.execute(_HEARTBEAT.on(connection), {"b_ids": ids, "b_worker": worker_id,
                                                      "b_until": now + timedelta(seconds=lease_seconds)}))
