"""A publisher that sends nothing and always succeeds: for benchmarks and dry runs, never for real channels."""

from datetime import datetime
from typing import Any

from characters.core.models import ChannelKind
from scheduler.publishers.base import Found, Lookup, PublishOutcome, PublishRequest, RemoteRef, SessionSlot


class NoopPublisher:
    """Pretends every delivery went out; the idempotency key doubles as the remote id."""

    instant = True  # no network call: one thread sends a group of these (scheduler.worker._Job)

    def __init__(self, kind: ChannelKind = ChannelKind.FEED) -> None:
        self.kind = kind

    def publish(self, request: PublishRequest) -> PublishOutcome:
        """Return one made-up reference per part."""
        return PublishOutcome(
            refs=[RemoteRef(id=f"{request.idempotency_key}/{index}") for index in range(len(request.parts))]
        )

    def look_up(self, request: PublishRequest, *, since: datetime, now: datetime) -> Lookup:
        """Return what `publish` would have returned: everything "sent" is "there"."""
        return Found(self.publish(request))

    def check_connection(
        self, settings: dict[str, Any], secrets: dict[str, Any], session: SessionSlot | None = None
    ) -> str:
        """Report the no-op account."""
        return "no-op publisher (nothing is sent anywhere)"
