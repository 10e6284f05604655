"""The publishing worker with fake publishers and a fixed clock: outcomes, bad input, recovery and stopping."""

import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select, update
from sqlmodel import col

from characters.core.models import Channel, ChannelKind, Character, DeliveryStatus, Notification, PostStatus
from characters.publishing.delivery import claim_due_deliveries, start_sending
from characters.publishing.secrets import SecretBox, generate_key
from scheduler.publishers.base import (
    CannotTell,
    Found,
    Lookup,
    OutcomeUnknown,
    PublishError,
    PublishOutcome,
    PublishRequest,
    RemoteRef,
    SafeToResend,
)
from scheduler.publishers.noop import NoopPublisher
from scheduler.publishers.registry import PublisherRegistry, registry_for_all_kinds
from scheduler.worker import (
    LOOKUP_GIVE_UP,
    MIN_WAKE_GAP,
    NO_PUBLISHER_WAIT,
    PARENT_WAIT,
    GroupCommit,
    Worker,
    WorkerConfig,
)
from tests.scheduler.seed import add_posts, deliveries, make_world, post_row, set_delivery

START = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)


class FakeClock:
    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


Behaviour = Callable[[PublishRequest, int], PublishOutcome]


def succeed(request: PublishRequest, call: int) -> PublishOutcome:
    return PublishOutcome(
        refs=[
            RemoteRef(id=f"{request.idempotency_key}/{n}", url=f"https://net.test/{n}")
            for n in range(len(request.parts))
        ]
    )


NOT_FOUND = CannotTell("this network cannot be searched.")


class FakePublisher:
    """Records every request; `behave` decides each answer; `answer` answers look-ups (raised if an exception)."""

    def __init__(
        self, behave: Behaviour = succeed, answer: Lookup | Exception = NOT_FOUND, kind: ChannelKind = ChannelKind.FEED
    ) -> None:
        self.kind = kind
        self.behave = behave
        self.answer = answer
        self.requests: list[PublishRequest] = []
        self.lookups: list[str] = []
        self.sinces: list[datetime] = []
        self.lock = threading.Lock()

    def publish(self, request: PublishRequest) -> PublishOutcome:
        with self.lock:
            self.requests.append(request)
            call = len(self.requests)
        return self.behave(request, call)

    def look_up(self, request: PublishRequest, *, since: datetime, now: datetime) -> Lookup:
        self.lookups.append(request.idempotency_key)
        self.sinces.append(since)
        if isinstance(self.answer, Exception):
            raise self.answer
        return self.answer

    def check_connection(self, settings, secrets, session=None):
        return f"connected as {settings.get('handle', '?')}"


@pytest.fixture
def world(engine):
    return make_world(engine)


@pytest.fixture
def clock():
    return FakeClock()


@pytest.fixture
def make_worker(engine, clock):
    workers: list[Worker] = []

    def build(publisher=None, registry: PublisherRegistry | None = None, **config) -> Worker:
        options = {"threads": 2, "lease_seconds": 60, **config}
        worker = Worker(
            engine,
            registry or registry_for_all_kinds(publisher or FakePublisher()),
            config=WorkerConfig(**options),
            clock=clock,
            worker_id=f"test-{len(workers)}",
            read_secrets=lambda token: {"token": f"decrypted {token}"},
        )
        workers.append(worker)
        return worker

    yield build
    for worker in workers:
        worker.stop(timeout=5)


def run(worker: Worker) -> int:
    claimed = worker.claim_cycle()
    assert worker.wait_until_idle(timeout=30)
    return claimed


def due(engine, world, count=1, **options):
    return add_posts(engine, world, count, START - timedelta(seconds=1), **options)


def statuses(engine):
    return [row.status for row in deliveries(engine)]


def messages(engine):
    with engine.connect() as connection:
        return list(connection.execute(select(Notification.message)).scalars())


