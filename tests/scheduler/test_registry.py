"""The publisher registry: the real publishers by default, and swappable for tests and benchmarks."""

from characters.core.config import Settings
from characters.core.models import ChannelKind
from scheduler.publishers.noop import NoopPublisher
from scheduler.publishers.registry import PublisherRegistry, default_registry, registry_for_all_kinds


def test_the_default_registry_serves_every_kind_with_its_own_publisher():
    registry = default_registry(Settings(webhook_allow_private_targets=True, webhook_timeout_seconds=3))
    assert registry.kinds() == sorted(ChannelKind)
    assert all(registry.get(kind).kind == kind for kind in ChannelKind)
    webhook = registry.get(ChannelKind.WEBHOOK)
    assert (webhook.allow_private_targets, webhook.timeout) == (True, 3)
    assert registry.get(ChannelKind.MASTODON).allow_private_addresses
    assert registry.get(ChannelKind.BLUESKY).allow_private_addresses
    assert not default_registry(Settings()).get(ChannelKind.BLUESKY).allow_private_addresses


def test_publishers_can_be_swapped_and_restored():
    registry = PublisherRegistry([NoopPublisher(ChannelKind.FEED)])
    original = registry.get("feed")
    fake = NoopPublisher(ChannelKind.MASTODON)
    with registry.overridden(fake, kinds=[ChannelKind.FEED, ChannelKind.MASTODON]):
        assert registry.get("feed") is fake
        assert registry.get("mastodon") is fake
    assert registry.get("feed") is original
    assert registry.get("mastodon") is None
    assert registry.get("no-such-network") is None


def test_one_publisher_can_serve_every_kind():
    noop = NoopPublisher()
    registry = registry_for_all_kinds(noop)
    assert all(registry.get(kind) is noop for kind in ChannelKind)
