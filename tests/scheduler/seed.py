"""Fast data for scheduler tests, the chaos test and the benchmark: approved posts with due deliveries.

Rows are written with bulk INSERTs exactly as the approval workflow leaves them (post approved with a due
time; each delivery pending with the same due time and the key `gr-{post}-v{version}-c{channel}`).
"""

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.engine import Engine
from sqlmodel import col

from characters.core.models import (
    Channel,
    ChannelKind,
    Character,
    Delivery,
    DeliveryStatus,
    Post,
    PostPart,
    PostStatus,
    User,
    Workspace,
    utcnow,
)


@dataclass(frozen=True)
class World:
    """One workspace with an author, a character and one channel per kind."""

    workspace_id: int
    author_id: int
    character_id: int
    channels: dict[ChannelKind, int]


def make_world(engine: Engine, slug: str = "sched", *, grace_minutes: int = 15,
               kinds: tuple[ChannelKind, ...] = (ChannelKind.FEED, ChannelKind.WEBHOOK)) -> World:
    """Create the rows posts need, without password hashing or other slow set-up."""
    now = utcnow()
    with engine.begin() as connection:
        author_id = connection.execute(insert(User).returning(col(User.id)), {
            "email": f"author@{slug}.example", "display_name": "Author", "password_hash": "x", "is_active": True,
            "is_admin": False, "created_at": now}).scalar_one()
        workspace_id = connection.execute(insert(Workspace).returning(col(Workspace.id)), {
            "slug": slug, "name": slug.title(), "two_person_rule": True, "writers_edit_bibles": False,
            "late_grace_minutes": grace_minutes, "created_at": now}).scalar_one()
        character_id = connection.execute(insert(Character).returning(col(Character.id)), {
            "workspace_id": workspace_id, "slug": "walt", "name": "Walt", "current_version": 1, "created_at": now,
            "updated_at": now}).scalar_one()
        channels = {kind: connection.execute(insert(Channel).returning(col(Channel.id)), {
            "workspace_id": workspace_id, "character_id": character_id, "kind": kind.value,
            "label": f"Walt on {kind.value}", "settings": {}, "created_at": now}).scalar_one() for kind in kinds}
    return World(workspace_id, author_id, character_id, channels)


def add_posts(engine: Engine, world: World, count: int, due_at: datetime | list[datetime], *,
              kinds: tuple[ChannelKind, ...] = (ChannelKind.FEED,), parts: tuple[str, ...] = ("Hello from Walt.",),
              status: PostStatus = PostStatus.APPROVED, **post_values: Any) -> list[int]:
    """Insert `count` approved posts due at `due_at` (one time, or one per post); return their ids."""
    dues = due_at if isinstance(due_at, list) else [due_at] * count
    now = utcnow()
    with engine.begin() as connection:
        post_ids = list(connection.execute(insert(Post).returning(col(Post.id), sort_by_parameter_order=True), [{
            "workspace_id": world.workspace_id, "character_id": world.character_id, "author_id": world.author_id,
            "status": status.value, "version": 1, "due_at": due, "delay_minutes": 0, "check_findings": [],
            "created_at": now, "updated_at": now, **post_values} for due in dues]).scalars())
        connection.execute(insert(PostPart), [{"post_id": post_id, "position": position, "text": text}
                                              for post_id in post_ids for position, text in enumerate(parts)])
        connection.execute(insert(Delivery), [{
            "post_id": post_id, "channel_id": world.channels[kind], "status": DeliveryStatus.PENDING.value,
            "due_at": due, "idempotency_key": f"gr-{post_id}-v1-c{world.channels[kind]}", "attempts": 0,
            "remote_refs": []} for post_id, due in zip(post_ids, dues, strict=True) for kind in kinds])
    return post_ids


def deliveries(engine: Engine, post_ids: list[int] | None = None) -> list[Any]:
    """Return delivery rows (optionally of some posts), by id."""
    query = select(Delivery).order_by(col(Delivery.id))
    if post_ids is not None:
        query = query.where(col(Delivery.post_id).in_(post_ids))
    with engine.connect() as connection:
        return list(connection.execute(query).all())


def post_row(engine: Engine, post_id: int) -> Any:
    """Return one post row as stored."""
    with engine.connect() as connection:
        return connection.execute(select(Post).where(col(Post.id) == post_id)).one()


def set_delivery(engine: Engine, delivery_id: int, **values: Any) -> None:
    """Change a delivery row directly (to arrange a situation)."""
    with engine.begin() as connection:
        connection.execute(update(Delivery).where(col(Delivery.id) == delivery_id).values(**values))


def set_post(engine: Engine, post_id: int, **values: Any) -> None:
    """Change a post row directly (to arrange a situation)."""
    with engine.begin() as connection:
        connection.execute(update(Post).where(col(Post.id) == post_id).values(**values))