def change_channel(engine, channel_id, **values):
    with engine.begin() as connection:
        connection.execute(update(Channel).where(col(Channel.id) == channel_id).values(**values))


# --- publishing -------------------------------------------------------------------------------------------------


def test_each_due_post_is_published_once_with_its_content(engine, world, make_worker):
    change_channel(engine, world.channels[ChannelKind.FEED], settings={"handle": "walt.test"}, secret_token="tok")
    ids = due(engine, world, count=3, parts=("Part one.", "Part two."))
    publisher = FakePublisher()
    worker = make_worker(publisher)

    assert run(worker) == 3
    assert run(worker) == 0

    assert sorted(request.idempotency_key for request in publisher.requests) == sorted(
        row.idempotency_key for row in deliveries(engine)
    )
    request = publisher.requests[0]
    assert [part.text for part in request.parts] == ["Part one.", "Part two."]
    assert request.settings == {"handle": "walt.test"}
    assert request.secrets == {"token": "decrypted tok"}
    assert request.character_name == "Walt"
    assert request.reply_to is None
    assert statuses(engine) == [DeliveryStatus.PUBLISHED] * 3
    assert all(row.remote_url == "https://net.test/0" and len(row.remote_refs) == 2 for row in deliveries(engine))
    assert {post_row(engine, post_id).status for post_id in ids} == {PostStatus.PUBLISHED}


def test_only_as_many_deliveries_are_marked_as_sending_as_there_are_free_threads(engine, world, make_worker):
    due(engine, world, count=6)
    release = threading.Event()
    sending = threading.Semaphore(0)

    def slow(request, call):
        sending.release()
        assert release.wait(timeout=30)
        return succeed(request, call)

    worker = make_worker(FakePublisher(slow), threads=2)
    assert worker.claim_cycle() == 6
    for _ in range(2):
        assert sending.acquire(timeout=30)
    # Both threads are inside the network call: the other four wait unmarked, so a crash now leaves two to look up.
    assert sorted(row.sending_started_at is not None for row in deliveries(engine)) == [False] * 4 + [True] * 2
    release.set()
    assert worker.wait_until_idle(timeout=30)
    assert statuses(engine) == [DeliveryStatus.PUBLISHED] * 6


def test_a_retryable_error_backs_off_and_the_retry_reuses_the_key(engine, world, make_worker, clock):
    due(engine, world)

    def flaky(request, call):
        if call == 1:
            raise PublishError("The server answered HTTP 503.", retryable=True)
        return succeed(request, call)

    publisher = FakePublisher(flaky)
    worker = make_worker(publisher)
    run(worker)
    [row] = deliveries(engine)
    assert (row.status, row.last_error, row.attempts) == (DeliveryStatus.PENDING, "The server answered HTTP 503.", 1)
    assert START + timedelta(seconds=15) <= row.next_attempt_at <= START + timedelta(seconds=30)

    clock.now = row.next_attempt_at
    run(worker)

    assert statuses(engine) == [DeliveryStatus.PUBLISHED]
    assert publisher.requests[0].idempotency_key == publisher.requests[1].idempotency_key


def test_a_rate_limit_waits_as_long_as_the_network_asks(engine, world, make_worker):
    due(engine, world)

    def limited(request, call):
        raise PublishError("HTTP 429: too many requests.", retryable=True, retry_after=600)

    run(make_worker(FakePublisher(limited)))
    assert deliveries(engine)[0].next_attempt_at >= START + timedelta(seconds=600)


def test_revoked_credentials_fail_with_the_platform_message(engine, world, make_worker):
    post_id = due(engine, world)[0]

    def revoked(request, call):
        raise PublishError("Mastodon answered 401: The access token was revoked.", retryable=False)

    run(make_worker(FakePublisher(revoked)))

    row = deliveries(engine)[0]
    assert row.status == DeliveryStatus.FAILED
    assert row.last_error == "Mastodon answered 401: The access token was revoked."
    assert post_row(engine, post_id).status == PostStatus.FAILED
    assert messages(engine) == [
        f"Post #{post_id} could not be published to Walt on feed: Mastodon answered 401: The access token was revoked."
    ]


