"""Chaos: four real scheduler processes, 2,000 due posts, one process SIGKILLed every second and restarted.

Every delivery must end published exactly once or explicitly unconfirmed: no idempotency key reaches the
receiver twice, none is lost, none is left pending or publishing.
"""

import random
import time
from collections import Counter
from datetime import UTC, datetime, timedelta

from characters.core.models import DeliveryStatus
from tests.scheduler.processes import FAST_OPTIONS, SchedulerProcess, stop_all, wait_for
from tests.scheduler.receiver import Receiver
from tests.scheduler.seed import add_posts, deliveries, make_world

POSTS = 2_000
PROCESSES = 4
KILL_EVERY_SECONDS = 1.0
DEADLINE_SECONDS = 120
# Each POST takes this long at the receiver, so the run lasts long enough for many kills mid-publish.
RECEIVER_DELAY_SECONDS = 0.02
SETTLED = {DeliveryStatus.PUBLISHED, DeliveryStatus.UNCONFIRMED, DeliveryStatus.FAILED}


def settled_count(engine) -> int:
    return sum(row.status in SETTLED for row in deliveries(engine))


def test_killing_schedulers_at_random_never_duplicates_or_loses_a_post(engine, tmp_path):
    world = make_world(engine)
    add_posts(engine, world, POSTS, datetime.now(UTC) - timedelta(seconds=1))
    chaos = random.Random(20260601)  # noqa: S311 - which process to kill, not security
    kills = 0
    with Receiver() as receiver:
        receiver.delay = RECEIVER_DELAY_SECONDS
        options = (*FAST_OPTIONS, "--threads", "4", "--claim-batch", "16")
        processes = [SchedulerProcess(engine, receiver.url, tmp_path / f"scheduler-{n}.log", *options,
                                      forked=True).start() for n in range(PROCESSES)]
        deadline = time.monotonic() + DEADLINE_SECONDS
        try:
            while settled_count(engine) < POSTS and time.monotonic() < deadline:
                time.sleep(KILL_EVERY_SECONDS)
                # Only processes that finished starting can be mid-publish; on a busy machine starting takes seconds.
                running = [process for process in processes if process.ready()]
                if not running:
                    continue
                victim = chaos.choice(running)
                victim.kill()
                kills += 1
                victim.start()
                print(f"{time.monotonic() - deadline + DEADLINE_SECONDS:5.1f}s settled {settled_count(engine)}")
            wait_for(lambda: settled_count(engine) == POSTS, max(deadline - time.monotonic(), 1),
                     "every delivery to settle")
        finally:
            codes = stop_all(processes)
        received = receiver.snapshot()

    rows = deliveries(engine)
    by_status = Counter(row.status for row in rows)
    print(f"\nchaos on {engine.dialect.name}: {kills} kills, {dict(by_status)}, {len(received)} keys received")
    assert codes == [0] * PROCESSES, (codes, [process.output()[-1500:] for process in processes])
    assert kills >= 5
    duplicates = {key: count for key, count in received.items() if count > 1}
    assert duplicates == {}
    assert len(rows) == POSTS
    assert set(by_status) <= {DeliveryStatus.PUBLISHED, DeliveryStatus.UNCONFIRMED}
    published = {row.idempotency_key for row in rows if row.status == DeliveryStatus.PUBLISHED}
    unconfirmed = {row.idempotency_key for row in rows if row.status == DeliveryStatus.UNCONFIRMED}
    assert published <= set(received), "a delivery marked published never reached the network"
    assert set(received) - published <= unconfirmed

