"""Text segmentation shared by the rules and the voice model: emoji, hashtags, words, sentences.

Graphemes and links, which the networks count lengths by, are in `characters.core.platforms`.
"""

from functools import lru_cache

import emoji
import regex

from characters.core.platforms import Span

# A hashtag needs a letter (so "#1" is not one) and may not follow a word character ("C#", "a#b").
_HASHTAG = regex.compile(r"(?<![\w&/#＃])[#＃](?=\w*[^\W\d_])\w+")
_WORD = regex.compile(r"\w+(?:['’]\w+)*")
_SENTENCE_END = regex.compile(r"(?<=[.!?…])[\"'”’)\]]*\s+|\n+")
_MAYBE_EMOJI = regex.compile(r"[\p{Extended_Pictographic}\p{Regional_Indicator}\u20e3\ufe0f]")


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
