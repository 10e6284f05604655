"""Say a bible in plain words, and lay out a version diff for reading: presentation only, no database."""

import difflib
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from characters.bibles.bible import FieldChange
from characters.bibles.card_data import Era, Rhythm, Voice
from characters.bibles.editing import describe_days

_POV_WORDS = {
    "first_singular": "Writes as “I”.",
    "first_plural": "Writes as “we”.",
    "third": "Speaks of themself by name, in the third person.",
    "any": "Any point of view.",
}
_EMOJI_WORDS = {"never": "Never uses emoji.", "rare": "Uses at most one emoji in a post.",
                "often": "Emoji are welcome."}
_FIELD_LABELS = {
    "name": "Name", "description": "Description", "personality": "Personality", "scenario": "Scenario",
    "first_mes": "Signature post", "mes_example": "Example lines", "alternate_greetings": "Other introduction posts",
    "creator_notes": "Notes for editors", "system_prompt": "System prompt override",
    "post_history_instructions": "Post-history instructions", "tags": "Tags", "creator": "Creator",
    "character_version": "Card version", "character_book": "Lore book", "entries": "Lore entry",
    "era": "Era", "label": "Label", "start_year": "From year", "end_year": "Until year", "timezone": "Time zone",
    "handles": "Handles", "voice": "Voice", "pov": "Point of view", "register": "How they sound",
    "catchphrases": "Catchphrases", "signoff": "Sign-off", "emoji": "Emoji", "hashtags": "Hashtags",
    "max": "Most", "required": "Required", "allowed": "Allowed", "urls": "Links allowed",
    "max_chars": "Longest post", "vocabulary": "Vocabulary", "banned": "Banned word", "term": "Word",
    "suggest": "Suggest instead", "reason": "Why", "preferred": "Preferred word", "use": "Say",
    "instead_of": "Instead of", "canon_posts": "Canon posts", "rhythm": "Posting rhythm", "slots": "Posting time",
    "days": "Days", "time": "Time", "jitter_minutes": "Varies by (minutes)", "keys": "Keywords",
    "secondary_keys": "Secondary keywords", "content": "Content", "constant": "Always included",
    "selective": "Needs a secondary keyword", "enabled": "Enabled", "insertion_order": "Order",
    "position": "Position", "comment": "Note", "extensions": "Extensions", "schema": "Schema",
}
_GREENROOM_PREFIX = "extensions › greenroom › "


def voice_rules(voice: Voice) -> list[str]:
    """Return the voice rules as short sentences a writer can follow."""
    rules = [_POV_WORDS.get(voice.pov, voice.pov)]
    if voice.register_:
        rules.append(f"Sounds {voice.register_.rstrip('.')}.")
    rules.append(_EMOJI_WORDS.get(voice.emoji, voice.emoji))
    tags = voice.hashtags
    if tags.max == 0:
        rules.append("No hashtags.")
    else:
        rules.append(f"At most {tags.max} hashtag{'s' if tags.max != 1 else ''} in a post.")
        if tags.required:
            rules.append(f"Every post carries {_either(tags.required)}.")
        if tags.allowed:
            rules.append(f"Only these hashtags: {', '.join(tags.allowed)}.")
    rules.append("Links are fine." if voice.urls else "No links in posts.")
    if voice.max_chars:
        rules.append(f"Posts are at most {voice.max_chars:,} characters long.")
    if voice.signoff:
        rules.append(f"Some posts end with the sign-off “{voice.signoff}”.")
    return rules


def _either(items: list[str]) -> str:
    return items[0] if len(items) == 1 else "at least one of " + ", ".join(items)


def era_words(era: Era) -> str:
    """Say when the character lives, e.g. "Fernmoor Observatory, 1957 (1950 to 1957)"."""
    label = era.label or ("Present day" if era.end_year is None else "")
    if era.start_year is not None and era.end_year is not None:
        span = f"{era.start_year} to {era.end_year}"
    elif era.start_year is not None:
        span = f"since {era.start_year}"
    elif era.end_year is not None:
        span = f"until {era.end_year}"
    else:
        span = ""
    return f"{label} ({span})" if label and span else label or span


def knowledge_limit(era: Era) -> str:
    """Say what the anachronism check assumes the character knows about."""
    if era.end_year is None:
        return "Knows about the present day."
    return f"Knows nothing after {era.end_year}."


@dataclass(frozen=True)
class ZoneInfoText:
    """A time zone as people read it: its name and its current offset."""

    name: str
    offset: str
    known: bool


def zone_text(name: str, now: datetime | None = None) -> ZoneInfoText:
    """Describe a zone with its current abbreviation and UTC offset ("CET, UTC+01:00")."""
    try:
        zone = ZoneInfo(name)
    except (ValueError, KeyError, OSError):
        return ZoneInfoText(name=name, offset="unknown time zone", known=False)
    local = (now or datetime.now(UTC)).astimezone(zone)
    raw = local.strftime("%z")
    offset = f"UTC{raw[:3]}:{raw[3:]}"
    abbreviation = local.strftime("%Z")
    return ZoneInfoText(name=name, offset=offset if abbreviation.startswith(("+", "-")) else
                        f"{abbreviation}, {offset}", known=True)


