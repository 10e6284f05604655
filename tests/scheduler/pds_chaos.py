"""Chaos against the real PDS: scheduler processes SIGKILLed every few seconds and one PDS outage, counted on Bluesky.

Shared by the chaos test (a short run) and `python -m bench.chaos_bench` (300 posts). Every post is due within a
window that covers the outage; one in five is a two-part thread. Kills go on until the window and the outage are
over, then the schedulers are left to finish. What counts is what the PDS holds at the end (listRecords): a text
twice is a duplicate, a post published but not there is lost, one still pending or publishing at the deadline is
unsettled.
"""

import random
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import String, cast, literal, update
from sqlalchemy.engine import Engine
from sqlmodel import col

from characters.core.models import Channel, ChannelKind, DeliveryStatus, PostPart
from characters.publishing.secrets import SecretBox, generate_key
from tests.scheduler.processes import FAST_OPTIONS, SchedulerProcess, stop_all
from tests.scheduler.seed import add_posts, deliveries, make_world
from tests.services.pds import PdsServer

HELD = {DeliveryStatus.UNCONFIRMED, DeliveryStatus.MISSED}
SETTLED = {DeliveryStatus.PUBLISHED, DeliveryStatus.FAILED, *HELD}
THREAD_EVERY = 5  # every fifth post is a two-part thread


@dataclass
class ChaosResult:
    """What one run did and what the network holds afterwards."""

    posts: int
    kills: int = 0
    outage_seconds: float = 0.0
    published: int = 0
    duplicates: int = 0
    lost: int = 0
    unsettled: int = 0
    held: int = 0
    failed: int = 0
    logins: int = 0
    seconds: float = 0.0
    exit_codes: list[int] = field(default_factory=list)
    errors: Counter[str] = field(default_factory=Counter)  # last_error of what did not end published

    @property
    def held_share(self) -> float:
        """Return the share of posts held for a person, in per cent."""
        return 100.0 * self.held / self.posts if self.posts else 0.0


