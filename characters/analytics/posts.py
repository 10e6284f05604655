"""One post's numbers: the latest on each network it went to, and every reading since it was published."""

from dataclasses import dataclass

from sqlmodel import Session, col, select

from characters.core.models import Channel, Delivery, EngagementSnapshot, Post, require_id


@dataclass(frozen=True)
class DeliveryNumbers:
    """One delivery of the post, its channel (None once deleted) and its readings, oldest first."""

    delivery: Delivery
    channel: Channel | None
    snapshots: list[EngagementSnapshot]


def post_numbers(session: Session, post: Post) -> list[DeliveryNumbers]:
    """Return the post's deliveries with their channels and snapshots, in two queries."""
    rows = session.exec(select(Delivery, Channel).outerjoin(Channel, col(Channel.id) == col(Delivery.channel_id))
                        .where(col(Delivery.post_id) == require_id(post)).order_by(col(Delivery.id))).all()
    ids = [require_id(delivery) for delivery, _ in rows]
    snapshots: dict[int, list[EngagementSnapshot]] = {}
    if ids:
        for snapshot in session.exec(select(EngagementSnapshot).where(col(EngagementSnapshot.delivery_id).in_(ids))
                                     .order_by(col(EngagementSnapshot.taken_at), col(EngagementSnapshot.id))):
            snapshots.setdefault(snapshot.delivery_id, []).append(snapshot)
    return [DeliveryNumbers(delivery, channel, snapshots.get(require_id(delivery), [])) for delivery, channel in rows]
