"""Connection checks the web app requested: each request taken by one scheduler, its result stored on the channel."""

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.engine import Engine
from sqlmodel import col

from characters.core.db import write_transaction
from characters.core.models import Channel
from characters.publishing.sql import is_postgresql


@dataclass(frozen=True)
class ChannelCheck:
    """A requested connection test of one channel."""

    channel_id: int
    kind: str
    settings: dict[str, Any]
    secret_token: str | None
    session_token: str | None = None


def take_connection_checks(engine: Engine, limit: int = 20) -> list[ChannelCheck]:
    """Take the channels whose connection test was requested; each request is taken by one scheduler only."""
    requested = select(col(Channel.id)).where(col(Channel.check_requested_at).is_not(None)).limit(1)
    with engine.connect() as connection:  # a plain read first: this runs every few seconds, usually for nothing
        if connection.execute(requested).first() is None:
            return []
    with write_transaction(engine) as connection:
        candidates = (select(col(Channel.id)).where(col(Channel.check_requested_at).is_not(None))
                      .order_by(col(Channel.check_requested_at)).limit(limit))
        if is_postgresql(connection):
            candidates = candidates.with_for_update(skip_locked=True, key_share=True)
        ids = list(connection.execute(candidates).scalars())
        if not ids:
            return []
        rows = connection.execute(
            update(Channel).where(col(Channel.id).in_(ids), col(Channel.check_requested_at).is_not(None))
            .values(check_requested_at=None)
            .returning(col(Channel.id), col(Channel.kind), col(Channel.settings), col(Channel.secret_token),
                       col(Channel.session_token))).all()
    return [ChannelCheck(channel_id=row.id, kind=row.kind, settings=dict(row.settings or {}),
                         secret_token=row.secret_token, session_token=row.session_token) for row in rows]


def record_connection_check(engine: Engine, channel_id: int, ok: bool, message: str, now: datetime) -> None:
    """Store the result of a connection test for the channel page."""
    with write_transaction(engine) as connection:
        connection.execute(update(Channel).where(col(Channel.id) == channel_id)
                           .values(last_checked_at=now, last_check_ok=ok, last_check_message=message[:2000]))
