"""The character's own public feed: publishing only marks the delivery done; the web app serves the feed."""

from datetime import datetime
from typing import Any

from characters.core.models import ChannelKind
from scheduler.publishers.base import Found, Lookup, PublishOutcome, PublishRequest, RemoteRef, SessionSlot


class FeedPublisher:
    """Publishes to the feed the web app renders from published feed deliveries (Atom and JSON Feed)."""

    instant = True  # no network call: one thread sends a group of these (scheduler.worker._Job)

    kind = ChannelKind.FEED

    def publish(self, request: PublishRequest) -> PublishOutcome:
        """Succeed at once: a published feed delivery is what makes the post appear in the feed."""
        return PublishOutcome(refs=[RemoteRef(id=f"feed:{request.idempotency_key}")])

    def look_up(self, request: PublishRequest, *, since: datetime, now: datetime) -> Lookup:
        """Return found: nothing leaves the database, so an interrupted attempt can simply count as done."""
        return Found(self.publish(request))

    def check_connection(
        self, settings: dict[str, Any], secrets: dict[str, Any], session: SessionSlot | None = None
    ) -> str:
        """Report success: the feed needs no account."""
        return "The character's feed is served by Greenroom itself."
