"""Measure drafting against a model: shipped briefs and audience messages through the product's own jobs.

`greenroom eval drafting` runs each brief (and each audience message, as a reply) of the chosen characters through
`generate_job`/`reply_job` and `run_job`, exactly as the drafting panel does, and records every variant: whether it
was produced, how the check judged it before and after repair, meta-talk, canon copies, whether it stayed on brief,
latency and tokens. The summary's metrics are what a user compares between their models.
"""

import json
import statistics
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field, replace
from importlib import resources
from pathlib import Path
from typing import Any

import regex

from characters.bibles.card_data import CardData
from characters.consistency.evaluation import load_card
from characters.consistency.guards import copy_findings, meta_findings, strip_framing
from characters.drafting.jobs import DraftJob, collect, generate_job, reply_job, run_job
from characters.llm.adapter import LanguageModel

DATA_FILE = "eval_briefs.json"
ANY = "any"  # the brief set for characters without their own
MALFORMED_KINDS = frozenset({"malformed_json", "schema"})
# Fails a deterministic fix can always repair (length, hashtags, emoji, links, banned and era terms): a variant
# whose first fails are all of these is a "repairable fail".
REPAIRABLE = ("format.", "vocabulary.banned", "era.")
META_CHECKS = ("character.break", "character.meta")


@dataclass(frozen=True, slots=True)
class Brief:
    """One writing task: a brief to draft from, or an audience message to reply to, with its key terms."""

    kind: str  # "generate" or "reply"
    text: str
    terms: tuple[str, ...]


def load_briefs(slug: str, path: Path | None = None) -> list[Brief]:
    """Return the shipped briefs and audience messages for a character slug (the generic set for others)."""
    raw = path.read_text(encoding="utf-8") if path else resources.files(__package__).joinpath(DATA_FILE).read_text()
    data = json.loads(raw)
    briefs = data["briefs"].get(slug) or data["briefs"][ANY]
    audience = data["audience"].get(slug) or data["audience"][ANY]
    return [Brief("generate", b["text"], tuple(b["terms"])) for b in briefs] + [
        Brief("reply", a["text"], tuple(a["terms"])) for a in audience
    ]


def on_brief(text: str, terms: Sequence[str]) -> bool:
    """Return whether any key term appears in the text (as a word or the start of one, any case)."""
    return any(regex.search(rf"(?<!\w){regex.escape(term)}", text, regex.IGNORECASE) for term in terms)


@dataclass(frozen=True, slots=True)
class VariantRecord:
    """One variant of one job, as the eval saw it."""

    character: str
    kind: str
    brief: str
    variant: int
    produced: bool
    error: str | None = None
    text: str = ""
    first_verdict: str | None = None
    final_verdict: str | None = None
    repaired: bool = False
    repairable: bool = False  # the first attempt failed only on rules a repair can always fix
    first_fails: tuple[str, ...] = ()
    final_fails: tuple[str, ...] = ()
    meta_talk: bool = False
    canon_copy: bool = False
    off_brief: bool = False
    duplicate: bool = False
    latency_ms: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0


@dataclass(frozen=True, slots=True)
class JobRecord:
    """One job (a brief or an audience message for one character): its variants and its wall time."""

    character: str
    kind: str
    brief: str
    wall_ms: int
    prompt_tokens_estimated: int
    dropped: tuple[str, ...]
    variants: tuple[VariantRecord, ...]


def _fails(check: dict[str, Any]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(f["check"] for f in check["findings"] if f["severity"] == "fail"))


def has_meta_talk(text: str, check: dict[str, Any]) -> bool:
    """Return whether a shown text still carries framing or meta-talk (a reader sees an assistant, not a character)."""
    if strip_framing(text).removed or meta_findings(text):
        return True
    return any(f["check"].startswith(META_CHECKS) for f in check["findings"])


def _variant_record(card: CardData, slug: str, brief: Brief, data: dict[str, Any], seen: set[str]) -> VariantRecord:
    text = data["text"]
    first = data["before_repair"]["check"] if data["repaired"] else data["check"]
    first_fails = _fails(first)
    key = " ".join(text.lower().split())
    duplicate = key in seen
    seen.add(key)
    return VariantRecord(
        character=slug,
        kind=brief.kind,
        brief=brief.text,
        variant=data["variant"],
        produced=True,
        text=text,
        first_verdict=first["verdict"],
        final_verdict=data["check"]["verdict"],
        repaired=bool(data["repaired"]),
        repairable=bool(first_fails) and all(check.startswith(REPAIRABLE) for check in first_fails),
        first_fails=first_fails,
        final_fails=_fails(data["check"]),
        meta_talk=has_meta_talk(text, data["check"]),
        canon_copy=bool(copy_findings(text, card.greenroom.canon_posts)),
        off_brief=not on_brief(text, brief.terms),
        duplicate=duplicate,
        latency_ms=int(data["latency_ms"]),
        prompt_tokens=int(data["prompt_tokens"] or 0),
        completion_tokens=int(data["completion_tokens"] or 0),
    )


def run_brief(model: LanguageModel, card: CardData, slug: str, brief: Brief, job: DraftJob) -> JobRecord:
    """Run one job through the product's drafting path and record each variant."""
    answer = collect(run_job(model, job, stream=True))
    seen: set[str] = set()
    records = [_variant_record(card, slug, brief, data, seen) for data in answer["variants"]]
    errors = answer["errors"] + ([answer["error"]] if answer["error"] else [])
    records += [
        VariantRecord(slug, brief.kind, brief.text, int(e.get("variant") or 0), False, f"{e['kind']}: {e['message']}")
        for e in errors
    ]
    prompt = answer["prompt"] or {}
    return JobRecord(
        slug,
        brief.kind,
        brief.text,
        int(answer.get("done", {}).get("elapsed_ms", 0)),
        int(prompt.get("tokens", 0)),
        tuple(prompt.get("dropped", ())),
        tuple(sorted(records, key=lambda r: r.variant)),
    )


