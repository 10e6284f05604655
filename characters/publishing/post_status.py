"""A post's status follows its deliveries: recomputed under a lock on the post row, each change audited."""

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, func, select, update
from sqlalchemy.engine import Connection
from sqlmodel import col

from characters.core.models import Delivery, DeliveryStatus, Post, PostStatus
from characters.publishing.sql import LIVE_POST_STATUSES, PENDING, PUBLISHING, Statement, add_audit_events, in_ids

# Post statuses the scheduler owns and may recompute from the deliveries; the workflow owns the rest.
SCHEDULER_POST_STATUSES = frozenset({PostStatus.APPROVED, PostStatus.PUBLISHING, PostStatus.PUBLISHED,
                                     PostStatus.FAILED, PostStatus.UNCONFIRMED, PostStatus.MISSED})


@dataclass(frozen=True)
class PostInfo:
    """A post as its settler read (and on PostgreSQL locked) it."""

    status: str
    workspace_id: int
    author_id: int | None
    scene_id: int | None


def post_status_for(delivery_statuses: Iterable[str], current: str) -> str:
    """Return a post's status given its deliveries' statuses (cancelled deliveries do not count)."""
    statuses = {status for status in delivery_statuses if status != DeliveryStatus.CANCELLED.value}
    if not statuses:
        return current
    if statuses <= {PENDING}:
        return current if current == PostStatus.APPROVED.value else PostStatus.PUBLISHING.value
    if statuses & {PENDING, PUBLISHING}:
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
             .where(in_ids(col(Post.id), postgresql)).order_by(col(Post.id)))
    # Serialize settlers of one post: each must see the others' committed deliveries, or a post whose last
    # two deliveries finish at once would stay "publishing" forever.
    return query.with_for_update(key_share=True) if postgresql else query


_LOCK_POSTS = Statement(_lock_posts_statement)
_POST_DELIVERIES = Statement(lambda postgresql: (
    select(col(Delivery.post_id), col(Delivery.status), col(Delivery.last_error))
    .where(in_ids(col(Delivery.post_id), postgresql))))
_UPDATE_POSTS = Statement(lambda postgresql: (
    update(Post).where(in_ids(col(Post.id), postgresql))
    .values(status=bindparam("b_status"), updated_at=bindparam("b_now"),
            published_at=func.coalesce(col(Post.published_at), bindparam("b_published")),
            last_error=bindparam("b_error"))))


def refresh_posts(connection: Connection, post_ids: set[int], now: datetime, actor_id: int | None = None,
                  reason: str | None = None, locked: dict[int, PostInfo] | None = None) -> dict[int, PostInfo]:
    """Recompute the status of posts from their deliveries, auditing each change; return what was read.

    `locked`: the posts as the caller already read and locked them in this transaction (saves a round trip).
    """
    if not post_ids:
        return {}
    ids = {"b_ids": sorted(post_ids)}
    posts = locked if locked is not None else {
        row.id: PostInfo(row.status, row.workspace_id, row.author_id, row.scene_id)
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
    add_audit_events(connection, events)
    return posts
