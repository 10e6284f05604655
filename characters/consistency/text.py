"""Text segmentation shared by the rules and the voice model: graphemes, emoji, hashtags, URLs, words."""

from dataclasses import dataclass
from functools import lru_cache

import emoji
import regex
from twitter_text import extract_urls_with_indices

_GRAPHEME = regex.compile(r"\X")
# A hashtag needs a letter (so "#1" is not one) and may not follow a word character ("C#", "a#b").
_HASHTAG = regex.compile(r"(?<![\w&/#＃])[#＃](?=\w*[^\W\d_])\w+")
_WORD = regex.compile(r"\w+(?:['’]\w+)*")
_SENTENCE_END = regex.compile(r"(?<=[.!?…])[\"'”’)\]]*\s+|\n+")
_MAYBE_EMOJI = regex.compile(r"[\p{Extended_Pictographic}\p{Regional_Indicator}\u20e3\ufe0f]")


@dataclass(frozen=True, slots=True)
class Span:
    """A piece of the text at [start, end) code-point offsets."""

    start: int
    end: int
    text: str


def grapheme_count(text: str) -> int:
    """Return the number of user-perceived characters (extended grapheme clusters)."""
    return sum(1 for _ in _GRAPHEME.finditer(text))


def grapheme_offset(text: str, index: int) -> int:
    """Return the code-point offset at which grapheme number `index` (0-based) starts, or len(text)."""
    for count, match in enumerate(_GRAPHEME.finditer(text)):
        if count == index:
            return int(match.start())
    return len(text)


def _is_text_symbol(found: str) -> bool:
    """Return True for typographic symbols the emoji table lists but prose uses as text (©, ™, arrows)."""
    if len(found) != 1:
        return False
    code = ord(found)
    return found in "©®" or 0x2000 <= code <= 0x21FF


@lru_cache(maxsize=32)
def emoji_spans(text: str) -> tuple[Span, ...]:
    """Return the emoji in the text, a ZWJ sequence or skin-tone variant counting as one."""
    if not _MAYBE_EMOJI.search(text):
        return ()  # the emoji package scans every character; most drafts have nothing for it to find
    return tuple(
        Span(item["match_start"], item["match_end"], item["emoji"])
        for item in emoji.emoji_list(text)
        if not _is_text_symbol(item["emoji"])
    )


def hashtag_spans(text: str) -> list[Span]:
    """Return the hashtags in the text."""
    return [Span(m.start(), m.end(), m.group()) for m in _HASHTAG.finditer(text)]


def url_spans(text: str) -> list[Span]:
    """Return URLs as twitter-text finds them, bare domains ("example.com/x") included."""
    if "." not in text:
        return []  # every URL twitter-text recognises has a dot; skip its costly regex
    return [
        Span(start, end, text[start:end])
        for start, end in (item["indices"] for item in extract_urls_with_indices(text))
    ]


def word_spans(text: str) -> list[Span]:
    """Return the words (letters and digits, inner apostrophes kept) in the text."""
    return [Span(m.start(), m.end(), m.group()) for m in _WORD.finditer(text)]


def words(text: str) -> list[str]:
    """Return the words of the text."""
    return [m.group() for m in _WORD.finditer(text)]


def sentences(text: str) -> list[str]:
    """Return the sentences of the text (split after . ! ? … and at line breaks), empty ones dropped."""
    return [part for part in _SENTENCE_END.split(text) if _WORD.search(part)]


_APOSTROPHES = str.maketrans({"’": "'", "ʼ": "'", "‘": "'"})


def normalise_apostrophes(text: str) -> str:
    """Return the text with typographic apostrophes replaced by ASCII ones (same length)."""
    return text.translate(_APOSTROPHES)