def test_a_garbage_answer_fails_readably_and_stops_nothing_else(engine, world, make_worker):
    bad = due(engine, world)[0]
    good = due(engine, world, count=3)
    bad_key = deliveries(engine, [bad])[0].idempotency_key

    def sometimes_garbage(request, call):
        if request.idempotency_key == bad_key:
            raise ValueError("Expecting value: line 1 column 1 (char 0)")
        return succeed(request, call)

    run(make_worker(FakePublisher(sometimes_garbage)))

    [row] = deliveries(engine, [bad])
    assert row.status == DeliveryStatus.FAILED
    assert row.last_error == (
        "The network answered something unexpected (ValueError: Expecting value: line 1 column 1 (char 0))."
    )
    assert [row.status for row in deliveries(engine, good)] == [DeliveryStatus.PUBLISHED] * 3


def test_a_post_too_long_for_the_platform_fails_with_the_reason(engine, world, make_worker):
    due(engine, world, parts=("x" * 400,))

    def strict(request, call):
        raise PublishError("Bluesky allows 300 graphemes per post; part 1 has 400.", retryable=False)

    run(make_worker(FakePublisher(strict)))
    assert deliveries(engine)[0].last_error == "Bluesky allows 300 graphemes per post; part 1 has 400."


def test_an_unclear_outcome_is_looked_up_before_anything_else(engine, world, make_worker):
    found, lost = due(engine, world, count=2)

    def timeout(request, call):
        raise OutcomeUnknown("read timed out after the request was sent")

    publisher = FakePublisher(
        timeout, answer=Found(PublishOutcome([RemoteRef("remote-1", "https://net.test/remote-1")]))
    )
    run(make_worker(publisher))
    assert statuses(engine) == [DeliveryStatus.PUBLISHED, DeliveryStatus.PUBLISHED]
    assert len(publisher.requests) == 2
    assert len(publisher.lookups) == 2

    publisher.answer = NOT_FOUND
    third = due(engine, world)[0]
    run(make_worker(publisher))
    row = deliveries(engine, [third])[0]
    assert row.status == DeliveryStatus.UNCONFIRMED
    assert "read timed out" in row.last_error
    assert post_row(engine, third).status == PostStatus.UNCONFIRMED
    assert len(publisher.requests) == 3  # never sent a second time
    assert len([message for message in messages(engine) if "may or may not have reached" in message]) == 1


@pytest.mark.parametrize(
    "problem", ["channel removed", "channel disabled", "character archived", "secrets unreadable", "nothing to say"]
)
def test_bad_input_fails_readably_without_calling_the_network(engine, world, make_worker, problem):
    post_id = due(engine, world, parts=("",) if problem == "nothing to say" else ("Hello.",))[0]
    [row] = deliveries(engine)
    channel_id = world.channels[ChannelKind.FEED]
    if problem == "channel removed":
        set_delivery(engine, row.id, channel_id=None)
    elif problem == "channel disabled":
        change_channel(engine, channel_id, disabled_at=START)
    elif problem == "character archived":
        with engine.begin() as connection:
            connection.execute(update(Character).values(archived_at=START))
    elif problem == "secrets unreadable":
        change_channel(engine, channel_id, secret_token="garbage")
    publisher = FakePublisher()
    worker = make_worker(publisher)
    if problem == "secrets unreadable":

        def refuse(token):
            raise ValueError("the key changed")

        worker.read_secrets = refuse

    run(worker)

    [row] = deliveries(engine)
    assert row.status == DeliveryStatus.FAILED
    assert row.attempts == 0
    expected = {
        "channel removed": "The channel this post was scheduled for was removed; nothing was sent.",
        "channel disabled": "The channel “Walt on feed” is disabled; nothing was sent.",
        "character archived": "Walt is archived; nothing was sent.",
        "secrets unreadable": "The channel's credentials cannot be read (the key changed); reconnect the channel.",
        "nothing to say": "The post has no text or image to publish.",
    }[problem]
    assert row.last_error == expected
    assert publisher.requests == []
    assert post_row(engine, post_id).status == PostStatus.FAILED


