"""The publishing worker: claims due deliveries, publishes them on a small thread pool and settles each outcome.

Writes are grouped: publisher threads queue their "about to send" markers and their outcomes, and one writer
thread per kind commits whatever is queued in one transaction. Under load a commit carries many deliveries;
when idle it carries one, immediately. A marker is still committed before its own network call.
"""

import logging
import os
import secrets
import socket
import threading
import time
from collections import deque
from collections.abc import Callable, Hashable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial
from queue import SimpleQueue
from typing import Any, Generic, NamedTuple, TypeVar

from sqlalchemy.engine import Engine

from characters.core.models import utcnow
from characters.publishing.delivery import (
    Failure,
    LookupLater,
    Missed,
    OutgoingDelivery,
    Published,
    Released,
    Resend,
    Settlement,
    Unconfirmed,
    claim_and_load,
    heartbeat,
    load_deliveries,
    missed_reason,
    next_due_time,
    reap_expired_leases,
    record_connection_check,
    release_unsent,
    save_channel_session,
    settle,
    sweep_missed,
    take_connection_checks,
    write_batch,
)
from scheduler.publishers.base import (
    CannotTell,
    Found,
    Lookup,
    OutcomeUnknown,
    PartContent,
    Publisher,
    PublishError,
    PublishOutcome,
    PublishRequest,
    RemoteRef,
    SessionSlot,
    is_instant,
)
from scheduler.publishers.registry import PublisherRegistry

log = logging.getLogger("greenroom.scheduler")

Clock = Callable[[], datetime]
SecretsReader = Callable[[str], dict[str, Any]]
SecretsWriter = Callable[[dict[str, Any]], str]
Item = TypeVar("Item")
Key = TypeVar("Key", bound=Hashable)

# A post answering another one waits this long before looking again for the parent's remote id.
PARENT_WAIT = timedelta(seconds=15)
# A kind with no publisher in this process is offered to the other schedulers (or a newer build) this often.
NO_PUBLISHER_WAIT = timedelta(seconds=60)
# The claim job never sleeps less than this, so it never asks APScheduler to run it while it is still running.
MIN_WAKE_GAP = timedelta(milliseconds=20)
# A maybe-sent delivery whose network could not be asked is asked again after a pause of half the time since it was
# sent, within these bounds, and held as unconfirmed for a person once asking has failed for LOOKUP_GIVE_UP.
LOOKUP_RETRY_MIN = timedelta(seconds=5)
LOOKUP_RETRY_MAX = timedelta(minutes=5)
LOOKUP_GIVE_UP = timedelta(hours=1)
REAPER_WHY = "the scheduler stopped between sending it and recording the answer."
# Expired leases the reaper takes at a time (it goes on while there are more, for at most half a lease).
REAP_BATCH = 16


def new_worker_id() -> str:
    """Return a name for this process that no other process, here or on another host, will use."""
    return f"{socket.gethostname()[:80]}:{os.getpid()}:{secrets.token_hex(4)}"


def unreadable_secrets(token: str) -> dict[str, Any]:
    """Refuse to read credentials (a process started without a key)."""
    raise ValueError("this scheduler was started without a key for channel credentials")


class _Batch(Generic[Item, Key]):
    """Items committed together, and what became of them: one event per batch, not one future per item."""

    __slots__ = ("applied", "done", "error", "items")

    def __init__(self) -> None:
        self.items: list[Item] = []
        self.done = threading.Event()
        self.applied: set[Key] = set()
        self.error: Exception | None = None


class Ticket(Generic[Key]):
    """One queued item's place in its batch."""

    __slots__ = ("_batch", "_key")

    def __init__(self, batch: "_Batch[Any, Key]", key: Key) -> None:
        self._batch, self._key = batch, key

    def result(self, timeout: float | None = None) -> bool:
        """Wait until the item's batch is committed; return whether the item was applied (raise if it failed)."""
        if not self._batch.done.wait(timeout):
            raise TimeoutError("the writer did not commit in time")
        if self._batch.error is not None:
            raise self._batch.error
        return self._key in self._batch.applied


# Called by the writer thread after each batch: (items, keys applied, the error if the batch failed).
AfterBatch = Callable[[list[Item], set[Key], Exception | None], None]


