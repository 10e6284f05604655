"""Refreshing 10,000 published posts' numbers, beside the bare batched calls, in the same run.

Run: `.venv/bin/python -m bench.analytics_refresh_bench [--posts 10000] [--channels 100] [--latency-ms 0,10]
[--databases sqlite,postgresql]`. For each database (a SQLite file, and a throwaway PostgreSQL database dropped at
the end) and each simulated network latency it stores `--posts` Bluesky deliveries published 11 minutes ago over
`--channels` channels, then times:

* **refresh**: the metrics job's `cycle()` as the scheduler runs it (claim in rounds of 500, read 25 URIs per
  `getPosts` call through a fake transport that answers with AppView-shaped JSON, one snapshot insert and one
  update per round, follower counts per channel);
* **bare**: the same `getPosts` calls on the same URIs in the same batches, read by the same reader, with no
  database at all: the floor the job cannot go below.

The ratio refresh / bare is what the job adds on top of the calls. With a real network each call costs the latency;
the 0 ms row shows the job's own cost alone.
"""

import argparse
import os
import sys
import tempfile
import time
import uuid
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, insert, select
from sqlalchemy.engine import Engine
from sqlmodel import col

from bench.scheduler_bench import postgresql_database, prepared_engine
from characters.core.models import (
    Channel,
    ChannelKind,
    Delivery,
    DeliveryStatus,
    EngagementSnapshot,
    Post,
    PostStatus,
    utcnow,
)
from scheduler.metrics.base import Account
from scheduler.metrics.bluesky import BlueskyMetrics
from scheduler.metrics.collector import MetricsCollector
from scheduler.publishers.base import SessionSlot
from tests.scheduler.seed import make_world

CHUNK = 5_000


class FakeAppview:
    """Answers getPosts and getProfile like a PDS in front of an AppView (post views with author and record)."""

    def __init__(self, latency: float) -> None:
        self.latency = latency
        self.calls = 0

    def query(self, settings: dict[str, Any], secrets: dict[str, Any], session: SessionSlot | None, nsid: str,
              params: dict[str, Any]) -> dict[str, Any] | None:
        self.calls += 1
        if self.latency:
            time.sleep(self.latency)  # the network round trip a real AppView costs
        if nsid == "app.bsky.actor.getProfile":
            return {"did": "did:plc:bench", "handle": params["actor"], "followersCount": 1234}
        posts = []
        for uri in params["uris"]:
            number = int(uri.rsplit("/", 1)[1][2:])
            posts.append({
                "uri": uri, "cid": f"bafyrei{number:020d}",
                "author": {"did": "did:plc:bench", "handle": "walt.test", "displayName": "Walt"},
                "record": {"$type": "app.bsky.feed.post", "text": "Hello from Walt.",
                           "createdAt": "2026-12-03T10:00:00.000Z"},
                "likeCount": number % 97, "repostCount": number % 13, "replyCount": number % 7,
                "quoteCount": number % 3, "indexedAt": "2026-12-03T10:00:01.000Z", "labels": []})
        return {"posts": posts}


def _uri(number: int) -> str:
    return f"at://did:plc:bench/app.bsky.feed.post/3k{number:010d}"


def seed(engine: Engine, posts: int, channels: int, published_at: datetime) -> dict[int, list[str]]:
    """Store `posts` published Bluesky deliveries over `channels` channels; return each channel's URIs."""
    world = make_world(engine, f"bench-{uuid.uuid4().hex[:6]}", kinds=(ChannelKind.BLUESKY,))
    with engine.begin() as connection:
        channel_ids = [world.channels[ChannelKind.BLUESKY]] + list(connection.execute(
            insert(Channel).returning(col(Channel.id), sort_by_parameter_order=True),
            [{"workspace_id": world.workspace_id, "character_id": world.character_id, "kind": "bluesky",
              "label": f"bench {number}", "settings": {"handle": f"walt{number}.test"}, "secret_token": "sealed",
              "created_at": published_at} for number in range(1, channels)]).scalars())
    uris: dict[int, list[str]] = defaultdict(list)
    for start in range(0, posts, CHUNK):
        numbers = range(start, min(posts, start + CHUNK))
        with engine.begin() as connection:
            post_ids = list(connection.execute(
                insert(Post).returning(col(Post.id), sort_by_parameter_order=True),
                [{"workspace_id": world.workspace_id, "character_id": world.character_id,
                  "author_id": world.author_id, "status": PostStatus.PUBLISHED.value, "version": 1,
                  "due_at": published_at, "published_at": published_at, "delay_minutes": 0, "check_findings": [],
                  "created_at": published_at, "updated_at": published_at} for _ in numbers]).scalars())
            rows = []
            for number, post_id in zip(numbers, post_ids, strict=True):
                channel_id = int(channel_ids[number % channels] or 0)
                uris[channel_id].append(_uri(number))
                rows.append({"post_id": post_id, "channel_id": channel_id, "status": DeliveryStatus.PUBLISHED.value,
                             "due_at": published_at, "published_at": published_at, "attempts": 1,
                             "idempotency_key": f"gr-{post_id}-v1-c{channel_id}",
                             "remote_refs": [{"id": _uri(number), "url": None, "extra": {"cid": "bafy"}}]})
            connection.execute(insert(Delivery), rows)
    return uris


