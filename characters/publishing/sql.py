"""SQL pieces every delivery module shares: the lease fence, id lists as one parameter, statements per database.

Statements are built once, with bind parameters (all named b_*), so SQLAlchemy compiles each once per dialect:
building and caching a statement per call cost more than the claim itself.
"""

import json
from collections.abc import Callable, Iterable
from typing import Any

from sqlalchemy import (
    Integer,
    String,
    TypeDecorator,
    and_,
    any_,
    bindparam,
    cast,
    func,
    insert,
    literal,
    literal_column,
    or_,
    select,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.engine import Connection, Dialect
from sqlalchemy.sql.elements import ColumnElement
from sqlmodel import col

from characters.core.models import AuditEvent, Delivery, DeliveryStatus, Post, PostStatus

PENDING = DeliveryStatus.PENDING.value
PUBLISHING = DeliveryStatus.PUBLISHING.value
# Posts whose status lets their deliveries go out; anything else (edited back to review, cancelled) holds them.
LIVE_POST_STATUSES = (PostStatus.APPROVED.value, PostStatus.PUBLISHING.value)
NOT_SENT = col(Delivery.sending_started_at).is_(None)


def _key_matches_post_version() -> ColumnElement[bool]:
    """Return a condition: the delivery's idempotency key was issued for the post's current version."""
    prefix = literal("gr-") + cast(col(Post.id), String) + "-v" + cast(col(Post.version), String) + "-c%"
    return col(Delivery.idempotency_key).like(prefix)


def post_is_approved() -> ColumnElement[bool]:
    """Return a condition on a joined post: approved, or already publishing."""
    # Two equalities, not IN (...): an IN list is re-rendered into the SQL on every execution.
    return or_(*(col(Post.status) == status for status in LIVE_POST_STATUSES))


def post_is_live() -> ColumnElement[bool]:
    """Return a condition on a correlated post: approved for exactly the version the delivery's key names."""
    return and_(post_is_approved(), _key_matches_post_version())


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


def in_ids(column: Any, postgresql: bool) -> ColumnElement[bool]:
    """Return `column IN (the ids bound as b_ids)` in the form each database handles best."""
    ids = bindparam("b_ids", type_=_IdList())
    if postgresql:
        condition: ColumnElement[bool] = column == any_(ids)
        return condition
    condition = column.in_(select(literal_column("value")).select_from(func.json_each(ids)))
    return condition


def waiting() -> ColumnElement[bool]:
    """Return a condition on a delivery: pending with a due time, and no retry scheduled after b_now."""
    return and_(col(Delivery.status) == PENDING, col(Delivery.due_at).is_not(None),
                col(Delivery.due_at) <= bindparam("b_now"),
                or_(col(Delivery.next_attempt_at).is_(None), col(Delivery.next_attempt_at) <= bindparam("b_now")))


def owned() -> ColumnElement[bool]:
    """Return the fence every write after a claim carries: leased to b_worker and still publishing."""
    return and_(col(Delivery.lease_owner) == bindparam("b_worker"), col(Delivery.status) == PUBLISHING)


def is_postgresql(connection: Connection) -> bool:
    """Return whether the connection is to PostgreSQL (row locks, arrays) rather than SQLite."""
    return connection.dialect.name == "postgresql"


class Statement:
    """A statement built once for each database: id lists and row locks are written differently."""

    def __init__(self, build: Callable[[bool], Any]) -> None:
        self._built = {False: build(False), True: build(True)}

    def on(self, connection: Connection) -> Any:
        """Return the statement for this connection's database."""
        return self._built[is_postgresql(connection)]


def ids_of(rows: Iterable[Any]) -> set[int]:
    """Return the ids in a result of one-column rows."""
    return {int(row[0]) for row in rows}


_INSERT_AUDIT = insert(AuditEvent)


def add_audit_events(connection: Connection, events: list[dict[str, Any]]) -> None:
    """Append scheduler audit events (actor None unless a person resolved something)."""
    if events:
        connection.execute(_INSERT_AUDIT, [{"actor_id": None, "scene_id": None, "reason": None,
                                                "details": {}, **event} for event in events])

