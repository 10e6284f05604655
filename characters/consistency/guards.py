"""Guards every post gets, drafted or typed: near-copies of canon or published posts, and assistant meta-talk.

A model that copies its few-shot examples, or frames its answer like an assistant ("Sure! Here's a post:",
"Post:", quotes around the whole text), produces text a reader rejects at once. Framing around a model's answer
is stripped before anyone sees it (`strip_framing`); what is left inside a text is a finding, as is a stretch
copied from a canon post or one of the character's recent published posts, quoting its source.
"""

import json
from collections.abc import Sequence
from dataclasses import dataclass
from difflib import SequenceMatcher
from functools import lru_cache

import regex

from characters.consistency.result import Finding

COPY_MIN_CHARS = 40  # a shared stretch this long is copied text, not a shared phrase or catchphrase
NEAR_COPY_RATIO = 0.8  # word-level likeness at which a lightly edited post is still the same post
NEAR_COPY_MIN_WORDS = 8  # shorter posts (catchphrases, sign-offs) may recur word for word
SHINGLE = 3  # words per shingle in the cheap pre-filter; a 40-character copy shares several
GUARD_TEXT_LIMIT = 5_000  # beyond this the length rule has failed already; comparing would only cost time
QUOTE_CHARS = 80  # how much of the copied stretch a finding quotes

_I = regex.IGNORECASE | regex.VERSION1
_WORD = regex.compile(r"[\p{L}\p{N}']+")
_SENTENCE_END = regex.compile(r"[.!?…]+(?=\s|$)")
_FOLD = str.maketrans({"’": "'", "‘": "'", "“": '"', "”": '"', "—": "-", "–": "-"})

# Framing a model puts around its answer: openers, labels, closers. Stripped from model output before it is shown.
_OPENERS = regex.compile(
    r"^\s*(?:(?:sure|certainly|absolutely|of\s+course|okay|ok|alright)\s*[!.,]+\s*)?"
    r"(?:(?:here(?:'s|\s+is|\s+are)|below\s+is)\b[^\n:]{0,120}:\s*"
    r"|here\s+you\s+go\s*[!.:]+\s*"
    r"|\**(?:post|tweet|toot|skeet|text|caption|reply|response|answer|output|draft|status(?:\s+update)?)"
    r"(?:\s*\d+)?\**\s*:\**\s*"
    r"|```[\w-]*\s*)",
    _I,
)
_CLOSERS = regex.compile(
    r"(?:\s*```"
    r"|\s*\(\s*\d+\s+(?:characters?|chars|words)\s*\)"
    r"|\s*(?:I\s+hope\s+this\s+helps|let\s+me\s+know\s+if|feel\s+free\s+to|would\s+you\s+like\s+me\s+to"
    r"|(?:word|character)\s+count\s*:|note\s*:|this\s+post\s+(?:is|uses|captures|keeps|stays))[^\n]*)\s*$",
    _I,
)
_WRAPPING_QUOTES = (('"', '"'), ("“", "”"), ("'", "'"), ("‘", "’"), ("«", "»"))
_JSON_TEXT = regex.compile(r'^\s*\{\s*"text"\s*:\s*"((?:[^"\\]|\\.)*)"\s*\}?\s*$', regex.DOTALL)

# Meta-talk that stays inside a text: a label on a line of its own, a character count, an answer in JSON.
_INSIDE = regex.compile(
    r"(?m)^\s*\**(?:post|tweet|toot|skeet|caption|reply|response|answer|output|draft|hashtags|text)"
    r"(?:\s*\d+)?\**\s*:"
    r"|\(\s*\d+\s+(?:characters?|chars|words)\s*\)"
    r'|\{\s*"text"\s*:'
    r"|(?m)^\s*note\s*:[^\n]*\b(?:post|tweet|hashtags?|emoji|tone|voice|character|brief)\b"
    r"|\bthis\s+(?:post|tweet)\s+(?:will\s+be|was|has\s+been|is)\s+(?:edited|updated|written|generated|created)\b",
    _I,
)


@dataclass(frozen=True, slots=True)
class Stripped:
    """A model's answer with its framing removed, and what was removed (for the record, never shown as text)."""

    text: str
    removed: tuple[str, ...] = ()


def strip_framing(text: str) -> Stripped:
    """Remove an assistant's framing around a post: openers, labels, closers, JSON wrapping, enclosing quotes."""
    removed: list[str] = []
    current = text.strip()
    for _ in range(4):  # framing nests ("Sure! Here's a post: "..."") but never deeply
        before = current
        if unwrapped := _JSON_TEXT.match(current):
            removed.append(current[: unwrapped.start(1)])
            current = _unescape(unwrapped.group(1)).strip()
        if (opener := _OPENERS.match(current)) and current[opener.end() :].strip():
            removed.append(opener.group())
            current = current[opener.end() :].strip()
        if (closer := _CLOSERS.search(current)) and current[: closer.start()].strip():
            removed.append(closer.group())
            current = current[: closer.start()].strip()
        for left, right in _WRAPPING_QUOTES:
            inner = current[len(left) : -len(right)]
            if len(current) > 2 and current.startswith(left) and current.endswith(right) and left not in inner:
                removed.append(left + right)
                current = inner.strip()
        if current == before:
            break
    return Stripped(current, tuple(part.strip() for part in removed if part.strip()))


def _unescape(value: str) -> str:
    """Decode a JSON string body, leaving it as it is when it is not valid JSON."""
    try:
        return str(json.loads(f'"{value}"'))
    except ValueError:
        return value


