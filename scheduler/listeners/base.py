"""The small interface every listener implements, and helpers the network modules share."""

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, Protocol

from characters.listening.ingest import ListenTarget, Poll, ThreadWanted
from scheduler.publishers.base import SessionSlot


class Listener(Protocol):
    """Reads one kind of channel's notifications and threads; failures are raised as PublishError."""

    kind: str

    def poll(self, target: ListenTarget, secrets: dict[str, Any], session: SessionSlot | None) -> Poll:
        """Return what is new since the target's cursor (mentions, replies, quotes; likes and reposts counted)."""
        ...

    def thread(self, target: ListenTarget, secrets: dict[str, Any], session: SessionSlot | None,
               wanted: ThreadWanted) -> list[dict[str, Any]] | None:
        """Return the conversation's thread root first, or None when its post is deleted or out of reach."""
        ...


def parse_time(value: Any, fallback: datetime | None = None) -> datetime | None:
    """Return an aware UTC datetime from an ISO string or a datetime; `fallback` when unreadable."""
    if isinstance(value, datetime):
        return value if value.tzinfo is not None else value.replace(tzinfo=UTC)
    if isinstance(value, str) and value:
        try:
            parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return fallback
        return parsed.astimezone(UTC) if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)
    return fallback


def get(data: Any, *path: str) -> Any:
    """Return data[path[0]][path[1]]... or None where a step is missing (network answers are loosely shaped)."""
    for key in path:
        if not isinstance(data, Mapping):
            return None
        data = data.get(key)
    return data


def text_of(value: Any, limit: int = 300) -> str:
    """Return a string field cut to `limit` characters ('' for anything else)."""
    return value[:limit] if isinstance(value, str) else ""