def test_a_kind_without_a_publisher_waits_instead_of_failing(engine, world, make_worker):
    due(engine, world, kinds=(ChannelKind.WEBHOOK,))
    run(make_worker(registry=PublisherRegistry([FakePublisher()])))
    [row] = deliveries(engine)
    assert (row.status, row.next_attempt_at, row.attempts) == (DeliveryStatus.PENDING, START + NO_PUBLISHER_WAIT, 0)


def test_a_delivery_found_past_the_grace_period_is_held_as_missed(engine, world, make_worker):
    post_id = add_posts(engine, world, 1, START - timedelta(hours=2))[0]
    publisher = FakePublisher()
    run(make_worker(publisher))
    assert statuses(engine) == [DeliveryStatus.MISSED]
    assert publisher.requests == []
    assert post_row(engine, post_id).status == PostStatus.MISSED


def test_a_reply_waits_for_its_parent_and_then_answers_it(engine, world, make_worker, clock):
    parent = due(engine, world, parts=("First.", "Second."))[0]
    child = due(engine, world, reply_to_post_id=parent)[0]
    publisher = FakePublisher()
    worker = make_worker(publisher)

    run(worker)
    assert [row.status for row in deliveries(engine, [parent, child])] == [
        DeliveryStatus.PUBLISHED,
        DeliveryStatus.PENDING,
    ]
    clock.advance(seconds=PARENT_WAIT.total_seconds())
    run(worker)

    answer = publisher.requests[-1]
    assert answer.reply_to is not None
    assert answer.reply_to.id == deliveries(engine, [parent])[0].remote_refs[-1]["id"]
    assert deliveries(engine, [child])[0].status == DeliveryStatus.PUBLISHED


# --- recovery ---------------------------------------------------------------------------------------------------


def crashed_while_sending(engine, count=1, sent=True):
    """Leave deliveries as a worker that died after (or before) its marker would."""
    claimed = claim_due_deliveries(engine, "dead-worker", START, count, 60)
    if sent:
        start_sending(engine, "dead-worker", [claim.id for claim in claimed], START)
    return claimed


def test_the_reaper_finds_maybe_sent_deliveries_and_never_resends(engine, world, make_worker, clock):
    due(engine, world)
    crashed_while_sending(engine)
    publisher = FakePublisher(answer=Found(PublishOutcome([RemoteRef("found-1", "https://net.test/found-1")])))
    worker = make_worker(publisher)
    clock.advance(seconds=61)

    assert worker.reap_cycle() == 1

    row = deliveries(engine)[0]
    assert (row.status, row.remote_url) == (DeliveryStatus.PUBLISHED, "https://net.test/found-1")
    assert publisher.requests == []
    assert len(publisher.lookups) == 1


def test_the_reaper_holds_what_the_network_cannot_tell_as_unconfirmed(engine, world, make_worker, clock):
    due(engine, world)
    crashed_while_sending(engine)
    publisher = FakePublisher(answer=NOT_FOUND)
    worker = make_worker(publisher)
    clock.advance(seconds=61)
    worker.reap_cycle()
    run(worker)
    row = deliveries(engine)[0]
    assert row.status == DeliveryStatus.UNCONFIRMED
    assert row.last_error == (
        "It may have been sent: the scheduler stopped between sending it and recording the "
        "answer. this network cannot be searched."
    )
    assert publisher.requests == []


