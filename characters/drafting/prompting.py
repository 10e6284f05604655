"""Prompt assembly from a persona card, in the order role-play tools use, within a token budget.

Order: system prompt; constant lore placed before the character; description, personality, scenario; constant
lore placed after the character; Greenroom's voice rules; the lore the brief brings up; canon posts as few-shot
examples; the writer's task; the card's post-history instructions last. Keyword lore joins only when its keywords
appear in the brief or the character's recent posts; it comes after what every call shares, so a server's prompt
cache re-reads only what changed. Examples are the canon posts most like the brief, at most
a few and a fifth of the budget: many examples get copied rather than imitated. When the prompt is over budget,
the least important material goes first: examples (the least like the brief first), then keyword lore by
priority, then constant lore, then the scenario, personality and voice rules. `creator_notes` are never read here.
"""

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from functools import lru_cache
from typing import Literal

import regex

from characters.bibles.card_data import CardData, CharacterBook, LoreEntry, Voice
from characters.llm.adapter import ChatMessage

DEFAULT_BUDGET = 1500  # tokens; leaves room for the answer in a 2,048-token context (the smallest we support)
DEFAULT_SCAN_DEPTH = 5  # recent posts scanned for lore keywords when the book does not say
MESSAGE_OVERHEAD = 4  # tokens a chat template spends per message (role markers, separators)
EXAMPLE_OVERHEAD = 2 * MESSAGE_OVERHEAD + 12  # an example's request message and its answer's JSON framing
MAX_RECURSION = 3
EXAMPLE_REQUEST = "Write one post in your own voice."
MAX_EXAMPLES = 2  # two teach the voice; a small model copies many word for word, and each is read anew per brief
EXAMPLE_SHARE = 0.2  # of the budget, at most, for examples: the activated lore and the task come first
_STOPWORDS = frozenset(
    "that this with from have were what when your about there their would could which just "
    "been into than then them they some more only over also like very".split()
)

DEFAULT_SYSTEM_PROMPT = (
    "You write social media posts as {{char}}, a fictional character. Stay in character at all times: "
    "write in {{char}}'s voice, from {{char}}'s point of view, with {{char}}'s knowledge and habits. "
    "Never mention being an AI, a model, a prompt or instructions."
)

SectionKind = Literal[
    "system",
    "lore_before",
    "description",
    "personality",
    "scenario",
    "lore_after",
    "voice",
    "lore_brief",
    "example",
    "task",
    "post_history",
]
Priority = tuple[int, float]  # (tier, rank within the tier); the lowest is dropped first
_EXAMPLES, _KEYWORD_LORE, _CONSTANT_LORE, _SCENARIO, _PERSONALITY, _VOICE, _NEVER = range(7)
_REQUIRED: Priority = (_NEVER, 0.0)
_TOKEN = regex.compile(r"\w+|[^\w\s]")
_MACRO = regex.compile(r"\{\{(char|user|original)\}\}|<(BOT|USER)>", regex.IGNORECASE)


def count_tokens(text: str) -> int:
    """Estimate tokens the way BPE tokenizers tend to split English: short words are one, long ones several."""
    return sum(math.ceil(len(piece) / 6) for piece in _TOKEN.findall(text))


@dataclass(frozen=True, slots=True)
class Section:
    """One piece of the prompt with its drop priority (lower goes first; required sections are never dropped)."""

    kind: SectionKind
    label: str
    text: str
    priority: Priority = _REQUIRED
    dropped_because: str = ""  # why a section was left out, for "Show prompt"

    @property
    def tokens(self) -> int:
        """Return the section's estimated token count."""
        return count_tokens(self.text)


@dataclass(frozen=True, slots=True)
class Prompt:
    """The messages to send and an account of how they were assembled (for "Show prompt")."""

    messages: list[ChatMessage]
    sections: list[Section]
    dropped: list[Section] = field(default_factory=list)
    budget: int = DEFAULT_BUDGET

    @property
    def tokens(self) -> int:
        """Return the estimated token count of the messages."""
        return estimate_messages(self.messages)

    def to_dict(self) -> dict[str, object]:
        """Return what was sent and why, as JSON types."""
        return {
            "messages": [dict(message) for message in self.messages],
            "tokens": self.tokens,
            "budget": self.budget,
            "included": [section.label for section in self.sections],
            "dropped": [f"{section.label} ({section.dropped_because})" for section in self.dropped],
        }


