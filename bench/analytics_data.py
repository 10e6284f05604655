"""Engagement data for the benchmarks: snapshots and latest numbers for the published deliveries already in a database.

`add_snapshots(engine)` works on any database the product's tables are in, e.g. after `bench.web_bench`'s
`seed_workspace` and `build_posts`: every published delivery gets one snapshot per schedule point it has passed
(10 min ... 30 days, as the metrics job would have stored them), its latest numbers and schedule step, and every
Bluesky/Mastodon/feed channel of those deliveries a daily follower count since its first post; then the workspaces'
analytics roll-up is built from those numbers. Numbers are repeatable for a seed and have a shape worth charting:
some characters are more popular, posts at 7-10 pm in the character's own zone do better, and counts grow along the
schedule.
"""

import random
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import bindparam, insert, select, text, update
from sqlalchemy.engine import Connection, Engine
from sqlmodel import col

from characters.analytics.collect import SCHEDULE, next_due
from characters.analytics.rollup import rebuild
from characters.core.models import (
    Character,
    CharacterVersion,
    Delivery,
    DeliveryStatus,
    EngagementSnapshot,
    FollowerSnapshot,
    Post,
)

CHUNK = 5_000
# The share of a post's final numbers reached at each schedule point.
GROWTH = (0.15, 0.4, 0.75, 0.9, 0.98, 1.0)
_UPDATE = update(Delivery).where(col(Delivery.id) == bindparam("b_id")).values(
    likes=bindparam("b_likes"), reposts=bindparam("b_reposts"), replies=bindparam("b_replies"),
    quotes=bindparam("b_quotes"), metrics_at=bindparam("b_at"), metrics_step=bindparam("b_step"),
    metrics_due_at=bindparam("b_due"))


@dataclass(frozen=True)
class AnalyticsData:
    """What `add_snapshots` wrote, and how long it took."""

    deliveries: int
    snapshots: int
    follower_snapshots: int
    seconds: float


def _zones(connection: Connection) -> dict[int, ZoneInfo]:
    """Return each character's zone from its current bible (UTC when it names none or an unknown one)."""
    rows = connection.execute(
        select(col(Character.id), col(CharacterVersion.card))
        .join(CharacterVersion, (col(CharacterVersion.character_id) == col(Character.id))
              & (col(CharacterVersion.number) == col(Character.current_version))))
    zones: dict[int, ZoneInfo] = {}
    for character_id, card in rows:
        name = ((card or {}).get("extensions") or {}).get("greenroom", {}).get("timezone") or "UTC"
        try:
            zones[character_id] = ZoneInfo(str(name))
        except (ZoneInfoNotFoundError, ValueError):
            zones[character_id] = ZoneInfo("UTC")
    return zones


def _published(connection: Connection, workspace_id: int | None) -> Iterator[list[Any]]:
    """Yield the published deliveries (id, published_at, character, channel, workspace) in chunks, oldest id first."""
    last = 0
    while True:
        statement = (select(col(Delivery.id), col(Delivery.published_at), col(Post.character_id),
                            col(Delivery.channel_id), col(Post.workspace_id))
                     .join(Post, col(Post.id) == col(Delivery.post_id))
                     .where(col(Delivery.status) == DeliveryStatus.PUBLISHED.value,
                            col(Delivery.published_at).is_not(None), col(Delivery.id) > last)
                     .order_by(col(Delivery.id)).limit(CHUNK))
        if workspace_id is not None:
            statement = statement.where(col(Post.workspace_id) == workspace_id)
        rows = list(connection.execute(statement))
        if not rows:
            return
        yield rows
        last = int(rows[-1][0] or 0)


