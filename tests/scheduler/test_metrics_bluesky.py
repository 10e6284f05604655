"""Analytics against the full local Bluesky network (PLC, PDS, AppView): the scheduler publishes a character's posts,
other accounts like, repost, reply, quote and follow, and the metrics job stores what the AppView counts."""

import json
import threading
import uuid
from collections import Counter
from datetime import timedelta
from typing import Any

import httpx
from atproto import Client, models
from atproto_client.request import Request
from sqlalchemy import select, update
from sqlmodel import Session, col

from characters.analytics.collect import DONE
from characters.core.models import Channel, ChannelKind, Delivery, EngagementSnapshot, FollowerSnapshot, utcnow
from scheduler.metrics.bluesky import BlueskyMetrics
from scheduler.metrics.collector import MetricsCollector
from scheduler.publishers.base import SessionSlot
from scheduler.publishers.bluesky import BlueskyPublisher
from scheduler.publishers.registry import PublisherRegistry
from scheduler.worker import Worker, WorkerConfig
from tests.scheduler.seed import add_posts, make_world

TEXTS = ("Tonight's sky: Jupiter rising in the east.", "The dish hums at 1420 MHz again.")


class Clock:
    """Real time plus an offset the test moves (the schedule's points are minutes to days apart)."""

    def __init__(self, ahead: timedelta) -> None:
        self.ahead = ahead

    def __call__(self):
        return utcnow() + self.ahead


class _Counting(httpx.BaseTransport):
    """Counts the XRPC methods a publisher calls, then hands each request on."""

    def __init__(self, inner: httpx.BaseTransport, calls: Counter) -> None:
        self.inner, self.calls, self.lock = inner, calls, threading.Lock()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        with self.lock:
            self.calls[request.url.path.rsplit("/", 1)[-1]] += 1
        return self.inner.handle_request(request)


def _publisher(calls: Counter) -> BlueskyPublisher:
    return BlueskyPublisher(allow_private_addresses=True, client_factory=lambda url, timeout, transport: Client(
        base_url=url, request=Request(timeout=timeout, transport=_Counting(transport, calls), trust_env=False)))


class Channels:
    """The channel's credentials, and sessions saved in the channel row as plain JSON (no key needed in a test)."""

    def __init__(self, engine, app_password: str) -> None:
        self.engine = engine
        self.app_password = app_password

    def read(self, token: str) -> dict[str, Any]:
        return {"app_password": self.app_password} if token == "sealed" else json.loads(token)

    def slot(self, channel_id: int, token: str | None) -> SessionSlot:
        return SessionSlot(channel_id=channel_id, saved=json.loads(token) if token else None,
                           save=lambda session: self._save(channel_id, session))

    def _save(self, channel_id: int, session: dict[str, Any]) -> None:
        with self.engine.begin() as connection:
            connection.execute(update(Channel).where(col(Channel.id) == channel_id).values(
                session_token=json.dumps(session), session_saved_at=utcnow()))


def _strong_ref(delivery: Any) -> Any:
    ref = delivery.remote_refs[0]
    return models.ComAtprotoRepoStrongRef.Main(uri=ref["id"], cid=ref["extra"]["cid"])


def _counts(view: Any) -> tuple[int, int, int, int]:
    return (view.like_count or 0, view.repost_count or 0, view.reply_count or 0, view.quote_count or 0)


