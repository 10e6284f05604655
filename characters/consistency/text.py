"""Text segmentation shared by the rules and the voice model: graphemes, emoji, hashtags, URLs, words."""

import unicodedata
from dataclasses import dataclass
from functools import lru_cache

import emoji
import regex
from twitter_text import extract_emojis_with_indices
from twitter_text.config import config as twitter_config
from twitter_text.get_character_weight import get_character_weight
from twitter_text.regexp.valid_cctld import valid_cctld
from twitter_text.regexp.valid_gtld import valid_gtld

_GRAPHEME = regex.compile(r"\X")
# A hashtag needs a letter (so "#1" is not one) and may not follow a word character ("C#", "a#b").
_HASHTAG = regex.compile(r"(?<![\w&/#＃])[#＃](?=\w*[^\W\d_])\w+")
# A link starts a run of non-space text (the lookbehind keeps the search linear): a scheme and anything up to
# a space, or dotted labels ending in a known TLD. The label group is atomic and only takes a dot that another
# label follows, so "a.a.a.a" costs one pass and "example.com." keeps its full stop out of the link.
_URL = regex.compile(
    r"(?<![\w@.\-/:#])(?:https?://[^\s<>\"]+|(?>(?:[\w-]+\.(?=[\w-]))+)"
    rf"(?:{valid_gtld.pattern}|{valid_cctld.pattern})(?::\d{{1,5}})?(?:/[^\s<>\"]*)?)",
    regex.IGNORECASE,
)
_URL_TRAILING = regex.compile(r"[.,;:!?'\")\]]+$")
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


@lru_cache(maxsize=32)
def url_spans(text: str) -> tuple[Span, ...]:
    """Return the links in the text: with a scheme, or bare domains on twitter-text's list of TLDs."""
    if "." not in text:
        return ()
    spans = []
    for match in _URL.finditer(text):
        url = _URL_TRAILING.sub("", match.group())
        spans.append(Span(match.start(), match.start() + len(url), url))
    return tuple(spans)


def x_weighted_length(text: str) -> tuple[int, int]:
    """Return (X's weighted length, the code-point offset where the first 280 weighted units end).

    twitter-text's own `parse_tweet` rule: NFC, a link counts 23, an emoji 2, other characters by Unicode range.
    Its URL regex is super-linear on dotted runs ("a.a.a...": minutes for 4 KB), so links come from `url_spans`.
    """
    options = twitter_config["defaults"]
    scale: int = options["scale"]
    limit = options["max_weighted_tweet_length"] * scale
    normalized = unicodedata.normalize("NFC", text)
    entities = {s.start: (s.end, options["transformed_url_length"] * scale) for s in url_spans(normalized)}
    for item in extract_emojis_with_indices(normalized):
        entities.setdefault(item["indices"][0], (item["indices"][1], options["default_weight"]))
    weighted, index, cut = 0, 0, len(normalized)
    while index < len(normalized):
        end, weight = entities.get(index, (index + 1, 0))
        weighted += weight or get_character_weight(normalized[index], options)
        if weighted > limit and cut == len(normalized):
            cut = index
        index = end
    return weighted // scale, min(cut, len(text))


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
