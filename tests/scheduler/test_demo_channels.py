"""The demo's Bluesky and Mastodon channels are never reached: the listen and metrics jobs pass them by."""

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlmodel import select

from characters.analytics.collect import Counts
from characters.core.models import Conversation, EngagementSnapshot, FollowerSnapshot
from characters.demo.activity import seed_demo_activity
from characters.demo.seed import seed_demo
from characters.listening.ingest import ListenTarget, Poll, ThreadWanted
from scheduler.listeners.cycle import Listening
from scheduler.metrics.base import Account
from scheduler.metrics.collector import MetricsCollector

NOW = datetime(2026, 12, 3, 18, 30, tzinfo=UTC)


class RecordingListener:
    """A listener that notes every call; the demo channels must cause none."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self.calls: list[str] = []

    def poll(self, target: ListenTarget, secrets: dict[str, Any], session: Any) -> Poll:
        self.calls.append(f"poll {target.label}")
        return Poll(items=[], cursor=None)

    def thread(self, target: ListenTarget, secrets: dict[str, Any], session: Any,
               wanted: ThreadWanted) -> list[dict[str, Any]] | None:
        self.calls.append(f"thread {wanted.conversation_id}")
        return []


class RecordingReader:
    """A metrics reader that notes every call."""

    batch_size = 25

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self.calls: list[str] = []

    def read_posts(self, account: Account, ids: Sequence[str]) -> dict[str, Counts | None]:
        self.calls.append(f"posts {account.channel_id}")
        return {remote_id: Counts(likes=1) for remote_id in ids}

    def read_followers(self, account: Account) -> int:
        self.calls.append(f"followers {account.channel_id}")
        return 1


def _counts(session) -> tuple[int, int, int]:
    session.rollback()  # a fresh read: the jobs wrote through their own connections
    return (len(session.exec(select(Conversation)).all()), len(session.exec(select(EngagementSnapshot)).all()),
            len(session.exec(select(FollowerSnapshot)).all()))


def test_listen_and_metrics_jobs_never_call_the_demo_channels(engine, session):
    workspace = seed_demo(session)
    session.commit()
    seed_demo_activity(session, workspace.slug, now=NOW)
    before = _counts(session)
    listeners = [RecordingListener("bluesky"), RecordingListener("mastodon")]
    readers = [RecordingReader("bluesky"), RecordingReader("mastodon")]

    def no_secrets(token: str) -> dict[str, Any]:
        raise AssertionError("the demo channels have no credentials to read")

    # Right after seeding nothing is due; forty days on, every post's schedule has come round.
    for later in (NOW + timedelta(minutes=1), NOW + timedelta(days=40)):
        listening = Listening(engine, listeners, read_secrets=no_secrets, clock=lambda at=later: at)
        assert listening.listen_cycle() == 0
        report = MetricsCollector(engine, readers, read_secrets=no_secrets, clock=lambda at=later: at).cycle()
        assert report.snapshots == report.calls == report.followers == 0
        assert report.deferred == report.claimed  # a disabled channel's refresh waits; nothing is asked
    assert report.claimed > 0
    assert [call for worker in (*listeners, *readers) for call in worker.calls] == []
    assert _counts(session) == before