class PromptTooLong(ValueError):
    """Even the required parts of the prompt exceed the budget."""


def estimate_messages(messages: Sequence[ChatMessage]) -> int:
    """Return the estimated token count of a chat prompt."""
    return sum(count_tokens(m["content"]) + MESSAGE_OVERHEAD for m in messages)


def expand_macros(text: str, card: CardData, *, user: str = "the writer", original: str = "") -> str:
    """Replace {{char}}, {{user}} and {{original}} (and V1's <BOT>/<USER>) as role-play tools do."""

    def replace(match: regex.Match[str]) -> str:
        name = (match.group(1) or match.group(2)).lower()
        return {"char": card.name, "bot": card.name, "user": user, "original": original}[name]

    return str(_MACRO.sub(replace, text))


@lru_cache(maxsize=8192)  # books are scanned on every generation; their keys rarely change
def _key_pattern(key: str, case_sensitive: bool) -> regex.Pattern[str] | None:
    """Compile a lore key: whole words when the key starts and ends with a word character, a substring otherwise."""
    key = key.strip()
    if not key:
        return None
    body = regex.escape(key)
    if regex.match(r"\w", key[0]):
        body = r"(?<!\w)" + body
    if regex.match(r"\w", key[-1]):
        body += r"(?!\w)"
    return regex.compile(body, 0 if case_sensitive else regex.IGNORECASE)


def _any_key(keys: Sequence[str] | None, text: str, case_sensitive: bool) -> bool:
    for key in keys or ():
        pattern = _key_pattern(key, case_sensitive)
        if pattern is not None and pattern.search(text):
            return True
    return False


def entry_matches(entry: LoreEntry, text: str) -> bool:
    """Return whether a keyword entry fires on the text (selective entries need a secondary key too)."""
    case_sensitive = bool(entry.case_sensitive)
    if not _any_key(entry.keys, text, case_sensitive):
        return False
    if entry.selective and entry.secondary_keys:
        return _any_key(entry.secondary_keys, text, case_sensitive)
    return True


def activate_lore(book: CharacterBook | None, scan: Sequence[str]) -> list[LoreEntry]:
    """Return the enabled entries that are constant or whose keys appear in `scan`, in insertion order."""
    if book is None:
        return []
    candidates = [entry for entry in book.entries if entry.enabled and entry.content.strip()]
    text = "\n".join(scan)
    active = [entry for entry in candidates if entry.constant or entry_matches(entry, text)]
    if book.recursive_scanning:
        # Activated lore may mention other entries' keys; follow those a few rounds, never forever.
        for _ in range(MAX_RECURSION):
            found = "\n".join(entry.content for entry in active)
            more = [e for e in candidates if e not in active and entry_matches(e, found)]
            if not more:
                break
            active += more
    return sorted(active, key=lambda entry: entry.insertion_order)


def _lore_priority(entry: LoreEntry) -> Priority:
    """Return the entry's drop priority: V2's `priority` (lower dropped first), else its insertion order."""
    value = entry.priority if entry.priority is not None else entry.insertion_order
    # Constant entries outrank keyword entries and examples: they are the bible's always-true facts.
    return (_CONSTANT_LORE if entry.constant else _KEYWORD_LORE, float(value))


def _lore_section(entry: LoreEntry, card: CardData) -> Section:
    # Lore a brief brings up goes after everything that is the same on every call, so a server's prompt cache
    # (llama.cpp reuses the longest common prefix) only re-reads what changed; constant lore keeps its place.
    kind: SectionKind = (
        "lore_brief" if not entry.constant else "lore_after" if entry.position == "after_char" else "lore_before"
    )
    label = entry.name or entry.comment or ", ".join(entry.keys[:3]) or "lore"
    return Section(kind, f"lore: {label}", expand_macros(entry.content.strip(), card), _lore_priority(entry))