class GroupCommit(Generic[Item, Key]):
    """Queue small writes from many threads and commit them together from one writer thread.

    `flush` writes a batch in one transaction and returns the keys it applied; each caller's ticket then says
    whether its item was applied, and `after` hears of every batch (callers that do not wait). A failed flush is
    retried (it must be safe to repeat: every write here is fenced), and after the last try the callers get the error.
    """

    def __init__(
        self,
        name: str,
        flush: Callable[[list[Item]], set[Key]],
        key: Callable[[Item], Key],
        max_batch: int = 256,
        tries: int = 3,
        after: "AfterBatch[Item, Key] | None" = None,
    ) -> None:
        self._flush = flush
        self._key = key
        self._max_batch = max_batch
        self._tries = tries
        self._after = after
        self._batches: deque[_Batch[Item, Key]] = deque()  # the writer takes the first; submit fills the last
        self._condition = threading.Condition(threading.Lock())
        self._closed = False
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    def submit(self, item: Item) -> Ticket[Key]:
        """Queue one item; its ticket resolves once its batch is committed."""
        with self._condition:
            batch = self._append([item])
        return Ticket(batch, self._key(item))

    def submit_many(self, items: Sequence[Item]) -> None:
        """Queue items without tickets (one wake-up of the writer for all); `after` hears what became of them."""
        if items:
            with self._condition:
                self._append(items)

    def _append(self, items: Sequence[Item]) -> _Batch[Item, Key]:
        """Queue items at the end (the caller holds the condition); return the batch of the last one."""
        if self._closed:
            raise RuntimeError("the writer is closed")
        for item in items:
            if not self._batches or len(self._batches[-1].items) >= self._max_batch:
                self._batches.append(_Batch())
            self._batches[-1].items.append(item)
        self._condition.notify()
        return self._batches[-1]

    def close(self) -> None:
        """Commit what is queued, then stop the writer thread."""
        with self._condition:
            self._closed = True
            self._condition.notify()
        self._thread.join()

    def _run(self) -> None:
        while True:
            with self._condition:
                while not self._batches and not self._closed:
                    self._condition.wait()
                if not self._batches:
                    return
                batch = self._batches.popleft()
            self._commit(batch)

    def _commit(self, batch: _Batch[Item, Key]) -> None:
        for attempt in range(self._tries):
            try:
                batch.applied, batch.error = self._flush(batch.items), None
                break
            except Exception as caught:  # a deadlock victim or a dropped connection: try again, then report
                batch.error = caught
                log.warning("%s: write failed (%s), try %d of %d", self._thread.name, caught, attempt + 1, self._tries)
                time.sleep(0.05 * 2**attempt)
        batch.done.set()
        if self._after is not None:
            try:
                self._after(batch.items, batch.applied, batch.error)
            except Exception:
                log.exception("%s: bookkeeping after a batch failed", self._thread.name)


@dataclass(frozen=True)
class WorkerConfig:
    """How hard one scheduler process works."""

    threads: int = 4
    lease_seconds: float = 60.0
    claim_batch: int = 64
    # Deliveries claimed but not yet finished, per publisher thread: keeps threads busy while the next claim runs.
    queue_per_thread: int = 8
    # A publish call that runs longer than this stops being heartbeated: its lease expires and the reaper
    # holds it as unconfirmed, instead of a hung connection keeping the post "publishing" forever.
    max_publish_seconds: float = 600.0


class _Sending(NamedTuple):
    """A delivery ready to be sent: once its marker is committed, a publisher thread calls the network."""

    delivery: OutgoingDelivery
    publisher: Publisher
    request: PublishRequest
    sent_at: datetime


class _Job:
    """Marked deliveries sent in turn once their markers are committed: one to a network, or a group's instant ones.

    A network call gets a publisher thread of its own, so at most one delivery per thread is marked and not yet
    sent. Instant publishers (the feed) call no network: the writer sends a whole group of them itself, right after
    committing their markers, instead of waking a thread for each.
    """

    __slots__ = ("instant", "marked", "unresolved")

    def __init__(self, instant: bool) -> None:
        self.instant = instant
        self.marked: list[_Sending] = []  # markers committed; the job is sent once none is unresolved
        self.unresolved = 0  # markers queued for the writer and not committed (or refused) yet


@dataclass(frozen=True)
class _Marker:
    """A delivery about to be sent: its marker must be committed before the network call."""

    delivery_id: int
    sending: _Sending
    job: _Job


