"""Chaos against the real PDS: scheduler processes SIGKILLed every few seconds and one PDS outage, counted on Bluesky.

Shared by the chaos test (a short run) and `python -m bench.chaos_bench` (300 posts). Every post is due within a
window that covers the outage; one in five is a two-part thread. What counts is what the PDS holds at the end
(listRecords): a text twice is a duplicate, a post neither there nor held for a person is lost.
"""

import random
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
    """Publish `posts` due over `spread_seconds` with `processes` schedulers, killing one every `kill_every` s."""
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
    try:
        while time.monotonic() - began < deadline_seconds:
            time.sleep(0.2)
            elapsed = time.monotonic() - began
            if outage is None and not result.outage_seconds and elapsed >= outage_at:
                outage = time.monotonic()
                pds.stop(crash=True)
                progress(f"{elapsed:5.1f}s PDS stopped")
            elif outage is not None and time.monotonic() - outage >= outage_seconds - pds.started_in:
                pds.start()  # answering again `outage_seconds` after it stopped (starting takes started_in)
                result.outage_seconds = time.monotonic() - outage
                outage = None
                progress(f"{time.monotonic() - began:5.1f}s PDS back after {result.outage_seconds:.1f}s")
            if time.monotonic() >= next_kill:
                running = [process for process in schedulers if process.ready()]
                if running:
                    victim = chaos.choice(running)
                    victim.kill()
                    result.kills += 1
                    victim.start()
                next_kill = time.monotonic() + chaos.uniform(*kill_every)
            statuses = Counter(row.status for row in deliveries(engine, post_ids))
            if outage is None and result.outage_seconds and sum(statuses[s] for s in SETTLED) == posts:
                break
    finally:
        if outage is not None:
            pds.start()
            result.outage_seconds = time.monotonic() - outage
        result.exit_codes = stop_all(schedulers)
    result.seconds = time.monotonic() - began
    _count(result, engine, pds, account.did, post_ids, set(thread_ids))
    result.logins = pds.requests_to("com.atproto.server.createSession") - logins_before
    return result


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
        if row.status != DeliveryStatus.PUBLISHED:
            result.errors[str(row.last_error)[:160]] += 1
        if not there and row.status not in HELD | {DeliveryStatus.FAILED}:
            result.lost += 1  # neither on Bluesky nor in front of a person (published without a record, or stuck)

