"""Consistency-checker benchmark: quality per canon size, and time per check with the model cached versus rebuilt.

Run: `.venv/bin/python -m bench.consistency_bench [DIR]` (default: the shared development set beside the repo).
Prints two Markdown tables: the eval numbers with each persona's canon cut to its first N posts (N = 5, 10, 20,
40), and the timing, where the comparison (a cold model per check) runs in the same process on the same posts.
"""

import json
import statistics
import sys
import time
from pathlib import Path

from characters.consistency import Checker
from characters.consistency.evaluation import evaluate_directory, load_card

DEFAULT_SET = Path(__file__).resolve().parents[1].parent / "shared" / "eval" / "consistency-dev"
CANON_SIZES = (5, 10, 20, 40)
COLD_SAMPLE = 40
RECALL_KINDS = ("cross", "generic", "tone", "anachronism")


def _percentile(samples: list[float], share: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def quality(directory: Path) -> list[str]:
    """Return one Markdown row per canon size: ROC-AUC, false alarms, voice recall and the median check time."""
    rows = []
    for canon in CANON_SIZES:
        report = evaluate_directory(directory, canon=canon)
        recall = report.recall()
        heldout = [o.flagged for o in report.outcomes if o.kind == "heldout"]
        cells = [
            str(canon),
            f"{report.roc_auc():.3f}",
            f"{report.false_alarm_rate():.1%} ({sum(heldout)}/{len(heldout)})",
            *(f"{recall[kind]:.2f}" if kind in recall else "-" for kind in RECALL_KINDS),
            f"{report.median_ms():.2f}",
        ]
        rows.append("| " + " | ".join(cells) + " |")
    return rows


def timing(directory: Path) -> list[tuple[str, list[float]]]:
    """Time every post warm (cached model) and a sample cold (a fresh checker per post).

    Warm checks are timed twice: wall clock, and the process's CPU time, which a machine shared with other
    work inflates far less (the wall clock there measures the queue for a core as much as the check).
    """
    cards = {path.stem: load_card(path) for path in sorted((directory / "personas").glob("*.json"))}
    posts = [json.loads(line) for line in (directory / "posts.jsonl").read_text().splitlines() if line.strip()]
    others = {slug: [c for other, c in cards.items() if other != slug] for slug in cards}
    keys = {slug: f"bench-{slug}" for slug in cards}
    other_keys = {slug: [keys[o] for o in cards if o != slug] for slug in cards}
    warm_checker = Checker()
    for slug, card in cards.items():
        warm_checker.check(card, card.name, others=others[slug], cache_key=keys[slug], other_keys=other_keys[slug])
    warm, warm_cpu, cold = [], [], []
    for post in posts:
        slug = post["persona"]
        started, started_cpu = time.perf_counter(), time.process_time()
        warm_checker.check(
            cards[slug], post["text"], others=others[slug], cache_key=keys[slug], other_keys=other_keys[slug]
        )
        warm.append((time.perf_counter() - started) * 1000)
        warm_cpu.append((time.process_time() - started_cpu) * 1000)
    for post in posts[:COLD_SAMPLE]:
        slug = post["persona"]
        started = time.perf_counter()
        Checker().check(
            cards[slug], post["text"], others=others[slug], cache_key=keys[slug], other_keys=other_keys[slug]
        )
        cold.append((time.perf_counter() - started) * 1000)
    return [
        ("check, model cached by bible version", warm),
        ("check, models rebuilt every time", cold),
        ("check, model cached, CPU time", warm_cpu),
    ]


def main() -> None:
    """Print both tables."""
    directory = Path(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT_SET
    print(f"consistency checker on {directory}, each persona's canon cut to its first N posts\n")
    print("| canon N | ROC-AUC | false alarms | " + " | ".join(f"{k} recall" for k in RECALL_KINDS) + " | median ms |")
    print("|---" * (4 + len(RECALL_KINDS)) + "|")
    print("\n".join(quality(directory)))
    rows = timing(directory)
    print("\ntiming with the full canon (target: median <= 2 ms with the model built)\n")
    print("| case | n | median ms | p95 ms |")
    print("|---|---|---|---|")
    for label, samples in rows:
        print(f"| {label} | {len(samples)} | {statistics.median(samples):.2f} | {_percentile(samples, 0.95):.2f} |")
    warm, cold = rows[0][1], rows[1][1]
    print(f"\ncaching the model makes a check {statistics.median(cold) / statistics.median(warm):.0f}x faster")


if __name__ == "__main__":
    main()
