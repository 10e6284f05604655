"""Recovery: leases whose worker vanished, and deliveries found later than their workspace's grace period.

A lease that expires without the sending marker was never sent: back to pending. One with it may have reached the
network, so the reaper takes it over to look it up there, and it ends published or held as unconfirmed.
"""

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, bindparam, select, update
from sqlalchemy.engine import Engine
from sqlalchemy.sql.elements import ColumnElement
from sqlmodel import col

from characters.core.db import write_transaction
from characters.core.models import Delivery, Workspace
from characters.publishing.claims import CLAIMED_COLUMNS, ClaimedDelivery, claim_in_transaction, claimed_from_row
from characters.publishing.loading import OutgoingDelivery
from characters.publishing.settling import Missed, settle_in_transaction
from characters.publishing.sql import NOT_SENT, PENDING, PUBLISHING, Statement, ids_of, in_ids


@dataclass(frozen=True)
class ReapResult:
    """What the reaper did with expired leases."""

    requeued: list[int]
    # Leases that expired after sending started, now held by the reaper until it looks them up.
    to_check: list[ClaimedDelivery] = field(default_factory=list)


def _expired() -> ColumnElement[bool]:
    return and_(col(Delivery.status) == PUBLISHING, col(Delivery.lease_expires_at) < bindparam("b_now"))


def _expired_statement(postgresql: bool) -> Any:
    query = (select(col(Delivery.id)).where(_expired())
             .order_by(col(Delivery.lease_expires_at), col(Delivery.id)).limit(bindparam("b_limit")))
    return query.with_for_update(skip_locked=True, key_share=True) if postgresql else query


_EXPIRED = Statement(_expired_statement)
_REQUEUE_EXPIRED = Statement(lambda postgresql: (
    update(Delivery).where(in_ids(col(Delivery.id), postgresql), _expired(), NOT_SENT)
    .values(status=PENDING, lease_owner=None, lease_expires_at=None).returning(col(Delivery.id))))
_TAKE_OVER_EXPIRED = Statement(lambda postgresql: (
    update(Delivery).where(in_ids(col(Delivery.id), postgresql), _expired(), ~NOT_SENT)
    .values(lease_owner=bindparam("b_worker"), lease_expires_at=bindparam("b_until"))
    .returning(*CLAIMED_COLUMNS)))


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
        requeued = ids_of(connection.execute(_REQUEUE_EXPIRED.on(connection), params))
        taken = [claimed_from_row(row) for row in connection.execute(_TAKE_OVER_EXPIRED.on(connection), params)]
    return ReapResult(requeued=sorted(requeued), to_check=sorted(taken, key=lambda delivery: delivery.id))


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
            claimed = claim_in_transaction(connection, worker_id, now, limit, lease_seconds=60,
                                           late=(now - timedelta(minutes=grace), grace))
            missed += settle_in_transaction(connection, worker_id, [
                Missed(delivery.id, _missed_reason(delivery, now, grace)) for delivery in claimed], now)
    return sorted(missed)


def _missed_reason(claimed: ClaimedDelivery, now: datetime, grace_minutes: int) -> str:
    late_minutes = int((now - claimed.effective_due_at).total_seconds() // 60)
    return (f"it was due {claimed.effective_due_at:%Y-%m-%d %H:%M} UTC and the scheduler found it {late_minutes} "
            f"minutes late, past this workspace's {grace_minutes}-minute grace period; an editor can send it now "
            "or cancel it.")


def missed_reason(delivery: OutgoingDelivery, now: datetime) -> str:
    """Explain why a delivery found too late is held instead of published."""
    return _missed_reason(delivery.claimed, now, delivery.late_grace_minutes)
