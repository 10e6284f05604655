"""The listen job: poll every channel whose workspace interval has passed, store what is new, cache threads.

A failed poll (network down, rate limited, an expired app password) is shown on the channel with a backoff that
respects Retry-After; the cursor is kept, so the next successful poll picks up everything missed.
"""

import logging
from collections.abc import Callable, Iterable
from typing import Any

from sqlalchemy.engine import Engine

from characters.core.models import ChannelKind, utcnow
from characters.listening.ingest import (
    IngestReport,
    ListenTarget,
    claim_channels_due,
    ingest,
    mark_gone,
    record_poll_failure,
    save_thread,
    threads_to_fetch,
)
from characters.listening.overdue import notify_overdue
from scheduler.listeners.base import Listener
from scheduler.publishers.base import PublishError, SessionSlot
from scheduler.publishers.registry import PublisherRegistry

log = logging.getLogger("greenroom.scheduler")

THREADS_PER_POLL = 25  # threads fetched per channel and cycle; the rest on the next cycles
CHANNELS_PER_CYCLE = 50

SecretsReader = Callable[[str], dict[str, Any]]
SlotFor = Callable[[int, str | None], SessionSlot]


class Listening:
    """One scheduler process's listening: the listen and overdue jobs call its *_cycle methods."""

    def __init__(self, engine: Engine, listeners: Iterable[Listener], *, read_secrets: SecretsReader,
                 session_slot: SlotFor | None = None, clock: Callable[[], Any] = utcnow) -> None:
        self.engine = engine
        self.listeners = {str(listener.kind): listener for listener in listeners}
        self.read_secrets = read_secrets
        self.session_slot = session_slot
        self.clock = clock

    def listen_cycle(self) -> int:
        """Poll the channels that are due; return how many conversations were stored."""
        kinds = set(self.listeners)
        if not kinds:
            return 0
        stored = 0
        for target in claim_channels_due(self.engine, self.clock(), CHANNELS_PER_CYCLE):
            if target.kind in kinds:
                report = self.poll_channel(target)
                stored += report.stored if report is not None else 0
        return stored

    def poll_channel(self, target: ListenTarget) -> IngestReport | None:
        """Poll one channel and store the result, or record why it failed; then fetch threads not cached yet."""
        listener = self.listeners[target.kind]
        try:
            secrets = self.read_secrets(target.secret_token) if target.secret_token else {}
        except Exception as error:
            record_poll_failure(self.engine, target.id, f"The channel's credentials cannot be read ({error}); "
                                "reconnect the channel.", self.clock())
            return None
        slot = self.session_slot(target.id, target.session_token) if self.session_slot is not None else None
        try:
            poll = listener.poll(target, secrets, slot)
        except PublishError as error:
            when = record_poll_failure(self.engine, target.id, error.message, self.clock(), error.retry_after)
            log.warning("channel %d: listening failed (%s); next try at %s", target.id, error.message, when)
            return None
        except Exception as error:
            record_poll_failure(self.engine, target.id, f"The network answered something unexpected "
                                f"({type(error).__name__}: {error}).", self.clock())
            log.exception("channel %d: listening failed unexpectedly", target.id)
            return None
        report = ingest(self.engine, target.id, poll, self.clock(), since_cursor=target.cursor)
        if report.stored:
            log.info("channel %d: %d new conversations", target.id, report.stored)
        self.fetch_threads(target, listener, secrets, slot)
        return report

    def fetch_threads(self, target: ListenTarget, listener: Listener, secrets: dict[str, Any],
                      slot: SessionSlot | None) -> int:
        """Fetch and cache the threads of the channel's new conversations; return how many were handled."""
        handled = 0
        for wanted in threads_to_fetch(self.engine, target.id, THREADS_PER_POLL):
            try:
                thread = listener.thread(target, secrets, slot, wanted)
            except PublishError as error:  # kept for the next cycle
                log.warning("channel %d: could not read a thread (%s)", target.id, error.message)
                break
            if thread is None:
                mark_gone(self.engine, [wanted.conversation_id], self.clock())
            else:
                save_thread(self.engine, wanted.conversation_id, thread, self.clock())
            handled += 1
        return handled

    def overdue_cycle(self) -> int:
        """Tell editors about conversations that just went past their workspace's response target."""
        return notify_overdue(self.engine, self.clock())


def default_listeners(registry: PublisherRegistry) -> list[Listener]:
    """Return listeners for the networks whose real publishers this process has (they share their sessions)."""
    listeners: list[Listener] = []
    # Imported here: the network SDKs are slow to import and processes with fake publishers never need them.
    from scheduler.listeners.bluesky import BlueskyListener, sdk_transport
    from scheduler.listeners.mastodon import MastodonListener, api_transport
    from scheduler.publishers.bluesky import BlueskyPublisher
    from scheduler.publishers.mastodon import MastodonPublisher

    bluesky = registry.get(ChannelKind.BLUESKY)
    if isinstance(bluesky, BlueskyPublisher):
        listeners.append(BlueskyListener(sdk_transport(bluesky)))
    mastodon = registry.get(ChannelKind.MASTODON)
    if isinstance(mastodon, MastodonPublisher):
        listeners.append(MastodonListener(api_transport(mastodon)))
    return listeners