def test_the_reaper_resends_what_the_network_proves_absent_with_the_same_key(engine, world, make_worker, clock):
    post_id = due(engine, world)[0]
    [claimed] = crashed_while_sending(engine)
    publisher = FakePublisher(answer=SafeToResend("no record at its key."))
    worker = make_worker(publisher)
    clock.advance(seconds=61)

    assert worker.reap_cycle() == 1
    [row] = deliveries(engine)
    assert (row.status, row.sending_started_at, row.next_attempt_at) == (DeliveryStatus.PENDING, None, clock.now)
    assert row.last_error == (
        "Sent again: the scheduler stopped between sending it and recording the answer. no record at its key."
    )
    assert publisher.sinces == [START]  # a first attempt: it cannot have arrived before its marker

    run(worker)
    [row] = deliveries(engine)
    assert (row.status, row.attempts) == (DeliveryStatus.PUBLISHED, 2)
    assert [request.idempotency_key for request in publisher.requests] == [claimed.idempotency_key]
    assert post_row(engine, post_id).status == PostStatus.PUBLISHED
    [told] = messages(engine)  # only that it went out: nobody has anything to resolve
    assert told.startswith(f"Post #{post_id} (")
    assert "was published to Walt on feed" in told


def test_a_resend_found_too_late_is_held_for_a_person(engine, world, make_worker, clock):
    due(engine, world)
    crashed_while_sending(engine)
    publisher = FakePublisher(answer=SafeToResend("no record at its key."))
    worker = make_worker(publisher)
    clock.advance(minutes=20)  # past the 15-minute grace period
    worker.reap_cycle()
    [row] = deliveries(engine)
    assert row.status == DeliveryStatus.UNCONFIRMED
    assert "grace period" in row.last_error
    assert publisher.requests == []


def test_a_failed_look_up_is_asked_again_later_and_never_taken_as_absence(engine, world, make_worker, clock):
    due(engine, world, count=3)
    crashed_while_sending(engine, count=3)
    publisher = FakePublisher(answer=PublishError("Could not look up an earlier attempt: HTTP 503", retryable=True))
    worker = make_worker(publisher)
    clock.advance(seconds=61)

    worker.reap_cycle()
    rows = deliveries(engine)
    assert len(publisher.lookups) == 1  # the network is down: one try per channel and cycle, not one per delivery
    assert {row.status for row in rows} == {DeliveryStatus.PUBLISHING}
    assert all(row.sending_started_at == START and row.lease_owner is None for row in rows)
    assert {row.lease_expires_at for row in rows} == {clock.now + timedelta(seconds=30.5)}  # half of 61 s
    assert "HTTP 503" in rows[0].last_error
    assert run(worker) == 0  # not claimable meanwhile
    assert worker.reap_cycle() == 0  # not yet

    publisher.answer = Found(PublishOutcome([RemoteRef("found-1", "https://net.test/found-1")]))
    clock.advance(seconds=31)
    worker.reap_cycle()
    assert statuses(engine) == [DeliveryStatus.PUBLISHED] * 3
    assert publisher.requests == []


def test_look_ups_that_keep_failing_are_held_after_a_bounded_time(engine, world, make_worker, clock):
    due(engine, world)
    crashed_while_sending(engine)
    publisher = FakePublisher(
        answer=PublishError("Could not look up an earlier attempt: connection refused", retryable=True)
    )
    worker = make_worker(publisher)
    clock.advance(seconds=61)
    while deliveries(engine)[0].status == DeliveryStatus.PUBLISHING:
        assert clock.now - START <= LOOKUP_GIVE_UP + timedelta(minutes=5)
        worker.reap_cycle()
        clock.now = max(clock.now, deliveries(engine)[0].lease_expires_at or clock.now) + timedelta(seconds=1)
    [row] = deliveries(engine)
    assert row.status == DeliveryStatus.UNCONFIRMED
    assert "failed for 6" in row.last_error
    assert "connection refused" in row.last_error
    assert 8 <= len(publisher.lookups) <= 20  # backed off, not hammered
    assert publisher.requests == []