def add_snapshots(engine: Engine, *, workspace_id: int | None = None, seed: int = 7, now: datetime | None = None,
                  followers_every: timedelta = timedelta(days=1)) -> AnalyticsData:
    """Give every published delivery (of one workspace, or all) its snapshots, latest numbers and schedule step."""
    started = time.perf_counter()
    rng = random.Random(seed)
    now = now or datetime.now(UTC)
    deliveries = snapshots = 0
    channel_since: dict[int, datetime] = {}
    workspaces_written: set[int] = set()
    with engine.begin() as connection:
        zones = _zones(connection)
        popularity: dict[int, float] = {}
        for chunk in _published(connection, workspace_id):
            rows: list[dict[str, Any]] = []
            latest: list[dict[str, Any]] = []
            for delivery_id, published_at, character_id, channel_id, workspace in chunk:
                workspaces_written.add(workspace)
                if character_id not in popularity:
                    popularity[character_id] = rng.lognormvariate(0, 0.8)
                local_hour = published_at.astimezone(zones.get(character_id, ZoneInfo("UTC"))).hour
                boost = 2.0 if 19 <= local_hour <= 22 else 0.5 if local_hour < 7 else 1.0
                final = popularity[character_id] * boost * rng.lognormvariate(2.0, 0.9)
                counts = (0, 0, 0, 0)
                taken = None
                for offset, share in zip(SCHEDULE, GROWTH, strict=True):
                    taken_at = published_at + offset + timedelta(seconds=rng.randrange(0, 90))
                    if taken_at > now:
                        break
                    counts = (round(final * share), round(final * share * 0.25), round(final * share * 0.12),
                              round(final * share * 0.04))
                    taken = taken_at
                    rows.append({"delivery_id": delivery_id, "taken_at": taken_at, "likes": counts[0],
                                 "reposts": counts[1], "replies": counts[2], "quotes": counts[3]})
                step, due = next_due(published_at, taken) if taken is not None else (0, None)
                latest.append({"b_id": delivery_id, "b_likes": counts[0], "b_reposts": counts[1],
                               "b_replies": counts[2], "b_quotes": counts[3], "b_at": taken,
                               "b_step": step if taken is not None else 0,
                               "b_due": due if taken is not None else None})
                if channel_id is not None:
                    channel_since[channel_id] = min(channel_since.get(channel_id, published_at), published_at)
            _write(connection, rows, latest)
            deliveries += len(chunk)
            snapshots += len(rows)
        follower_rows = _followers(connection, channel_since, rng, now, followers_every)
    # The numbers were written around the collector, so the roll-up is built from them, as `greenroom analytics
    # rebuild` would.
    for workspace in workspaces_written:
        rebuild(engine, workspace)
    return AnalyticsData(deliveries=deliveries, snapshots=snapshots, follower_snapshots=follower_rows,
                         seconds=time.perf_counter() - started)


# PostgreSQL: one statement over arrays each (executemany costs a statement per row there).
_PG_INSERT = text(
    "INSERT INTO engagementsnapshot (delivery_id, taken_at, likes, reposts, replies, quotes) SELECT * FROM unnest("
    "CAST(:ids AS integer[]), CAST(:at AS timestamptz[]), CAST(:likes AS integer[]), CAST(:reposts AS integer[]), "
    "CAST(:replies AS integer[]), CAST(:quotes AS integer[]))")
_PG_UPDATE = text(
    "UPDATE delivery SET likes = v.likes, reposts = v.reposts, replies = v.replies, quotes = v.quotes, "
    "metrics_at = v.at, metrics_step = v.step, metrics_due_at = v.due FROM unnest("
    "CAST(:ids AS integer[]), CAST(:at AS timestamptz[]), CAST(:likes AS integer[]), CAST(:reposts AS integer[]), "
    "CAST(:replies AS integer[]), CAST(:quotes AS integer[]), CAST(:steps AS integer[]), "
    "CAST(:dues AS timestamptz[])) AS v(id, at, likes, reposts, replies, quotes, step, due) WHERE delivery.id = v.id")


def _write(connection: Connection, rows: list[dict[str, Any]], latest: list[dict[str, Any]]) -> None:
    """Insert a chunk's snapshots and set its deliveries' latest numbers and schedule."""
    if connection.dialect.name != "postgresql":
        if rows:
            connection.execute(insert(EngagementSnapshot), rows)
        connection.execute(_UPDATE, latest)
        return
    if rows:
        connection.execute(_PG_INSERT, {
            "ids": [row["delivery_id"] for row in rows], "at": [row["taken_at"] for row in rows],
            **{name: [row[name] for row in rows] for name in ("likes", "reposts", "replies", "quotes")}})
    connection.execute(_PG_UPDATE, {
        "ids": [row["b_id"] for row in latest], "at": [row["b_at"] for row in latest],
        "steps": [row["b_step"] for row in latest], "dues": [row["b_due"] for row in latest],
        **{name: [row[f"b_{name}"] for row in latest] for name in ("likes", "reposts", "replies", "quotes")}})


def _followers(connection: Connection, since: dict[int, datetime], rng: random.Random, now: datetime,
               every: timedelta) -> int:
    """Add a growing follower count per channel, one every `every` from its first published post until now."""
    rows: list[dict[str, Any]] = []
    written = 0
    for channel_id, first in sorted(since.items()):
        followers = rng.randrange(50, 500)
        moment = first
        while moment <= now:
            rows.append({"channel_id": channel_id, "taken_at": moment, "followers": followers})
            followers = max(0, followers + round(rng.gauss(3, 4)))
            moment += every
        if len(rows) >= CHUNK:
            connection.execute(insert(FollowerSnapshot), rows)
            written += len(rows)
            rows = []
    if rows:
        connection.execute(insert(FollowerSnapshot), rows)
        written += len(rows)
    return written