def voice_rules(card: CardData) -> str:
    """Return the card's voice rules as plain instructions (what the checker enforces, said up front)."""
    greenroom = card.greenroom
    lines = _speech_rules(card) + _format_rules(greenroom.voice)
    if greenroom.era.end_year is not None:
        lines.append(f"You live in {greenroom.era.label or greenroom.era.end_year}: mention nothing invented later.")
    banned = [item.term for item in greenroom.vocabulary.banned]
    if banned:
        lines.append("Never use these words: " + ", ".join(banned) + ".")
    return "\n".join(lines)


def _speech_rules(card: CardData) -> list[str]:
    """Return how the character speaks: point of view, register, catchphrases."""
    voice = card.greenroom.voice
    lines: list[str] = []
    pov = {
        "first_singular": "Write in the first person singular (I, me, my).",
        "first_plural": "Write in the first person plural (we, us, our).",
        "third": f"Refer to yourself in the third person, as {card.name}.",
    }.get(voice.pov)
    if pov:
        lines.append(pov)
    if voice.register_:
        lines.append(f"Register: {voice.register_}.")
    if voice.catchphrases:
        lines.append("Catchphrases you sometimes use: " + "; ".join(voice.catchphrases) + ".")
    return lines


def _format_rules(voice: Voice) -> list[str]:
    """Return the format policy: emoji, hashtags, links and length."""
    emoji = {"never": "Never use emoji.", "rare": "Use at most one emoji.", "often": "Emoji are fine."}
    lines = [emoji[voice.emoji]]
    tags = voice.hashtags
    if tags.max == 0:
        lines.append("Never use hashtags.")
    elif tags.allowed or tags.required:
        lines.append(f"Use at most {tags.max} hashtags, only from: " + ", ".join(tags.required + tags.allowed) + ".")
    if tags.required:
        lines.append("Always include one of: " + ", ".join(tags.required) + ".")
    if not voice.urls:
        lines.append("Never include links.")
    if voice.max_chars:
        lines.append(f"Keep every post within {voice.max_chars} characters.")
    return lines


def example_answer(text: str) -> str:
    """Return a canon post in the JSON shape the model is asked to answer in."""
    return json.dumps({"text": text}, ensure_ascii=False)


def character_sections(card: CardData, scan: Sequence[str]) -> list[Section]:
    """Return the sections that describe the character, in prompt order (system message parts and examples)."""
    book = card.character_book
    depth = book.scan_depth if book and book.scan_depth is not None else DEFAULT_SCAN_DEPTH
    # The brief is always scanned; of the recent posts only the newest `scan_depth`.
    scanned = list(scan[:1]) + list(scan[1 : 1 + depth])
    lore = [_lore_section(entry, card) for entry in activate_lore(book, scanned)]
    default = expand_macros(DEFAULT_SYSTEM_PROMPT, card)
    system = expand_macros(card.system_prompt, card, original=default) if card.system_prompt.strip() else default
    sections = [Section("system", "system prompt", system)]
    sections += [s for s in lore if s.kind == "lore_before"]
    sections.append(Section("description", "description", expand_macros(card.description.strip(), card)))
    if card.personality.strip():
        text = f"{card.name}'s personality: {expand_macros(card.personality.strip(), card)}"
        sections.append(Section("personality", "personality", text, (_PERSONALITY, 0)))
    if card.scenario.strip():
        text = f"Scenario: {expand_macros(card.scenario.strip(), card)}"
        sections.append(Section("scenario", "scenario", text, (_SCENARIO, 0)))
    sections += [s for s in lore if s.kind == "lore_after"]
    rules = voice_rules(card)
    if rules:
        sections.append(Section("voice", "voice rules", rules, (_VOICE, 0)))
    sections += [s for s in lore if s.kind == "lore_brief"]
    canon = [post for post in card.greenroom.canon_posts if post.strip()]
    ranked = rank_examples(canon, scan[0] if scan else "")
    # The examples most like the brief are kept longest; among equals, the bible's first ones.
    sections += [Section("example", f"example {i + 1}", canon[i], (_EXAMPLES, -rank)) for rank, i in enumerate(ranked)]
    return sections


