"""Split a long text into a thread that fits a platform's limit, on paragraph, sentence and word boundaries.

Deterministic and model-free: a writer can always split a draft, with or without an LLM. Lengths are measured
the way each platform counts (`characters.core.platforms`: Bluesky graphemes; X weighted code points, links as
23; Mastodon code points, links as 23), so an emoji or an accented letter never gets cut in half and never
pushes a part over the limit.
"""

from collections.abc import Callable, Iterator
from functools import lru_cache

import regex

from characters.bibles.card_data import CardData
from characters.core.platforms import grapheme_count, platform_named

Measure = Callable[[str], int]

# Boundaries from coarse to fine: paragraphs, sentences (after . ! ? … and closing quotes), words, graphemes.
_LEVELS = (
    regex.compile(r"\s*\n\s*\n\s*"),
    regex.compile(r"(?<=[.!?…][\"'”’)\]]*)\s+|\s*\n\s*"),
    regex.compile(r"\s+"),
)
_GRAPHEME = regex.compile(r"\X")


def measure_for(platform: str | None) -> Measure:
    """Return the length function of a platform (graphemes when none is given)."""
    found = platform_named(platform)
    return found.measure if found else grapheme_count


def limit_for(platform: str | None, max_chars: int | None = None) -> int:
    """Return the tighter of the platform's limit and the character's own `max_chars`."""
    found = platform_named(platform)
    limits = [limit for limit in (found and found.max_chars, max_chars) if limit]
    if not limits:
        raise ValueError("pick a platform or give a limit to split by")
    return min(limits)


def _pieces(text: str, level: int) -> Iterator[tuple[str, str]]:
    """Yield (separator before, piece) at one level of boundaries; the last level yields graphemes."""
    if level >= len(_LEVELS):
        for match in _GRAPHEME.finditer(text):
            yield "", match.group()
        return
    position, separator = 0, ""
    for match in _LEVELS[level].finditer(text):
        if match.start() > position:
            yield separator, text[position : match.start()]
            separator = match.group()
        position = match.end()
    if position < len(text):
        yield separator, text[position:]


def _pack(text: str, budget: int, measure: Measure, level: int = 0) -> list[str]:
    """Greedily fill parts with the largest pieces that fit, descending a level only for a piece too big alone.

    A part's length is kept as a running sum (platform counts add up piece by piece), so packing measures each
    piece once instead of re-measuring the growing part; `_fit` re-checks the finished parts exactly.
    """
    parts: list[str] = []
    current, length = "", 0
    for separator, piece in _pieces(text, level):
        size = measure(piece)
        if size > budget:
            if current:
                parts.append(current)
            smaller = _pack(piece, budget, measure, level + 1)
            parts += smaller[:-1]
            current = smaller[-1] if smaller else ""
            length = measure(current)
            continue
        added = measure(separator) + size if current else size
        if length + added <= budget:
            current = f"{current}{separator}{piece}" if current else piece
            length += added
        else:
            parts.append(current)
            current, length = piece, size
    if current:
        parts.append(current)
    return parts


def _fit(text: str, budget: int, measure: Measure) -> list[str]:
    """Pack, then split again any part whose exact count the running sum underestimated (links next to text)."""
    out: list[str] = []
    for part in _pack(text, budget, measure):
        if measure(part) <= budget:
            out.append(part)
        else:
            out += _fit_strictly(part, budget, measure)
    return out


def _fit_strictly(text: str, budget: int, measure: Measure) -> list[str]:
    """Split word by word, measuring each candidate part whole: slow, exact, and only for rare leftovers."""
    parts: list[str] = []
    current = ""
    for separator, piece in _pieces(text, len(_LEVELS) - 1):
        candidate = f"{current}{separator}{piece}" if current else piece
        if measure(candidate) <= budget:
            current = candidate
            continue
        if current:
            parts.append(current)
        if measure(piece) <= budget:
            current = piece
        else:
            graphemes = _pack(piece, budget, measure, len(_LEVELS))
            parts += graphemes[:-1]
            current = graphemes[-1] if graphemes else ""
    if current:
        parts.append(current)
    return parts


def split_thread(
    text: str, limit: int, *, measure: Measure = grapheme_count, numbered: bool = True, carry: str = ""
) -> list[str]:
    """Split `text` into parts of at most `limit` (as `measure` counts), numbered " 1/3" when asked.

    `carry` (a required hashtag) ends every part, so each part passes the character's rules on its own.
    """
    if limit < 1:
        raise ValueError("the limit must be positive")
    text = text.strip()
    if not text:
        return []
    # Packing measures the same pieces again for every numbering round; X's count (twitter-text) is slow enough
    # to matter, so remember each piece's length for the duration of this split.
    measure = lru_cache(maxsize=4096)(measure)
    if measure(text) <= limit:
        return [text]
    suffix = ""
    if carry:
        text = " ".join(regex.sub(rf"(?<!\w){regex.escape(carry)}(?!\w)", " ", text, flags=regex.IGNORECASE).split())
        suffix = f" {carry}"
    count = 1
    while True:
        # The numbering's length depends on the part count, which depends on the room left: grow the reserve
        # until the count stops growing (it only grows, so this ends; fewer parts than reserved for always fit).
        reserve = measure(suffix + (f" {count}/{count}" if numbered else ""))
        if reserve >= limit:
            raise ValueError(f"a limit of {limit} leaves no room for numbering or the required hashtag")
        parts = _fit(text, limit - reserve, measure)
        if len(parts) <= count or not numbered:
            break
        count = len(parts)
    numbers = [f" {index}/{len(parts)}" if numbered else "" for index in range(1, len(parts) + 1)]
    return [f"{part}{suffix}{number}" for part, number in zip(parts, numbers, strict=True)]


def split_for_platform(
    text: str, platform: str | None, *, max_chars: int | None = None, numbered: bool = True, carry: str = ""
) -> list[str]:
    """Split `text` for a platform, also within the character's own `max_chars`; `carry` ends every part."""
    return split_thread(
        text, limit_for(platform, max_chars), measure=measure_for(platform), numbered=numbered, carry=carry
    )


def thread_hashtag(card: CardData, text: str) -> str:
    """Return the required hashtag every part of a thread carries: the one the draft uses, else the first; or ""."""
    required = [tag if tag.startswith("#") else f"#{tag}" for tag in card.greenroom.voice.hashtags.required]
    used = text.lower()
    return next((tag for tag in required if tag.lower() in used), required[0] if required else "")
