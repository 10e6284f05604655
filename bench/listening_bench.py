"""Listening benchmark: ingest of 10,000 Bluesky notifications through a fake transport, beside a bare loop.

Run: `.venv/bin/python -m bench.listening_bench [--items N] [--no-postgresql]`. The fake transport serves the
notifications as the AppView's JSON, newest first, in pages of 100 (90 % mentions, replies and quotes from 2,000
authors, 10 % likes and reposts). Measured in the same run, on a fresh database each time:

- bare loop: one pass over the same JSON items reading the fields a conversation keeps into a tuple (the floor);
- parse: the Bluesky listener's poll (pages, cursor, JSON → items);
- triage: the signals alone (VADER sentiment and the question test) on every text;
- ingest: poll plus `ingest` (signals, first-time authors, INSERT ... ON CONFLICT DO NOTHING, counts and cursor in
  one transaction): what the listen job does per channel, minus the network.

Items/s for each and the ratio to the bare loop. SQLite in a temporary file; PostgreSQL in a throwaway database
(GREENROOM_BENCH_PG, default postgresql://postgres@127.0.0.1:5432/postgres) unless --no-postgresql.
"""

import argparse
import os
import random
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
from sqlalchemy import func, insert, select
from sqlalchemy.engine import Engine
from sqlmodel import col

from characters.core.db import make_engine
from characters.core.migrations import upgrade_database
from characters.core.models import Channel, ChannelKind, Character, Conversation, Workspace
from characters.listening.ingest import ListenTarget, ingest
from characters.listening.signals import triage
from scheduler.listeners.bluesky import BlueskyListener

PG_ADMIN_DSN = os.environ.get("GREENROOM_BENCH_PG", "postgresql://postgres@127.0.0.1:5432/postgres")
NOW = datetime(2026, 12, 3, 12, 0, tzinfo=UTC)
TEXTS = (
    "Walt, what can you hear up there tonight?", "this is the worst radio show ever, so disappointed 😡",
    "Everyone read this 🌙", "@walt.test love the new logbook entry!", "مرحبا يا والت، كيف حالك؟",
    "Is the dish pointing at Cassiopeia again", "Zoë says hi 👩‍👩‍👧🔥", "", "terrible reception tonight. fix it",
    "See https://example.org/sky?x=1 for the chart",
)


def notifications(count: int, seed: int = 1) -> list[dict[str, Any]]:
    """Return `count` notifications as listNotifications JSON, newest first."""
    rng = random.Random(seed)  # noqa: S311 - test data, not security
    notes = []
    for n in range(count):
        author = f"did:plc:fan{rng.randrange(2_000):05d}"
        at = (NOW - timedelta(milliseconds=n * 250)).isoformat().replace("+00:00", "Z")
        roll = rng.random()
        reason = "like" if roll < 0.07 else "repost" if roll < 0.10 else rng.choice(("mention", "reply", "quote"))
        uri = f"at://{author}/app.bsky.feed.post/{n:08d}"
        record: dict[str, Any] = {"text": rng.choice(TEXTS), "createdAt": at}
        if reason == "reply":
            parent = {"uri": f"at://did:plc:walt/app.bsky.feed.post/{n % 50}", "cid": "bafyparent"}
            record["reply"] = {"root": parent, "parent": parent}
        notes.append({"uri": uri, "cid": f"bafy{n}", "reason": reason, "indexedAt": at,
                      "author": {"did": author, "handle": f"{author[-5:]}.test", "displayName": f"Fan {author[-5:]}"},
                      "record": record})
    return notes


class FakeTransport:
    """Serves the notifications in pages of `limit`, as the AppView does."""

    def __init__(self, notes: list[dict[str, Any]]) -> None:
        self.notes = notes

    def me(self) -> str:
        return "did:plc:walt"

    def list_notifications(self, cursor: str | None, limit: int) -> dict[str, Any]:
        start = int(cursor or 0)
        page = self.notes[start:start + limit]
        more = start + limit < len(self.notes)
        return {"notifications": page, **({"cursor": str(start + limit)} if more else {})}

    def get_post_thread(self, uri: str, depth: int, parent_height: int) -> dict[str, Any] | None:
        return None


def bare_loop(notes: list[dict[str, Any]]) -> int:
    """Read every item's fields once: the floor any ingest has to stand on."""
    kept = []
    for note in notes:
        record = note["record"]
        author = note["author"]
        kept.append((note["uri"], note["reason"], record["text"], record["createdAt"], author["did"],
                     author["handle"], note["cid"]))
    return len(kept)


