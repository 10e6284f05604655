"""The scheduler process: APScheduler 3.x in UTC, with an in-memory job store, driving jobs over the posts table.

Jobs: claim-and-publish (woken at the next due time, and at least every SCHEDULER_POLL_SECONDS), lease
heartbeats, the lease reaper, the missed-post sweep, connection checks, materializing recurring posts and refreshing
published posts' numbers (analytics).
Any number of these processes may share one PostgreSQL database: claims never overlap.
"""

import argparse
import gc
import logging
import os
import signal
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from types import FrameType
from typing import Any

from apscheduler.schedulers.base import BaseScheduler
from apscheduler.schedulers.blocking import BlockingScheduler
from sqlalchemy.engine import Engine
from sqlmodel import Session

from characters.core.config import ConfigError, Settings, load_settings
from characters.core.db import make_engine, write_transaction
from characters.core.models import utcnow
from characters.posting.recurring import materialize_recurring
from characters.publishing.secrets import secret_box
from scheduler.listeners.cycle import Listening, default_listeners
from scheduler.metrics.collector import MetricsCollector, default_readers
from scheduler.publishers.registry import PublisherRegistry, default_registry
from scheduler.worker import SecretsReader, SecretsWriter, Worker, WorkerConfig

log = logging.getLogger("greenroom.scheduler")

CLAIM_JOB = "claim"
RECURRING_SECONDS = 60.0
# How often the listen job looks for channels due a poll (each workspace sets its own poll interval) and the overdue
# job for conversations past their response target.
LISTEN_SECONDS = 10.0
OVERDUE_SECONDS = 60.0
METRICS_SECONDS = 60.0  # how often published posts' numbers and follower counts are looked at (analytics)
STOP_CHECK_SECONDS = 0.2
POOL_SIZE = 8
POOL_OVERFLOW = 4


def build_scheduler() -> BlockingScheduler:
    """Create the scheduler with an in-memory job store in UTC."""
    # Coalesce and one instance per job: a job that overran is not run twice in a row to catch up.
    return BlockingScheduler(timezone="UTC", job_defaults={"coalesce": True, "max_instances": 1,
                                                           "misfire_grace_time": None})


def parse_args(argv: Sequence[str] | None, settings: Settings) -> argparse.Namespace:
    """Read the command line; the defaults suit one process on a small server."""
    parser = argparse.ArgumentParser(prog="python -m scheduler", description="Run the publishing scheduler.")
    parser.add_argument("--threads", type=int, default=4, help="publisher threads (default 4)")
    parser.add_argument("--lease-seconds", type=float, default=60.0,
                        help="how long a claimed delivery stays ours without a heartbeat (default 60)")
    parser.add_argument("--poll-seconds", type=float, default=settings.scheduler_poll_seconds,
                        help="longest sleep between claims (default SCHEDULER_POLL_SECONDS)")
    parser.add_argument("--reap-seconds", type=float, default=15.0, help="lease reaper interval (default 15)")
    parser.add_argument("--sweep-seconds", type=float, default=60.0, help="missed-post sweep interval (default 60)")
    parser.add_argument("--check-seconds", type=float, default=2.0,
                        help="how often to look for requested connection tests (default 2)")
    parser.add_argument("--claim-batch", type=int, default=64, help="deliveries claimed per transaction (default 64)")
    parser.add_argument("--parent-pid", type=int, default=None,
                        help="stop gracefully once this process is no longer our parent (`greenroom serve` passes it)")
    args = parser.parse_args(argv)
    for name in ("threads", "lease_seconds", "poll_seconds", "reap_seconds", "sweep_seconds", "check_seconds",
                 "claim_batch"):
        if getattr(args, name) <= 0:
            parser.error(f"--{name.replace('_', '-')} must be positive")
    return args


def _logged(name: str, job: Callable[[], Any]) -> Callable[[], None]:
    """Wrap a job so that any error is logged and the schedule simply goes on."""
    def run() -> None:
        try:
            job()
        except Exception:
            log.exception("%s job failed; it runs again on schedule", name)
    run.__name__ = f"{name}_job"
    return run


def materialize(engine: Engine) -> int:
    """Turn recurring rules' occurrences within the horizon into approved posts; return how many were made."""
    # A write transaction from the start: on SQLite a plain one that reads first can be refused at its first
    # write while the publishing writer is busy, and then no occurrence would ever be made.
    with write_transaction(engine) as connection, Session(bind=connection) as session:
        created = materialize_recurring(session, utcnow())
    if created:
        log.info("made %d posts from recurring rules", len(created))
    return len(created)