def test_an_unclear_outcome_proven_absent_is_retried_with_backoff(engine, world, make_worker, clock):
    due(engine, world)

    def timeout_once(request, call):
        if call == 1:
            raise OutcomeUnknown("read timed out after the request was sent")
        return succeed(request, call)

    publisher = FakePublisher(timeout_once, answer=SafeToResend("no record at its key."))
    worker = make_worker(publisher)
    run(worker)
    [row] = deliveries(engine)
    assert (row.status, row.sending_started_at) == (DeliveryStatus.PENDING, None)
    assert START + timedelta(seconds=15) <= row.next_attempt_at <= START + timedelta(seconds=30)
    assert "read timed out" in row.last_error
    assert "no record at its key" in row.last_error

    clock.now = row.next_attempt_at
    run(worker)
    assert statuses(engine) == [DeliveryStatus.PUBLISHED]
    assert publisher.requests[0].idempotency_key == publisher.requests[1].idempotency_key


def test_after_a_retry_the_look_up_window_starts_at_the_due_time(engine, world, make_worker, clock):
    due(engine, world)
    [claimed] = crashed_while_sending(engine)
    set_delivery(
        engine,
        claimed.id,
        next_attempt_at=START + timedelta(minutes=3),
        sending_started_at=START + timedelta(minutes=3),
    )
    publisher = FakePublisher(answer=NOT_FOUND)
    worker = make_worker(publisher)
    clock.advance(minutes=4, seconds=1)
    worker.reap_cycle()
    # An earlier attempt may have arrived any time after the due time, so windows (Mastodon's hour) start there.
    assert publisher.sinces == [START - timedelta(seconds=1)]


def test_the_reaper_requeues_what_was_never_sent(engine, world, make_worker, clock):
    due(engine, world)
    crashed_while_sending(engine, sent=False)
    publisher = FakePublisher()
    worker = make_worker(publisher)
    clock.advance(seconds=61)
    assert worker.reap_cycle() == 1
    run(worker)
    assert statuses(engine) == [DeliveryStatus.PUBLISHED]
    assert len(publisher.requests) == 1


def blocking_publisher() -> tuple[FakePublisher, threading.Event, threading.Event]:
    started, release = threading.Event(), threading.Event()

    def slow(request, call):
        started.set()
        release.wait(timeout=30)
        return succeed(request, call)

    return FakePublisher(slow), started, release


class InstantPublisher(FakePublisher):
    """A publisher that calls no network; it notes which thread called it and whether the marker was committed."""

    instant = True

    def __init__(self, engine) -> None:
        super().__init__()
        self.engine = engine
        self.calls: list[tuple[str, bool]] = []  # (thread, marker committed before the call)

    def publish(self, request: PublishRequest) -> PublishOutcome:
        marked = {row.idempotency_key: row.sending_started_at is not None for row in deliveries(self.engine)}
        self.calls.append((threading.current_thread().name, marked[request.idempotency_key]))
        return super().publish(request)


def test_deliveries_to_an_instant_publisher_share_a_thread_each_marked_before_its_call(engine, world, make_worker):
    due(engine, world, count=6)  # feed deliveries
    due(engine, world, count=1, kinds=(ChannelKind.WEBHOOK,))
    network, started, release = blocking_publisher()
    instant = InstantPublisher(engine)
    registry = PublisherRegistry()
    registry.register(instant, ChannelKind.FEED)
    registry.register(network, ChannelKind.WEBHOOK)
    worker = make_worker(registry=registry, threads=2)

    assert worker.claim_cycle() == 7
    assert started.wait(timeout=10)  # one thread is held by the network call...
    deadline = datetime.now(UTC) + timedelta(seconds=30)
    while statuses(engine).count(DeliveryStatus.PUBLISHED) < 6 and datetime.now(UTC) < deadline:
        threading.Event().wait(0.05)
    # ...and the other sent all six feed deliveries, each after its own marker was committed, then returns.
    assert statuses(engine).count(DeliveryStatus.PUBLISHED) == 6
    assert len(instant.calls) == 6
    assert all(marked for _, marked in instant.calls)
    assert len({thread for thread, _ in instant.calls}) == 1
    release.set()
    assert worker.wait_until_idle(timeout=30)
    assert statuses(engine) == [DeliveryStatus.PUBLISHED] * 7
    assert len(network.requests) == 1