def meta_findings(text: str, taken: Sequence[tuple[int, int]] = ()) -> list[Finding]:
    """Return a finding for each piece of meta-talk inside the text, except where `taken` spans already cover it."""
    findings: list[Finding] = []
    for match in _INSIDE.finditer(text[:GUARD_TEXT_LIMIT]):
        start, end = match.span()
        start += len(match.group()) - len(match.group().lstrip())
        if any(s < end and start < e for s, e in taken):
            continue
        line_end = text.find("\n", end)
        line_end = len(text) if line_end < 0 else line_end
        # A label or note goes with the rest of its line; a count or JSON key only itself.
        cut = line_end if match.group().strip().endswith(":") and text[end:line_end].strip() == "" else end
        if match.group().lower().lstrip().startswith("note"):
            cut = line_end
        elif match.group().lower().startswith("this"):
            start, cut = _sentence_around(text, start, end)  # a remark about the post: its whole sentence goes
        findings.append(
            Finding(
                "character.meta",
                "fail",
                f"Talks about the post instead of being it ('{text[start:end].strip()}').",
                start,
                cut,
                "Delete it.",
                ("",),
            )
        )
    return findings


def _sentence_around(text: str, start: int, end: int) -> tuple[int, int]:
    """Return the span of the sentence holding text[start:end]."""
    before = max((m.end() for m in _SENTENCE_END.finditer(text, 0, start)), default=0)
    after = _SENTENCE_END.search(text, end)
    return before + len(text[before:start]) - len(text[before:start].lstrip()), after.end() if after else len(text)


@dataclass(frozen=True, slots=True)
class _Normalised:
    """A text folded for comparison, with each folded character's index in the original."""

    text: str
    index: tuple[int, ...]
    words: tuple[str, ...]


@lru_cache(maxsize=4096)  # canon posts are compared on every check; fold each once
def _normalise(text: str) -> _Normalised:
    chars: list[str] = []
    index: list[int] = []
    for i, char in enumerate(text[:GUARD_TEXT_LIMIT].translate(_FOLD).lower()):
        if char.isspace():
            if chars and chars[-1] == " ":
                continue
            char = " "
        chars.append(char)
        index.append(i)
    folded = "".join(chars)
    return _Normalised(folded, tuple(index), tuple(_WORD.findall(folded)))


@lru_cache(maxsize=4096)
def _shingles(words: tuple[str, ...]) -> frozenset[tuple[str, ...]]:
    return frozenset(words[i : i + SHINGLE] for i in range(len(words) - SHINGLE + 1))


@dataclass(frozen=True, slots=True)
class Copy:
    """A stretch of a text found in a source post: where in the text, and the source's words."""

    start: int
    end: int
    source: str
    whole: bool  # the whole post is a lightly edited copy, not just a stretch of it


def find_copy(text: str, source: str) -> Copy | None:
    """Return the copied stretch when `text` repeats 40+ characters of `source` or is a light edit of all of it."""
    mine, theirs = _normalise(text), _normalise(source)
    if not mine.text or not theirs.text or not _shingles(mine.words) & _shingles(theirs.words):
        return None  # no three words in a row in common: neither a copied stretch nor a light edit
    matcher = SequenceMatcher(None, mine.text, theirs.text, autojunk=False)
    longest = matcher.find_longest_match(0, len(mine.text), 0, len(theirs.text))
    if longest.size >= COPY_MIN_CHARS:
        start = mine.index[longest.a]
        end = mine.index[longest.a + longest.size - 1] + 1
        return Copy(start, end, source, False)
    if min(len(mine.words), len(theirs.words)) >= NEAR_COPY_MIN_WORDS:
        likeness = SequenceMatcher(None, mine.words, theirs.words, autojunk=False).ratio()
        if likeness >= NEAR_COPY_RATIO:
            return Copy(0, len(text.rstrip()), source, True)
    return None


def copy_findings(text: str, canon: Sequence[str], published: Sequence[str] = ()) -> list[Finding]:
    """Return a finding for the longest copy of a canon post and of a recent published post, quoting the source."""
    findings: list[Finding] = []
    for kind, sources in (("canon", canon), ("published", published)):
        copies = [(i, copy) for i, source in enumerate(sources) if (copy := find_copy(text, source)) is not None]
        if not copies:
            continue
        number, copy = max(copies, key=lambda item: (item[1].whole, item[1].end - item[1].start))
        where = f"canon post {number + 1}" if kind == "canon" else "a recently published post"
        how = "is nearly the same as" if copy.whole else "copies a stretch of"
        findings.append(
            Finding(
                f"originality.{kind}",
                "warn",
                f"This {how} {where}: '{_quote(copy.source)}'. Say it in new words.",
                copy.start,
                copy.end,
                "Rewrite the marked words in new words.",
            )
        )
    return findings


def _quote(text: str) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= QUOTE_CHARS else flat[: QUOTE_CHARS - 1].rstrip() + "…"


def guard_findings(
    text: str, canon: Sequence[str], published: Sequence[str] = (), found: Sequence[Finding] = ()
) -> list[Finding]:
    """Return every guard's findings for a post: copies of canon or published posts, and meta-talk inside it
    that the `found` findings (the hard rules') do not already cover."""
    taken = [(f.start, f.end) for f in found if f.start is not None and f.end is not None]
    return copy_findings(text, canon, published) + meta_findings(text, taken)
