"""Chaos benchmark against the real Bluesky PDS: SIGKILLed schedulers and a PDS outage, counted on the network.

Run: `.venv/bin/python -m bench.chaos_bench [--posts 300] [--spread-seconds 60] [--outage-seconds 20]`.
Two real scheduler processes (the production publishers, credentials and saved sessions) share a throwaway
PostgreSQL database; one of them is SIGKILLed and restarted every 3–5 s; the PDS (`tests/services/pds`, npm) is
stopped once for the outage and started again on its data; then the schedulers are left to finish. Afterwards every
record is read back with listRecords: duplicates are texts found twice, lost are deliveries marked published but not
on Bluesky, held are unconfirmed or missed deliveries, unsettled are still pending or publishing at the deadline.
Logins are the createSession requests the PDS answered.
"""

import argparse
import os
import shutil
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

from bench.scheduler_bench import postgresql_database, prepared_engine
from tests.scheduler.pds_chaos import ChaosResult, run_chaos
from tests.services.pds import running_pds

TARGETS = {"duplicates": 0, "lost": 0, "held_percent": 1.0}


def print_table(result: ChaosResult) -> None:
    """Print the run as one Markdown table row, then the targets and why anything was not published."""
    print("| posts | kills | outage s | published | duplicates | lost | held | held % | failed | unsettled | logins "
          "| seconds |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|")
    print(f"| {result.posts} | {result.kills} | {result.outage_seconds:.1f} | {result.published} | "
          f"{result.duplicates} | {result.lost} | {result.held} | {result.held_share:.1f} | {result.failed} | "
          f"{result.unsettled} | {result.logins} | {result.seconds:.0f} |")
    print(f"\ntargets: {TARGETS['duplicates']} duplicates, {TARGETS['lost']} lost, "
          f"held <= {TARGETS['held_percent']} %")
    for error, count in result.errors.most_common(5):
        print(f"- {count} not published: {error}")


def main(argv: Sequence[str] | None = None) -> None:
    """Run one chaos run against a fresh PDS and database and print its table."""
    parser = argparse.ArgumentParser(prog="python -m bench.chaos_bench")
    parser.add_argument("--posts", type=int, default=300, help="posts, one in five a two-part thread (default 300)")
    parser.add_argument("--spread-seconds", type=float, default=60.0, help="window the posts fall due in")
    parser.add_argument("--outage-at", type=float, default=20.0, help="seconds into the run the PDS stops")
    parser.add_argument("--outage-seconds", type=float, default=20.0, help="how long the PDS is down (default 20)")
    parser.add_argument("--processes", type=int, default=2, help="scheduler processes (default 2)")
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    folder = Path(tempfile.mkdtemp(prefix="greenroom-chaos-"))
    try:
        print(f"chaos against the real PDS: {args.processes} scheduler processes, a SIGKILL every 3-5 s, "
              f"{os.cpu_count()} CPUs\n", flush=True)
        (folder / "pds").mkdir()
        with running_pds(folder / "pds") as pds, postgresql_database() as url:
            engine = prepared_engine(url)
            try:
                result = run_chaos(engine, pds, folder, posts=args.posts, spread_seconds=args.spread_seconds,
                                   outage_at=args.outage_at, outage_seconds=args.outage_seconds,
                                   processes=args.processes, deadline_seconds=600,
                                   progress=lambda line: print(line, flush=True))
            finally:
                engine.dispose()
        print()
        print_table(result)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