def test_stopping_finishes_what_is_being_sent_and_gives_back_the_rest(engine, world, make_worker):
    due(engine, world, count=3)
    publisher, started, release = blocking_publisher()
    worker = make_worker(publisher, threads=1)
    worker.claim_cycle()
    assert started.wait(timeout=10)

    stopper = threading.Thread(target=worker.stop, kwargs={"timeout": 30})
    stopper.start()
    release.set()
    stopper.join(timeout=30)

    rows = deliveries(engine)
    assert [row.status for row in rows].count(DeliveryStatus.PUBLISHED) == 1
    back = [row for row in rows if row.status == DeliveryStatus.PENDING]
    assert len(back) == 2
    assert all(row.lease_owner is None and row.attempts == 0 for row in back)
    assert len(publisher.requests) == 1


def test_a_worker_holds_no_more_than_one_claim_beyond_its_threads(engine, world, make_worker):
    due(engine, world, count=20)
    publisher, started, release = blocking_publisher()
    worker = make_worker(publisher, threads=2, claim_batch=3, queue_per_thread=8)

    # Two being sent and one claim of three waiting: the other posts stay free for other schedulers.
    assert worker.claim_cycle(max_seconds=0.3) == 5
    assert worker.in_flight() == 5
    assert statuses(engine).count(DeliveryStatus.PENDING) == 15
    release.set()
    while run(worker):
        pass
    assert statuses(engine) == [DeliveryStatus.PUBLISHED] * 20
    assert len(publisher.requests) == 20


def test_heartbeats_keep_long_publishes_leased_but_not_forever(engine, world, make_worker, clock):
    due(engine, world)
    publisher, started, release = blocking_publisher()
    worker = make_worker(publisher, max_publish_seconds=600)
    worker.claim_cycle()
    assert started.wait(timeout=10)
    clock.advance(seconds=50)
    assert worker.heartbeat_cycle() == 1
    assert deliveries(engine)[0].lease_expires_at == clock.now + timedelta(seconds=60)

    clock.advance(seconds=600)  # a hung connection: stop extending, let the reaper take over
    assert worker.heartbeat_cycle() == 0
    assert deliveries(engine)[0].lease_expires_at == START + timedelta(seconds=110)
    release.set()
    assert worker.wait_until_idle(timeout=30)


# --- upkeep -----------------------------------------------------------------------------------------------------


def test_connection_checks_record_what_the_network_says(engine, world, make_worker, clock):
    feed, webhook = world.channels[ChannelKind.FEED], world.channels[ChannelKind.WEBHOOK]
    change_channel(engine, feed, check_requested_at=START, settings={"handle": "walt.test"})
    change_channel(engine, webhook, check_requested_at=START)

    def refuse(settings, secrets, session=None):
        raise PublishError("HTTP 401: the token is not valid.", retryable=False)

    webhook_publisher = FakePublisher(kind=ChannelKind.WEBHOOK)
    webhook_publisher.check_connection = refuse  # type: ignore[method-assign]
    worker = make_worker(registry=PublisherRegistry([FakePublisher(), webhook_publisher]))

    assert worker.check_cycle() == 2

    with engine.connect() as connection:
        rows = {row.id: row for row in connection.execute(select(Channel))}
    assert (rows[feed].last_check_ok, rows[feed].last_check_message) == (True, "connected as walt.test")
    assert (rows[webhook].last_check_ok, rows[webhook].last_check_message) == (
        False,
        "HTTP 401: the token is not valid.",
    )
    assert rows[feed].check_requested_at is None
    assert rows[feed].last_checked_at == START


