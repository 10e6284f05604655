"""Example dialogue (`mes_example`) <-> canon posts: derive them on import, merge them on export."""

import re

_START = re.compile(r"<START>", re.IGNORECASE)
_CHAR_MACRO = re.compile(r"\{\{char\}\}|<BOT>", re.IGNORECASE)
_USER_MACRO = re.compile(r"\{\{user\}\}|<USER>", re.IGNORECASE)


def _speaker_pattern(name: str) -> re.Pattern[str]:
    """Match a speaker prefix: the character ({{char}}, <BOT>, its name) or the user."""
    return re.compile(
        r"^\s*(?:(?P<char>\{\{char\}\}|<BOT>|" + re.escape(name) + r")|(?P<user>\{\{user\}\}|<USER>))"
        r"\s*:[ \t]*(?P<text>.*)$",
        re.IGNORECASE,
    )


def readable(text: str, name: str) -> str:
    """Replace {{char}}/{{user}} macros with the character's name and "you"."""
    return _USER_MACRO.sub("you", _CHAR_MACRO.sub(lambda _: name, text))


def _normal(text: str) -> str:
    """Normalise a post for comparison: line endings and trailing spaces do not make it new."""
    return "\n".join(line.rstrip() for line in text.splitlines()).strip()


def character_turns(mes_example: str, name: str) -> list[str]:
    """Return the character's own turns in `mes_example`, raw (macros kept), in order."""
    speaker = _speaker_pattern(name)
    turns: list[str] = []
    for block in _START.split(mes_example):
        is_char: bool | None = None  # None until the first speaker line: narration is skipped
        lines: list[str] = []
        for line in block.splitlines():
            match = speaker.match(line)
            if match:
                if is_char:
                    turns.append("\n".join(lines))
                is_char = match.group("char") is not None
                lines = [match.group("text")]
            elif is_char is not None:
                lines.append(line)  # a continuation line belongs to the current speaker
        if is_char:
            turns.append("\n".join(lines))
    return turns


def canon_posts_from(mes_example: str, first_mes: str, name: str) -> list[str]:
    """Derive canon posts from a card's example lines and greeting: readable, deduped, non-empty."""
    posts: list[str] = []
    seen: set[str] = set()
    for raw in [*character_turns(mes_example, name), first_mes]:
        post = _normal(readable(raw, name))
        if post and post not in seen:
            seen.add(post)
            posts.append(post)
    return posts


def merge_canon_posts(mes_example: str, posts: list[str], name: str) -> str:
    """Append each canon post not already in `mes_example` as a `<START>` block (idempotent)."""
    known = {_normal(readable(turn, name)) for turn in character_turns(mes_example, name)}
    blocks: list[str] = []
    for post in posts:
        text = _normal(post)
        if not text:
            continue
        block = "<START>\n{{char}}: " + text
        # The substring test catches posts that do not parse back as one turn (e.g. holding
        # "<START>" or a line that looks like another speaker), so repeated exports stay stable.
        if _normal(readable(text, name)) in known or block in mes_example:
            continue
        known.add(_normal(readable(text, name)))
        blocks.append(block)
    if not blocks:
        return mes_example
    base = mes_example.rstrip()
    return "\n".join([base, *blocks]) if base else "\n".join(blocks)
