"""The networks' post limits in one table, and how each network measures a text's length.

The consistency checker, the thread splitter, the publishers and the editor's counter (handed the table as JSON)
all read `PLATFORMS`, so a limit changes in one place. Bluesky counts graphemes (an emoji family is one); Mastodon
counts code points with every link as 23; X weighs code points by Unicode range, an emoji as 2 and a link as 23.
"""

import unicodedata
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from enum import StrEnum
from functools import lru_cache
from types import MappingProxyType
from typing import Any

import regex
from twitter_text import extract_emojis_with_indices
from twitter_text.config import config as twitter_config
from twitter_text.get_character_weight import get_character_weight
from twitter_text.regexp.valid_cctld import valid_cctld
from twitter_text.regexp.valid_gtld import valid_gtld

_GRAPHEME = regex.compile(r"\X")
# A link starts a run of non-space text (the lookbehind keeps the search linear): a scheme and anything up to
# a space, or dotted labels ending in a known TLD. The label group is atomic and only takes a dot that another
# label follows, so "a.a.a.a" costs one pass and "example.com." keeps its full stop out of the link.
_URL = regex.compile(
    r"(?<![\w@.\-/:#])(?:https?://[^\s<>\"]+|(?>(?:[\w-]+\.(?=[\w-]))+)"
    rf"(?:{valid_gtld.pattern}|{valid_cctld.pattern})(?::\d{{1,5}})?(?:/[^\s<>\"]*)?)",
    regex.IGNORECASE,
)
_URL_TRAILING = regex.compile(r"[.,;:!?'\")\]]+$")


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


def x_weighted_length(text: str, limit: int) -> tuple[int, int]:
    """Return (X's weighted length, the code-point offset where the first `limit` weighted units end).

    twitter-text's own `parse_tweet` rule: NFC, a link counts 23, an emoji 2, other characters by Unicode range.
    Its URL regex is super-linear on dotted runs ("a.a.a...": minutes for 4 KB), so links come from `url_spans`.
    """
    options = twitter_config["defaults"]
    scale: int = options["scale"]
    normalized = unicodedata.normalize("NFC", text)
    entities = {s.start: (s.end, options["transformed_url_length"] * scale) for s in url_spans(normalized)}
    for item in extract_emojis_with_indices(normalized):
        entities.setdefault(item["indices"][0], (item["indices"][1], options["default_weight"]))
    weighted, index, cut = 0, 0, len(normalized)
    while index < len(normalized):
        end, weight = entities.get(index, (index + 1, 0))
        weighted += weight or get_character_weight(normalized[index], options)
        if weighted > limit * scale and cut == len(normalized):
            cut = index
        index = end
    return weighted // scale, min(cut, len(text))


class Counting(StrEnum):
    """How a network counts a post's length."""

    GRAPHEMES = "graphemes"
    CODE_POINTS = "code points"  # with every link as `link_length`
    WEIGHTED = "weighted"  # twitter-text's weights, links as `link_length`


@dataclass(frozen=True, slots=True)
class Platform:
    """What one network accepts in a post; None where the network sets no limit Greenroom checks."""

    name: str
    label: str
    max_chars: int
    counting: Counting
    link_length: int | None = None  # a link counts as this many characters, whatever its length
    max_text_bytes: int | None = None
    max_image_bytes: int | None = None

    def measure(self, text: str) -> int:
        """Return the text's length as this network counts it."""
        if self.counting is Counting.GRAPHEMES:
            return grapheme_count(text)
        if self.counting is Counting.WEIGHTED:
            return x_weighted_length(text, self.max_chars)[0]
        return len(text) + sum((self.link_length or len(s.text)) - len(s.text) for s in url_spans(text))

    def overflow_offset(self, text: str) -> int:
        """Return the code-point offset from which the text is over the limit (len(text) when it is not)."""
        if self.counting is Counting.GRAPHEMES:
            return grapheme_offset(text, self.max_chars)
        if self.counting is Counting.WEIGHTED:
            return x_weighted_length(text, self.max_chars)[1]
        return min(self.max_chars, len(text))


X = Platform("x", "X", 280, Counting.WEIGHTED, link_length=int(twitter_config["defaults"]["transformed_url_length"]))
BLUESKY = Platform("bluesky", "Bluesky", 300, Counting.GRAPHEMES, max_text_bytes=3000,
                   max_image_bytes=1_000_000)  # app.bsky.feed.post and app.bsky.embed.images
MASTODON = Platform("mastodon", "Mastodon", 500, Counting.CODE_POINTS, link_length=23)  # a stock instance

PLATFORMS: Mapping[str, Platform] = MappingProxyType({p.name: p for p in (X, BLUESKY, MASTODON)})


def platform_named(name: str | None) -> Platform | None:
    """Return the platform called `name`, or None for no platform or one without limits (webhooks, feeds)."""
    return PLATFORMS.get(name or "")


def platform_limits() -> dict[str, dict[str, Any]]:
    """Return the table as JSON-ready dicts, for the editor's live counter."""
    return {name: asdict(platform) for name, platform in PLATFORMS.items()}
