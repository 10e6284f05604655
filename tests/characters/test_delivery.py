"""Deliveries: claims, leases, fenced completion, retries, recovery and the missed-post policy, with a fixed clock."""

import random
import threading
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select
from sqlmodel import col

from characters.accounts.workspaces import Member
from characters.core.errors import DomainError, NotFound, PermissionDenied
from characters.core.models import (
    AuditEvent,
    Channel,
    ChannelKind,
    DeliveryStatus,
    Notification,
    PostStatus,
    Role,
    User,
    Workspace,
)
from characters.publishing import settling
from characters.publishing.delivery import (
    MAX_ATTEMPTS,
    Failure,
    LookupLater,
    Published,
    Resend,
    claim_due_deliveries,
    complete_delivery,
    fail_delivery,
    heartbeat,
    load_deliveries,
    mark_unconfirmed,
    next_due_time,
    post_status_for,
    reap_expired_leases,
    record_connection_check,
    requeue_missed,
    resolve_unconfirmed,
    retry_delay,
    settle,
    start_sending,
    sweep_missed,
    take_connection_checks,
)
from tests.scheduler.seed import add_posts, deliveries, make_world, post_row, set_delivery, set_post

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
LEASE = 60


@pytest.fixture
def world(engine):
    return make_world(engine)


def due_posts(engine, world, count=1, due=NOW - timedelta(minutes=1), **options):
    return add_posts(engine, world, count, due, **options)


def claim(engine, worker="w1", now=NOW, limit=100):
    return claim_due_deliveries(engine, worker, now, limit, LEASE)


def claim_and_start(engine, worker="w1", now=NOW):
    claimed = claim(engine, worker, now)
    assert start_sending(engine, worker, [delivery.id for delivery in claimed], now) == {t.id for t in claimed}
    return claimed


def audit_actions(engine, post_id):
    with engine.connect() as connection:
        return list(connection.execute(select(AuditEvent.action, AuditEvent.actor_id)
                                       .where(col(AuditEvent.post_id) == post_id)
                                       .order_by(col(AuditEvent.id))).all())


def notifications(engine):
    with engine.connect() as connection:
        return list(connection.execute(select(Notification.user_id, Notification.message)).all())


# --- claiming --------------------------------------------------------------------------------------------------


def test_claim_takes_due_deliveries_of_live_posts_in_due_order(engine, world):
    later, earlier = due_posts(engine, world, due=NOW - timedelta(minutes=1)) + due_posts(
        engine, world, due=NOW - timedelta(minutes=5))
    future = due_posts(engine, world, due=NOW + timedelta(seconds=1))[0]
    in_review = due_posts(engine, world, status=PostStatus.IN_REVIEW)[0]
    unscheduled, cancelled, retry_later, stale = due_posts(engine, world, count=4)
    rows = {row.post_id: row for row in deliveries(engine)}
    set_delivery(engine, rows[unscheduled].id, due_at=None)
    set_delivery(engine, rows[cancelled].id, status=DeliveryStatus.CANCELLED.value)
    set_delivery(engine, rows[retry_later].id, next_attempt_at=NOW + timedelta(seconds=30))
    set_post(engine, stale, version=2)  # edited after the key was issued for version 1

    claimed = claim(engine)

    assert [delivery.post_id for delivery in claimed] == [earlier, later, stale]
    assert all(delivery.lease_expires_at == NOW + timedelta(seconds=LEASE) for delivery in claimed)
    by_post = {row.post_id: row for row in deliveries(engine)}
    assert by_post[earlier].status == DeliveryStatus.PUBLISHING
    assert by_post[earlier].lease_owner == "w1"
    for post_id in (future, in_review, unscheduled, cancelled, retry_later):
        assert by_post[post_id].status != DeliveryStatus.PUBLISHING
    # The key's version is checked as sending starts: the stale delivery is never sent and leaves the clock.
    assert start_sending(engine, "w1", [delivery.id for delivery in claimed], NOW) == {
        by_post[earlier].id, by_post[later].id}
    stale_row = deliveries(engine, [stale])[0]
    assert (stale_row.status, stale_row.due_at) == (DeliveryStatus.PENDING, None)
    assert post_row(engine, earlier).status == PostStatus.PUBLISHING
    assert audit_actions(engine, earlier) == [("publishing", None)]


