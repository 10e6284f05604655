"""Scheduler benchmark: the claim loop against its limit (a bare loop) and the naive design, same run.

Run: `.venv/bin/python -m bench.scheduler_bench [--posts N] [--naive-posts N] [--lateness-posts N]`.
Publishing is a no-op, so this measures the scheduler itself: claiming, marking, settling, post status and
audit rows. Real `python -m scheduler`-style processes (the same `scheduler.process.main`, with the no-op
publisher registered) run against a SQLite file and a throwaway PostgreSQL database created and dropped here.

- throughput: N posts all due at one instant; posts/s = N / (last published_at - due time).
- the limit: a bare loop in as many processes, one thread each, doing only the writes a delivery needs with the
  same statements (claim, the sending marker committed before the no-op "network call", the completion with the
  post's status and audit), batch after batch: no loading, no thread pool, no APScheduler. The claim loop's
  posts/s is printed beside it as a ratio.
- memory: the peak resident set (VmHWM) of the busiest scheduler process in each throughput run.
- lateness: posts due uniformly over 60 s; lateness = published_at - due_at, p50 and p99.
- naive: every post a DateTrigger job in APScheduler's SQLAlchemyJobStore, run by a BackgroundScheduler with
  a pool of as many threads; each job loads its post, publishes (no-op) and marks it published.
"""

import argparse
import gc
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
from apscheduler.events import EVENT_JOB_ERROR
from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.schedulers.background import BackgroundScheduler
from sqlalchemy import bindparam, func, select, update
from sqlalchemy.engine import Engine
from sqlmodel import Session, col

from characters.core.db import make_engine, write_transaction
from characters.core.migrations import upgrade_database
from characters.core.models import AuditEvent, Channel, Delivery, DeliveryStatus, Post, PostPart, PostStatus, utcnow
from characters.publishing.delivery import Published, claim_due_deliveries, settle, start_sending
from scheduler.process import main as scheduler_main
from scheduler.publishers.base import PartContent, PublishRequest
from scheduler.publishers.noop import NoopPublisher
from scheduler.publishers.registry import registry_for_all_kinds
from scheduler.worker import new_worker_id
from tests.scheduler.seed import add_posts, make_world

PROJECT_ROOT = Path(__file__).resolve().parents[1]
PG_ADMIN_DSN = os.environ.get("GREENROOM_BENCH_PG", "postgresql://postgres@127.0.0.1:5432/postgres")
THREADS = 64
WORKER_OPTIONS = ("--threads", str(THREADS), "--claim-batch", "64", "--poll-seconds", "0.5", "--lease-seconds", "60")
SPREAD_SECONDS = [60.0]  # the lateness runs' window; --spread-seconds shortens it for a quick look
FAR_FUTURE = datetime(2100, 1, 1, tzinfo=UTC)
TARGETS = {
    "sqlite_posts_per_s": 3000,
    "postgresql_4_posts_per_s": 2000,
    "times_naive": 3,
    "p99_ms": 250,
    "of_limit": 0.8,
    "rss_mb": 200,
}


@dataclass
class Result:
    """One measured row of the table."""

    design: str
    database: str
    processes: int
    posts: int
    posts_per_s: float | None = None
    p50_ms: float | None = None
    p99_ms: float | None = None
    rss_mb: float | None = None
    cpu_ms: float | None = None  # the processes' CPU time per post: what it costs, whatever the machine's load


# --- databases --------------------------------------------------------------------------------------------------


@contextmanager
def sqlite_database(folder: Path, name: str) -> Iterator[str]:
    """Yield the URL of a fresh SQLite file."""
    yield f"sqlite:///{folder / f'{name}.sqlite3'}"


