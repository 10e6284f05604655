"""Collecting engagement: the decaying schedule, batched reads, deletions, backoff and two schedulers at once."""

import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, update
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from characters.analytics.collect import DONE, SCHEDULE, claim_due, next_due
from characters.core.models import (
    Channel,
    ChannelKind,
    Delivery,
    DeliveryStatus,
    EngagementSnapshot,
    FollowerSnapshot,
    Post,
    PostStatus,
    require_id,
)
from scheduler.metrics.bluesky import BlueskyMetrics
from scheduler.metrics.collector import BACKOFF_BASE, NOT_YET_WAIT, UNREADABLE_WAIT, MetricsCollector
from scheduler.metrics.mastodon import MastodonMetrics
from scheduler.publishers.base import PublishError, SessionSlot
from tests.factories import make_character, make_user, make_workspace

T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)


class Clock:
    """A clock the test moves by hand."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, delta: timedelta) -> None:
        self.now += delta


class FakeBluesky:
    """Answers getPosts, getRecord and getProfile like a PDS in front of an AppView, from dictionaries."""

    def __init__(self) -> None:
        self.counts: dict[str, dict[str, int]] = {}
        self.deleted: set[str] = set()
        self.unindexed: set[str] = set()
        self.followers = 0
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.fail_with: list[PublishError] = []
        self.during_call: Callable[[], None] | None = None

    def query(self, settings: dict[str, Any], secrets: dict[str, Any], session: SessionSlot | None, nsid: str,
              params: dict[str, Any]) -> dict[str, Any] | None:
        self.calls.append((nsid, params))
        if self.during_call is not None:
            hook, self.during_call = self.during_call, None
            hook()
        if self.fail_with:
            raise self.fail_with.pop(0)
        if nsid == "app.bsky.feed.getPosts":
            return {"posts": [{"uri": uri, "cid": "bafy", "likeCount": self.counts.get(uri, {}).get("likes", 0),
                               "repostCount": self.counts.get(uri, {}).get("reposts", 0),
                               "replyCount": self.counts.get(uri, {}).get("replies", 0),
                               "quoteCount": self.counts.get(uri, {}).get("quotes", 0)}
                              for uri in params["uris"] if uri not in self.deleted | self.unindexed]}
        if nsid == "com.atproto.repo.getRecord":
            uri = f"at://{params['repo']}/{params['collection']}/{params['rkey']}"
            return None if uri in self.deleted else {"uri": uri, "value": {}}
        if nsid == "app.bsky.actor.getProfile":
            return {"did": "did:plc:walt", "followersCount": self.followers}
        raise AssertionError(f"unexpected query {nsid}")

    def post_batches(self) -> list[int]:
        return [len(params["uris"]) for nsid, params in self.calls if nsid == "app.bsky.feed.getPosts"]


class FakeMastodon:
    """Answers the status and account reads of a Mastodon server from dictionaries."""

    def __init__(self) -> None:
        self.statuses: dict[str, dict[str, int]] = {}
        self.followers = 0
        self.calls: list[tuple[str, list[tuple[str, str]]]] = []

    def get(self, base_url: str, token: str, path: str, params: list[tuple[str, str]]) -> Any:
        self.calls.append((path, params))
        if path == "/api/v1/statuses":
            return [{"id": value, **self.statuses[value]} for _, value in params if value in self.statuses]
        if path.startswith("/api/v1/statuses/"):
            status_id = path.rsplit("/", 1)[1]
            return {"id": status_id, **self.statuses[status_id]} if status_id in self.statuses else None
        if path == "/api/v1/accounts/verify_credentials":
            return {"id": "1", "followers_count": self.followers}
        raise AssertionError(f"unexpected GET {path}")


def _uri(number: int) -> str:
    return f"at://did:plc:walt/app.bsky.feed.post/3k{number:06d}"


def _publish(session: Session, count: int, *, kind: ChannelKind = ChannelKind.BLUESKY, at: datetime = T0,
             slug: str = "fans") -> tuple[Channel, list[int]]:
    """Store `count` posts published at `at` on one new channel; return the channel and the delivery ids."""
    owner = make_user(session, f"owner@{slug}.example")
    workspace = make_workspace(session, owner, slug)
    character = make_character(session, workspace, owner)
    settings = ({"handle": "walt.test", "service_url": "http://pds.invalid"} if kind == ChannelKind.BLUESKY
                else {"api_base_url": "http://mastodon.invalid"})
    channel = Channel(workspace_id=require_id(workspace), character_id=require_id(character), kind=kind,
                      settings=settings, secret_token="sealed")
    session.add(channel)
    session.flush()
    ids = []
    for number in range(count):
        post = Post(workspace_id=require_id(workspace), character_id=require_id(character),
                    status=PostStatus.PUBLISHED, due_at=at, published_at=at)
        session.add(post)
        session.flush()
        remote = _uri(number) if kind == ChannelKind.BLUESKY else str(1000 + number)
        delivery = Delivery(post_id=require_id(post), channel_id=channel.id, status=DeliveryStatus.PUBLISHED,
                            due_at=at, published_at=at, idempotency_key=f"gr-{post.id}-v1-c{channel.id}",
                            remote_refs=[{"id": remote, "url": None, "extra": {}}])
        session.add(delivery)
        session.flush()
        ids.append(require_id(delivery))
    session.commit()
    return channel, ids


def _collector(engine: Engine, clock: Clock, *readers: Any) -> MetricsCollector:
    return MetricsCollector(engine, readers, read_secrets=_unseal, clock=clock)


def _unseal(token: str) -> dict[str, Any]:
    assert token == "sealed"
    return {"access_token": "mock-token", "app_password": "app-pass"}


def _snapshots(session: Session, delivery_id: int | None = None) -> list[EngagementSnapshot]:
    session.rollback()  # a new transaction: SQLite keeps showing an open one its first snapshot
    statement = select(EngagementSnapshot).order_by(col(EngagementSnapshot.id))
    if delivery_id is not None:
        statement = statement.where(EngagementSnapshot.delivery_id == delivery_id)
    return list(session.exec(statement))


def _delivery(session: Session, delivery_id: int) -> Delivery:
    session.rollback()  # a new transaction: SQLite keeps showing an open one its first snapshot
    delivery = session.get(Delivery, delivery_id)
    assert delivery is not None
    return delivery


# --- the schedule ---------------------------------------------------------------------------------------------------


def test_the_schedule_decays_from_ten_minutes_to_thirty_days():
    assert [offset.total_seconds() for offset in SCHEDULE] == [600, 3600, 6 * 3600, 86400, 7 * 86400, 30 * 86400]
    assert next_due(T0, T0 + timedelta(minutes=10)) == (1, T0 + timedelta(hours=1))
    assert next_due(T0, T0 + timedelta(hours=1, seconds=5)) == (2, T0 + timedelta(hours=6))
    # A scheduler that was down for two days refreshes once and goes on with the next point still ahead.
    assert next_due(T0, T0 + timedelta(days=2)) == (4, T0 + timedelta(days=7))
    assert next_due(T0, T0 + timedelta(days=30)) == (DONE, None)


def test_each_step_stores_a_snapshot_and_the_latest_numbers(engine, session):
    _, [delivery_id] = _publish(session, 1)
    network = FakeBluesky()
    clock = Clock(T0 + timedelta(minutes=5))
    collector = _collector(engine, clock, BlueskyMetrics(network))

    assert collector.cycle().claimed == 0  # not yet 10 minutes old: nothing is due
    assert network.post_batches() == []

    network.counts[_uri(0)] = {"likes": 3, "reposts": 1, "replies": 2, "quotes": 1}
    clock.advance(timedelta(minutes=6))
    assert collector.cycle().snapshots == 1
    [first] = _snapshots(session)
    assert (first.likes, first.reposts, first.replies, first.quotes) == (3, 1, 2, 1)
    assert first.taken_at == clock.now
    delivery = _delivery(session, delivery_id)
    assert (delivery.likes, delivery.reposts, delivery.replies, delivery.quotes) == (3, 1, 2, 1)
    assert (delivery.metrics_step, delivery.metrics_due_at, delivery.metrics_at) == (1, T0 + timedelta(hours=1),
                                                                                    clock.now)

    clock.advance(timedelta(minutes=30))
    assert collector.cycle().claimed == 0  # the next refresh is at one hour

    network.counts[_uri(0)] = {"likes": 9, "reposts": 4, "replies": 2, "quotes": 1}
    clock.now = T0 + timedelta(hours=1, seconds=1)
    collector.cycle()
    assert [snapshot.likes for snapshot in _snapshots(session)] == [3, 9]
    delivery = _delivery(session, delivery_id)
    assert (delivery.likes, delivery.metrics_step, delivery.metrics_due_at) == (9, 2, T0 + timedelta(hours=6))

    for point in SCHEDULE[2:]:
        clock.now = T0 + point + timedelta(seconds=1)
        collector.cycle()
    delivery = _delivery(session, delivery_id)
    assert (delivery.metrics_step, delivery.metrics_due_at) == (DONE, None)
    assert len(_snapshots(session)) == len(SCHEDULE)
    clock.advance(timedelta(days=60))
    assert collector.cycle().claimed == 0


def test_reads_25_uris_per_getposts_call_and_writes_every_snapshot(engine, session):
    _, ids = _publish(session, 60)
    network = FakeBluesky()
    for number in range(60):
        network.counts[_uri(number)] = {"likes": number}
    report = _collector(engine, Clock(T0 + timedelta(minutes=11)), BlueskyMetrics(network)).cycle()

    assert network.post_batches() == [25, 25, 10]
    assert (report.snapshots, report.calls) == (60, 3)
    assert sorted(snapshot.likes for snapshot in _snapshots(session)) == list(range(60))
    assert _delivery(session, ids[42]).likes == 42


def test_a_deleted_post_stops_its_schedule_and_keeps_its_last_numbers(engine, session):
    _, [delivery_id] = _publish(session, 1)
    network = FakeBluesky()
    network.counts[_uri(0)] = {"likes": 5, "reposts": 2}
    clock = Clock(T0 + timedelta(minutes=11))
    collector = _collector(engine, clock, BlueskyMetrics(network))
    collector.cycle()

    network.deleted.add(_uri(0))
    clock.now = T0 + timedelta(hours=1, minutes=1)
    assert collector.cycle().gone == 1
    delivery = _delivery(session, delivery_id)
    assert (delivery.likes, delivery.reposts) == (5, 2)
    assert (delivery.metrics_step, delivery.metrics_due_at) == (DONE, None)
    assert len(_snapshots(session)) == 1
    clock.now = T0 + timedelta(days=8)
    assert collector.cycle().claimed == 0


def test_a_post_the_appview_has_not_indexed_yet_is_asked_again_later(engine, session):
    _, [delivery_id] = _publish(session, 1)
    network = FakeBluesky()
    network.unindexed.add(_uri(0))
    clock = Clock(T0 + timedelta(minutes=11))
    report = _collector(engine, clock, BlueskyMetrics(network)).cycle()

    assert (report.snapshots, report.gone, report.deferred) == (0, 0, 1)
    delivery = _delivery(session, delivery_id)
    assert (delivery.metrics_step, delivery.metrics_due_at) == (0, clock.now + NOT_YET_WAIT)


def test_failures_back_off_doubling_and_make_no_calls_meanwhile(engine, session):
    _, [delivery_id] = _publish(session, 1)
    network = FakeBluesky()
    clock = Clock(T0 + timedelta(minutes=11))
    collector = _collector(engine, clock, BlueskyMetrics(network))

    network.fail_with = [PublishError("Could not read: down (HTTP 502)", retryable=True)]
    collector.cycle()
    first_try = clock.now
    assert _delivery(session, delivery_id).metrics_due_at == first_try + BACKOFF_BASE
    assert _delivery(session, delivery_id).metrics_step == 0

    clock.advance(timedelta(seconds=30))
    calls = len(network.calls)
    assert collector.cycle().claimed == 0
    assert len(network.calls) == calls

    network.fail_with = [PublishError("Could not read: down (HTTP 502)", retryable=True)]
    clock.now = first_try + BACKOFF_BASE
    collector.cycle()
    assert _delivery(session, delivery_id).metrics_due_at == clock.now + 2 * BACKOFF_BASE

    clock.advance(2 * BACKOFF_BASE)
    assert collector.cycle().snapshots == 1
    assert _delivery(session, delivery_id).metrics_step == 1


def test_a_429_waits_as_long_as_retry_after_says_for_every_post_of_the_channel(engine, session):
    _, ids = _publish(session, 30)
    network = FakeBluesky()
    clock = Clock(T0 + timedelta(minutes=11))
    collector = _collector(engine, clock, BlueskyMetrics(network))
    network.fail_with = [PublishError("Could not read: Rate Limit Exceeded (HTTP 429)", retryable=True,
                                      retry_after=300)]
    report = collector.cycle()

    assert network.post_batches() == [25]  # the second batch is not even tried
    assert (report.snapshots, report.deferred) == (0, 30)
    assert {_delivery(session, delivery_id).metrics_due_at for delivery_id in ids} == {
        clock.now + timedelta(seconds=300)}

    clock.advance(timedelta(seconds=299))
    assert collector.cycle().claimed == 0
    clock.advance(timedelta(seconds=1))
    assert collector.cycle().snapshots == 30


def test_a_scheduler_whose_lease_ran_out_does_not_store_the_step_again(engine, session):
    _, ids = _publish(session, 3)
    first_network, second_network = FakeBluesky(), FakeBluesky()
    clock = Clock(T0 + timedelta(minutes=11))
    first = _collector(engine, clock, BlueskyMetrics(first_network))
    second = _collector(engine, Clock(clock.now + timedelta(minutes=6)), BlueskyMetrics(second_network))
    # While the first is still waiting for the network, its claim runs out and the second takes the same step.
    first_network.during_call = second.cycle

    report = first.cycle()

    assert second_network.post_batches() == [3]
    assert report.stale == 3
    for delivery_id in ids:
        assert len(_snapshots(session, delivery_id)) == 1
        assert _delivery(session, delivery_id).metrics_step == 1


def test_two_schedulers_at_once_store_each_step_once(engine, session):
    _, ids = _publish(session, 120)
    start = threading.Barrier(2)
    collectors = [MetricsCollector(engine, [BlueskyMetrics(FakeBluesky())], read_secrets=_unseal,
                                   clock=Clock(T0 + timedelta(minutes=11)), claim_batch=10) for _ in range(2)]
    reports = []

    def run(collector: MetricsCollector) -> None:
        start.wait()
        reports.append(collector.cycle())

    threads = [threading.Thread(target=run, args=(collector,)) for collector in collectors]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)

    assert sum(report.snapshots for report in reports) == 120
    session.rollback()  # a new transaction: SQLite keeps showing an open one its first snapshot
    per_delivery = dict(session.exec(select(EngagementSnapshot.delivery_id, func.count())
                                     .group_by(col(EngagementSnapshot.delivery_id))).all())
    assert per_delivery == dict.fromkeys(ids, 1)


def test_deliveries_without_numbers_end_their_schedule_without_a_call(engine, session):
    channel, [webhook_delivery] = _publish(session, 1, kind=ChannelKind.WEBHOOK)
    _, [removed] = _publish(session, 1, slug="gone")
    session.execute(update(Delivery).where(col(Delivery.id) == removed).values(channel_id=None))
    session.commit()
    network = FakeBluesky()

    claim = claim_due(engine, T0 + timedelta(minutes=11), 100)
    assert (claim.deliveries, claim.ended) == ([], 2)
    _collector(engine, Clock(T0 + timedelta(minutes=12)), BlueskyMetrics(network)).cycle()
    assert network.calls[0][0] == "app.bsky.actor.getProfile"  # followers only, from the remaining channel
    assert [call for call in network.calls if call[0] != "app.bsky.actor.getProfile"] == []
    for delivery_id in (webhook_delivery, removed):
        assert _delivery(session, delivery_id).metrics_step == DONE


def test_followers_are_counted_at_most_hourly_per_channel(engine, session):
    channel, _ = _publish(session, 1)
    network = FakeBluesky()
    network.followers = 12
    clock = Clock(T0 + timedelta(minutes=11))
    collector = _collector(engine, clock, BlueskyMetrics(network))
    assert collector.cycle().followers == 1
    clock.advance(timedelta(minutes=30))
    network.followers = 15
    assert collector.cycle().followers == 0
    clock.advance(timedelta(minutes=31))
    assert collector.cycle().followers == 1
    session.rollback()  # a new transaction: SQLite keeps showing an open one its first snapshot
    counts = session.exec(select(FollowerSnapshot.followers).where(FollowerSnapshot.channel_id == channel.id)
                          .order_by(col(FollowerSnapshot.taken_at))).all()
    assert counts == [12, 15]


def test_mastodon_statuses_are_read_20_at_a_time_and_a_404_is_a_deletion(engine, session):
    _, ids = _publish(session, 45, kind=ChannelKind.MASTODON)
    network = FakeMastodon()
    for number in range(44):  # the last one was deleted
        network.statuses[str(1000 + number)] = {"favourites_count": number, "reblogs_count": 1, "replies_count": 2}
    network.followers = 7
    report = _collector(engine, Clock(T0 + timedelta(minutes=11)), MastodonMetrics(network)).cycle()

    batches = [len(params) for path, params in network.calls if path == "/api/v1/statuses"]
    assert batches == [20, 20, 5]
    assert ("/api/v1/statuses/1044", []) in network.calls  # left out of its batch, so asked alone
    assert (report.snapshots, report.gone, report.followers) == (44, 1, 1)
    delivery = _delivery(session, ids[10])
    assert (delivery.likes, delivery.reposts, delivery.replies, delivery.quotes) == (10, 1, 2, 0)
    assert _delivery(session, ids[44]).metrics_step == DONE


@pytest.mark.parametrize("uris", [26])
def test_a_reader_refuses_more_than_one_call_can_carry(uris):
    with pytest.raises(ValueError, match="at most 25"):
        BlueskyMetrics(FakeBluesky()).read_posts(None, [_uri(number) for number in range(uris)])  # type: ignore[arg-type]


def test_a_disabled_channel_is_not_called_and_its_posts_wait(engine, session):
    channel, [delivery_id] = _publish(session, 1)
    session.execute(update(Channel).where(col(Channel.id) == channel.id).values(disabled_at=T0))
    session.commit()
    network = FakeBluesky()
    clock = Clock(T0 + timedelta(minutes=11))
    report = _collector(engine, clock, BlueskyMetrics(network)).cycle()

    assert network.calls == []  # neither its posts nor its followers
    assert (report.snapshots, report.deferred) == (0, 1)
    delivery = _delivery(session, delivery_id)
    assert (delivery.metrics_step, delivery.metrics_due_at) == (0, clock.now + UNREADABLE_WAIT)


def test_a_full_round_of_posts_without_numbers_does_not_stop_the_run(engine, session):
    _publish(session, 7, kind=ChannelKind.WEBHOOK)
    _, [bluesky_delivery] = _publish(session, 1, slug="sky")
    collector = MetricsCollector(engine, [BlueskyMetrics(FakeBluesky())], read_secrets=_unseal,
                                 clock=Clock(T0 + timedelta(minutes=11)), claim_batch=5)
    assert collector.cycle().snapshots == 1
    assert _delivery(session, bluesky_delivery).metrics_step == 1
