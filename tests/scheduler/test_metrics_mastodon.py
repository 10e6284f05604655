"""Analytics against mastodon-mock: posts published by the scheduler, favourited and reblogged by other accounts,
then read back by the metrics job; a deleted status and a rate-limited server too."""

from datetime import timedelta

import httpx
import pytest
from sqlalchemy import update
from sqlmodel import Session, col, select

from characters.analytics.collect import DONE
from characters.core.models import Channel, ChannelKind, Delivery, EngagementSnapshot, FollowerSnapshot, utcnow
from scheduler.metrics.collector import MetricsCollector
from scheduler.metrics.mastodon import HttpxGet, MastodonMetrics
from scheduler.publishers.mastodon import MastodonPublisher
from scheduler.publishers.registry import PublisherRegistry
from scheduler.worker import Worker, WorkerConfig
from tests.scheduler.seed import add_posts, make_world
from tests.services.mastodon import SEEDED_TOKEN, running_mastodon


@pytest.fixture(scope="module")
def mastodon_server(tmp_path_factory):
    with running_mastodon(tmp_path_factory.mktemp("mastodon-metrics")) as server:
        yield server


@pytest.fixture
def server(mastodon_server):
    mastodon_server.reset()
    return mastodon_server


class Clock:
    """Real time plus an offset the test moves (the schedule's points are minutes to days apart)."""

    def __init__(self) -> None:
        self.ahead = timedelta(0)

    def __call__(self):
        return utcnow() + self.ahead


def _fan(server, name: str):
    """Create another account on the server and return a client logged in as it."""
    answer = httpx.post(f"{server.url}/api/v1/_mock/dev_user", json={"username": name}, timeout=10)
    answer.raise_for_status()
    return server.client(answer.json()["access_token"])


def _publish(engine, server, count: int) -> list[int]:
    """Publish `count` posts through the scheduler's worker with the real Mastodon publisher; return delivery ids."""
    world = make_world(engine, kinds=(ChannelKind.MASTODON,))
    channel_id = world.channels[ChannelKind.MASTODON]
    with engine.begin() as connection:
        connection.execute(update(Channel).where(col(Channel.id) == channel_id).values(
            settings={"api_base_url": server.url}, secret_token="sealed"))
    add_posts(engine, world, count, utcnow() - timedelta(seconds=1), kinds=(ChannelKind.MASTODON,),
              parts=("Tonight's sky: Jupiter rising in the east.",))
    worker = Worker(engine, PublisherRegistry([MastodonPublisher(allow_private_addresses=True)]),
                    config=WorkerConfig(threads=2), read_secrets=_unseal)
    try:
        worker.claim_cycle()
        assert worker.wait_until_idle(timeout=60)
    finally:
        worker.stop(timeout=10)
    with Session(engine) as session:
        rows = session.exec(select(Delivery).order_by(col(Delivery.id))).all()
        assert [row.status for row in rows] == ["published"] * count
        return [row.id for row in rows if row.id is not None]


def _unseal(token: str) -> dict:
    assert token == "sealed"
    return {"access_token": SEEDED_TOKEN}


def _collector(engine, clock) -> MetricsCollector:
    return MetricsCollector(engine, [MastodonMetrics(HttpxGet(allow_private_addresses=True))], read_secrets=_unseal,
                            clock=clock)


def _delivery(engine, delivery_id: int) -> Delivery:
    with Session(engine) as session:
        delivery = session.get(Delivery, delivery_id)
        assert delivery is not None
        return delivery


def _snapshots(engine, delivery_id: int) -> list[EngagementSnapshot]:
    with Session(engine) as session:
        return list(session.exec(select(EngagementSnapshot).where(EngagementSnapshot.delivery_id == delivery_id)
                                 .order_by(col(EngagementSnapshot.taken_at))))


def test_favourites_reblogs_replies_and_followers_are_stored_as_the_server_counts_them(engine, server):
    first, second = _publish(engine, server, 2)
    first_status, second_status = (_delivery(engine, delivery_id).remote_refs[0]["id"]
                                   for delivery_id in (first, second))
    ana, ben = _fan(server, "ana"), _fan(server, "ben")
    character = server.client().account_verify_credentials()
    for fan in (ana, ben):
        fan.status_favourite(first_status)
        fan.account_follow(character["id"])
    ana.status_reblog(first_status)
    ben.status_post("Clear skies here too!", in_reply_to_id=first_status)
    ben.status_favourite(second_status)

    clock = Clock()
    clock.ahead = timedelta(minutes=11)
    report = _collector(engine, clock).cycle()
    assert (report.snapshots, report.followers, report.calls) == (2, 1, 1)  # both statuses in one call

    owner = server.client()
    for delivery_id, status_id in ((first, first_status), (second, second_status)):
        status = owner.status(status_id)
        [snapshot] = _snapshots(engine, delivery_id)
        assert (snapshot.likes, snapshot.reposts, snapshot.replies) == (
            status["favourites_count"], status["reblogs_count"], status["replies_count"])
        delivery = _delivery(engine, delivery_id)
        assert (delivery.likes, delivery.reposts, delivery.replies, delivery.metrics_step) == (
            snapshot.likes, snapshot.reposts, snapshot.replies, 1)
    assert (_snapshots(engine, first)[0].likes, _snapshots(engine, first)[0].reposts,
            _snapshots(engine, first)[0].replies) == (2, 1, 1)
    with Session(engine) as session:
        [followers] = session.exec(select(FollowerSnapshot)).all()
    assert followers.followers == owner.account_verify_credentials()["followers_count"] == 2

    # An hour later: one more favourite shows up in a second snapshot; the first one stays as it was.
    owner.status_favourite(second_status)
    clock.ahead = timedelta(hours=1, minutes=1)
    _collector(engine, clock).cycle()
    assert [snapshot.likes for snapshot in _snapshots(engine, second)] == [1, 2]


def test_a_deleted_status_ends_its_schedule_and_keeps_its_numbers(engine, server):
    [delivery_id] = _publish(engine, server, 1)
    status_id = _delivery(engine, delivery_id).remote_refs[0]["id"]
    _fan(server, "cat").status_favourite(status_id)
    clock = Clock()
    clock.ahead = timedelta(minutes=11)
    collector = _collector(engine, clock)
    collector.cycle()

    server.client().status_delete(status_id)
    clock.ahead = timedelta(hours=1, minutes=1)
    assert collector.cycle().gone == 1
    delivery = _delivery(engine, delivery_id)
    assert (delivery.likes, delivery.metrics_step, delivery.metrics_due_at) == (1, DONE, None)
    assert len(_snapshots(engine, delivery_id)) == 1


def test_a_rate_limited_server_is_left_alone_for_as_long_as_retry_after_says(engine, server):
    [delivery_id] = _publish(engine, server, 1)
    server.add_fault(match={"path": "/api/v1/statuses"},
                     effect={"type": "ratelimit", "headers": {"Retry-After": "600"}})
    clock = Clock()
    clock.ahead = timedelta(minutes=11)
    collector = _collector(engine, clock)
    before = clock()
    report = collector.cycle()

    assert (report.snapshots, report.deferred) == (0, 1)
    due = _delivery(engine, delivery_id).metrics_due_at
    assert due is not None
    assert before + timedelta(seconds=599) <= due <= clock() + timedelta(seconds=601)
    assert _delivery(engine, delivery_id).metrics_step == 0

    server.reset()  # the limit is over (and the server forgot everything: the status is gone now)
    clock.ahead += timedelta(seconds=601)
    assert collector.cycle().gone == 1