@contextmanager
def postgresql_database() -> Iterator[str]:
    """Create a throwaway PostgreSQL database and drop it afterwards."""
    name = f"greenroom_bench_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(PG_ADMIN_DSN, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    base = PG_ADMIN_DSN.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://")
    try:
        yield f"{base}/{name}"
    finally:
        with psycopg.connect(PG_ADMIN_DSN, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def prepared_engine(url: str) -> Engine:
    engine = make_engine(url)
    upgrade_database(engine)
    return engine


def seed(engine: Engine, count: int, due: datetime | list[datetime]) -> list[int]:
    """Insert approved posts (one feed delivery each) in batches; return their ids."""
    world = make_world(engine, f"bench-{uuid.uuid4().hex[:6]}")
    dues = due if isinstance(due, list) else [due] * count
    ids: list[int] = []
    for start in range(0, count, 5000):
        chunk = dues[start : start + 5000]
        ids += add_posts(engine, world, len(chunk), chunk)
    with engine.begin() as connection:  # planner statistics, as a database in use has them
        connection.exec_driver_sql("ANALYZE")
    return ids


def make_all_due(engine: Engine, due: datetime) -> None:
    """Move every seeded post and delivery to `due` in one statement each (the scheduler is already waiting)."""
    with engine.begin() as connection:
        connection.execute(update(Post).where(col(Post.due_at) == FAR_FUTURE).values(due_at=due))
        connection.execute(update(Delivery).where(col(Delivery.due_at) == FAR_FUTURE).values(due_at=due))
    with engine.begin() as connection:
        connection.exec_driver_sql("ANALYZE")


def published(engine: Engine) -> int:
    with engine.connect() as connection:
        return int(
            connection.execute(
                select(func.count()).select_from(Delivery).where(col(Delivery.status) == DeliveryStatus.PUBLISHED.value)
            ).scalar_one()
        )


JOB_ERRORS: list[str] = []  # failures of naive jobs, so a broken run stops at once instead of timing out


def wait_published(engine: Engine, count: int, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while published(engine) < count:
        if JOB_ERRORS:
            raise RuntimeError(f"{len(JOB_ERRORS)} naive jobs failed, the first: {JOB_ERRORS[0]}")
        if time.monotonic() > deadline:
            raise RuntimeError(f"only {published(engine)} of {count} published after {timeout:.0f} s")
        time.sleep(0.2)


def lateness_ms(engine: Engine) -> list[float]:
    with engine.connect() as connection:
        rows = connection.execute(
            select(col(Delivery.due_at), col(Delivery.published_at)).where(
                col(Delivery.status) == DeliveryStatus.PUBLISHED.value
            )
        ).all()
    return sorted((row.published_at - row.due_at).total_seconds() * 1000 for row in rows)


def last_published(engine: Engine) -> datetime:
    with engine.connect() as connection:
        last = connection.execute(select(func.max(col(Delivery.published_at)))).scalar_one()
    if last is None:
        raise RuntimeError("nothing was published")
    return last


def percentile(samples: list[float], share: float) -> float:
    return samples[min(len(samples) - 1, int(share * len(samples)))]


# --- the claim loop: real scheduler processes -------------------------------------------------------------------


class Workers:
    """Scheduler processes (or bare loops) with the no-op publisher, started before the posts fall due."""

    def __init__(self, url: str, count: int, folder: Path, mode: str = "--worker") -> None:
        env = {**os.environ, "DATABASE_URL": url, "GREENROOM_ENV": "test"}
        self.logs = [folder / f"worker-{uuid.uuid4().hex[:6]}.log" for _ in range(count)]
        self.processes = [
            subprocess.Popen(
                [sys.executable, "-m", "bench.scheduler_bench", mode, *WORKER_OPTIONS],
                cwd=PROJECT_ROOT,
                env=env,
                stdout=log.open("w"),
                stderr=subprocess.STDOUT,
            )
            for log in self.logs
        ]

    def wait_ready(self, timeout: float = 120) -> None:
        deadline = time.monotonic() + timeout
        while not all("started on" in log.read_text() for log in self.logs):
            if time.monotonic() > deadline or any(process.poll() is not None for process in self.processes):
                raise RuntimeError("a scheduler process did not start:\n" + self.logs[0].read_text()[-2000:])
            time.sleep(0.1)

    def cpu_seconds(self) -> float:
        """Return the CPU time (user + system) the processes have used so far."""
        ticks = 0
        for process in self.processes:
            fields = Path(f"/proc/{process.pid}/stat").read_text().rsplit(")", 1)[1].split()
            ticks += int(fields[11]) + int(fields[12])  # utime and stime, fields 14 and 15 of proc(5)
        return ticks / os.sysconf("SC_CLK_TCK")

    def peak_rss_mb(self) -> float:
        """Return the largest peak resident set among the processes, in MB (read before they stop)."""
        peaks = [0.0]
        for process in self.processes:
            status = Path(f"/proc/{process.pid}/status").read_text()
            peaks += [int(line.split()[1]) / 1024 for line in status.splitlines() if line.startswith("VmHWM:")]
        return max(peaks)

    def stop(self) -> None:
        for process in self.processes:
            process.send_signal(signal.SIGTERM)
        for process in self.processes:
            try:
                process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                process.kill()


DESIGNS = {"--bare": "bare loop (limit)", "--worker": "claim loop"}


def throughput(url: str, processes: int, posts: int, folder: Path, mode: str = "--worker") -> Result:
    """Seed posts far in the future, start the processes, then make everything due at once."""
    engine = prepared_engine(url)
    seed(engine, posts, FAR_FUTURE)
    workers = Workers(url, processes, folder, mode)
    try:
        workers.wait_ready()
        cpu = workers.cpu_seconds()
        due = utcnow() + timedelta(seconds=1)
        make_all_due(engine, due)
        wait_published(engine, posts, timeout=600)
        seconds = (last_published(engine) - due).total_seconds()
        cpu = workers.cpu_seconds() - cpu
        rss = workers.peak_rss_mb()
    finally:
        workers.stop()
        engine.dispose()
    return Result(
        DESIGNS[mode],
        engine.dialect.name,
        processes,
        posts,
        posts_per_s=posts / seconds,
        rss_mb=rss,
        cpu_ms=cpu * 1000 / posts,
    )


def bare_loop(url: str, batch: int) -> None:
    """The limit: claim a batch, commit its sending markers, "publish" (no-op), commit the outcomes; again.

    The same domain statements the scheduler runs for every delivery (`claim_due_deliveries`, `start_sending`,
    `settle`), one thread, nothing else: what the database allows for these writes.
    """
    engine = make_engine(url)
    worker_id = new_worker_id()
    stopping: list[int] = []
    signal.signal(signal.SIGTERM, lambda signum, frame: stopping.append(signum))
    gc.collect()  # the start-up objects out of the collector's way, as the scheduler process does
    gc.freeze()
    print(f"bare loop {worker_id} started on {url}", flush=True)
    while not stopping:
        claimed = claim_due_deliveries(engine, worker_id, utcnow(), batch, 60.0)
        if not claimed:
            time.sleep(0.005)
            continue
        started = start_sending(engine, worker_id, [delivery.id for delivery in claimed], utcnow())
        outcomes = [
            Published(delivery.id, refs=[{"id": f"{delivery.idempotency_key}/0", "url": None, "extra": {}}])
            for delivery in claimed
            if delivery.id in started
        ]
        settle(engine, worker_id, outcomes, utcnow())
    engine.dispose()


def spread_dues(posts: int, start: datetime) -> list[datetime]:
    step = timedelta(seconds=SPREAD_SECONDS[0]) / posts
    return [start + step * index for index in range(posts)]


def spread_due(engine: Engine, start: datetime) -> None:
    """Give the posts seeded far in the future due times spread over the window from `start`, deliveries alike."""
    with engine.connect() as connection:
        ids = list(
            connection.execute(
                select(col(Post.id)).where(col(Post.due_at) == FAR_FUTURE).order_by(col(Post.id))
            ).scalars()
        )
    rows = [{"b_id": post_id, "b_due": due} for post_id, due in zip(ids, spread_dues(len(ids), start), strict=True)]
    with engine.begin() as connection:
        connection.execute(
            update(Post).where(col(Post.id) == bindparam("b_id")).values(due_at=bindparam("b_due")), rows
        )
        connection.execute(
            update(Delivery).where(col(Delivery.post_id) == bindparam("b_id")).values(due_at=bindparam("b_due")), rows
        )


def claim_loop_lateness(engine: Engine, workers: Workers, posts: int, start: datetime) -> Result:
    try:
        wait_published(engine, posts, timeout=(start - utcnow()).total_seconds() + SPREAD_SECONDS[0] + 180)
        samples = lateness_ms(engine)
    finally:
        workers.stop()
    return Result(
        "claim loop",
        engine.dialect.name,
        len(workers.processes),
        posts,
        p50_ms=statistics.median(samples),
        p99_ms=percentile(samples, 0.99),
    )


# --- the naive design: one APScheduler job per post -------------------------------------------------------------

_NAIVE_ENGINES: dict[str, Engine] = {}
_NOOP = NoopPublisher()


def naive_publish(url: str, delivery_id: int) -> None:
    """The naive job: load one delivery, publish it, mark it and its post published."""
    engine = _NAIVE_ENGINES[url]
    # The same write transaction as the claim loop (BEGIN IMMEDIATE on SQLite): eight job threads reading and
    # then writing in plain transactions make SQLite refuse some of them as "database is locked".
    with write_transaction(engine) as connection, Session(bind=connection) as session:
        delivery = session.get(Delivery, delivery_id)
        if delivery is None or delivery.status != DeliveryStatus.PENDING:
            return
        post = session.get(Post, delivery.post_id)
        channel = session.get(Channel, delivery.channel_id)
        assert post is not None
        assert channel is not None
        parts = (
            session.execute(select(PostPart).where(col(PostPart.post_id) == post.id).order_by(col(PostPart.position)))
            .scalars()
            .all()
        )
        outcome = _NOOP.publish(
            PublishRequest(
                idempotency_key=delivery.idempotency_key or "",
                settings=channel.settings,
                secrets={},
                parts=[PartContent(text=part.text) for part in parts],
            )
        )
        now = utcnow()
        delivery.status, delivery.published_at = DeliveryStatus.PUBLISHED, now
        delivery.remote_refs = [{"id": ref.id} for ref in outcome.refs]
        post.status, post.published_at = PostStatus.PUBLISHED, now
        session.add(
            AuditEvent(
                workspace_id=post.workspace_id,
                post_id=post.id,
                action="published",
                from_status=PostStatus.APPROVED.value,
                to_status=PostStatus.PUBLISHED.value,
            )
        )
        session.flush()


@contextmanager
def naive_scheduler(url: str, engine: Engine, jobs: Sequence[tuple[int, datetime]]) -> Iterator[BackgroundScheduler]:
    """Yield a paused scheduler whose job store already holds one DateTrigger job per delivery."""
    _NAIVE_ENGINES[url] = engine
    scheduler = BackgroundScheduler(
        timezone="UTC",
        jobstores={"default": SQLAlchemyJobStore(engine=engine)},
        executors={"default": ThreadPoolExecutor(THREADS)},
        # The kindest settings for the naive design: no post skipped for running late.
        job_defaults={"misfire_grace_time": None, "coalesce": False},
    )
    scheduler.add_listener(lambda event: JOB_ERRORS.append(repr(event.exception)), EVENT_JOB_ERROR)
    scheduler.start(paused=True)
    for delivery_id, due in jobs:
        scheduler.add_job(naive_publish, "date", run_date=due, args=[url, delivery_id], id=f"post-{delivery_id}")
    try:
        yield scheduler
    finally:
        scheduler.shutdown(wait=True)


def naive_deliveries(engine: Engine) -> list[tuple[int, datetime]]:
    with engine.connect() as connection:
        return [(row.id, row.due_at) for row in connection.execute(select(col(Delivery.id), col(Delivery.due_at)))]


def naive_throughput(url: str, posts: int) -> Result:
    engine = prepared_engine(url)
    seed(engine, posts, utcnow())
    with naive_scheduler(url, engine, naive_deliveries(engine)) as scheduler:
        started = utcnow()
        scheduler.resume()
        wait_published(engine, posts, timeout=900)
    seconds = (last_published(engine) - started).total_seconds()
    engine.dispose()
    return Result("job per post", engine.dialect.name, 1, posts, posts_per_s=posts / seconds)


def naive_lateness(engine: Engine, url: str, posts: int, start: datetime) -> Result:
    with naive_scheduler(url, engine, naive_deliveries(engine)) as scheduler:
        scheduler.resume()
        wait_published(engine, posts, timeout=(start - utcnow()).total_seconds() + SPREAD_SECONDS[0] + 180)
    samples = lateness_ms(engine)
    return Result(
        "job per post",
        engine.dialect.name,
        1,
        posts,
        p50_ms=statistics.median(samples),
        p99_ms=percentile(samples, 0.99),
    )


# --- the run ----------------------------------------------------------------------------------------------------


def in_parallel(tasks: list[Callable[[], Result]]) -> list[Result]:
    """Run tasks on threads and return their results in order (the lateness runs are mostly waiting)."""
    results: list[Any] = [None] * len(tasks)
    errors: list[BaseException] = []

    def run(index: int, task: Callable[[], Result]) -> None:
        try:
            results[index] = task()
        except BaseException as error:  # re-raised below, in the main thread
            errors.append(error)

    threads = [threading.Thread(target=run, args=pair) for pair in enumerate(tasks)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        raise errors[0]
    return results


def report(result: Result) -> Result:
    """Show a row as soon as it is measured (the table comes at the end)."""
    print(f"measured: {result}", file=sys.stderr, flush=True)
    return result


def measure(args: argparse.Namespace, folder: Path) -> list[Result]:
    results: list[Result] = []
    runs = [("sqlite", 1)] * ("sqlite" in args.databases) + [("postgresql", 1), ("postgresql", 4)] * (
        "postgresql" in args.databases
    )
    runs = runs if args.posts else []
    for database, processes in runs:
        for mode in DESIGNS:  # the limit first, then the scheduler, each on a fresh database of the same kind
            with (
                sqlite_database(folder, f"{mode[2:]}-{processes}") if database == "sqlite" else postgresql_database()
            ) as url:
                results.append(report(throughput(url, processes, args.posts, folder, mode)))
    if args.naive_posts:
        if "sqlite" in args.databases:
            with sqlite_database(folder, "naive") as url:
                results.append(report(naive_throughput(url, args.naive_posts)))
        if "postgresql" in args.databases:
            with postgresql_database() as url:
                results.append(report(naive_throughput(url, args.naive_posts)))
    return results + (lateness_runs(args, folder) if args.lateness_posts else [])


def lateness_runs(args: argparse.Namespace, folder: Path) -> list[Result]:
    """Measure lateness of the claim loop and of the naive design on both databases, all four at once."""
    # Lateness: the four 60-second runs at once (17 posts/s each keeps the machine mostly idle). The databases
    # are prepared one after the other first: Alembic's migration context is not thread-safe.
    with (
        sqlite_database(folder, "late-ours") as ours_sqlite,
        sqlite_database(folder, "late-naive") as naive_sqlite,
        postgresql_database() as ours_pg,
        postgresql_database() as naive_pg,
    ):
        engines = {url: prepared_engine(url) for url in (ours_sqlite, naive_sqlite, ours_pg, naive_pg)}
        for engine in engines.values():
            seed(engine, args.lateness_posts, FAR_FUTURE)
        # The processes start before the window is set: on a busy machine starting them takes seconds, which is
        # not lateness of the scheduler.
        workers = {ours_sqlite: Workers(ours_sqlite, 1, folder), ours_pg: Workers(ours_pg, 4, folder)}
        for started in workers.values():
            started.wait_ready()
        start = utcnow() + timedelta(seconds=5)
        for engine in engines.values():
            spread_due(engine, start)
        late = in_parallel(
            [
                lambda: claim_loop_lateness(engines[ours_sqlite], workers[ours_sqlite], args.lateness_posts, start),
                lambda: naive_lateness(engines[naive_sqlite], naive_sqlite, args.lateness_posts, start),
                lambda: claim_loop_lateness(engines[ours_pg], workers[ours_pg], args.lateness_posts, start),
                lambda: naive_lateness(engines[naive_pg], naive_pg, args.lateness_posts, start),
            ]
        )
        for engine in engines.values():
            engine.dispose()
    for result in late:
        report(result)
    return late


def print_table(results: list[Result]) -> None:
    def number(value: float | None, digits: int = 0) -> str:
        return "" if value is None else f"{value:,.{digits}f}"

    rate = {(row.design, row.database, row.processes): row.posts_per_s for row in results if row.posts_per_s}

    cost = {(row.design, row.database, row.processes): row.cpu_ms for row in results if row.cpu_ms}

    def ratio(row: Result) -> str:
        limit = rate.get((DESIGNS["--bare"], row.database, row.processes))
        return f"{row.posts_per_s / limit:.2f}" if row.design == "claim loop" and row.posts_per_s and limit else ""

    def cpu_ratio(row: Result) -> str:
        # On a loaded machine a process with many runnable threads gets more CPU than a one-thread loop, so
        # posts/s favours the claim loop; the bare loop's CPU per post over the claim loop's does not depend on that.
        limit = cost.get((DESIGNS["--bare"], row.database, row.processes))
        return f"{limit / row.cpu_ms:.2f}" if row.design == "claim loop" and row.cpu_ms and limit else ""

    print(
        "| design | database | processes | posts | posts/s | of the limit | CPU ms/post | of the limit (CPU) "
        "| peak RSS MB | lateness p50 ms | lateness p99 ms |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for row in results:
        print(
            f"| {row.design} | {row.database} | {row.processes} | {row.posts:,} | {number(row.posts_per_s)} "
            f"| {ratio(row)} | {number(row.cpu_ms, 3)} | {cpu_ratio(row)} | {number(row.rss_mb)} "
            f"| {number(row.p50_ms, 1)} | {number(row.p99_ms, 1)} |"
        )
    print()
    for (design, database, processes), value in rate.items():
        naive = rate.get(("job per post", database, 1))
        if design == "claim loop" and naive:
            print(
                f"claim loop on {database} with {processes} process(es): {value / naive:.1f}x the job-per-post "
                f"design (target >= {TARGETS['times_naive']}x)"
            )
    print(
        f"targets: >= {TARGETS['of_limit']} of the bare loop on each database, "
        f">= {TARGETS['sqlite_posts_per_s']:,}/s on SQLite, >= {TARGETS['postgresql_4_posts_per_s']:,}/s on "
        f"PostgreSQL with 4 processes, lateness p99 <= {TARGETS['p99_ms']} ms, scheduler peak RSS <= "
        f"{TARGETS['rss_mb']} MB"
    )


def main(argv: Sequence[str] | None = None) -> None:
    """Run the benchmark and print the table (or, with --worker or --bare, be one scheduler process)."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["--worker"]:
        scheduler_main(argv[1:], registry=registry_for_all_kinds(NoopPublisher()), read_secrets=lambda token: {})
        return
    if argv[:1] == ["--bare"]:
        bare_loop(os.environ["DATABASE_URL"], int(argv[argv.index("--claim-batch") + 1]))
        return
    parser = argparse.ArgumentParser(prog="python -m bench.scheduler_bench")
    parser.add_argument("--posts", type=int, default=20_000, help="posts per throughput run (0: skip them)")
    parser.add_argument("--naive-posts", type=int, default=4_000, help="posts per job-per-post run (0: skip it)")
    parser.add_argument("--lateness-posts", type=int, default=1_000, help="posts spread over the window (0: skip)")
    parser.add_argument("--spread-seconds", type=float, default=60.0, help="the lateness window (default 60)")
    parser.add_argument(
        "--databases",
        nargs="+",
        choices=("sqlite", "postgresql"),
        default=("sqlite", "postgresql"),
        help="the throughput runs' databases (default both)",
    )
    args = parser.parse_args(argv)
    SPREAD_SECONDS[0] = args.spread_seconds
    folder = Path(tempfile.mkdtemp(prefix="greenroom-bench-"))
    try:
        print(f"scheduler benchmark, no-op publisher, {THREADS} publisher threads per process, {os.cpu_count()} CPUs\n")
        print_table(measure(args, folder))
    finally:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
