"""Consistency-checker benchmark: time per check with the character's model cached versus rebuilt each time.

Run: `.venv/bin/python -m bench.consistency_bench [DIR]` (default: the shared development set beside the repo).
Prints a Markdown table; the comparison (cold model per check) runs in the same process on the same posts.
"""

import json
import statistics
import sys
import time
from pathlib import Path

from characters.consistency import Checker
from characters.consistency.evaluation import load_card

DEFAULT_SET = Path(__file__).resolve().parents[1].parent / "shared" / "eval" / "consistency-dev"
COLD_SAMPLE = 40


def _percentile(samples: list[float], share: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def run(directory: Path) -> list[tuple[str, list[float]]]:
    """Time every post warm (cached model) and a sample cold (a fresh checker per post)."""
    cards = {path.stem: load_card(path) for path in sorted((directory / "personas").glob("*.json"))}
    posts = [json.loads(line) for line in (directory / "posts.jsonl").read_text().splitlines() if line.strip()]
    others = {slug: [c for other, c in cards.items() if other != slug] for slug in cards}
    keys = {slug: f"bench-{slug}" for slug in cards}
    other_keys = {slug: [keys[o] for o in cards if o != slug] for slug in cards}
    warm_checker = Checker()
    for slug, card in cards.items():
        warm_checker.check(card, card.name, others=others[slug], cache_key=keys[slug], other_keys=other_keys[slug])
    warm, cold = [], []
    for post in posts:
        slug = post["persona"]
        started = time.perf_counter()
        warm_checker.check(cards[slug], post["text"], others=others[slug], cache_key=keys[slug],
                           other_keys=other_keys[slug])
        warm.append((time.perf_counter() - started) * 1000)
    for post in posts[:COLD_SAMPLE]:
        slug = post["persona"]
        started = time.perf_counter()
        Checker().check(cards[slug], post["text"], others=others[slug], cache_key=keys[slug],
                        other_keys=other_keys[slug])
        cold.append((time.perf_counter() - started) * 1000)
    return [("check, model cached by bible version", warm), ("check, models rebuilt every time", cold)]


def main() -> None:
    """Print the table."""
    directory = Path(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT_SET
    rows = run(directory)
    print(f"consistency check timing on {directory} (target: median <= 2 ms with the model built)\n")
    print("| case | n | median ms | p95 ms |")
    print("|---|---|---|---|")
    for label, samples in rows:
        print(f"| {label} | {len(samples)} | {statistics.median(samples):.2f} | {_percentile(samples, 0.95):.2f} |")
    warm, cold = rows[0][1], rows[1][1]
    print(f"\ncaching the model makes a check {statistics.median(cold) / statistics.median(warm):.0f}x faster")


if __name__ == "__main__":
    main()