def run_chaos(engine: Engine, pds: PdsServer, workdir: Path, *, posts: int, spread_seconds: float,
              outage_at: float, outage_seconds: float = 20.0, processes: int = 2,
              kill_every: tuple[float, float] = (3.0, 5.0), deadline_seconds: float = 300.0, seed: int = 20261203,
              progress: Callable[[str], None] = print) -> ChaosResult:
    """Publish `posts` due over `spread_seconds` with `processes` schedulers, killing one every `kill_every` s.

    Kills stop once the posts' window and the outage are over; the run then waits for every delivery to settle,
    until `deadline_seconds` in all.
    """
    account = pds.create_account(f"chaos{uuid.uuid4().hex[:8]}")
    key = generate_key()
    world = make_world(engine, f"chaos-{uuid.uuid4().hex[:8]}", kinds=(ChannelKind.BLUESKY,))
    with engine.begin() as connection:
        connection.execute(update(Channel).where(col(Channel.id) == world.channels[ChannelKind.BLUESKY]).values(
            settings={"service_url": pds.url, "handle": account.handle},
            secret_token=SecretBox(key).encrypt({"app_password": account.app_password})))
    start = datetime.now(UTC) + timedelta(seconds=2)
    dues = [start + timedelta(seconds=spread_seconds * n / posts) for n in range(posts)]
    single, threads = [due for n, due in enumerate(dues) if n % THREAD_EVERY], dues[::THREAD_EVERY]
    kinds = (ChannelKind.BLUESKY,)
    thread_ids = add_posts(engine, world, len(threads), threads, kinds=kinds, parts=("x", "y"))
    post_ids = add_posts(engine, world, len(single), single, kinds=kinds, parts=("x",)) + thread_ids
    with engine.begin() as connection:  # a text per part, so a second record of one is visible on the network
        connection.execute(update(PostPart).where(col(PostPart.post_id).in_(post_ids)).values(
            text=literal("Chaos post ") + cast(col(PostPart.post_id), String) + " part "
            + cast(col(PostPart.position), String)))
    logins_before = pds.requests_to("com.atproto.server.createSession")

    result = ChaosResult(posts=posts)
    env = {"CHANNEL_SECRETS_KEY": key, "OUTBOUND_ALLOW_PRIVATE_ADDRESSES": "true"}
    options = (*FAST_OPTIONS, "--threads", "4", "--claim-batch", "16")
    schedulers = [SchedulerProcess(engine, None, workdir / f"scheduler-{n}.log", *options, forked=True,
                                   env=env).start() for n in range(processes)]
    chaos = random.Random(seed)  # noqa: S311 - which process to kill and when, not security
    began = time.monotonic()
    next_kill = began + chaos.uniform(*kill_every)
    outage: float | None = None  # when the PDS was stopped
    restart: threading.Thread | None = None  # starting takes seconds (tens on a busy machine): kills go on meanwhile
    try:
        while time.monotonic() - began < deadline_seconds:
            time.sleep(0.2)
            elapsed = time.monotonic() - began
            if outage is None and not result.outage_seconds and elapsed >= outage_at:
                outage = time.monotonic()
                pds.stop(crash=True)
                progress(f"{elapsed:5.1f}s PDS stopped")
            elif outage is not None and restart is None and time.monotonic() - outage >= outage_seconds:
                restart = threading.Thread(target=pds.start)
                restart.start()
            elif outage is not None and restart is not None and not restart.is_alive():
                result.outage_seconds = time.monotonic() - outage
                outage = None
                progress(f"{time.monotonic() - began:5.1f}s PDS back after {result.outage_seconds:.1f}s")
            chaos_over = elapsed > max(spread_seconds, outage_at) and result.outage_seconds and outage is None
            if time.monotonic() >= next_kill and not chaos_over:
                result.kills += _kill_one(schedulers, chaos)
                next_kill = time.monotonic() + chaos.uniform(*kill_every)
            statuses = Counter(row.status for row in deliveries(engine, post_ids))
            if outage is None and result.outage_seconds and sum(statuses[s] for s in SETTLED) == posts:
                break
    finally:
        if restart is not None:
            restart.join()
        elif outage is not None:
            pds.start()
        if outage is not None:
            result.outage_seconds = time.monotonic() - outage
        result.exit_codes = stop_all(schedulers)
    result.seconds = time.monotonic() - began
    _count(result, engine, pds, account.did, post_ids, set(thread_ids))
    result.logins = pds.requests_to("com.atproto.server.createSession") - logins_before
    return result


def _kill_one(schedulers: list[SchedulerProcess], chaos: random.Random) -> int:
    """SIGKILL one scheduler that finished starting (only those can be mid-publish) and start it again."""
    running = [process for process in schedulers if process.ready()]
    if not running:
        return 0
    victim = chaos.choice(running)
    victim.kill()
    victim.start()
    return 1


def _count(result: ChaosResult, engine: Engine, pds: PdsServer, did: str, post_ids: list[int],
           thread_ids: set[int]) -> None:
    """Compare the deliveries with the records on the network."""
    on_network = Counter(str(record.value.text) for record in pds.list_posts(did))
    result.duplicates = sum(count - 1 for count in on_network.values())
    for row in deliveries(engine, post_ids):
        parts = 2 if row.post_id in thread_ids else 1
        there = all(f"Chaos post {row.post_id} part {n}" in on_network for n in range(parts))
        result.published += row.status == DeliveryStatus.PUBLISHED
        result.held += row.status in HELD
        result.failed += row.status == DeliveryStatus.FAILED
        result.unsettled += row.status not in SETTLED
        if row.status != DeliveryStatus.PUBLISHED:
            result.errors[f"{row.status}: {str(row.last_error)[:160]}"] += 1
        if row.status == DeliveryStatus.PUBLISHED and not there:
            result.lost += 1  # marked published, but not on Bluesky