def _content_words(text: str) -> set[str]:
    """Return the text's longer words, cut to a common stem (a cheap, language-agnostic likeness)."""
    return {word[:6] for word in regex.findall(r"\p{L}{4,}", text.lower()) if word not in _STOPWORDS}


def rank_examples(canon: Sequence[str], about: str) -> list[int]:
    """Return the canon posts' indexes, most like `about` first (shared words), the bible's order breaking ties."""
    wanted = _content_words(about)

    def likeness(index: int) -> float:
        words = _content_words(canon[index])
        return len(wanted & words) / math.sqrt(1 + len(words))

    return sorted(range(len(canon)), key=lambda index: (-likeness(index), index))


def _messages(sections: Sequence[Section]) -> list[ChatMessage]:
    """Lay sections out as chat messages: one system message, example pairs, the task, post-history last."""
    system = "\n\n".join(s.text for s in sections if s.kind not in ("example", "task", "post_history") and s.text)
    messages: list[ChatMessage] = [{"role": "system", "content": system}]
    for section in sections:
        if section.kind == "example":
            messages.append({"role": "user", "content": EXAMPLE_REQUEST})
            messages.append({"role": "assistant", "content": example_answer(section.text)})
        elif section.kind == "task":
            messages.append({"role": "user", "content": section.text})
        elif section.kind == "post_history":
            messages.append({"role": "system", "content": section.text})
    return messages


def fit_budget(
    sections: list[Section], budget: int, lore_budget: int | None = None
) -> tuple[list[Section], list[Section]]:
    """Drop the lowest-priority sections until the messages fit; return (kept, dropped)."""
    kept = list(sections)
    dropped: list[Section] = []

    def drop_lowest(candidates: list[Section], because: str) -> None:
        lowest = min(candidates, key=lambda s: s.priority)
        kept.remove(lowest)
        dropped.append(replace(lowest, dropped_because=because))

    if lore_budget is not None:
        # The book's own budget caps lore alone, before the prompt as a whole is considered.
        while (lore := [s for s in kept if s.kind.startswith("lore")]) and sum(s.tokens for s in lore) > lore_budget:
            drop_lowest(lore, f"the lore book's own budget of {lore_budget} tokens")
    while (examples := [s for s in kept if s.kind == "example"]) and (
        len(examples) > MAX_EXAMPLES or sum(s.tokens + EXAMPLE_OVERHEAD for s in examples) > budget * EXAMPLE_SHARE
    ):
        drop_lowest(examples, f"less like the brief than the {min(len(examples) - 1, MAX_EXAMPLES)} examples kept")
    while estimate_messages(_messages(kept)) > budget:
        droppable = [s for s in kept if s.priority != _REQUIRED]
        if not droppable:
            raise PromptTooLong(
                f"The prompt needs about {estimate_messages(_messages(kept))} tokens even without lore and examples; "
                f"the budget is {budget}. Shorten the brief or the character's description."
            )
        drop_lowest(droppable, f"over the prompt budget of {budget} tokens")
    return kept, dropped


def build_prompt(card: CardData, task: str, *, scan: Sequence[str] = (), budget: int = DEFAULT_BUDGET) -> Prompt:
    """Assemble the prompt for `task`; `scan` is the brief followed by the character's recent posts, newest first."""
    sections = character_sections(card, scan)
    sections.append(Section("task", "task", task))
    if card.post_history_instructions.strip():
        text = expand_macros(card.post_history_instructions.strip(), card)
        sections.append(Section("post_history", "post-history instructions", text))
    book = card.character_book
    kept, dropped = fit_budget(sections, budget, book.token_budget if book else None)
    return Prompt(_messages(kept), kept, dropped, budget)