def test_a_claimed_delivery_is_not_claimed_again(engine, world):
    due_posts(engine, world, count=3)
    first = claim(engine, "w1", limit=2)
    second = claim(engine, "w2")
    assert len(first) == 2
    assert len(second) == 1
    assert {t.id for t in first}.isdisjoint({t.id for t in second})
    assert claim(engine, "w3") == []


def test_concurrent_claimers_never_get_the_same_delivery(engine, world):
    due_posts(engine, world, count=300)
    results: dict[str, list[int]] = {}
    errors: list[BaseException] = []
    start = threading.Barrier(6)

    def work(name: str) -> None:
        mine: list[int] = []
        try:
            start.wait()
            while batch := claim_due_deliveries(engine, name, NOW, 7, LEASE):
                mine += [delivery.id for delivery in batch]
        except BaseException as error:  # reported below; a thread cannot fail the test by itself
            errors.append(error)
        results[name] = mine

    threads = [threading.Thread(target=work, args=(f"w{n}",)) for n in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    everything = [delivery_id for ids in results.values() for delivery_id in ids]
    assert len(everything) == len(set(everything)) == 300
    owners = {row.id: row.lease_owner for row in deliveries(engine)}
    assert all(owners[delivery_id] == name for name, ids in results.items() for delivery_id in ids)


# --- sending, heartbeats and fenced completion -----------------------------------------------------------------


def test_start_sending_marks_owned_deliveries_and_counts_the_attempt(engine, world):
    due_posts(engine, world, count=2)
    mine, theirs = claim(engine, "w1", limit=1), claim(engine, "w2", limit=1)
    assert start_sending(engine, "w1", [mine[0].id, theirs[0].id], NOW) == {mine[0].id}
    rows = {row.id: row for row in deliveries(engine)}
    assert rows[mine[0].id].sending_started_at == NOW
    assert rows[mine[0].id].attempts == 1
    assert rows[theirs[0].id].sending_started_at is None
    assert rows[theirs[0].id].attempts == 0
    assert start_sending(engine, "w1", [mine[0].id], NOW) == set()  # never twice


def test_a_post_edited_after_the_claim_is_not_sent_and_waits_for_approval(engine, world):
    post_id = due_posts(engine, world)[0]
    claimed = claim(engine)
    set_post(engine, post_id, status=PostStatus.IN_REVIEW.value, version=2)

    assert start_sending(engine, "w1", [claimed[0].id], NOW) == set()

    row = deliveries(engine)[0]
    assert (row.status, row.due_at, row.lease_owner) == (DeliveryStatus.PENDING, None, None)
    assert claim(engine, now=NOW + timedelta(days=1)) == []


def test_cancelled_posts_are_never_claimed(engine, world):
    post_id = due_posts(engine, world)[0]
    set_post(engine, post_id, status=PostStatus.CANCELLED.value)
    set_delivery(engine, deliveries(engine)[0].id, status=DeliveryStatus.CANCELLED.value)
    assert claim(engine) == []
    assert next_due_time(engine) is None


def test_heartbeat_extends_only_leases_still_held(engine, world):
    due_posts(engine, world, count=2)
    mine, theirs = claim(engine, "w1", limit=1), claim(engine, "w2", limit=1)
    later = NOW + timedelta(seconds=40)
    assert heartbeat(engine, "w1", [mine[0].id, theirs[0].id], later, LEASE) == {mine[0].id}
    rows = {row.id: row for row in deliveries(engine)}
    assert rows[mine[0].id].lease_expires_at == later + timedelta(seconds=LEASE)
    assert rows[theirs[0].id].lease_expires_at == NOW + timedelta(seconds=LEASE)


def test_completion_publishes_the_delivery_and_the_post(engine, world):
    post_id = due_posts(engine, world)[0]
    delivery = claim_and_start(engine)[0]
    refs = [{"id": "at://walt/1", "url": "https://example.test/1", "extra": {}}]

    assert complete_delivery(engine, "w1", delivery.id, refs, "https://example.test/1", NOW + timedelta(seconds=1))

    row = deliveries(engine)[0]
    assert (row.status, row.remote_refs, row.remote_url) == (DeliveryStatus.PUBLISHED, refs, "https://example.test/1")
    assert row.published_at == NOW + timedelta(seconds=1)
    assert row.lease_owner is None
    post = post_row(engine, post_id)
    assert post.status == PostStatus.PUBLISHED
    assert post.published_at == NOW + timedelta(seconds=1)
    assert audit_actions(engine, post_id) == [("publishing", None), ("published", None)]


def test_a_stale_owner_cannot_complete(engine, world):
    due_posts(engine, world)
    stale = claim(engine, "w1")[0]
    after_expiry = NOW + timedelta(seconds=LEASE + 1)
    assert reap_expired_leases(engine, "reaper", after_expiry, LEASE).requeued == [stale.id]
    fresh = claim(engine, "w2", now=after_expiry)[0]
    before = deliveries(engine)[0]

    assert not complete_delivery(engine, "w1", stale.id, [{"id": "x"}], None, after_expiry)
    assert not fail_delivery(engine, "w1", stale.id, "late", after_expiry)
    assert not mark_unconfirmed(engine, "w1", stale.id, "late", after_expiry)

    assert deliveries(engine)[0] == before
    assert fresh.id == stale.id
    assert deliveries(engine)[0].lease_owner == "w2"


def test_a_post_is_published_only_when_every_channel_is(engine, world):
    post_id = due_posts(engine, world, kinds=(ChannelKind.FEED, ChannelKind.WEBHOOK))[0]
    first, second = claim_and_start(engine)
    assert complete_delivery(engine, "w1", first.id, [{"id": "1"}], None, NOW)
    assert post_row(engine, post_id).status == PostStatus.PUBLISHING
    assert complete_delivery(engine, "w1", second.id, [{"id": "2"}], None, NOW)
    assert post_row(engine, post_id).status == PostStatus.PUBLISHED


# --- failures and retries --------------------------------------------------------------------------------------


class FixedRandom(random.Random):
    def __init__(self, value: float) -> None:
        super().__init__()
        self.value = value

    def random(self) -> float:
        return self.value


def test_retry_delay_grows_exponentially_with_jitter_and_honours_retry_after():
    low, high = FixedRandom(0.0), FixedRandom(1.0)
    assert retry_delay(1, None, low) == settling.RETRY_BASE_SECONDS / 2
    assert retry_delay(1, None, high) == settling.RETRY_BASE_SECONDS
    assert retry_delay(3, None, high) == settling.RETRY_BASE_SECONDS * 4
    assert retry_delay(30, None, high) == settling.RETRY_MAX_SECONDS
    assert retry_delay(1, 600.0, low) == 600.0
    assert retry_delay(5, 1.0, high) == settling.RETRY_BASE_SECONDS * 16


def test_a_retryable_failure_waits_with_backoff_then_goes_again(engine, world):
    post_id = due_posts(engine, world)[0]
    delivery = claim_and_start(engine)[0]

    assert fail_delivery(engine, "w1", delivery.id, "HTTP 503 from the server", NOW, retryable=True,
                         rng=FixedRandom(1.0))

    row = deliveries(engine)[0]
    assert (row.status, row.attempts, row.last_error) == (DeliveryStatus.PENDING, 1, "HTTP 503 from the server")
    assert row.next_attempt_at == NOW + timedelta(seconds=settling.RETRY_BASE_SECONDS)
    assert row.sending_started_at is None
    assert row.lease_owner is None
    assert post_row(engine, post_id).status == PostStatus.PUBLISHING
    assert claim(engine, now=NOW + timedelta(seconds=29)) == []
    assert next_due_time(engine) == row.next_attempt_at
    again = claim(engine, now=row.next_attempt_at)
    assert [t.idempotency_key for t in again] == [delivery.idempotency_key]  # the same key: the network can dedupe


def test_retry_after_is_honoured(engine, world):
    due_posts(engine, world)
    delivery = claim_and_start(engine)[0]
    assert fail_delivery(engine, "w1", delivery.id, "HTTP 429: slow down", NOW, retryable=True, retry_after=900,
                       rng=FixedRandom(0.0))
    assert deliveries(engine)[0].next_attempt_at == NOW + timedelta(seconds=900)


def test_retries_stop_after_the_last_attempt_with_the_platform_message(engine, world):
    post_id = due_posts(engine, world)[0]
    now = NOW
    for attempt in range(1, MAX_ATTEMPTS + 1):
        delivery = claim_and_start(engine, now=now)[0]
        assert fail_delivery(engine, "w1", delivery.id, f"HTTP 502 (try {attempt})", now, retryable=True)
        now = deliveries(engine)[0].next_attempt_at or now
    row = deliveries(engine)[0]
    assert row.status == DeliveryStatus.FAILED
    assert row.attempts == MAX_ATTEMPTS
    assert row.last_error == f"Gave up after {MAX_ATTEMPTS} attempts. Last error: HTTP 502 (try {MAX_ATTEMPTS})"
    post = post_row(engine, post_id)
    assert post.status == PostStatus.FAILED
    assert "HTTP 502" in post.last_error
    assert audit_actions(engine, post_id)[-1] == ("publish_failed", None)
    [(user_id, message)] = notifications(engine)
    assert user_id == world.author_id
    assert "could not be published to Walt on feed" in message


def test_a_permanent_failure_fails_at_once_and_tells_the_author(engine, world):
    post_id = due_posts(engine, world)[0]
    delivery = claim_and_start(engine)[0]
    assert fail_delivery(engine, "w1", delivery.id, "The access token was revoked.", NOW)
    assert deliveries(engine)[0].status == DeliveryStatus.FAILED
    assert post_row(engine, post_id).status == PostStatus.FAILED
    assert [message for _, message in notifications(engine)] == [
        f"Post #{post_id} could not be published to Walt on feed: The access token was revoked."]


def test_one_settle_applies_many_outcomes(engine, world):
    ids = due_posts(engine, world, count=3)
    claimed = claim_and_start(engine)
    applied = settle(engine, "w1", [Published(claimed[0].id, [{"id": "a"}]), Failure(claimed[1].id, "no"),
                                    Failure(claimed[2].id, "busy", retryable=True)], NOW)
    assert applied == {delivery.id for delivery in claimed}
    assert [post_row(engine, post_id).status for post_id in ids] == [
        PostStatus.PUBLISHED, PostStatus.FAILED, PostStatus.PUBLISHING]


def test_a_published_delivery_tells_its_author_with_the_link(engine, world):
    post_id = due_posts(engine, world)[0]
    delivery = claim_and_start(engine)[0]
    assert complete_delivery(engine, "w1", delivery.id, [{"uri": "at://x"}], "https://example.test/p/1", NOW)
    [(user_id, message)] = notifications(engine)
    assert user_id == world.author_id
    assert message.startswith(f"Post #{post_id} (")
    assert message.endswith(
        "was published to Walt on feed: https://example.test/p/1")


# --- recovery ---------------------------------------------------------------------------------------------------


def test_an_expired_lease_that_never_started_sending_goes_back_to_pending(engine, world):
    due_posts(engine, world)
    delivery = claim(engine)[0]
    assert reap_expired_leases(engine, "reaper", NOW + timedelta(seconds=LEASE - 1), LEASE).requeued == []
    result = reap_expired_leases(engine, "reaper", NOW + timedelta(seconds=LEASE + 1), LEASE)
    assert result.requeued == [delivery.id]
    assert result.to_check == []
    assert deliveries(engine)[0].status == DeliveryStatus.PENDING
    assert [t.id for t in claim(engine, "w2", now=NOW + timedelta(seconds=LEASE + 1))] == [delivery.id]


def test_an_expired_lease_after_sending_started_is_never_resent(engine, world):
    post_id = due_posts(engine, world)[0]
    delivery = claim_and_start(engine)[0]
    later = NOW + timedelta(seconds=LEASE + 1)

    result = reap_expired_leases(engine, "reaper", later, LEASE)

    assert result.requeued == []
    assert [t.id for t in result.to_check] == [delivery.id]
    assert result.to_check[0].sending_started_at == NOW
    assert claim(engine, "w2", now=later + timedelta(hours=1)) == []
    assert mark_unconfirmed(engine, "reaper", delivery.id, "It may have been sent.", later)
    assert deliveries(engine)[0].status == DeliveryStatus.UNCONFIRMED
    assert post_row(engine, post_id).status == PostStatus.UNCONFIRMED
    assert "may or may not have reached Walt on feed" in notifications(engine)[0].message
    assert claim(engine, "w2", now=later + timedelta(days=1)) == []


def test_a_proven_safe_resend_clears_the_marker_and_keeps_the_key(engine, world):
    due_posts(engine, world)
    delivery = claim_and_start(engine)[0]
    later = NOW + timedelta(seconds=LEASE + 1)
    [taken] = reap_expired_leases(engine, "reaper", later, LEASE).to_check
    assert settle(engine, "reaper", [Resend(taken.id, "Sent again: no record at its key.")], later) == {taken.id}
    [row] = deliveries(engine)
    assert (row.status, row.sending_started_at, row.next_attempt_at, row.lease_owner) == (
        DeliveryStatus.PENDING, None, later, None)
    assert row.idempotency_key == delivery.idempotency_key
    assert row.last_error == "Sent again: no record at its key."
    assert [t.id for t in claim(engine, "w2", now=later)] == [delivery.id]


def test_a_delivery_interrupted_on_every_attempt_fails_instead_of_looping(engine, world):
    post_id = due_posts(engine, world)[0]
    [delivery] = claim_and_start(engine)
    set_delivery(engine, delivery.id, attempts=MAX_ATTEMPTS)
    assert settle(engine, "w1", [Resend(delivery.id, "Sent again: no record at its key.")], NOW) == {delivery.id}
    [row] = deliveries(engine)
    assert row.status == DeliveryStatus.FAILED
    assert row.last_error == f"Gave up after {MAX_ATTEMPTS} interrupted attempts, none of which reached the network."
    assert post_row(engine, post_id).status == PostStatus.FAILED


def test_a_look_up_to_repeat_keeps_the_delivery_publishing_until_then(engine, world):
    due_posts(engine, world)
    [delivery] = claim_and_start(engine)
    until = NOW + timedelta(seconds=30)
    assert settle(engine, "w1", [LookupLater(delivery.id, "Could not ask (HTTP 503).", until)], NOW) == {delivery.id}
    [row] = deliveries(engine)
    assert (row.status, row.sending_started_at, row.lease_owner, row.lease_expires_at, row.last_error) == (
        DeliveryStatus.PUBLISHING, NOW, None, until, "Could not ask (HTTP 503).")
    assert claim(engine, "w2", now=until + timedelta(hours=1)) == []  # never claimable: it may have been sent
    assert reap_expired_leases(engine, "reaper", until - timedelta(seconds=1), LEASE).to_check == []
    assert [t.id for t in reap_expired_leases(engine, "reaper", until + timedelta(seconds=1), LEASE).to_check] == [
        delivery.id]


def test_a_reaper_that_dies_too_hands_over_to_the_next(engine, world):
    due_posts(engine, world)
    claim_and_start(engine)
    first = reap_expired_leases(engine, "reaper-1", NOW + timedelta(seconds=LEASE + 1), LEASE)
    assert len(first.to_check) == 1
    assert reap_expired_leases(engine, "reaper-2", NOW + timedelta(seconds=LEASE + 2), LEASE).to_check == []
    second = reap_expired_leases(engine, "reaper-2", NOW + timedelta(seconds=2 * LEASE + 2), LEASE)
    assert [t.id for t in second.to_check] == [first.to_check[0].id]
    assert not mark_unconfirmed(engine, "reaper-1", first.to_check[0].id, "late", NOW + timedelta(minutes=5))


# --- missed posts -----------------------------------------------------------------------------------------------


def test_posts_found_past_the_grace_period_are_held_as_missed(engine, world):
    on_time, late = due_posts(engine, world, due=NOW - timedelta(minutes=14)) + due_posts(
        engine, world, due=NOW - timedelta(minutes=16))

    assert sweep_missed(engine, "w1", NOW) == [deliveries(engine, [late])[0].id]

    assert deliveries(engine, [late])[0].status == DeliveryStatus.MISSED
    assert post_row(engine, late).status == PostStatus.MISSED
    assert audit_actions(engine, late) == [("publish_missed", None)]
    [(_, message)] = notifications(engine)
    assert "16 minutes late, past this workspace's 15-minute grace period" in message
    assert [t.post_id for t in claim(engine)] == [on_time]


def test_each_workspace_has_its_own_grace_period(engine, world):
    strict = make_world(engine, "strict", grace_minutes=0)
    relaxed_post = due_posts(engine, world, due=NOW - timedelta(minutes=5))[0]
    strict_post = due_posts(engine, strict, due=NOW - timedelta(minutes=5))[0]
    sweep_missed(engine, "w1", NOW)
    assert post_row(engine, strict_post).status == PostStatus.MISSED
    assert post_row(engine, relaxed_post).status == PostStatus.APPROVED


def test_an_editor_can_send_a_missed_post_anyway(engine, world, session):
    post_id = due_posts(engine, world, due=NOW - timedelta(hours=2))[0]
    sweep_missed(engine, "w1", NOW)
    editor = member_of(session, world, Role.EDITOR)

    requeue_missed(session=session, member=editor, delivery_id=deliveries(engine)[0].id, now=NOW)
    session.commit()

    assert sweep_missed(engine, "w1", NOW + timedelta(minutes=1)) == []
    assert [t.post_id for t in claim(engine, now=NOW + timedelta(minutes=1))] == [post_id]


# --- waking up --------------------------------------------------------------------------------------------------


def test_next_due_time_is_the_earliest_first_attempt_or_retry(engine, world):
    assert next_due_time(engine) is None
    due_posts(engine, world, due=NOW + timedelta(minutes=10))
    retrying = due_posts(engine, world, due=NOW - timedelta(minutes=1))[0]
    assert next_due_time(engine) == NOW - timedelta(minutes=1)
    set_delivery(engine, deliveries(engine, [retrying])[0].id, next_attempt_at=NOW + timedelta(minutes=3))
    assert next_due_time(engine) == NOW + timedelta(minutes=3)


def test_due_times_are_utc_instants_across_daylight_saving_changes(engine, world):
    new_york = ZoneInfo("America/New_York")
    # Spring forward (2026-03-08): 01:30 EST and 03:30 EDT are one hour apart, not two.
    before = datetime(2026, 3, 8, 1, 30, tzinfo=new_york)
    after = datetime(2026, 3, 8, 3, 30, tzinfo=new_york)
    # Fall back (2026-11-01): 01:30 happens twice; fold=1 is the second, an hour later in UTC.
    first_fold = datetime(2026, 11, 1, 1, 30, tzinfo=new_york)
    second_fold = datetime(2026, 11, 1, 1, 30, fold=1, tzinfo=new_york)
    ids = [due_posts(engine, world, due=moment)[0] for moment in (before, after, first_fold, second_fold)]
    expected_utc = [datetime(2026, 3, 8, 6, 30, tzinfo=UTC), datetime(2026, 3, 8, 7, 30, tzinfo=UTC),
                    datetime(2026, 11, 1, 5, 30, tzinfo=UTC), datetime(2026, 11, 1, 6, 30, tzinfo=UTC)]

    for post_id, due in zip(ids, expected_utc, strict=True):
        assert next_due_time(engine) == due
        assert claim(engine, now=due - timedelta(microseconds=1)) == []
        [delivery] = claim_and_start(engine, now=due)
        assert delivery.post_id == post_id
        assert delivery.due_at == due
        assert complete_delivery(engine, "w1", delivery.id, [{"id": str(post_id)}], None, due)
    assert [row.published_at for row in deliveries(engine)] == expected_utc


# --- people resolving held deliveries ---------------------------------------------------------------------------


def member_of(session, world, role: Role) -> Member:
    workspace = session.get(Workspace, world.workspace_id)
    user = User(email=f"{role.value}-{world.workspace_id}@example.test", display_name=role.value.title(),
                password_hash="x")
    session.add(user)
    session.flush()
    return Member(workspace=workspace, user=user, role=role)


def unconfirmed_delivery(engine, world):
    post_id = due_posts(engine, world)[0]
    delivery = claim_and_start(engine)[0]
    assert mark_unconfirmed(engine, "w1", delivery.id, "It may have been sent.", NOW)
    return post_id, delivery.id


def test_an_editor_confirms_an_unconfirmed_delivery_was_published(engine, world, session):
    post_id, delivery_id = unconfirmed_delivery(engine, world)
    editor = member_of(session, world, Role.EDITOR)

    resolve_unconfirmed(session=session, member=editor, delivery_id=delivery_id, published=True, now=NOW,
                        url="https://example.test/found")
    session.commit()

    row = deliveries(engine)[0]
    assert (row.status, row.remote_url) == (DeliveryStatus.PUBLISHED, "https://example.test/found")
    assert post_row(engine, post_id).status == PostStatus.PUBLISHED
    assert [action for action, _ in audit_actions(engine, post_id)][-2:] == ["resolve_unconfirmed", "published"]
    assert all(actor == editor.user.id for _, actor in audit_actions(engine, post_id)[-2:])


def test_an_editor_sends_an_unconfirmed_delivery_again(engine, world, session):
    post_id, delivery_id = unconfirmed_delivery(engine, world)
    resolve_unconfirmed(session=session, member=member_of(session, world, Role.OWNER), delivery_id=delivery_id,
                        published=False, now=NOW + timedelta(minutes=30))
    session.commit()
    assert post_row(engine, post_id).status == PostStatus.PUBLISHING
    [again] = claim(engine, now=NOW + timedelta(minutes=30))
    assert again.id == delivery_id


def test_only_editors_of_the_workspace_resolve_deliveries(engine, world, session):
    _, delivery_id = unconfirmed_delivery(engine, world)
    other = make_world(engine, "other")
    with pytest.raises(PermissionDenied):
        resolve_unconfirmed(session=session, member=member_of(session, world, Role.WRITER), delivery_id=delivery_id,
                            published=True, now=NOW)
    with pytest.raises(NotFound):
        resolve_unconfirmed(session=session, member=member_of(session, other, Role.OWNER), delivery_id=delivery_id,
                            published=True, now=NOW)
    editor = member_of(session, world, Role.EDITOR)
    resolve_unconfirmed(session=session, member=editor, delivery_id=delivery_id, published=True, now=NOW)
    session.commit()
    with pytest.raises(DomainError, match="not unconfirmed"):
        resolve_unconfirmed(session=session, member=editor, delivery_id=delivery_id, published=False, now=NOW)


@pytest.mark.parametrize(("statuses", "current", "expected"), [
    (["pending"], "approved", "approved"),
    (["pending", "published"], "publishing", "publishing"),
    (["publishing", "failed"], "publishing", "publishing"),
    (["published", "published"], "publishing", "published"),
    (["published", "cancelled"], "publishing", "published"),
    (["published", "failed"], "publishing", "failed"),
    (["failed", "unconfirmed"], "publishing", "unconfirmed"),
    (["missed", "published"], "publishing", "missed"),
    (["cancelled"], "cancelled", "cancelled"),
    (["pending"], "unconfirmed", "publishing"),
])
def test_post_status_follows_its_deliveries(statuses, current, expected):
    assert post_status_for(statuses, current) == expected


# --- reading what to publish ------------------------------------------------------------------------------------


def test_load_deliveries_reads_parts_channel_and_character(engine, world):
    post_id = due_posts(engine, world, parts=("one", "two", "three"))[0]
    with engine.begin() as connection:
        connection.execute(Channel.__table__.update().where(Channel.__table__.c.id == world.channels[ChannelKind.FEED])
                           .values(settings={"x": 1}, secret_token="token"))
    [loaded] = load_deliveries(engine, claim(engine))
    assert [part.text for part in loaded.parts] == ["one", "two", "three"]
    assert (loaded.channel.kind, loaded.channel.settings, loaded.channel.secret_token) == ("feed", {"x": 1}, "token")
    assert (loaded.character_name, loaded.author_id, loaded.late_grace_minutes) == ("Walt", world.author_id, 15)
    assert loaded.claimed.idempotency_key == f"gr-{post_id}-v1-c{world.channels[ChannelKind.FEED]}"


def test_load_deliveries_finds_the_remote_post_to_answer(engine, world):
    parent = due_posts(engine, world, due=NOW - timedelta(minutes=2))[0]
    child = due_posts(engine, world, reply_to_post_id=parent)[0]
    first, second = claim(engine)
    waiting = {d.claimed.post_id: d for d in load_deliveries(engine, [first, second])}
    assert waiting[child].waiting_for_parent
    assert waiting[child].reply_to is None
    assert start_sending(engine, "w1", [first.id], NOW)
    complete_delivery(engine, "w1", first.id, [{"id": "p1"}, {"id": "p2", "url": "u"}], "u", NOW)
    [answer] = load_deliveries(engine, [second])
    assert answer.reply_to == {"id": "p2", "url": "u"}
    assert not answer.waiting_for_parent


def test_a_removed_channel_loads_as_none(engine, world):
    due_posts(engine, world)
    set_delivery(engine, deliveries(engine)[0].id, channel_id=None)
    [loaded] = load_deliveries(engine, claim(engine))
    assert loaded.channel is None


# --- connection checks ------------------------------------------------------------------------------------------


def test_connection_checks_are_taken_once_and_recorded(engine, world):
    channel_id = world.channels[ChannelKind.WEBHOOK]
    with engine.begin() as connection:
        connection.execute(Channel.__table__.update().where(Channel.__table__.c.id == channel_id)
                           .values(check_requested_at=NOW))
    [check] = take_connection_checks(engine)
    assert (check.channel_id, check.kind) == (channel_id, "webhook")
    assert take_connection_checks(engine) == []
    record_connection_check(engine, channel_id, False, "HTTP 401: bad token", NOW)
    with engine.connect() as connection:
        row = connection.execute(select(Channel).where(col(Channel.id) == channel_id)).one()
    assert (row.last_check_ok, row.last_check_message, row.last_checked_at) == (False, "HTTP 401: bad token", NOW)


# --- the write transaction --------------------------------------------------------------------------------------


def test_sqlite_write_transactions_take_the_write_lock_before_their_first_statement(tmp_path):
    import sqlite3

    from characters.core.db import make_engine, write_transaction

    engine = make_engine(f"sqlite:///{tmp_path / 'lock.sqlite3'}")
    with engine.begin() as connection:
        connection.exec_driver_sql("CREATE TABLE t (x INTEGER)")
    other = sqlite3.connect(tmp_path / "lock.sqlite3", timeout=0, isolation_level=None)
    with write_transaction(engine), pytest.raises(sqlite3.OperationalError, match="locked"):
        other.execute("BEGIN IMMEDIATE")
    other.execute("BEGIN IMMEDIATE")  # free again once the transaction ended
    other.execute("ROLLBACK")
    with engine.connect() as connection, connection.begin():  # ordinary transactions still begin deferred
        other.execute("BEGIN IMMEDIATE")
        other.execute("ROLLBACK")
    other.close()
    engine.dispose()
