"""Which publisher handles which kind of channel; tests and benchmarks swap in their own."""

from collections.abc import Iterable, Iterator
from contextlib import contextmanager

from characters.core.config import Settings
from characters.core.models import ChannelKind
from scheduler.publishers.base import Publisher


class PublisherRegistry:
    """A mapping from channel kind to the one publisher instance that serves it."""

    def __init__(self, publishers: Iterable[Publisher] = ()) -> None:
        self._publishers: dict[ChannelKind, Publisher] = {}
        for publisher in publishers:
            self.register(publisher)

    def register(self, publisher: Publisher, kind: ChannelKind | None = None) -> None:
        """Serve `kind` (by default the publisher's own) with `publisher`, replacing any earlier one."""
        self._publishers[ChannelKind(kind or publisher.kind)] = publisher

    def get(self, kind: str) -> Publisher | None:
        """Return the publisher for a channel kind, or None when this process has none."""
        try:
            return self._publishers.get(ChannelKind(kind))
        except ValueError:
            return None

    def kinds(self) -> list[ChannelKind]:
        """Return the kinds served, in a stable order."""
        return sorted(self._publishers)

    @contextmanager
    def overridden(self, publisher: Publisher, kinds: Iterable[ChannelKind] | None = None) -> Iterator[None]:
        """Serve `kinds` (by default the publisher's own kind) with `publisher` inside the block."""
        chosen = [ChannelKind(kind) for kind in (kinds if kinds is not None else [publisher.kind])]
        saved = {kind: self._publishers.get(kind) for kind in chosen}
        for kind in chosen:
            self.register(publisher, kind)
        try:
            yield
        finally:
            for kind, previous in saved.items():
                if previous is None:
                    self._publishers.pop(kind, None)
                else:
                    self._publishers[kind] = previous


def registry_for_all_kinds(publisher: Publisher) -> PublisherRegistry:
    """Return a registry that sends every kind of channel to one publisher (benchmarks, chaos tests)."""
    registry = PublisherRegistry()
    for kind in ChannelKind:
        registry.register(publisher, kind)
    return registry


def default_registry(settings: Settings) -> PublisherRegistry:
    """Return the registry of the real network publishers this build ships."""
    # Imported here, not at the top: the Bluesky client alone takes seconds to import, and processes that bring
    # their own publishers (tests, benchmarks) never need the real ones.
    from scheduler.publishers.bluesky import BlueskyPublisher
    from scheduler.publishers.feed import FeedPublisher
    from scheduler.publishers.mastodon import MastodonPublisher
    from scheduler.publishers.webhook import WebhookPublisher

    allow_private = settings.outbound_allow_private_addresses
    return PublisherRegistry([
        BlueskyPublisher(allow_private_addresses=allow_private),
        MastodonPublisher(allow_private_addresses=allow_private),
        WebhookPublisher(allow_private_targets=allow_private,
                         timeout=settings.webhook_timeout_seconds),
        FeedPublisher(),
    ])