def install_jobs(scheduler: BaseScheduler, worker: Worker, args: argparse.Namespace,
                 materialize: Callable[[], Any] | None = None, metrics: Callable[[], Any] | None = None,
                 listening: Listening | None = None) -> None:
    """Add the scheduler's jobs; the claim job re-times itself to the next due delivery after each run."""
    now = utcnow()

    def claim() -> None:
        # Return well before the next interval tick, so APScheduler never finds the job still running; with a
        # backlog, the next due time is in the past and the job runs again straight away.
        worker.claim_cycle(max_seconds=args.poll_seconds / 2)
        if scheduler.running:  # not while shutting down: the job is gone then
            scheduler.modify_job(CLAIM_JOB, next_run_time=worker.next_wake(args.poll_seconds))

    def add(name: str, job: Callable[[], Any], seconds: float, first_run: datetime) -> None:
        scheduler.add_job(_logged(name, job), trigger="interval", seconds=seconds, id=name, name=name,
                          next_run_time=first_run)

    # First the sweep, then claims: posts found late after downtime are held, not rushed out.
    add("sweep", worker.sweep_cycle, args.sweep_seconds, now)
    add(CLAIM_JOB, claim, args.poll_seconds, now + timedelta(milliseconds=50))
    add("heartbeat", worker.heartbeat_cycle, args.lease_seconds / 3, now)
    add("reap", worker.reap_cycle, args.reap_seconds, now)
    add("check", worker.check_cycle, args.check_seconds, now)
    if materialize is not None:
        add("recurring", materialize, RECURRING_SECONDS, now)
    if listening is not None:
        add("listen", listening.listen_cycle, LISTEN_SECONDS, now + timedelta(seconds=1))
        add("overdue", listening.overdue_cycle, OVERDUE_SECONDS, now + timedelta(seconds=2))
    if metrics is not None:
        add("metrics", metrics, METRICS_SECONDS, now + timedelta(seconds=5))


def stop_on_signal(scheduler: BaseScheduler, parent_pid: int | None = None) -> None:
    """Stop the scheduler on SIGTERM or SIGINT, or once `parent_pid` is no longer our parent, from a job.

    A handler runs wherever the main thread happens to be, e.g. inside APScheduler handing a job to its
    thread pool while holding the pool's lock; shutting down from there waited for that same lock forever.
    So the handler only raises a flag, and a job that runs every STOP_CHECK_SECONDS acts on it.

    A parent that dies (even SIGKILLed) leaves us reparented, so `os.getppid()` changes. Polling it here rather
    than prctl(PR_SET_PDEATHSIG): it works on every POSIX system, has no race with a parent that died before we
    started (the parent passes its own pid), does not fire when merely the parent's forking thread ends, and
    stops gracefully like a SIGTERM.
    """
    requested: list[int] = []

    def request_stop(signum: int, frame: FrameType | None) -> None:
        requested.append(signum)  # nothing that takes a lock: see above

    def stop_if_requested() -> None:
        if parent_pid is not None and not requested and os.getppid() != parent_pid:
            log.info("the parent process %d is gone", parent_pid)
            requested.append(signal.SIGTERM)  # what the parent would have sent
        if requested and scheduler.running:
            log.info("stopping on signal %d: finishing deliveries in progress", requested[0])
            scheduler.shutdown(wait=False)

    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, request_stop)
    scheduler.add_job(stop_if_requested, trigger="interval", seconds=STOP_CHECK_SECONDS, id="stop", name="stop")


def main(argv: Sequence[str] | None = None, registry: PublisherRegistry | None = None,
         read_secrets: SecretsReader | None = None, write_secrets: SecretsWriter | None = None) -> None:
    """Validate settings, check the database is reachable, then run until SIGTERM/SIGINT.

    Credentials and saved sessions are read with `read_secrets` and sessions saved with `write_secrets`; by default
    both use CHANNEL_SECRETS_KEY. Without `write_secrets` sessions are kept in memory only.
    """
    logging.basicConfig(level=logging.INFO, format="%(asctime)s scheduler %(levelname)s %(message)s")
    # APScheduler logs every run of every job at INFO: several lines a second here.
    logging.getLogger("apscheduler").setLevel(logging.WARNING)
    try:
        settings = load_settings()
    except ConfigError as error:
        raise SystemExit(str(error)) from None
    args = parse_args(argv, settings)
    # Enough connections for the claim job, the writer thread and the upkeep jobs running at once (publisher
    # threads only save a channel's session now and then), and few enough that many processes fit PostgreSQL's
    # max_connections.
    engine = make_engine(settings.database_url, pool_size=POOL_SIZE, max_overflow=POOL_OVERFLOW)
    with engine.connect():
        pass
    if read_secrets is None:
        try:
            box = secret_box(settings)
        except ConfigError as error:
            raise SystemExit(str(error)) from None
        read_secrets, write_secrets = box.decrypt, box.encrypt
    config = WorkerConfig(threads=args.threads, lease_seconds=args.lease_seconds, claim_batch=args.claim_batch)
    worker = Worker(engine, registry or default_registry(settings), config=config, read_secrets=read_secrets,
                    write_secrets=write_secrets)
    scheduler = build_scheduler()
    collector = MetricsCollector(engine, default_readers(worker.registry, settings), read_secrets=read_secrets,
                                 session_slot=worker.session_slot)
    listening = Listening(engine, default_listeners(worker.registry), read_secrets=read_secrets,
                          session_slot=worker.session_slot)
    install_jobs(scheduler, worker, args, materialize=lambda: materialize(engine),
                 metrics=lambda: collector.cycle(max_seconds=METRICS_SECONDS / 2), listening=listening)

    stop_on_signal(scheduler, parent_pid=args.parent_pid)
    log.info("scheduler %s started on %s; publishing to %s", worker.worker_id,
             engine.url.render_as_string(hide_password=True),
             ", ".join(worker.registry.kinds()) or "no channel kinds yet")
    # Start-up's long-lived objects (modules, SQLAlchemy's compiled statements) leave the collector's full scans,
    # which walked them all and took ~15 % of a busy scheduler's CPU (docs/performance.md); as the web app does.
    gc.collect()
    gc.freeze()
    try:
        scheduler.start()
    finally:
        worker.stop()
        engine.dispose()
        log.info("scheduler %s stopped", worker.worker_id)
