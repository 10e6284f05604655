"""Prompt assembly: order, lore activation, macros, the token budget, and what is never sent."""

from typing import Any

import pytest

from characters.bibles.card_data import CardData, CharacterBook, LoreEntry
from characters.drafting.prompting import (
    DEFAULT_SYSTEM_PROMPT,
    PromptTooLong,
    activate_lore,
    build_prompt,
    count_tokens,
    entry_matches,
    estimate_messages,
    expand_macros,
)
from tests.factories import make_card


def lore(keys: list[str], content: str, **fields: Any) -> LoreEntry:
    return LoreEntry(keys=keys, content=content, **fields)


def card_with(entries: list[LoreEntry], **fields: Any) -> CardData:
    card = make_card(
        "Walt Test",
        canon_posts=["CANON-ONE Make them want it.", "CANON-TWO Coffee, then the pitch."],
        voice={"pov": "first_singular", "emoji": "never"},
    )
    defaults: dict[str, Any] = {
        "description": "DESC {{char}} runs the agency.",
        "personality": "PERS dry",
        "scenario": "SCEN a Monday.",
        "creator_notes": "SECRET editor note: the actor's real name",
        "post_history_instructions": "PHI stay brief",
        "character_book": CharacterBook(entries=entries),
    }
    return card.model_copy(update={**defaults, **fields})


def system_text(card: CardData, task: str = "TASK go", **kwargs: Any) -> str:
    return build_prompt(card, task, **kwargs).messages[0]["content"]


def test_sections_come_in_role_play_order_with_the_briefs_lore_after_what_every_call_shares():
    card = card_with(
        [
            lore(["x"], "CONSTANT-BEFORE the Lucky Strike account", position="before_char", constant=True),
            lore(["x"], "CONSTANT-AFTER the office bar", position="after_char", constant=True),
            lore(["pitch"], "KEYWORD-BEFORE the pitch room", position="before_char"),
        ]
    )
    prompt = build_prompt(card, "TASK write about the pitch", scan=["the pitch"])
    messages = prompt.messages
    system = messages[0]["content"]
    order = [
        "stay in character",
        "CONSTANT-BEFORE",
        "DESC",
        "PERS",
        "SCEN",
        "CONSTANT-AFTER",
        "first person",
        "KEYWORD-BEFORE",
    ]
    positions = [system.lower().index(marker.lower()) for marker in order]
    assert positions == sorted(positions)
    unrelated = build_prompt(card, "TASK write about coffee", scan=["coffee"]).messages[0]["content"]
    assert system.startswith(unrelated)  # a server's prompt cache reuses all of it
    assert [m["role"] for m in messages] == ["system", "user", "assistant", "user", "assistant", "user", "system"]
    assert "CANON-TWO" in messages[2]["content"]  # the example most like the brief ("pitch") comes first
    assert "CANON-ONE" in messages[4]["content"]
    assert messages[-2] == {"role": "user", "content": "TASK write about the pitch"}
    assert messages[-1] == {"role": "system", "content": "PHI stay brief"}


def test_creator_notes_are_never_sent():
    card = card_with([lore(["x"], "y", constant=True)])
    prompt = build_prompt(card, "TASK", scan=["x"])
    assert "SECRET" not in str(prompt.messages)


def test_the_cards_system_prompt_replaces_the_default_and_can_include_it():
    card = card_with([], system_prompt="You are {{char}}. {{original}} Be terse with {{user}}.")
    text = system_text(card)
    assert text.startswith("You are Walt Test. You write social media posts as Walt Test")
    assert "Be terse with the writer." in text


def test_the_default_system_prompt_names_the_character():
    text = system_text(card_with([]))
    assert text.startswith(DEFAULT_SYSTEM_PROMPT.split("{{")[0])
    assert "as Walt Test" in text


def test_v1_macros_are_expanded():
    assert expand_macros("<BOT> greets <USER>", make_card("Pip")) == "Pip greets the writer"


@pytest.mark.parametrize(
    ("entry", "text", "fires"),
    [
        (lore(["pitch"], "c"), "the big Pitch today", True),
        (lore(["pitch"], "c"), "pitcher's mound", False),  # whole words only
        (lore(["Pitch"], "c", case_sensitive=True), "the big pitch", False),
        (lore(["Pitch"], "c", case_sensitive=True), "the big Pitch", True),
        (lore(["#ad"], "c"), "tagged #ad.", True),
        (lore(["Dr."], "c"), "ask Dr.Who", True),  # a key ending in a symbol matches as a substring there
        (lore(["pitch"], "c", selective=True, secondary_keys=["client", "boss"]), "pitch to the client", True),
        (lore(["pitch"], "c", selective=True, secondary_keys=["client", "boss"]), "pitch alone", False),
        (lore(["pitch"], "c", selective=True, secondary_keys=[]), "pitch alone", True),
        (lore(["pitch"], "c", selective=False, secondary_keys=["client"]), "pitch alone", True),
        (lore([""], "c"), "anything", False),
    ],
)
def test_keyword_matching(entry, text, fires):
    assert entry_matches(entry, text) is fires