class SessionPublisher(FakePublisher):
    """Logs in (saves a new session) only when the request brings no saved one, like the Bluesky publisher."""

    def __init__(self) -> None:
        super().__init__()
        self.saved_seen: list[dict | None] = []
        self.logins = 0

    def publish(self, request: PublishRequest) -> PublishOutcome:
        self._use(request.session)
        return super().publish(request)

    def check_connection(self, settings, secrets, session=None):
        self._use(session)
        return "checked"

    def _use(self, session) -> None:
        assert session is not None
        self.saved_seen.append(session.saved)
        if session.saved is None:
            self.logins += 1
            session.save({"session": f"session-{self.logins}"})


def test_a_channel_session_is_saved_encrypted_and_reused_by_later_deliveries_and_checks(engine, world, clock):
    box = SecretBox(generate_key())
    publisher = SessionPublisher()
    channel_id = world.channels[ChannelKind.FEED]

    def worker() -> Worker:
        return Worker(
            engine,
            registry_for_all_kinds(publisher),
            config=WorkerConfig(threads=1),
            clock=clock,
            read_secrets=box.decrypt,
            write_secrets=box.encrypt,
        )

    first = worker()
    due(engine, world)
    run(first)
    first.stop(timeout=5)
    with engine.connect() as connection:
        row = connection.execute(select(Channel).where(col(Channel.id) == channel_id)).one()
    assert row.session_saved_at == START
    assert "session-1" not in row.session_token  # encrypted at rest
    assert box.decrypt(row.session_token) == {"session": "session-1"}

    restarted = worker()  # a new process: it reads the saved session instead of logging in
    due(engine, world)
    run(restarted)
    change_channel(engine, channel_id, check_requested_at=START)
    restarted.check_cycle()
    restarted.stop(timeout=5)
    assert publisher.logins == 1
    assert publisher.saved_seen == [None, {"session": "session-1"}, {"session": "session-1"}]


def test_an_unreadable_saved_session_is_ignored(engine, world, make_worker):
    change_channel(engine, world.channels[ChannelKind.FEED], session_token="not a token")
    publisher = SessionPublisher()
    worker = make_worker(publisher)
    worker.read_secrets = lambda token: SecretBox(generate_key()).decrypt(token)
    due(engine, world)
    run(worker)
    assert publisher.saved_seen == [None]
    assert statuses(engine) == [DeliveryStatus.PUBLISHED]


def test_next_wake_is_the_next_due_time_within_the_poll_interval(engine, world, make_worker, clock):
    worker = make_worker(NoopPublisher())
    assert worker.next_wake(poll_seconds=5) == START + timedelta(seconds=5)
    add_posts(engine, world, 1, START + timedelta(seconds=2))
    assert worker.next_wake(poll_seconds=5) == START + timedelta(seconds=2)
    add_posts(engine, world, 1, START - timedelta(seconds=2))
    assert worker.next_wake(poll_seconds=5) == START + MIN_WAKE_GAP


def test_group_commit_retries_a_failed_write_then_reports_it():
    calls: list[list[int]] = []

    def flaky(items: list[int]) -> set[int]:
        calls.append(items)
        if len(calls) < 3:
            raise RuntimeError("deadlock detected")
        return {item for item in items if item % 2}

    writer: GroupCommit[int, int] = GroupCommit("test-writer", flaky, key=int)
    assert writer.submit(1).result(timeout=10) is True
    assert writer.submit(2).result(timeout=10) is False
    writer.close()

    def broken(items: list[int]) -> set[int]:
        raise RuntimeError("database is gone")

    failing: GroupCommit[int, int] = GroupCommit("test-broken", broken, key=int, tries=2)
    with pytest.raises(RuntimeError, match="database is gone"):
        failing.submit(1).result(timeout=10)
    failing.close()
    with pytest.raises(RuntimeError, match="closed"):
        failing.submit(2)
