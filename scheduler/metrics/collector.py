"""The metrics job: claim due deliveries, read them from their networks in batches, record one round at a time.

A network that refuses (429 with Retry-After, 5xx, down) rests the channel: the round's deliveries of that channel are
put off until the time the server asked for, or an exponential backoff, and no further call goes to it meanwhile.
"""

import logging
import time
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy.engine import Engine

from characters.analytics.collect import (
    ChannelAccess,
    Deferred,
    DueDelivery,
    Gone,
    Measured,
    Outcome,
    channels_due_for_followers,
    claim_due,
    load_channels,
    record,
    record_followers,
)
from characters.analytics.rollup import rebuild, unbuilt_workspaces
from characters.core.config import Settings
from characters.core.models import ChannelKind, utcnow
from scheduler.metrics.base import Account, MetricsReader
from scheduler.metrics.bluesky import BlueskyMetrics, XrpcQuery
from scheduler.metrics.mastodon import HttpxGet, MastodonMetrics
from scheduler.publishers.base import PublishError, SessionSlot
from scheduler.publishers.registry import PublisherRegistry

log = logging.getLogger("greenroom.scheduler")

CLAIM_BATCH = 2_000  # a round: fewer, larger rounds cost less than many small ones in a backlog
# A post the network does not show yet (an AppView catching up) is asked again after this long.
NOT_YET_WAIT = timedelta(minutes=10)
# Backoff after a failed call when the server named no time: doubling from the base, at most the maximum.
BACKOFF_BASE = timedelta(minutes=1)
BACKOFF_MAX = timedelta(hours=1)
# No reader for the network in this process, or credentials that cannot be read: try again this much later.
UNREADABLE_WAIT = timedelta(hours=1)

SecretsReader = Callable[[str], dict[str, Any]]
SlotMaker = Callable[[int, str | None], SessionSlot]


@dataclass
class CycleReport:
    """What one run of the job did."""

    claimed: int = 0
    snapshots: int = 0
    gone: int = 0
    deferred: int = 0
    stale: int = 0
    calls: int = 0
    followers: int = 0
    rebuilt: int = 0  # analytics roll-up rows written for a workspace built this run


def _chunks(items: Sequence[DueDelivery], size: int) -> Iterable[Sequence[DueDelivery]]:
    for start in range(0, len(items), size):
        yield items[start:start + size]