def test_snapshots_equal_the_appviews_counts_and_a_deleted_post_ends_its_schedule(engine, appview):
    suffix = uuid.uuid4().hex[:6]
    walt = appview.create_account(f"walt{suffix}")
    fans = [appview.create_account(f"fan{number}{suffix}") for number in range(3)]

    # Publish through the product: the scheduler's worker with the real Bluesky publisher.
    world = make_world(engine, slug=f"sky{suffix}", kinds=(ChannelKind.BLUESKY,))
    channel_id = world.channels[ChannelKind.BLUESKY]
    with engine.begin() as connection:
        connection.execute(update(Channel).where(col(Channel.id) == channel_id).values(
            settings={"service_url": appview.pds_url, "handle": walt.handle}, secret_token="sealed"))
    for text in TEXTS:
        add_posts(engine, world, 1, utcnow() - timedelta(seconds=1), kinds=(ChannelKind.BLUESKY,), parts=(text,))
    channels = Channels(engine, walt.app_password)
    publishing_calls: Counter = Counter()
    worker = Worker(engine, PublisherRegistry([_publisher(publishing_calls)]), config=WorkerConfig(threads=2),
                    read_secrets=channels.read, write_secrets=json.dumps)
    try:
        worker.claim_cycle()
        assert worker.wait_until_idle(timeout=120)
    finally:
        worker.stop(timeout=10)
    with Session(engine) as session:
        first, second = session.exec(select(Delivery).order_by(col(Delivery.id))).scalars().all()
    assert (first.status, second.status) == ("published", "published")
    assert publishing_calls["com.atproto.server.createSession"] == 1

    # The audience: two likes, a repost, a reply and a quote on the first post, a like on the second, two follows.
    clients = [appview.client(fan) for fan in fans]
    target, other = _strong_ref(first), _strong_ref(second)
    for client in clients[:2]:
        client.like(target.uri, target.cid)
        client.follow(walt.did)
    clients[2].like(other.uri, other.cid)
    clients[0].repost(target.uri, target.cid)
    clients[1].send_post("Clear skies here too!", reply_to=models.AppBskyFeedPost.ReplyRef(parent=target, root=target))
    clients[2].send_post("Look at this one:", embed=models.AppBskyEmbedRecord.Main(record=target))

    reader = clients[2]
    expected = {target.uri: (2, 1, 1, 1), other.uri: (1, 0, 0, 0)}

    def counted() -> dict[str, tuple[int, int, int, int]] | None:
        views = {view.uri: _counts(view) for view in reader.get_posts([target.uri, other.uri]).posts}
        return views if views == expected else None

    appview.wait_for(counted, what="the likes, repost, reply and quote in the AppView's counts")
    appview.wait_for(lambda: reader.get_profile(walt.did).followers_count == 2, what="the follows")

    # The metrics job, as a restarted scheduler would run it: a new publisher that reuses the saved session.
    metrics_calls: Counter = Counter()
    clock = Clock(timedelta(minutes=11))
    collector = MetricsCollector(engine, [BlueskyMetrics(_publisher(metrics_calls))], read_secrets=channels.read,
                                 session_slot=channels.slot, clock=clock)
    report = collector.cycle()

    assert (report.snapshots, report.followers, report.calls) == (2, 1, 1)  # both posts in one getPosts call
    assert metrics_calls["com.atproto.server.createSession"] == 0  # no login: the channel's saved session
    assert metrics_calls["app.bsky.feed.getPosts"] == 1
    appview_counts = {view.uri: _counts(view) for view in reader.get_posts([target.uri, other.uri]).posts}
    with Session(engine) as session:
        for delivery_id, uri in ((first.id, target.uri), (second.id, other.uri)):
            [snapshot] = session.exec(select(EngagementSnapshot).where(
                col(EngagementSnapshot.delivery_id) == delivery_id)).scalars().all()
            assert (snapshot.likes, snapshot.reposts, snapshot.replies, snapshot.quotes) == appview_counts[uri]
            delivery = session.get(Delivery, delivery_id)
            assert (delivery.likes, delivery.reposts, delivery.replies, delivery.quotes) == appview_counts[uri]
            assert delivery.metrics_step == 1
        [followers] = session.exec(select(FollowerSnapshot)).scalars().all()
    assert followers.followers == reader.get_profile(walt.did).followers_count == 2

    # Walt deletes the second post; an hour on, its schedule ends with its numbers kept, the first goes on.
    appview.client(walt).delete_post(other.uri)
    appview.wait_for(lambda: not reader.get_posts([other.uri]).posts, what="the deletion in the AppView")
    clock.ahead = timedelta(hours=1, minutes=1)
    report = collector.cycle()
    assert (report.snapshots, report.gone) == (1, 1)
    with Session(engine) as session:
        gone = session.get(Delivery, second.id)
        assert (gone.likes, gone.metrics_step, gone.metrics_due_at) == (1, DONE, None)
        assert session.get(Delivery, first.id).metrics_step == 2
    assert metrics_calls["com.atproto.server.createSession"] == 0
