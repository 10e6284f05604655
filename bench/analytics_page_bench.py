"""The analytics pages at 100,000 posts, built fresh on every request: read from the roll-up, then from the deliveries.

Run: `.venv/bin/python -m bench.analytics_page_bench [--databases sqlite,postgresql] [--requests 20]`, or
`--database-url URL --world FILE` to reuse a database `bench.web_bench`'s builders filled (the file holds the
world's JSON). For each database it serves the app (`bench.web_bench.server`), and for each page times sequential
requests with the report cache defeated (an engagement snapshot far in the past is added before each request, so
the numbers' stamp changes and the report is built again, as after every collector run), alternately with the
workspace's roll-up marked built and not (the page then reads every delivery of the period, as before the
roll-up), two rounds each, with the sign-in page (the cheapest route) in the same run. It prints p50/p95, the
server's CPU time per request and the SQL statements of the last request.
"""

import argparse
import json
import os
import statistics
import tempfile
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import delete, insert, select
from sqlalchemy.engine import Engine
from sqlmodel import col

from bench.analytics_data import add_snapshots
from bench.scheduler_bench import postgresql_database
from bench.web_bench import (
    World,
    build_posts,
    seed_workspace,
    sequential,
    server,
)
from characters.analytics.rollup import BUILT
from characters.core.db import make_engine
from characters.core.migrations import upgrade_database
from characters.core.models import Delivery, EngagementSnapshot, RollupZone, Workspace
from tests.services.ports import free_port

LONG_AGO = datetime(2000, 1, 1, tzinfo=UTC)


def pages(world: World) -> dict[str, str]:
    """Return the pages measured: the cheapest route, then the workspace's and a character's for each period."""
    w = f"/w/{world.slug}/analytics"
    found = {"cheapest (sign-in page)": "/login"}
    for period in ("30d", "90d", "365d"):
        found[f"workspace, {period}"] = f"{w}/?period={period}"
    for period in ("30d", "365d"):
        found[f"a character, {period}"] = f"{w}/characters/{world.character_slug}?period={period}"
    return found


def _mark(engine: Engine, workspace_id: int, built: bool) -> None:
    """Mark the workspace's roll-up built (the pages read it) or not (they read deliveries)."""
    with engine.begin() as connection:
        connection.execute(delete(RollupZone).where(col(RollupZone.workspace_id) == workspace_id,
                                                    col(RollupZone.character_id) == BUILT))
        if built:
            connection.execute(insert(RollupZone).values(workspace_id=workspace_id, character_id=BUILT, zone=""))


def _bump(engine: Engine, delivery_id: int) -> None:
    """Add a snapshot dated long ago: the numbers' stamp changes (so the report is built again), no number does."""
    with engine.begin() as connection:
        connection.execute(insert(EngagementSnapshot).values(delivery_id=delivery_id, taken_at=LONG_AGO))


def measure(engine: Engine, base: str, pid: int, world: World, path: str, count: int, delivery_id: int
            ) -> tuple[float, float, float, int]:
    """Return p50, p95 (ms), server CPU ms per request and the SQL statements of `count` fresh requests."""
    errors: list[str] = []
    latencies, cpu_ms, statements = sequential(base, pid, world, path, count, errors,
                                               before_each=lambda: _bump(engine, delivery_id))
    if errors:
        raise SystemExit(errors[0])
    return statistics.median(latencies), latencies[int(0.95 * (len(latencies) - 1))], cpu_ms, statements


def run(database: str, url: str, world: World, count: int) -> None:
    """Measure one database's pages, alternately from the roll-up and from the deliveries."""
    engine = make_engine(url)
    with engine.connect() as connection:
        workspace_id = connection.execute(select(col(Workspace.id)).where(col(Workspace.slug) == world.slug)
                                          ).scalar_one()
        delivery_id = connection.execute(select(col(Delivery.id)).limit(1)).scalar_one()
    results: dict[tuple[str, str], list[tuple[float, float, float, int]]] = {}
    with server(url, free_port()) as (base, pid):
        for _ in range(2):
            for mode in ("roll-up", "deliveries"):
                _mark(engine, workspace_id, mode == "roll-up")
                for name, path in pages(world).items():
                    results.setdefault((name, mode), []).append(
                        measure(engine, base, pid, world, path, count, delivery_id))
    _mark(engine, workspace_id, True)
    load = os.getloadavg()
    print(f"\n### {database} ({count} fresh requests a page and mode, two rounds alternating; load average "
          f"{load[0]:.1f} / {load[1]:.1f} / {load[2]:.1f} on {os.cpu_count()} cores)\n")
    print("| page | read from | p50 ms | p95 ms | server CPU ms/request | SQL statements |")
    print("|---|---|---:|---:|---:|---:|")
    for (name, mode), runs in results.items():
        if name.startswith("cheapest") and mode != "roll-up":
            continue
        p50 = statistics.median(run[0] for run in runs)
        p95 = max(run[1] for run in runs)
        cpu = statistics.median(run[2] for run in runs)
        print(f"| {name} | {'–' if name.startswith('cheapest') else mode} | {p50:.0f} | {p95:.0f} | {cpu:.1f} "
              f"| {runs[-1][3]} |")
    engine.dispose()


def build(url: str, posts: int) -> World:
    """Fill a database as `bench.web_bench` does (the roll-up is built by `add_snapshots`)."""
    engine = make_engine(url)
    upgrade_database(engine)
    world, ids = seed_workspace(engine)
    build_posts(engine, world, ids, posts)
    add_snapshots(engine, workspace_id=ids["workspace"])
    engine.dispose()
    return world


def main() -> None:
    """Build (or reuse) each database and measure it."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--posts", type=int, default=100_000)
    parser.add_argument("--requests", type=int, default=20)
    parser.add_argument("--databases", default="sqlite,postgresql")
    parser.add_argument("--database-url", help="reuse this database (with --world)")
    parser.add_argument("--world", type=Path, help="the world's JSON for --database-url")
    args = parser.parse_args()
    if args.database_url:
        fields = json.loads(args.world.read_text())
        world = World(**{name: value for name, value in fields.items() if name in World.__dataclass_fields__
                         and name not in ("busiest_month", "busiest_week")})
        run(args.database_url.split(":", 1)[0].split("+")[0], args.database_url, world, args.requests)
        return
    for database in args.databases.split(","):
        if database == "sqlite":
            with tempfile.TemporaryDirectory(prefix="greenroom-analytics-bench-") as folder:
                url = f"sqlite:///{folder}/bench.sqlite3"
                run(database, url, build(url, args.posts), args.requests)
        else:
            with postgresql_database() as url:
                run(database, url, build(url, args.posts), args.requests)


if __name__ == "__main__":
    main()