def rhythm_lines(rhythm: Rhythm) -> list[str]:
    """Return each posting slot in words, e.g. "Monday to Friday at 21:30"."""
    lines = []
    for slot in rhythm.slots:
        days = describe_days(slot.days)
        lines.append(f"{days[:1].upper()}{days[1:]} at {slot.time}")
    return lines


def field_label(path: str) -> str:
    """Turn a diff path like "extensions › greenroom › voice › pov" into "Voice › Point of view"."""
    # "Lore entry 3 › Content" reads better than "Lore book › Lore entry 3 › Content".
    parts = path.removeprefix(_GREENROOM_PREFIX).removeprefix("character_book › ").split(" › ")
    words = []
    for part in parts:
        name, _, number = part.partition(" #")
        label = _FIELD_LABELS.get(name, name.replace("_", " ").capitalize())
        words.append(f"{label} {number}" if number else label)
    return " › ".join(words)


@dataclass(frozen=True)
class Segment:
    """A run of text in a diff line; `changed` marks the words that differ from the paired line."""

    text: str
    changed: bool = False


@dataclass(frozen=True)
class DiffLine:
    """One line of a diff: kind is "added", "removed", "same" or "gap" (lines left out)."""

    kind: str
    segments: list[Segment] = field(default_factory=list)


@dataclass(frozen=True)
class FieldDiff:
    """One changed field, ready to render."""

    label: str
    lines: list[DiffLine]


_KINDS = {"+": "added", "-": "removed", " ": "same"}


def diff_view(changes: list[FieldChange]) -> list[FieldDiff]:
    """Lay out diff_versions' changes with readable labels and the changed words of edited lines marked."""
    return [FieldDiff(label=field_label(change.field), lines=_lines(change.diff_lines)) for change in changes]


def _lines(diff_lines: list[str]) -> list[DiffLine]:
    lines: list[DiffLine] = []
    index = 0
    while index < len(diff_lines):
        line = diff_lines[index]
        if line.startswith("@@"):
            if lines:
                lines.append(DiffLine("gap"))
            index += 1
            continue
        removed = _run(diff_lines, index, "-")
        added = _run(diff_lines, index + len(removed), "+")
        if removed and len(removed) == len(added):
            # A block of lines replaced one for one: mark the words that changed inside each pair.
            pairs = [_word_diff(old, new) for old, new in zip(removed, added, strict=True)]
            lines.extend(DiffLine("removed", old) for old, _ in pairs)
            lines.extend(DiffLine("added", new) for _, new in pairs)
            index += len(removed) + len(added)
            continue
        lines.append(DiffLine(_KINDS.get(line[:1], "same"), [Segment(line[1:])]))
        index += 1
    return lines


def _run(diff_lines: list[str], start: int, marker: str) -> list[str]:
    run = []
    for line in diff_lines[start:]:
        if not line.startswith(marker):
            break
        run.append(line[1:])
    return run


def _word_diff(old: str, new: str) -> tuple[list[Segment], list[Segment]]:
    old_words, new_words = re.findall(r"\s+|\S+", old), re.findall(r"\s+|\S+", new)
    matcher = difflib.SequenceMatcher(a=old_words, b=new_words, autojunk=False)
    before: list[Segment] = []
    after: list[Segment] = []
    for tag, a1, a2, b1, b2 in matcher.get_opcodes():
        same = tag == "equal"
        if a2 > a1:
            before.append(Segment("".join(old_words[a1:a2]), changed=not same))
        if b2 > b1:
            after.append(Segment("".join(new_words[b1:b2]), changed=not same))
    return before, after


def form_problems(form: Any) -> list[tuple[str, str, str]]:
    """Return (field id, label, message) for every error in a form, sub-forms and rows included."""
    problems: list[tuple[str, str, str]] = [("", "", message) for message in getattr(form, "form_errors", [])]
    for item in form:
        if item.type == "FieldList":
            problems.extend((item.id, item.label.text, error) for error in item.errors if isinstance(error, str))
            for number, entry in enumerate(item.entries, start=1):
                row = f"{item.label.text}, row {number}"
                problems.extend((field_id or entry.id, f"{row} › {label}" if label else row, message)
                                for field_id, label, message in form_problems(entry.form))
        elif item.type != "FormField":
            problems.extend((item.id, item.label.text, error) for error in item.errors if isinstance(error, str))
    return problems


# Card macros as SillyTavern writes them: {{char}} is the character, {{user}} whoever reads or talks to it.
_CARD_MACRO = re.compile(r"\{\{\s*(char|user)\s*\}\}|<(bot|user)>", re.IGNORECASE)


def with_names(text: str | None, name: str) -> str:
    """Show a card's {{char}} and {{user}} as the character's name and "you" (the stored card keeps them)."""
    return _CARD_MACRO.sub(lambda m: name if (m.group(1) or m.group(2)).lower() in ("char", "bot") else "you",
                           text or "")