@dataclass
class DraftingEval:
    """The records of one eval run and the summary computed from them."""

    model: str
    jobs: list[JobRecord] = field(default_factory=list)

    @property
    def variants(self) -> list[VariantRecord]:
        """Return every variant record of every job."""
        return [variant for job in self.jobs for variant in job.variants]

    def summary(self) -> dict[str, Any]:
        """Return the metrics: counts, rates over produced variants, job latency percentiles, tokens."""
        records = self.variants
        produced = [r for r in records if r.produced]
        repairable = [r for r in produced if r.repairable]
        walls = sorted(job.wall_ms for job in self.jobs)

        def rate(part: Iterable[VariantRecord], whole: Sequence[VariantRecord] = produced) -> float | None:
            return round(sum(1 for _ in part) / len(whole), 3) if whole else None

        return {
            "model": self.model,
            "jobs": len(self.jobs),
            "requested": len(records),
            "produced": len(produced),
            "malformed": sum(1 for r in records if r.error and r.error.split(":")[0] in MALFORMED_KINDS),
            "errors": sum(1 for r in records if not r.produced),
            "pass_first_try": rate(r for r in produced if r.first_verdict != "fail"),
            "pass_after_repair": rate(r for r in produced if r.final_verdict != "fail"),
            "repairable_fails": len(repairable),
            "repair_success_rate": rate((r for r in repairable if r.final_verdict != "fail"), repairable),
            "meta_talk_rate": rate(r for r in produced if r.meta_talk),
            "canon_copy_rate": rate(r for r in produced if r.canon_copy),
            "off_brief_rate": rate(r for r in produced if r.off_brief),
            "duplicate_rate": rate(r for r in produced if r.duplicate),
            "latency_p50_ms": _percentile(walls, 50),
            "latency_p90_ms": _percentile(walls, 90),
            "prompt_tokens": sum(r.prompt_tokens for r in produced),
            "completion_tokens": sum(r.completion_tokens for r in produced),
            "prompt_tokens_per_job_p50": _percentile(sorted(j.prompt_tokens_estimated for j in self.jobs), 50),
        }

    def table(self) -> str:
        """Return a per-character table and the totals, in Markdown."""
        lines = [
            "| character | variants | produced | pass first | pass after repair | meta-talk | canon copy "
            "| off brief | job p50 s |",
            "|---|---|---|---|---|---|---|---|---|",
        ]
        groups: dict[str, list[JobRecord]] = {}
        for job in self.jobs:
            groups.setdefault(job.character, []).append(job)
        for name, jobs in [*groups.items(), ("all", self.jobs)]:
            part = DraftingEval(self.model, jobs).summary()
            lines.append(
                f"| {name} | {part['requested']} | {part['produced']} | {_pct(part['pass_first_try'])} "
                f"| {_pct(part['pass_after_repair'])} | {_pct(part['meta_talk_rate'])} "
                f"| {_pct(part['canon_copy_rate'])} | {_pct(part['off_brief_rate'])} "
                f"| {(part['latency_p50_ms'] or 0) / 1000:.1f} |"
            )
        return "\n".join(lines)


def _percentile(values: Sequence[int], q: int) -> int | None:
    if not values:
        return None
    if len(values) == 1:
        return values[0]
    return int(statistics.quantiles(values, n=100, method="inclusive")[q - 1])


def _pct(value: float | None) -> str:
    return "–" if value is None else f"{value * 100:.0f} %"


def run_eval(
    model: LanguageModel,
    cards: Sequence[tuple[str, CardData]],
    *,
    n: int = 3,
    limit: int | None = None,
    seed: int = 1,
    budget: int | None = None,
    out: Path | None = None,
    progress: Callable[[JobRecord], None] | None = None,
    one_call: bool = False,
) -> DraftingEval:
    """Run every shipped brief (at most `limit` per character) for each (slug, card); write records to `out`."""
    result = DraftingEval(model.model_name)
    with out.open("w", encoding="utf-8") if out else _Discard() as sink:
        for slug, card in cards:
            for number, brief in enumerate(load_briefs(slug)[:limit]):
                job = replace(_job(card, brief, n=n, seed=seed + 10 * number, budget=budget), one_call=one_call)
                record = run_brief(model, card, slug, brief, job)
                result.jobs.append(record)
                for variant in record.variants:
                    sink.write(json.dumps(asdict(variant), ensure_ascii=False) + "\n")
                if progress is not None:
                    progress(record)
    return result


def _job(card: CardData, brief: Brief, *, n: int, seed: int, budget: int | None) -> DraftJob:
    options: dict[str, Any] = {"seed": seed, **({"budget": budget} if budget else {})}
    if brief.kind == "reply":
        return reply_job(card, brief.text, n=n, **options)
    return generate_job(card, brief.text, n=n, **options)


class _Discard:
    """A sink that drops records (no --out file)."""

    def __enter__(self) -> "_Discard":
        return self

    def __exit__(self, *_: object) -> None:
        return None

    def write(self, _: str) -> int:
        return 0


def eval_cards(paths: Sequence[Path]) -> list[tuple[str, CardData]]:
    """Return (slug, card) for the given card files; the slug (the file's stem) picks the shipped brief set."""
    return [(path.stem, load_card(path)) for path in paths]
