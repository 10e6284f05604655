"""A channel's network session (Bluesky), saved encrypted so that a restarted scheduler reuses it instead of logging in.

Only the scheduler reads and writes it; each save is its own short transaction, apart from any delivery's.
"""

from datetime import datetime

from sqlalchemy import update
from sqlalchemy.engine import Engine
from sqlmodel import col

from characters.core.db import write_transaction
from characters.core.models import Channel


def save_channel_session(engine: Engine, channel_id: int, token: str, now: datetime) -> None:
    """Store a channel's session (already encrypted) and when it was saved."""
    with write_transaction(engine) as connection:
        connection.execute(update(Channel).where(col(Channel.id) == channel_id)
                           .values(session_token=token, session_saved_at=now))
