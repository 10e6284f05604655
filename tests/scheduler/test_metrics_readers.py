"""The metrics readers' plumbing: Bluesky queries on the publisher's session, errors and Retry-After, the job."""

import argparse
import base64
import json
import time
from datetime import UTC, datetime

import httpx
import pytest
from apscheduler.schedulers.background import BackgroundScheduler
from atproto import Client
from atproto_client.request import Request

from characters.core.config import Settings
from characters.core.models import ChannelKind
from scheduler.metrics.base import Account
from scheduler.metrics.bluesky import BlueskyMetrics
from scheduler.metrics.collector import default_readers
from scheduler.metrics.mastodon import MastodonMetrics
from scheduler.process import install_jobs
from scheduler.publishers.base import PublishError
from scheduler.publishers.bluesky import BlueskyPublisher
from scheduler.publishers.mastodon import MastodonPublisher
from scheduler.publishers.noop import NoopPublisher
from scheduler.publishers.registry import PublisherRegistry, registry_for_all_kinds

SETTINGS = {"service_url": "https://pds.example", "handle": "walt.test"}
SECRETS = {"app_password": "abcd-efgh-ijkl-mnop"}


def _jwt() -> str:
    def part(value: dict) -> str:
        return base64.urlsafe_b64encode(json.dumps(value).encode()).rstrip(b"=").decode()

    return f"{part({'alg': 'ES256K'})}.{part({'sub': 'did:plc:walt', 'exp': int(time.time()) + 3600})}.c2ln"


class FakePds:
    """Answers createSession, and then whatever the test says for each XRPC method."""

    def __init__(self, answers: dict[str, httpx.Response]) -> None:
        self.answers = answers
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        method = request.url.path.rsplit("/", 1)[-1]
        if method == "com.atproto.server.createSession":
            return httpx.Response(200, json={"did": "did:plc:walt", "handle": "walt.test", "accessJwt": _jwt(),
                                             "refreshJwt": _jwt()})
        return self.answers[method]


def _publisher(pds: FakePds) -> BlueskyPublisher:
    return BlueskyPublisher(allow_private_addresses=True, client_factory=lambda url, timeout, transport: Client(
        base_url=url, request=Request(timeout=timeout, transport=httpx.MockTransport(pds), trust_env=False)))


def test_getposts_sends_each_uri_and_reads_the_counts():
    uris = [f"at://did:plc:walt/app.bsky.feed.post/3k{number}" for number in range(3)]
    pds = FakePds({"app.bsky.feed.getPosts": httpx.Response(200, json={"posts": [
        {"uri": uris[0], "likeCount": 4, "repostCount": 2, "replyCount": 1, "quoteCount": 1},
        {"uri": uris[2], "likeCount": 0}]}),
        "com.atproto.repo.getRecord": httpx.Response(200, json={"uri": uris[1], "value": {}})})
    reader = BlueskyMetrics(_publisher(pds))
    found = reader.read_posts(Account(channel_id=1, settings=SETTINGS, secrets=SECRETS), uris)

    [get_posts] = [request for request in pds.requests if request.url.path.endswith("getPosts")]
    assert get_posts.url.params.get_list("uris") == uris
    assert (found[uris[0]].likes, found[uris[0]].reposts, found[uris[0]].replies, found[uris[0]].quotes) == (
        4, 2, 1, 1)
    assert found[uris[2]].likes == 0
    assert uris[1] not in found  # its record is there: the AppView has not indexed it yet


def test_a_record_the_repository_no_longer_has_is_not_found():
    pds = FakePds({"com.atproto.repo.getRecord": httpx.Response(
        400, json={"error": "RecordNotFound", "message": "Could not locate record"})})
    answer = _publisher(pds).query(SETTINGS, SECRETS, None, "com.atproto.repo.getRecord",
                                   {"repo": "did:plc:walt", "collection": "app.bsky.feed.post", "rkey": "3k1"})
    assert answer is None


def test_a_429_carries_its_retry_after():
    pds = FakePds({"app.bsky.feed.getPosts": httpx.Response(
        429, headers={"Retry-After": "42"}, json={"error": "RateLimitExceeded", "message": "Rate Limit Exceeded"})})
    with pytest.raises(PublishError) as caught:
        _publisher(pds).query(SETTINGS, SECRETS, None, "app.bsky.feed.getPosts", {"uris": ["at://x/y/z"]})
    assert caught.value.retryable
    assert caught.value.retry_after == 42


def test_a_server_error_is_worth_retrying_and_a_bad_request_is_not():
    for status, retryable in ((502, True), (400, False)):
        pds = FakePds({"app.bsky.actor.getProfile": httpx.Response(status, json={"error": "Oops", "message": "x"})})
        with pytest.raises(PublishError) as caught:
            _publisher(pds).query(SETTINGS, SECRETS, None, "app.bsky.actor.getProfile", {"actor": "walt.test"})
        assert caught.value.retryable is retryable


def test_numbers_are_read_only_where_the_process_publishes_with_that_networks_own_publisher():
    settings = Settings(database_url="sqlite://", secret_key="test-secret", greenroom_env="test")
    real = PublisherRegistry([BlueskyPublisher(allow_private_addresses=False),
                              MastodonPublisher(allow_private_addresses=False)])
    assert sorted(type(reader).__name__ for reader in default_readers(real, settings)) == [
        BlueskyMetrics.__name__, MastodonMetrics.__name__]
    # Benchmarks and chaos tests publish every kind with one no-op publisher: nothing is read then.
    assert default_readers(registry_for_all_kinds(NoopPublisher(ChannelKind.FEED)), settings) == []


def test_the_scheduler_runs_a_metrics_job():
    class Worker:
        def __getattr__(self, name: str):
            return lambda *args, **kwargs: None

    calls: list[str] = []
    scheduler = BackgroundScheduler(timezone="UTC")
    args = argparse.Namespace(poll_seconds=5, lease_seconds=60, reap_seconds=15, sweep_seconds=60, check_seconds=2)
    install_jobs(scheduler, Worker(), args, metrics=lambda: calls.append("metrics"))
    job = scheduler.get_job("metrics")
    assert job is not None
    assert job.trigger.interval.total_seconds() == 60
    assert job.next_run_time > datetime.now(UTC)
    job.func()
    assert calls == ["metrics"]