class MetricsCollector:
    """Refreshes published posts' numbers and channels' follower counts; the scheduler runs `cycle` every minute."""

    def __init__(self, engine: Engine, readers: Iterable[MetricsReader], *, read_secrets: SecretsReader,
                 session_slot: SlotMaker | None = None, clock: Callable[[], datetime] = utcnow,
                 claim_batch: int = CLAIM_BATCH) -> None:
        self.engine = engine
        self.readers = {reader.kind: reader for reader in readers}
        self.read_secrets = read_secrets
        self.session_slot = session_slot
        self.clock = clock
        self.claim_batch = claim_batch
        # Per channel: failed calls in a row, and until when no call goes to it.
        self._failures: dict[int, int] = defaultdict(int)
        self._resting: dict[int, datetime] = {}

    def cycle(self, max_seconds: float = 30.0) -> CycleReport:
        """Refresh every due delivery (round after round, within `max_seconds`), then due follower counts."""
        report = CycleReport()
        deadline = time.monotonic() + max_seconds
        # A workspace whose analytics roll-up was never built (an older database, a new workspace) is built here, one
        # a run; its pages read deliveries until then.
        for workspace_id in unbuilt_workspaces(self.engine):
            report.rebuilt += rebuild(self.engine, workspace_id)
        while True:
            claim = claim_due(self.engine, self.clock(), self.claim_batch)
            claimed = claim.deliveries
            report.claimed += len(claimed)
            if claimed:
                recorded = record(self.engine, self._read(claimed, report), self.clock())
                report.snapshots += recorded.snapshots
                report.gone += recorded.gone
                report.deferred += recorded.deferred
                report.stale += recorded.stale
            # A full round may have more behind it, even one whose rows all ended without a refresh (webhooks).
            if len(claimed) + claim.ended < self.claim_batch or time.monotonic() > deadline:
                break
        report.followers = self.followers_cycle()
        if report.snapshots or report.gone or report.followers:
            log.info("metrics: %d snapshots, %d deleted posts, %d put off, %d follower counts", report.snapshots,
                     report.gone, report.deferred, report.followers)
        return report

    def followers_cycle(self) -> int:
        """Read the follower count of every channel not counted within the hour; return how many were stored."""
        counts: dict[int, int] = {}
        for channel in channels_due_for_followers(self.engine, self.clock()):
            reader = self.readers.get(channel.kind)
            if reader is None or self._rests(channel.id, self.clock()):
                continue
            try:
                counts[channel.id] = reader.read_followers(self._account(channel))
            except PublishError as error:
                self._rest(channel.id, error)
            except Exception as error:  # a reader's bug must not stop the other channels
                log.warning("channel %d: reading followers raised %r", channel.id, error)
                self._rest(channel.id, PublishError(str(error), retryable=True))
            else:
                self._failures.pop(channel.id, None)
        return record_followers(self.engine, counts, self.clock())

    # --- one round ----------------------------------------------------------------------------------------------

    def _read(self, claimed: list[DueDelivery], report: CycleReport) -> list[Outcome]:
        by_channel: dict[int, list[DueDelivery]] = defaultdict(list)
        for delivery in claimed:
            by_channel[delivery.channel_id].append(delivery)
        channels = load_channels(self.engine, by_channel)
        outcomes: list[Outcome] = []
        for channel_id, deliveries in by_channel.items():
            outcomes += self._read_channel(channels.get(channel_id), deliveries, report)
        return outcomes

    def _read_channel(self, channel: ChannelAccess | None, deliveries: list[DueDelivery], report: CycleReport
                      ) -> list[Outcome]:
        now = self.clock()
        reader = self.readers.get(channel.kind) if channel is not None else None
        if channel is None or reader is None or channel.disabled:  # a disabled channel is not called until enabled
            return [Deferred(delivery, now + UNREADABLE_WAIT) for delivery in deliveries]
        resting = self._rests(channel.id, now)
        if resting is not None:
            return [Deferred(delivery, resting) for delivery in deliveries]
        try:
            account = self._account(channel)
        except Exception as error:
            log.warning("channel %d: its credentials cannot be read (%s); numbers wait", channel.id, error)
            return [Deferred(delivery, now + UNREADABLE_WAIT) for delivery in deliveries]
        outcomes: list[Outcome] = []
        for position, chunk in enumerate(_chunks(deliveries, reader.batch_size)):
            try:
                report.calls += 1
                counts = reader.read_posts(account, [delivery.remote_id for delivery in chunk])
            except Exception as error:
                if not isinstance(error, PublishError):  # a reader's bug must not stop the other channels
                    log.warning("channel %d: reading numbers raised %r", channel.id, error)
                    error = PublishError(str(error), retryable=True)
                until = self._rest(channel.id, error)
                rest = deliveries[position * reader.batch_size:]
                return outcomes + [Deferred(delivery, until) for delivery in rest]
            self._failures.pop(channel.id, None)
            later = self.clock() + NOT_YET_WAIT
            for delivery in chunk:
                if delivery.remote_id not in counts:
                    outcomes.append(Deferred(delivery, later))
                    continue
                found = counts[delivery.remote_id]
                outcomes.append(Gone(delivery) if found is None else Measured(delivery, found))
        return outcomes

    # --- accounts and backoff -----------------------------------------------------------------------------------

    def _account(self, channel: ChannelAccess) -> Account:
        secrets = self.read_secrets(channel.secret_token) if channel.secret_token else {}
        slot = self.session_slot(channel.id, channel.session_token) if self.session_slot is not None else None
        return Account(channel_id=channel.id, settings=channel.settings, secrets=secrets, session=slot)

    def _rests(self, channel_id: int, now: datetime) -> datetime | None:
        until = self._resting.get(channel_id)
        return until if until is not None and until > now else None

    def _rest(self, channel_id: int, error: PublishError) -> datetime:
        """Rest the channel after a failed call: as long as the server asked, else a doubling backoff."""
        self._failures[channel_id] += 1
        if error.retry_after is not None:
            wait = timedelta(seconds=max(1.0, error.retry_after))
        elif not error.retryable:
            wait = BACKOFF_MAX  # refused credentials and the like: a person has to act
        else:
            wait = min(BACKOFF_BASE * 2 ** (self._failures[channel_id] - 1), BACKOFF_MAX)
        until = self.clock() + wait
        self._resting[channel_id] = until
        log.warning("channel %d: numbers could not be read (%s); next try at %s", channel_id, error.message,
                    f"{until:%H:%M:%S} UTC")
        return until


def default_readers(registry: PublisherRegistry, settings: Settings) -> list[MetricsReader]:
    """Return a reader for each network this process publishes to with that network's own publisher.

    Bluesky reads go through the publisher itself, so they share its one session per channel (no login of their own).
    """
    readers: list[MetricsReader] = []
    bluesky = registry.get(ChannelKind.BLUESKY)
    if bluesky is not None and bluesky.kind == ChannelKind.BLUESKY and callable(getattr(bluesky, "query", None)):
        readers.append(BlueskyMetrics(cast(XrpcQuery, bluesky)))
    mastodon = registry.get(ChannelKind.MASTODON)
    if mastodon is not None and mastodon.kind == ChannelKind.MASTODON:
        readers.append(MastodonMetrics(HttpxGet(allow_private_addresses=settings.outbound_allow_private_addresses)))
    return readers
