"""Measure the checker on a labelled directory (personas/*.json + posts.jsonl, as shared/eval/consistency-dev)."""

import argparse
import json
import math
import statistics
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sklearn.metrics import roc_auc_score

from characters.bibles.card_data import CardData
from characters.consistency.checker import Checker, card_key
from characters.consistency.result import CheckResult

IN_LABEL = "in"
HELDOUT_KIND = "heldout"


@dataclass(frozen=True, slots=True)
class Outcome:
    """The checker's answer for one labelled post (the label and kind are used only here, to score)."""

    persona: str
    kind: str
    label: str
    score: int
    flagged: bool
    ms: float


@dataclass(frozen=True, slots=True)
class EvalReport:
    """The outcomes of a run and the numbers the targets are stated in."""

    directory: str
    outcomes: tuple[Outcome, ...]
    canon: int | None = None  # each persona's canon cut to its first N posts; None = all of it

    def roc_auc(self, persona: str | None = None) -> float:
        """Return the ROC-AUC of the score with `in` as the positive class (NaN if one class is missing)."""
        chosen = [o for o in self.outcomes if persona is None or o.persona == persona]
        labels = [o.label == IN_LABEL for o in chosen]
        if len(set(labels)) < 2:
            return math.nan
        return float(roc_auc_score(labels, [o.score for o in chosen]))

    def recall(self) -> dict[str, float]:
        """Return, per out-kind, the share of its posts whose verdict is fail."""
        kinds = sorted({o.kind for o in self.outcomes if o.label != IN_LABEL})
        return {kind: _share([o.flagged for o in self.outcomes if o.kind == kind]) for kind in kinds}

    def false_alarm_rate(self) -> float:
        """Return the share of held-out in-voice posts whose verdict is fail."""
        return _share([o.flagged for o in self.outcomes if o.kind == HELDOUT_KIND])

    def median_ms(self) -> float:
        """Return the median wall-clock time of a check per post, models already built."""
        return statistics.median(o.ms for o in self.outcomes) if self.outcomes else math.nan

    def summary(self) -> dict[str, Any]:
        """Return the headline numbers as plain JSON types."""
        return {
            "roc_auc": _rounded(self.roc_auc()),
            "recall": {kind: _rounded(value) for kind, value in self.recall().items()},
            "false_alarm_rate": _rounded(self.false_alarm_rate()),
            "median_ms": _rounded(self.median_ms()),
            "n": len(self.outcomes),
        }

    def table(self) -> str:
        """Return a plain-text table: ROC-AUC and false alarms overall and per persona, recall per kind, timing."""
        personas = sorted({o.persona for o in self.outcomes})
        cut = "" if self.canon is None else f", canon cut to {self.canon} posts"
        lines = [f"consistency eval: {self.directory} ({len(self.outcomes)} posts, {len(personas)} personas{cut})", ""]
        lines.append(f"{'persona':<24}{'ROC-AUC':>9}{'false alarms':>16}{'posts':>8}")
        for persona in [None, *personas]:
            chosen = [o for o in self.outcomes if persona is None or o.persona == persona]
            heldout = [o.flagged for o in chosen if o.kind == HELDOUT_KIND]
            alarms = f"{_share(heldout):.1%} ({sum(heldout)}/{len(heldout)})"
            lines.append(f"{persona or 'overall':<24}{self.roc_auc(persona):>9.3f}{alarms:>16}{len(chosen):>8}")
        lines += ["", f"{'recall by kind':<24}{'flagged':>9}{'posts':>8}"]
        for kind, value in self.recall().items():
            count = sum(o.flagged for o in self.outcomes if o.kind == kind)
            total = sum(o.kind == kind for o in self.outcomes)
            lines.append(f"{kind:<24}{value:>9.2f}{f'{count}/{total}':>8}")
        lines += ["", f"median check time: {self.median_ms():.2f} ms per post (models built)"]
        return "\n".join(lines)


def _share(flags: Sequence[bool]) -> float:
    """Return the share of True values (NaN for none)."""
    return sum(flags) / len(flags) if flags else math.nan


def _rounded(value: float) -> float:
    """Round for the summary, keeping NaN."""
    return value if math.isnan(value) else round(value, 4)


def load_card(path: Path) -> CardData:
    """Read a card file: a V2/V3 card (`data` object) or a flat V1 card."""
    raw = json.loads(path.read_text(encoding="utf-8"))
    return CardData.model_validate(raw.get("data", raw) if isinstance(raw, dict) else raw)


def cut_canon(card: CardData, canon: int) -> CardData:
    """Return the card with only its first `canon` canon posts (as a newer character with less canon would have)."""
    if canon < 0:
        raise ValueError(f"canon must be 0 or more posts, not {canon}")
    greenroom = card.greenroom
    return card.with_greenroom(greenroom.model_copy(update={"canon_posts": greenroom.canon_posts[:canon]}))


def evaluate_directory(path: Path, *, checker: Checker | None = None, canon: int | None = None) -> EvalReport:
    """Check every post of the directory with its persona's card, the other personas standing for the workspace.

    `canon` cuts every persona's canon to its first N posts (None keeps them all).
    """
    cards = {card_path.stem: load_card(card_path) for card_path in sorted((path / "personas").glob("*.json"))}
    if canon is not None:
        cards = {slug: cut_canon(card, canon) for slug, card in cards.items()}
    posts = [
        json.loads(line) for line in (path / "posts.jsonl").read_text(encoding="utf-8").splitlines() if line.strip()
    ]
    checker = checker or Checker(maxsize=max(8, 2 * len(cards)))
    keys = {slug: card_key(card) for slug, card in cards.items()}  # what a running app has: bible version ids
    others = {slug: [c for other, c in cards.items() if other != slug] for slug in cards}
    other_keys = {slug: [k for other, k in keys.items() if other != slug] for slug in cards}

    def check(slug: str, text: str) -> CheckResult:
        """Check a text as the running app would, with bible version keys."""
        return checker.check(cards[slug], text, others=others[slug], cache_key=keys[slug], other_keys=other_keys[slug])

    for slug, card in cards.items():
        check(slug, card.first_mes or card.name)  # build every model and pair calibration before timing
    outcomes = []
    for post in posts:
        slug = post["persona"]
        if slug not in cards:
            raise ValueError(f"posts.jsonl names persona {slug!r} but personas/{slug}.json does not exist")
        started = time.perf_counter()
        result = check(slug, post["text"])
        elapsed = (time.perf_counter() - started) * 1000
        outcomes.append(Outcome(slug, post["kind"], post["label"], result.score, result.failed, elapsed))
    return EvalReport(str(path), tuple(outcomes), canon)


def main(argv: Sequence[str] | None = None) -> int:
    """Print the table and then the summary as JSON on the last line."""
    parser = argparse.ArgumentParser(prog="python -m characters.consistency.evaluation")
    parser.add_argument("directory", type=Path)
    parser.add_argument("--canon", type=int, default=None, help="cut each persona's canon to its first N posts")
    try:
        args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    except SystemExit as exit_:
        return int(exit_.code or 0)
    if args.canon is not None and args.canon < 0:
        print(f"--canon must be 0 or more, not {args.canon}", file=sys.stderr)
        return 2
    report = evaluate_directory(args.directory, canon=args.canon)
    print(report.table())
    print(json.dumps(report.summary()))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
