from datetime import UTC, datetime

from characters.core.models import ChannelKind
from scheduler.publishers.base import Found, PartContent, PublishRequest
from scheduler.publishers.feed import FeedPublisher


def _request() -> PublishRequest:
    return PublishRequest(idempotency_key="gr-1-v1-c1", parts=[PartContent("Hello")], settings={}, secrets={})


def test_feed_publish_is_immediate_and_keyed():
    outcome = FeedPublisher().publish(_request())
    assert FeedPublisher.kind is ChannelKind.FEED
    assert outcome.refs[0].id == "feed:gr-1-v1-c1"


def test_an_interrupted_feed_delivery_counts_as_published():
    # Nothing leaves the database, so the reaper may settle it instead of asking a person.
    now = datetime.now(UTC)
    assert FeedPublisher().look_up(_request(), since=now, now=now) == Found(FeedPublisher().publish(_request()))