_Write = _Marker | Settlement


def _write_key(item: _Write) -> tuple[str, int]:
    return ("start" if isinstance(item, _Marker) else "settle", item.delivery_id)


def _ref_dict(ref: RemoteRef) -> dict[str, Any]:
    return {"id": ref.id, "url": ref.url, "extra": dict(ref.extra)}


def _published(delivery_id: int, outcome: PublishOutcome) -> Published:
    return Published(delivery_id, refs=[_ref_dict(ref) for ref in outcome.refs], url=outcome.url)


def _lookup_failed(delivery_id: int, error: str, why: str, sent_at: datetime, now: datetime) -> Settlement:
    """Ask again later, with a pause that grows with the time since sending; hold for a person after LOOKUP_GIVE_UP."""
    waited = now - sent_at
    if waited >= LOOKUP_GIVE_UP:
        minutes = int(waited.total_seconds() // 60)
        return Unconfirmed(
            delivery_id,
            f"It may have been sent: {why} Asking the network whether it arrived failed "
            f"for {minutes} minutes, so Greenroom stopped trying (last error: {error}).",
        )
    pause = min(max(waited / 2, LOOKUP_RETRY_MIN), LOOKUP_RETRY_MAX)
    return LookupLater(
        delivery_id,
        f"Could not ask the network whether it arrived ({error}); asking again at {now + pause:%H:%M:%S} UTC.",
        not_before=now + pause,
    )


class Worker:
    """One scheduler process's publishing machinery; APScheduler jobs call its *_cycle methods."""

    def __init__(
        self,
        engine: Engine,
        registry: PublisherRegistry,
        *,
        config: WorkerConfig | None = None,
        worker_id: str | None = None,
        clock: Clock = utcnow,
        read_secrets: SecretsReader = unreadable_secrets,
        write_secrets: SecretsWriter | None = None,
    ) -> None:
        self.engine = engine
        self.registry = registry
        self.config = config or WorkerConfig()
        self.worker_id = worker_id or new_worker_id()
        self.clock = clock
        self.read_secrets = read_secrets
        # Encrypts network sessions for the channel row; without it sessions live in this process's memory only.
        self.write_secrets = write_secrets
        self._inflight: dict[int, datetime] = {}  # claimed delivery id -> when it was claimed
        # Claimed and loaded, waiting for a publisher thread; the feeder thread takes them a group at a time.
        self._ready: deque[OutgoingDelivery] = deque()
        # Jobs of marked network deliveries for the publisher threads (None tells one to stop).
        self._queue: SimpleQueue[list[_Sending] | None] = SimpleQueue()
        self._feeder: threading.Thread | None = None  # started on first use
        # Started as network jobs come, up to config.threads: deliveries to instant publishers need none.
        self._publishers: list[threading.Thread] = []
        self._busy = 0  # publisher threads kept for jobs the feeder started and not finished
        self._claiming = threading.Lock()  # held by a claim cycle; stop() waits for it
        # Held around every write to deliveries this process leases (outcomes, markers, heartbeats): two of our
        # own transactions locking the same rows in different orders would deadlock on PostgreSQL.
        self._write_lock = threading.Lock()
        # Two conditions on one lock: claiming and idle waiters wait for settled deliveries (`_slots`), the feeder
        # for free threads (`_feed`). A thread finishing a send wakes the feeder only, and only when there is work
        # for it: waking every waiter for every delivery cost more CPU than the writes themselves.
        slots_lock = threading.RLock()
        self._slots = threading.Condition(slots_lock)
        self._feed = threading.Condition(slots_lock)
        self._stopping = threading.Event()
        # One writer for "about to send" markers and outcomes alike: SQLite has one writer at a time anyway,
        # and on PostgreSQL every commit waits for a disk flush, so fewer, fuller transactions win.
        self._writes: GroupCommit[_Write, tuple[str, int]] = GroupCommit(
            "writer", self._write, key=_write_key, after=self._written
        )

    # --- claiming ---------------------------------------------------------------------------------------------

    @property
    def capacity(self) -> int:
        """Return how many deliveries this worker holds at most at once."""
        # No more than one claim ahead of the threads: deliveries held here wait while other processes idle (at
        # the end of a burst, and while this one is slow), and wait longer past their due time.
        return min(self.config.threads * self.config.queue_per_thread, self.config.threads + self.config.claim_batch)

    def in_flight(self) -> int:
        """Return how many claimed deliveries are not settled yet."""
        with self._slots:
            return len(self._inflight)

    def wait_until_idle(self, timeout: float) -> bool:
        """Wait until every claimed delivery is settled; return False if `timeout` seconds passed first."""
        deadline = time.monotonic() + timeout
        with self._slots:
            while self._inflight:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._slots.wait(timeout=left)
        return True

    def claim_cycle(self, max_seconds: float = 1.0) -> int:
        """Claim and dispatch due deliveries until none is due, or for `max_seconds`; return how many."""
        with self._claiming:
            return self._claim_until_done(time.monotonic() + max_seconds)

    def _claim_until_done(self, deadline: float) -> int:
        total = 0
        # Claim again once a batch's worth of room is free, not for every single free slot: one claim of 32
        # rows costs about as much as one claim of 1.
        room = min(self.config.claim_batch, max(self.capacity // 2, 1))
        while not self._stopping.is_set():
            with self._slots:
                while self.capacity - len(self._inflight) < room and not self._stopping.is_set():
                    left = deadline - time.monotonic()
                    if left <= 0:
                        return total
                    self._slots.wait(timeout=left)
                free = self.capacity - len(self._inflight)
            if self._stopping.is_set() or time.monotonic() > deadline:
                break
            limit = min(free, self.config.claim_batch)
            claimed = claim_and_load(self.engine, self.worker_id, self.clock(), limit, self.config.lease_seconds)
            self._dispatch(claimed)
            total += len(claimed)
            if len(claimed) < limit:
                break
        return total

    def next_wake(self, poll_seconds: float) -> datetime:
        """Return when to claim next: the next due time, but at least every `poll_seconds` for new approvals."""
        now = self.clock()
        wake = now + timedelta(seconds=poll_seconds)
        due = next_due_time(self.engine)
        if due is not None and due < wake:
            wake = due
        return max(wake, now + MIN_WAKE_GAP)

    def _dispatch(self, deliveries: list[OutgoingDelivery]) -> None:
        """Start what idle threads can take at once (no hand-off to the feeder); the feeder starts the rest later."""
        if not deliveries:
            return
        started = self.clock()
        if self._feeder is None:
            self._feeder = threading.Thread(target=self._feeding, name="feeder", daemon=True)
            self._feeder.start()
        with self._slots:
            self._inflight.update((delivery.claimed.id, started) for delivery in deliveries)
            self._ready.extend(deliveries)
            jobs = self._take_jobs(self.config.threads - self._busy)
            self._busy += len(jobs)
            if self._ready:
                self._feed.notify()
        self._start(jobs)

    def _write(self, items: list["_Write"]) -> set[tuple[str, int]]:
        """Commit a group of markers and outcomes in one transaction; return the keys applied."""
        markers = [item.delivery_id for item in items if isinstance(item, _Marker)]
        outcomes = [item for item in items if not isinstance(item, _Marker)]
        with self._write_lock:
            result = write_batch(self.engine, self.worker_id, self.clock(), settle=outcomes, start=markers)
        return {("start", delivery_id) for delivery_id in result.started} | {
            ("settle", delivery_id) for delivery_id in result.settled
        }

    def _written(self, items: list[_Write], applied: set[tuple[str, int]], error: Exception | None) -> None:
        """After each commit: send the jobs whose markers are all committed; forget the settled deliveries."""
        instant = self._markers_written([item for item in items if isinstance(item, _Marker)], applied, error)
        settled = [item.delivery_id for item in items if not isinstance(item, _Marker)]
        if error is not None and settled:
            log.error("%d outcomes not recorded (%s); the reaper will recover them", len(settled), error)
        lost = [delivery_id for delivery_id in settled if error is None and ("settle", delivery_id) not in applied]
        if lost:
            log.warning("lost the lease on %d deliveries before their outcome was recorded: %s", len(lost), lost)
        self._forget(settled)
        for job in instant:  # nothing to wait on: sent here, after their markers' commit, without waking a thread
            self._send_job(job.marked)

    def _markers_written(
        self, markers: list["_Marker"], applied: set[tuple[str, int]], error: Exception | None
    ) -> list[_Job]:
        """Queue each network job whose markers are all committed for a thread; return such instant jobs."""
        unmarked = []
        idle = 0  # threads kept for jobs of which nothing was marked
        instant: list[_Job] = []
        for marker in markers:
            job = marker.job
            if error is None and ("start", marker.delivery_id) in applied:
                job.marked.append(marker.sending)
            else:  # not marked, so not sent: the lease was lost, the post changed, or the write failed
                unmarked.append(marker.delivery_id)
            job.unresolved -= 1
            if job.unresolved:
                continue
            if not job.marked:
                idle += 1
            elif job.instant:
                instant.append(job)
            else:
                self._queue.put(job.marked)
                if len(self._publishers) < self.config.threads:
                    thread = threading.Thread(target=self._publishing, name="publisher", daemon=True)
                    self._publishers.append(thread)
                    thread.start()
        if error is not None and unmarked:
            log.error("%d markers not recorded (%s); nothing was sent", len(unmarked), error)
        self._release_threads(idle)
        self._forget(unmarked)
        return instant

    def _forget(self, delivery_ids: Iterable[int]) -> None:
        with self._slots:
            for delivery_id in delivery_ids:
                self._inflight.pop(delivery_id, None)
            self._slots.notify_all()

    # --- publishing -------------------------------------------------------------------------------------------

    def _feeding(self) -> None:
        """The feeder thread: hand claimed deliveries to idle publisher threads, as they free up, until stopping.

        Each delivery given a thread is prepared and its marker queued for the writer, which commits whatever
        markers and outcomes are queued in one transaction and then queues the marked deliveries for the threads.
        The feeder never waits for a commit, so threads freeing up one by one still share a marker commit, and
        only as many deliveries are marked as there are threads for them: each is sent right after its marker
        (deliveries to instant publishers share one thread, see `_Job`).
        """
        while True:
            with self._slots:
                while not self._stopping.is_set() and not (self._ready and self._busy < self.config.threads):
                    self._feed.wait()
                if self._stopping.is_set():
                    return  # what is left is given back by stop()
                jobs = self._take_jobs(self.config.threads - self._busy)
                self._busy += len(jobs)  # a thread is kept for each until it is sent or stopped before sending
            self._start(jobs)

    def _take_jobs(self, threads: int) -> list[list[OutgoingDelivery]]:
        """Take ready deliveries, in order, for `threads` idle threads (the caller holds the lock).

        A delivery to a network takes a thread of its own; all the others (instant publishers, and deliveries that
        will be settled without sending) share one.
        """
        jobs: list[list[OutgoingDelivery]] = []
        shared: list[OutgoingDelivery] = []
        while self._ready:
            own = self._needs_network(self._ready[0])
            if (own or not shared) and len(jobs) + bool(shared) >= threads:
                break
            delivery = self._ready.popleft()
            if own:
                jobs.append([delivery])
            else:
                shared.append(delivery)
        return jobs + [shared] if shared else jobs

    def _needs_network(self, delivery: OutgoingDelivery) -> bool:
        """Return whether a delivery's publisher calls a network (and so gets a thread of its own)."""
        publisher = self.registry.get(delivery.channel.kind) if delivery.channel is not None else None
        return publisher is not None and not is_instant(publisher)

    def _start(self, jobs: list[list[OutgoingDelivery]]) -> None:
        """Queue the markers of the jobs' sendable deliveries; settle the others before anything is sent."""
        now = self.clock()
        markers: list[_Write] = []
        idle = 0  # threads kept for jobs with nothing to send
        for deliveries in jobs:
            job = _Job(instant=not self._needs_network(deliveries[0]))
            for delivery in deliveries:
                delivery_id = delivery.claimed.id
                try:
                    ready = self.prepare(delivery, now)
                    if isinstance(ready, tuple):
                        # sent_at: no later than the marker, so no later than anything this attempt sends.
                        markers.append(_Marker(delivery_id, _Sending(delivery, *ready, sent_at=now), job))
                        job.unresolved += 1
                    else:
                        self._record([ready])
                except Exception:
                    log.exception(
                        "delivery %d: unexpected error; its lease will expire and the reaper takes over", delivery_id
                    )
                    self._forget([delivery_id])
            idle += not job.unresolved
        # Queued only now, all at once: the writer counts a job's markers down, so the count must be complete.
        try:
            self._writes.submit_many(markers)
        except RuntimeError:  # stopping: nothing marked, nothing sent; stop() gives the deliveries back
            idle = len(jobs)
        self._release_threads(idle)

    def _release_threads(self, count: int) -> None:
        """Give back threads kept for jobs that will not be sent (or were sent)."""
        if count:
            with self._slots:
                self._busy -= count
                if self._ready:  # the feeder waits only when it has deliveries and no thread for them
                    self._feed.notify()

    def _publishing(self) -> None:
        """A publisher thread: send the jobs the writer queued until told to stop (everything marked is sent)."""
        while (job := self._queue.get()) is not None:
            self._send_job(job)

    def _send_job(self, job: list[_Sending]) -> None:
        """Send a job's marked deliveries in turn, queue their outcomes together, then free the job's thread."""
        settlements = []
        try:
            for sending in job:
                delivery_id = sending.delivery.claimed.id
                try:
                    settlements.append(self._send(sending))
                except Exception:
                    log.exception(
                        "delivery %d: unexpected error; its lease will expire and the reaper takes over", delivery_id
                    )
                    self._forget([delivery_id])
            self._record(settlements)
        finally:
            self._release_threads(1)

    def _record(self, settlements: list[Settlement]) -> None:
        """Queue outcomes for the writer; `_written` forgets the deliveries once they are committed."""
        try:
            self._writes.submit_many(settlements)
        except RuntimeError:  # stopping: the leases expire and the reaper settles them
            self._forget([settlement.delivery_id for settlement in settlements])

    def _send(self, sending: "_Sending") -> Settlement:
        """Publish one marked delivery and return the outcome."""
        delivery, publisher, request, sent_at = sending
        delivery_id = delivery.claimed.id
        try:
            outcome = publisher.publish(request)
        except PublishError as error:
            return Failure(delivery_id, error.message, retryable=error.retryable, retry_after=error.retry_after)
        except OutcomeUnknown as error:
            why = f"the network did not answer clearly ({error})."
            answer = self._ask(publisher, request, delivery, sent_at)
            return self._conclude(delivery, answer, why, sent_at, in_process=True)
        except Exception as error:
            # An answer the publisher could not make sense of: failed with the reason, never sent again.
            log.warning("delivery %d: %s publisher raised %r", delivery_id, publisher.kind, error)
            return Failure(delivery_id, f"The network answered something unexpected ({type(error).__name__}: {error}).")
        return _published(delivery_id, outcome)

    def prepare(self, delivery: OutgoingDelivery, now: datetime) -> tuple[Publisher, PublishRequest] | Settlement:
        """Return the publisher and request for a delivery, or the settlement that stops it before sending."""
        delivery_id = delivery.claimed.id
        channel = delivery.channel
        if channel is None:
            return Failure(delivery_id, "The channel this post was scheduled for was removed; nothing was sent.")
        if channel.disabled:
            return Failure(delivery_id, f"The channel “{channel.label}” is disabled; nothing was sent.")
        if delivery.character_archived:
            return Failure(delivery_id, f"{delivery.character_name} is archived; nothing was sent.")
        if not any(part.text.strip() or part.image for part in delivery.parts):
            return Failure(delivery_id, "The post has no text or image to publish.")
        if delivery.too_late(now):
            return Missed(delivery_id, missed_reason(delivery, now))
        if delivery.waiting_for_parent:
            return Released(delivery_id, "waiting for the post it answers", not_before=now + PARENT_WAIT)
        return self._request(delivery, now)

    def _request(self, delivery: OutgoingDelivery, now: datetime) -> tuple[Publisher, PublishRequest] | Settlement:
        """Return the publisher and request for a delivery's channel, or why there is none."""
        delivery_id = delivery.claimed.id
        channel = delivery.channel
        if channel is None:
            return Failure(delivery_id, "The channel this post was scheduled for was removed.")
        publisher = self.registry.get(channel.kind)
        if publisher is None:
            log.error(
                "no publisher for %s channels in this scheduler; delivery %d left for later", channel.kind, delivery_id
            )
            return Released(delivery_id, "no publisher", not_before=now + NO_PUBLISHER_WAIT)
        try:
            credentials = self.read_secrets(channel.secret_token) if channel.secret_token else {}
        except Exception as error:
            return Failure(delivery_id, f"The channel's credentials cannot be read ({error}); reconnect the channel.")
        reply_to = delivery.reply_to
        return publisher, PublishRequest(
            idempotency_key=delivery.claimed.idempotency_key,
            parts=[
                PartContent(text=part.text, image=part.image, image_mime=part.image_mime, image_alt=part.image_alt)
                for part in delivery.parts
            ],
            settings=dict(channel.settings),
            secrets=credentials,
            character_name=delivery.character_name,
            reply_to=RemoteRef(
                id=str(reply_to.get("id")), url=reply_to.get("url"), extra=dict(reply_to.get("extra") or {})
            )
            if reply_to
            else None,
            session=self.session_slot(channel.id, channel.session_token),
        )

    def session_slot(self, channel_id: int, token: str | None) -> SessionSlot:
        """Return the channel's saved network session (if readable) and how to save a new one."""
        saved = None
        if token:
            try:
                saved = self.read_secrets(token)
            except Exception as error:  # a changed key: the publisher logs in again and saves a readable one
                log.warning("channel %d: the saved session cannot be read (%s)", channel_id, error)
        return SessionSlot(channel_id=channel_id, saved=saved, save=partial(self._save_session, channel_id))

    def _save_session(self, channel_id: int, session: dict[str, Any]) -> None:
        """Store a channel's new session, encrypted, in its own short transaction; a failure only costs a login."""
        if self.write_secrets is None:
            return
        try:
            save_channel_session(self.engine, channel_id, self.write_secrets(session), self.clock())
        except Exception:
            log.exception("channel %d: could not save its session; a restarted scheduler will log in again", channel_id)

    # --- looking up what may have been sent ---------------------------------------------------------------------

    def _ask(
        self, publisher: Publisher, request: PublishRequest, delivery: OutgoingDelivery, sent_at: datetime
    ) -> Lookup | str:
        """Ask the network about a maybe-sent delivery; return its answer, or why it could not be asked."""
        claimed = delivery.claimed
        # The earliest an earlier attempt may have reached the network: this attempt's marker on a first attempt;
        # after any retry or resend, the due time (nothing is ever sent before it).
        since = sent_at if claimed.next_attempt_at is None else min(claimed.due_at, sent_at)
        try:
            return publisher.look_up(request, since=since, now=self.clock())
        except PublishError as error:
            return error.message
        except Exception as error:
            log.warning("delivery %d: %s look-up raised %r", claimed.id, publisher.kind, error)
            return f"the network answered something unexpected ({type(error).__name__}: {error})"

    def _conclude(
        self, delivery: OutgoingDelivery, answer: Lookup | str, why: str, sent_at: datetime, *, in_process: bool
    ) -> Settlement:
        """Settle a maybe-sent delivery by what its look-up found; a failed look-up is never taken as absence."""
        delivery_id = delivery.claimed.id
        now = self.clock()
        if isinstance(answer, str):
            return _lookup_failed(delivery_id, answer, why, sent_at, now)
        if isinstance(answer, Found):
            return _published(delivery_id, answer.outcome)
        if isinstance(answer, CannotTell):
            return Unconfirmed(delivery_id, f"It may have been sent: {why} {answer.reason}")
        if delivery.too_late(now):  # safe to send again, but too late to do it without an editor
            return Unconfirmed(delivery_id, f"It may have been sent: {why} {missed_reason(delivery, now)}")
        if in_process:  # the network was struggling: back off like any retry
            return Failure(delivery_id, f"Not confirmed: {why} {answer.reason}", retryable=True)
        return Resend(delivery_id, f"Sent again: {why} {answer.reason}")

    # --- recovery and upkeep ----------------------------------------------------------------------------------

    def heartbeat_cycle(self) -> int:
        """Extend the leases of deliveries still being worked on; return how many were extended."""
        cutoff = self.clock() - timedelta(seconds=self.config.max_publish_seconds)
        with self._slots:
            ids = [delivery_id for delivery_id, started in self._inflight.items() if started >= cutoff]
        with self._write_lock:
            extended = heartbeat(self.engine, self.worker_id, ids, self.clock(), self.config.lease_seconds)
        with self._slots:  # settled meanwhile is fine; still ours in memory but not in the database is not
            lost = [delivery_id for delivery_id in ids if delivery_id not in extended and delivery_id in self._inflight]
        if lost:
            log.warning("lost the lease on %d deliveries; they will not be sent by this process", len(lost))
        return len(extended)

    def reap_cycle(self) -> int:
        """Recover deliveries of vanished workers; look maybe-sent ones up; return how many were recovered.

        Maybe-sent deliveries are taken REAP_BATCH at a time and each settled as soon as it is looked up: a batch
        settled at the end could outlast the reaper's own lease on a slow network, be taken over by another reaper,
        and never settle at all.
        """
        deadline = time.monotonic() + self.config.lease_seconds / 2
        recovered = 0
        unreachable: dict[int, str] = {}  # channel id -> why its network could not be asked in this cycle
        while True:
            now = self.clock()
            result = reap_expired_leases(self.engine, self.worker_id, now, self.config.lease_seconds, limit=REAP_BATCH)
            if result.requeued:
                log.info("reaper: %d unsent deliveries back to pending", len(result.requeued))
            recovered += len(result.requeued)
            for delivery in load_deliveries(self.engine, result.to_check):
                settlement = self._recover(delivery, self.clock(), unreachable)
                recovered += len(settle(self.engine, self.worker_id, [settlement], self.clock()))
            if len(result.requeued) + len(result.to_check) < REAP_BATCH or time.monotonic() > deadline:
                return recovered

    def _recover(self, delivery: OutgoingDelivery, now: datetime, unreachable: dict[int, str]) -> Settlement:
        """Settle one maybe-sent delivery whose worker vanished, by asking its network."""
        claimed = delivery.claimed
        sent_at = claimed.sending_started_at or now
        ready = self._request(delivery, now)
        if not isinstance(ready, tuple):
            reason = ready.message if isinstance(ready, Failure) else "no publisher for its channel."
            return Unconfirmed(claimed.id, f"It may have been sent: {REAPER_WHY} It cannot be looked up: {reason}")
        channel_id = delivery.channel.id if delivery.channel is not None else 0
        if channel_id in unreachable:  # one failed look-up per channel and cycle: a network that is down is slow
            return _lookup_failed(claimed.id, unreachable[channel_id], REAPER_WHY, sent_at, now)
        answer = self._ask(*ready, delivery, sent_at)
        if isinstance(answer, str):
            unreachable[channel_id] = answer
        return self._conclude(delivery, answer, REAPER_WHY, sent_at, in_process=False)

    def sweep_cycle(self) -> int:
        """Hold deliveries found past their grace period as missed; return how many."""
        missed = sweep_missed(self.engine, self.worker_id, self.clock())
        if missed:
            log.warning("%d deliveries found too late were held as missed", len(missed))
        return len(missed)

    def check_cycle(self) -> int:
        """Run the connection tests people asked for; return how many ran."""
        checks = take_connection_checks(self.engine)
        for check in checks:
            publisher = self.registry.get(check.kind)
            try:
                if publisher is None:
                    raise PublishError(f"This scheduler cannot publish to {check.kind} channels.", retryable=False)
                credentials = self.read_secrets(check.secret_token) if check.secret_token else {}
                session = self.session_slot(check.channel_id, check.session_token)
                ok, message = True, publisher.check_connection(check.settings, credentials, session)
            except PublishError as error:
                ok, message = False, error.message
            except Exception as error:
                ok, message = False, f"The check failed unexpectedly ({type(error).__name__}: {error})."
            record_connection_check(self.engine, check.channel_id, ok, message, self.clock())
        return len(checks)

    # --- stopping ---------------------------------------------------------------------------------------------

    def stop(self, timeout: float = 30.0) -> None:
        """Stop claiming, finish what is being sent, record the outcomes and give back what was never sent."""
        self._stopping.set()
        with self._slots:
            self._slots.notify_all()
            self._feed.notify_all()
        with self._claiming:  # a claim in progress finishes and dispatches first
            pass
        if self._feeder is not None:
            self._feeder.join()  # the feeder finishes the group it is starting
        # Deliveries being marked are sent once marked, and sends in progress finish, before the threads stop.
        deadline = time.monotonic() + timeout
        with self._slots:
            while self._busy and time.monotonic() < deadline:
                self._slots.wait(timeout=0.1)
        for _ in self._publishers:
            self._queue.put(None)
        self._writes.close()
        with self._slots:
            leftovers = list(self._inflight)
        if leftovers:
            released = release_unsent(self.engine, self.worker_id, leftovers, self.clock())
            log.info("gave back %d unsent deliveries", len(released))