def make_channel(engine: Engine) -> ListenTarget:
    """Create one workspace, character and Bluesky channel; return it as the listen job sees it."""
    with engine.begin() as connection:
        workspace_id = connection.execute(insert(Workspace).returning(col(Workspace.id)), {
            "slug": "bench", "name": "Bench", "created_at": NOW}).scalar_one()
        character_id = connection.execute(insert(Character).returning(col(Character.id)), {
            "workspace_id": workspace_id, "slug": "walt", "name": "Walt", "current_version": 1, "created_at": NOW,
            "updated_at": NOW}).scalar_one()
        channel_id = connection.execute(insert(Channel).returning(col(Channel.id)), {
            "workspace_id": workspace_id, "character_id": character_id, "kind": ChannelKind.BLUESKY.value,
            "label": "Walt on Bluesky", "settings": {}, "created_at": NOW}).scalar_one()
    return ListenTarget(id=channel_id, kind="bluesky", workspace_id=workspace_id, character_id=character_id,
                        label="", settings={}, secret_token=None, session_token=None, cursor=None, failures=0)


@contextmanager
def database(backend: str) -> Iterator[Engine]:
    """Yield a migrated engine on a fresh database of `backend`, removed afterwards."""
    if backend == "sqlite":
        with tempfile.TemporaryDirectory() as folder:
            engine = make_engine(f"sqlite:///{Path(folder) / 'bench.sqlite3'}")
            upgrade_database(engine)
            try:
                yield engine
            finally:
                engine.dispose()
        return
    name = f"greenroom_bench_{uuid.uuid4().hex[:12]}"
    admin = psycopg.connect(PG_ADMIN_DSN, autocommit=True)
    admin.execute(f'CREATE DATABASE "{name}"')
    engine = make_engine(f"{PG_ADMIN_DSN.rsplit('/', 1)[0].replace('postgresql://', 'postgresql+psycopg://')}/{name}")
    try:
        upgrade_database(engine)
        yield engine
    finally:
        engine.dispose()
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()


def timed(run: Callable[[], Any]) -> tuple[float, Any]:
    started = time.perf_counter()
    result = run()
    return time.perf_counter() - started, result


def measure(backend: str, notes: list[dict[str, Any]]) -> list[tuple[str, int, float]]:
    """Return (what, items, seconds) for each step, all in this run."""
    listener = BlueskyListener(lambda target, secrets, slot: FakeTransport(notes), max_items=len(notes),
                               first_poll_items=len(notes))
    rows: list[tuple[str, int, float]] = []
    seconds, count = timed(lambda: bare_loop(notes))
    rows.append(("bare loop", count, seconds))
    with database(backend) as engine:
        target = make_channel(engine)
        seconds, poll = timed(lambda: listener.poll(target, {}, None))
        rows.append(("parse (listener poll)", len(notes), seconds))
        seconds, _ = timed(lambda: [triage(item.text) for item in poll.items])
        rows.append(("triage (signals)", len(poll.items), seconds))

        def full() -> Any:
            return ingest(engine, target.id, listener.poll(target, {}, None), NOW, since_cursor=None)

        seconds, report = timed(full)
        rows.append((f"ingest on {backend} (poll + store)", len(notes), seconds))
        with engine.connect() as connection:
            stored = connection.execute(select(func.count()).select_from(Conversation)).scalar_one()
        assert stored == report.stored == len(poll.items), "every item stored once"  # noqa: S101 - a bench check
        seconds, again = timed(full)  # the same page again: everything is a duplicate
        rows.append((f"re-ingest on {backend} (all duplicates)", len(notes), seconds))
        assert again.stored == 0, "nothing stored twice"  # noqa: S101 - a bench check
    return rows


def main(argv: list[str] | None = None) -> None:
    """Print items/s and the ratio to the bare loop for each step."""
    parser = argparse.ArgumentParser(prog="python -m bench.listening_bench")
    parser.add_argument("--items", type=int, default=10_000, help="notifications in the poll (default 10,000)")
    parser.add_argument("--no-postgresql", action="store_true", help="SQLite only")
    args = parser.parse_args(argv)
    notes = notifications(args.items)
    backends = ["sqlite"] if args.no_postgresql else ["sqlite", "postgresql"]
    print(f"{args.items:,} notifications ({sum(n['reason'] in ('like', 'repost') for n in notes):,} likes/reposts)")
    print(f"{'step':<40} {'items':>7} {'seconds':>8} {'items/s':>10} {'× bare':>8}")
    for backend in backends:
        rows = measure(backend, notes)
        bare_rate = rows[0][1] / rows[0][2]
        for what, count, seconds in rows:
            rate = count / seconds if seconds else float("inf")
            print(f"{what:<40} {count:>7,} {seconds:>8.3f} {rate:>10,.0f} {bare_rate / rate:>8.0f}")


if __name__ == "__main__":
    main()