@dataclass(frozen=True)
class Row:
    """One database and latency: the job's time beside the bare calls'."""

    database: str
    latency_ms: float
    posts: int
    calls: int
    refresh_s: float
    bare_s: float
    snapshots: int

    def line(self) -> str:
        ratio = self.refresh_s / self.bare_s if self.bare_s else float("inf")
        overhead_us = (self.refresh_s - self.bare_s) / self.posts * 1e6
        return (f"| {self.database} | {self.latency_ms:g} | {self.posts:,} | {self.calls:,} | {self.refresh_s:.2f} | "
                f"{self.bare_s:.2f} | {ratio:.2f}x | {overhead_us:.0f} | {self.refresh_s / self.posts * 1e6:.0f} | "
                f"{self.snapshots:,} |")


def measure(database: str, url: str, posts: int, channels: int, latency_ms: float) -> Row:
    """Seed a fresh dataset, then time the job's refresh and the bare batched calls."""
    engine = prepared_engine(url)
    try:
        now = utcnow()
        uris = seed(engine, posts, channels, now - timedelta(minutes=11))
        refresh_network = FakeAppview(latency_ms / 1000)
        collector = MetricsCollector(engine, [BlueskyMetrics(refresh_network)],
                                     read_secrets=lambda token: {"app_password": "bench"}, clock=utcnow)
        started = time.perf_counter()
        report = collector.cycle(max_seconds=3600)
        refresh_s = time.perf_counter() - started

        bare_network = FakeAppview(latency_ms / 1000)
        reader = BlueskyMetrics(bare_network)
        account = Account(channel_id=0, settings={"handle": "walt.test"}, secrets={"app_password": "bench"})
        started = time.perf_counter()
        read = 0
        for channel_uris in uris.values():
            for start in range(0, len(channel_uris), reader.batch_size):
                read += len(reader.read_posts(account, channel_uris[start:start + reader.batch_size]))
        bare_s = time.perf_counter() - started

        with engine.connect() as connection:
            stored = connection.execute(select(func.count()).select_from(EngagementSnapshot)).scalar_one()
            refreshed = connection.execute(select(func.count()).select_from(Delivery).where(
                col(Delivery.metrics_step) == 1)).scalar_one()
        if not (report.snapshots == stored == refreshed == read == posts):
            raise SystemExit(f"{database}: expected {posts} snapshots, got {report.snapshots} reported, {stored} "
                             f"stored, {refreshed} refreshed, {read} read bare")
        return Row(database, latency_ms, posts, report.calls, refresh_s, bare_s, stored)
    finally:
        engine.dispose()


def main(argv: list[str] | None = None) -> None:
    """Print the table: the refresh beside the bare batched calls, per database and simulated latency."""
    parser = argparse.ArgumentParser(prog="python -m bench.analytics_refresh_bench")
    parser.add_argument("--posts", type=int, default=10_000, help="published posts to refresh (default 10,000)")
    parser.add_argument("--channels", type=int, default=100, help="channels they are spread over (default 100)")
    parser.add_argument("--latency-ms", default="0,10", help="simulated latency per call, comma-separated")
    parser.add_argument("--databases", default="sqlite,postgresql", help="sqlite, postgresql or both")
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    latencies = [float(value) for value in args.latency_ms.split(",") if value.strip()]
    print(f"analytics refresh: {args.posts:,} published Bluesky posts over {args.channels} channels, each due for "
          "its first refresh; fake transport; bare = the same batched getPosts calls without the database; "
          f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores at the start\n")
    print("| database | latency ms/call | posts | getPosts calls | refresh s | bare s | refresh/bare | "
          "overhead µs/post | refresh µs/post | snapshots |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for database in [name.strip() for name in args.databases.split(",") if name.strip()]:
        for latency in latencies:
            if database == "sqlite":
                with tempfile.TemporaryDirectory(prefix="greenroom-analytics-") as folder:
                    row = measure(database, f"sqlite:///{folder}/bench.sqlite3", args.posts, args.channels, latency)
            else:
                with postgresql_database() as url:
                    row = measure(database, url, args.posts, args.channels, latency)
            print(row.line(), flush=True)


if __name__ == "__main__":
    main()