def test_activation_honours_enabled_constant_and_insertion_order():
    book = CharacterBook(
        entries=[
            lore(["bar"], "third", insertion_order=30),
            lore(["bar"], "disabled", enabled=False),
            lore(["nothing-here"], "constant", constant=True, insertion_order=20),
            lore(["bar"], "first", insertion_order=1),
            lore(["zebra"], "not mentioned"),
            lore(["bar"], "   "),  # no content: nothing to insert
        ]
    )
    assert [e.content for e in activate_lore(book, ["meet me at the bar"])] == ["first", "constant", "third"]
    assert activate_lore(None, ["bar"]) == []


def test_recursive_scanning_follows_keys_inside_activated_lore():
    entries = [lore(["bar"], "The bar is run by Sal."), lore(["Sal"], "Sal waters the gin.")]
    assert len(activate_lore(CharacterBook(entries=entries), ["bar"])) == 1
    book = CharacterBook(entries=entries, recursive_scanning=True)
    assert [e.content for e in activate_lore(book, ["bar"])] == ["The bar is run by Sal.", "Sal waters the gin."]


def test_lore_is_found_in_recent_posts_up_to_the_scan_depth():
    entries = [lore(["gin"], "LORE-GIN")]
    card = card_with(entries)
    assert "LORE-GIN" in system_text(card, scan=["brief", "p1", "p2", "about gin"])
    shallow = card.model_copy(update={"character_book": CharacterBook(entries=entries, scan_depth=2)})
    assert "LORE-GIN" not in system_text(shallow, scan=["brief", "p1", "p2", "about gin"])
    assert "LORE-GIN" in system_text(shallow, scan=["gin in the brief", "p1", "p2", "p3"])


def test_over_budget_examples_go_before_the_lore_the_brief_activated_then_lore_by_priority():
    entries = [lore(["pitch"], f"LORE-{i} " + "word " * 60, priority=i) for i in range(5)]
    card = card_with(entries)
    full = build_prompt(card, "TASK", scan=["pitch"], budget=10_000)
    budget = full.tokens - 100
    prompt = build_prompt(card, "TASK", scan=["pitch"], budget=budget)
    assert prompt.tokens <= budget
    dropped = [s.label for s in prompt.dropped]
    assert dropped[:2] == ["example 1", "example 2"]  # CANON-TWO mentions the pitch: it is kept longer
    assert all(label.startswith("lore") for label in dropped[2:])
    assert len(dropped) > 2
    system = prompt.messages[0]["content"]
    assert "LORE-0" not in system
    assert "LORE-4" in system
    assert prompt.to_dict()["dropped"][0] == f"example 1 (over the prompt budget of {budget} tokens)"


def test_examples_are_the_few_canon_posts_most_like_the_brief_within_a_share_of_the_budget():
    canon = [f"Post {i} about the weather and the rain today." for i in range(8)] + [
        "The Lucky Strike pitch went well; the client loved the slogan."
    ]
    card = make_card("Walt Test", canon_posts=canon)
    prompt = build_prompt(card, "TASK", scan=["Write about the Lucky Strike slogan"], budget=10_000)
    kept = [s.label for s in prompt.sections if s.kind == "example"]
    assert kept == ["example 9", "example 1"]
    assert prompt.to_dict()["dropped"][0] == "example 8 (less like the brief than the 2 examples kept)"
    small = build_prompt(card, "TASK", scan=["Lucky Strike"], budget=250)
    assert [s.label for s in small.sections if s.kind == "example"] == ["example 9"]  # a fifth of 250 tokens


def test_then_examples_from_the_last_then_constant_lore():
    card = card_with([lore(["x"], "CONSTANT " + "fact " * 40, constant=True)])
    full = build_prompt(card, "TASK", budget=10_000)
    without_examples = full.tokens - estimate_messages(full.messages[1:5])
    prompt = build_prompt(card, "TASK", budget=full.tokens - 1)
    assert [s.label for s in prompt.dropped] == ["example 2"]
    prompt = build_prompt(card, "TASK", budget=without_examples)
    assert [s.label for s in prompt.dropped] == ["example 2", "example 1"]
    prompt = build_prompt(card, "TASK", budget=without_examples - 20)
    assert [s.label for s in prompt.dropped][:3] == ["example 2", "example 1", "lore: x"]


def test_the_books_own_token_budget_caps_lore():
    entries = [lore(["pitch"], f"LORE-{i} " + "word " * 30, insertion_order=i) for i in range(4)]
    card = card_with([], character_book=CharacterBook(entries=entries, token_budget=70))
    system = system_text(card, scan=["pitch"])
    assert sum(f"LORE-{i}" in system for i in range(4)) == 2


def test_required_parts_over_budget_raise_a_readable_error():
    with pytest.raises(PromptTooLong, match="Shorten the brief"):
        build_prompt(card_with([]), "TASK " + "very long brief " * 200, budget=100)


def test_token_estimates_are_consistent_and_plausible():
    assert count_tokens("") == 0
    assert count_tokens("Make them want it.") == 5
    assert count_tokens("extraordinarily") == 3
    text = "The quick brown fox jumps over the lazy dog. " * 10
    assert count_tokens(text) == 10 * count_tokens("The quick brown fox jumps over the lazy dog.")


def test_to_dict_shows_exactly_what_is_sent():
    card = card_with([lore(["pitch"], "LORE-A")])
    prompt = build_prompt(card, "TASK", scan=["pitch"])
    shown = prompt.to_dict()
    assert shown["messages"] == prompt.messages
    assert shown["tokens"] == prompt.tokens
    assert "lore: pitch" in shown["included"]
    assert shown["dropped"] == []
