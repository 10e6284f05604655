"""The scheduler process: options, jobs, waking at the next due time, SIGTERM, and SIGKILL mid-publish."""

import argparse
import signal
from datetime import UTC, datetime, timedelta

import pytest
from apscheduler.schedulers.background import BackgroundScheduler

from characters.accounts.workspaces import Member
from characters.core.config import Settings
from characters.core.models import DeliveryStatus, PostStatus, Role
from characters.posting.recurring import RuleInput, approve_rule, create_rule, submit_rule
from scheduler.process import CLAIM_JOB, build_scheduler, install_jobs, materialize, parse_args, stop_on_signal
from tests.factories import make_character, workspace_with_roles
from tests.scheduler.processes import FAST_OPTIONS, SchedulerProcess, wait_for
from tests.scheduler.receiver import Receiver
from tests.scheduler.seed import add_posts, deliveries, make_world, post_row


def test_options_default_to_the_settings_and_refuse_nonsense():
    settings = Settings(scheduler_poll_seconds=2.5)
    args = parse_args([], settings)
    assert (args.poll_seconds, args.threads, args.lease_seconds) == (2.5, 4, 60.0)
    with pytest.raises(SystemExit):
        parse_args(["--threads", "0"], settings)


def test_the_scheduler_runs_in_utc():
    assert str(build_scheduler().timezone) == "UTC"


class StubWorker:
    """Stands in for Worker: records calls; its next wake time is fixed."""

    def __init__(self, wake: datetime) -> None:
        self.wake = wake
        self.calls: list[str] = []

    def claim_cycle(self, max_seconds: float = 1.0) -> int:
        self.calls.append("claim")
        return 0

    def next_wake(self, poll_seconds: float) -> datetime:
        return self.wake

    def __getattr__(self, name: str):
        return lambda: self.calls.append(name)


def test_the_claim_job_sleeps_until_the_next_due_delivery():
    wake = datetime(2030, 1, 1, 9, 0, tzinfo=UTC)
    worker = StubWorker(wake)
    scheduler = BackgroundScheduler(timezone="UTC")
    args = argparse.Namespace(poll_seconds=5, lease_seconds=60, reap_seconds=15, sweep_seconds=60, check_seconds=2)
    install_jobs(scheduler, worker, args, materialize=lambda: worker.calls.append("materialize"))
    assert {job.id for job in scheduler.get_jobs()} == {"sweep", CLAIM_JOB, "heartbeat", "reap", "check", "recurring"}

    scheduler.start(paused=True)  # running, so jobs can be re-timed, but nothing runs by itself
    try:
        scheduler.get_job(CLAIM_JOB).func()
        assert worker.calls == ["claim"]
        assert scheduler.get_job(CLAIM_JOB).next_run_time == wake
    finally:
        scheduler.shutdown(wait=False)


def test_a_failing_job_is_logged_and_the_schedule_goes_on(caplog):
    class Broken(StubWorker):
        def claim_cycle(self, max_seconds: float = 1.0) -> int:
            raise RuntimeError("database went away")

    scheduler = BackgroundScheduler(timezone="UTC")
    args = argparse.Namespace(poll_seconds=5, lease_seconds=60, reap_seconds=15, sweep_seconds=60, check_seconds=2)
    install_jobs(scheduler, Broken(datetime(2030, 1, 1, tzinfo=UTC)), args)
    scheduler.get_job(CLAIM_JOB).func()
    assert "claim job failed" in caplog.text
    assert "database went away" in caplog.text


# --- real processes ---------------------------------------------------------------------------------------------


@pytest.fixture
def receiver():
    with Receiver() as running:
        yield running


def test_a_real_process_publishes_due_posts_and_stops_on_sigterm(engine, receiver, tmp_path):
    world = make_world(engine)
    post_ids = add_posts(engine, world, 20, datetime.now(UTC) - timedelta(seconds=1))
    process = SchedulerProcess(engine, receiver.url, tmp_path / "scheduler.log", *FAST_OPTIONS).start()
    try:
        wait_for(lambda: all(row.status == DeliveryStatus.PUBLISHED for row in deliveries(engine)), 60,
                 "every delivery to be published")
    finally:
        code = process.terminate()
    assert code == 0, process.output()
    assert "stopped" in process.output()
    assert sorted(receiver.snapshot().values()) == [1] * 20
    assert {post_row(engine, post_id).status for post_id in post_ids} == {PostStatus.PUBLISHED}


@pytest.mark.parametrize("lookups", [True, False], ids=["network-can-tell", "network-cannot-tell"])
def test_a_sigkill_mid_publish_never_sends_twice(engine, receiver, tmp_path, lookups):
    world = make_world(engine)
    add_posts(engine, world, 1, datetime.now(UTC) - timedelta(seconds=1))
    receiver.hold.set()  # the request arrives, then the process dies before it hears back
    first = SchedulerProcess(engine, receiver.url, tmp_path / "first.log", *FAST_OPTIONS, lookups=lookups).start()
    try:
        assert receiver.received.wait(timeout=60), first.output()
    finally:
        first.kill()
    receiver.hold.clear()
    receiver.release.set()
    [row] = deliveries(engine)
    assert row.status == DeliveryStatus.PUBLISHING
    assert row.sending_started_at is not None

    second = SchedulerProcess(engine, receiver.url, tmp_path / "second.log", *FAST_OPTIONS, lookups=lookups).start()
    try:
        wait_for(lambda: deliveries(engine)[0].status != DeliveryStatus.PUBLISHING, 60, "the reaper to settle it")
    finally:
        assert second.terminate() == 0, second.output()

    [row] = deliveries(engine)
    assert row.status == (DeliveryStatus.PUBLISHED if lookups else DeliveryStatus.UNCONFIRMED)
    assert list(receiver.snapshot().values()) == [1]


def test_recurring_rules_are_materialized_once(engine, session):
    crew = workspace_with_roles(session, "recur")
    character = make_character(session, crew["workspace"], crew["owner"], "Evergreen")
    writer = Member(crew["workspace"], crew["writer"], Role.WRITER)
    editor = Member(crew["workspace"], crew["editor"], Role.EDITOR)
    rule = create_rule(session=session, member=writer, data=RuleInput.model_validate({
        "character_id": character.id, "parts": ["Tip of the day: drink water."], "kind": "interval",
        "interval_minutes": 24 * 60, "starts_at": datetime.now(UTC) + timedelta(hours=1), "max_count": 3}))
    submit_rule(session=session, member=writer, rule=rule, expected_version=rule.version)
    approve_rule(session=session, member=editor, rule=rule, expected_version=rule.version)
    session.commit()

    assert materialize(engine) == 3
    assert materialize(engine) == 0
    assert [row.status for row in deliveries(engine)] == [DeliveryStatus.PENDING] * 3


def test_a_signal_only_raises_a_flag_and_a_job_stops_the_scheduler():
    scheduler = BackgroundScheduler(timezone="UTC")
    previous = {signum: signal.getsignal(signum) for signum in (signal.SIGTERM, signal.SIGINT)}
    try:
        stop_on_signal(scheduler)
        scheduler.start(paused=True)
        signal.getsignal(signal.SIGTERM)(signal.SIGTERM, None)
        assert scheduler.running  # the handler itself touches nothing that takes a lock
        scheduler.get_job("stop").func()
        assert not scheduler.running
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
