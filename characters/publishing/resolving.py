"""People resolving held deliveries: an unconfirmed one did go out or is sent again, a missed one is sent late.

These take the web request's session (the request owns the transaction); editors and owners only, audited with
the person.
"""

from datetime import datetime
from typing import Any

from sqlalchemy import update
from sqlmodel import Session, col

from characters.accounts.workspaces import Action, Member
from characters.core.errors import DomainError, NotFound
from characters.core.models import Delivery, DeliveryStatus, Post
from characters.publishing.post_status import refresh_posts
from characters.publishing.sql import PENDING, add_audit_events


def _held_delivery(session: Session, member: Member, delivery_id: int, status: DeliveryStatus) -> Delivery:
    member.require(Action.SCHEDULE)
    delivery = session.get(Delivery, delivery_id)
    post = session.get(Post, delivery.post_id) if delivery is not None else None
    if delivery is None or post is None or post.workspace_id != member.workspace.id:
        raise NotFound("No such delivery in this workspace.")
    if delivery.status != status:
        raise DomainError(f"This delivery is {delivery.status}, not {status.value}; reload the page.")
    return delivery


def _resolve(session: Session, member: Member, delivery: Delivery, values: dict[str, Any], now: datetime,
             action: str, reason: str) -> None:
    connection = session.connection()
    changed = connection.execute(update(Delivery)
                                 .where(col(Delivery.id) == delivery.id, col(Delivery.status) == delivery.status)
                                 .values(**values).returning(col(Delivery.id))).first()
    if changed is None:
        raise DomainError("Someone else resolved this delivery first; reload the page.")
    # "target_id" is the key audit events have always stored the delivery under.
    add_audit_events(connection, [{
        "workspace_id": member.workspace.id, "post_id": delivery.post_id, "actor_id": member.user.id,
        "action": action, "from_status": delivery.status, "to_status": values["status"], "reason": reason,
        "details": {"target_id": delivery.id, "channel_id": delivery.channel_id}, "created_at": now}])
    refresh_posts(connection, {delivery.post_id}, now, actor_id=member.user.id, reason=reason)
    session.expire_all()


def resolve_unconfirmed(*, session: Session, member: Member, delivery_id: int, published: bool, now: datetime,
                        url: str | None = None) -> None:
    """Settle an unconfirmed delivery (`delivery_id`) by hand: it did go out (`published`), or send it again now."""
    delivery = _held_delivery(session, member, delivery_id, DeliveryStatus.UNCONFIRMED)
    if published:
        values: dict[str, Any] = {"status": DeliveryStatus.PUBLISHED.value, "published_at": now,
                                  "remote_url": url or delivery.remote_url, "last_error": None}
        reason = "Confirmed published by hand."
    else:
        values = _requeue_values(now)
        reason = "Checked: it did not go out; sending again."
    _resolve(session, member, delivery, values, now, "resolve_unconfirmed", reason)


def requeue_missed(*, session: Session, member: Member, delivery_id: int, now: datetime) -> None:
    """Send a delivery (`delivery_id`) that was held as missed now, despite being late."""
    delivery = _held_delivery(session, member, delivery_id, DeliveryStatus.MISSED)
    _resolve(session, member, delivery, _requeue_values(now), now, "requeue_missed", "Sent late on purpose.")


def _requeue_values(now: datetime) -> dict[str, Any]:
    # The retry time is "now", so the grace period counts from the editor's decision, not the old due time.
    return {"status": PENDING, "next_attempt_at": now, "sending_started_at": None, "lease_owner": None,
            "lease_expires_at": None, "last_error": None}
