"""A person's edit of a bible, validated, and applied to a card with everything it does not touch kept.

Forms produce a `BibleEdit`; `apply_edit` replaces only the fields a person can edit, so unknown keys,
other tools' extensions and the parts of lore entries the form does not show survive every save.
"""

import re
from collections.abc import Iterable, Sequence
from functools import cache
from typing import Annotated, Any, Literal, TypeVar
from zoneinfo import available_timezones

from pydantic import AfterValidator, BaseModel, Field, StringConstraints, ValidationInfo, field_validator
from sqlmodel import Session

from characters.accounts.workspaces import Member
from characters.bibles.bible import create_character, get_version, save_bible
from characters.bibles.card_data import (
    BannedTerm,
    CardData,
    CharacterBook,
    EmojiPolicy,
    LoreEntry,
    Pov,
    PreferredTerm,
    RhythmSlot,
)
from characters.bibles.cards.errors import MAX_LIST_ITEMS, MAX_TEXT_CHARS
from characters.core.models import Character, CharacterVersion

MAX_NAME_CHARS = 200
MAX_SHORT_CHARS = 300
MAX_JITTER_MINUTES = 720

DAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_FULL_DAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
_DAY_GROUPS = {"daily": range(7), "everyday": range(7), "weekdays": range(5), "weekends": range(5, 7),
               "weekend": range(5, 7)}
_TIME = re.compile(r"([01]?\d|2[0-3]):([0-5]\d)")
_BLUESKY = re.compile(r"(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z][a-z0-9-]*[a-z0-9]", re.IGNORECASE)
_MASTODON = re.compile(r"@?([\w.]+)@((?:[a-z0-9-]+\.)+[a-z0-9-]+)", re.IGNORECASE)



def _unix_newlines(text: str) -> str:
    # Browsers send textarea line breaks as CRLF; stored cards use LF, so a save without changes changes nothing.
    return text.replace("\r\n", "\n").replace("\r", "\n")


Text = Annotated[str, StringConstraints(max_length=MAX_TEXT_CHARS), AfterValidator(_unix_newlines)]
ShortText = Annotated[str, StringConstraints(strip_whitespace=True, max_length=MAX_SHORT_CHARS)]
ShortList = Annotated[list[ShortText], Field(max_length=MAX_LIST_ITEMS)]


def _required(message: str) -> AfterValidator:
    """Refuse an empty value with `message` (pydantic's own wording is for programmers)."""

    def check(value: str) -> str:
        if not value.strip():
            raise ValueError(message)
        return value

    return AfterValidator(check)


Year = Annotated[int | None, Field(ge=-9999, le=9999)]


def _day_number(name: str) -> int:
    """Return 0 for Monday ... 6 for Sunday from "mon", "Monday", "tu", "thurs"; ValueError otherwise."""
    for number, full in enumerate(_FULL_DAY_NAMES):
        # Prefixes of the full name as people type them, and anything starting with the three-letter name, as the
        # scheduler has always read stored cards ("tues", "weds" -> "wed").
        if (len(name) >= 2 and full.lower().startswith(name)) or name[:3] == DAY_NAMES[number]:
            return number
    raise ValueError(f"“{name}” is not a day; use mon, tue, wed, thu, fri, sat or sun")


def _token_days(token: str) -> Iterable[int]:
    """Return the weekdays of one token: a group ("weekends"), a day, or a range ("fri-mon" wraps over the weekend)."""
    if token in _DAY_GROUPS:
        return _DAY_GROUPS[token]
    ends = token.split("-")
    if len(ends) > 2:
        raise ValueError(f"“{token}” is not a day or a range of days, e.g. mon-fri")
    start, end = _day_number(ends[0]), _day_number(ends[-1])
    return [(start + offset) % 7 for offset in range((end - start) % 7 + 1)]


def parse_days(text: str, *, strict: bool = False) -> frozenset[int]:
    """Parse "mon-fri", "sat,sun", "mon wed fri", "weekends" or "fri-mon" into weekday numbers (Monday = 0).

    Stored cards are read as they are, unreadable parts skipped; with `strict` (a person typing) an unreadable
    part, or no day at all, raises ValueError saying what to write.
    """
    days: set[int] = set()
    for token in re.split(r"[,\s]+", text.strip().lower()):
        if not token:
            continue
        try:
            days.update(_token_days(token))
        except ValueError:
            if strict:
                raise
    if strict and not days:
        raise ValueError("Say which days, e.g. mon-fri, sat-sun or mon,wed,fri")
    return frozenset(days)


def _runs(days: Iterable[int]) -> list[tuple[int, int]]:
    """Group sorted weekday numbers into (first, last) runs of consecutive days."""
    runs: list[tuple[int, int]] = []
    for day in sorted(set(days)):
        if runs and runs[-1][1] == day - 1:
            runs[-1] = (runs[-1][0], day)
        else:
            runs.append((day, day))
    return runs


def format_days(days: Iterable[int]) -> str:
    """Write weekday numbers the way cards spell them: "mon-fri", "sat-sun", "mon,wed,fri"."""
    return ",".join(DAY_NAMES[a] if a == b else f"{DAY_NAMES[a]}-{DAY_NAMES[b]}" for a, b in _runs(days))


def describe_days(text: str) -> str:
    """Say a days spec in words ("Monday to Friday"); an unreadable one is returned as it is."""
    try:
        days = parse_days(text, strict=True)
    except ValueError:
        return text
    if len(days) == 7:
        return "every day"
    parts = [_FULL_DAY_NAMES[a] if a == b else
             f"{_FULL_DAY_NAMES[a]} and {_FULL_DAY_NAMES[b]}" if b == a + 1 else
             f"{_FULL_DAY_NAMES[a]} to {_FULL_DAY_NAMES[b]}" for a, b in _runs(days)]
    return parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]


def normalise_time(text: str) -> str:
    """Return a 24-hour "HH:MM" time from "9:15" or "09:15"; ValueError otherwise."""
    match = _TIME.fullmatch(text.strip())
    if match is None:
        raise ValueError("Use a 24-hour time such as 09:15 or 21:30")
    return f"{int(match.group(1)):02d}:{match.group(2)}"


@cache
def _zones_by_lower_name() -> dict[str, str]:
    return {name.lower(): name for name in available_timezones()}


def timezone_names() -> list[str]:
    """Return every IANA time zone name this system knows, sorted."""
    return sorted(_zones_by_lower_name().values())


def normalise_timezone(name: str) -> str:
    """Return the IANA zone `name` in its canonical spelling ("europe/paris" -> "Europe/Paris")."""
    zone = _zones_by_lower_name().get(name.strip().lower())
    if zone is None:
        raise ValueError("Pick a time zone from the list, e.g. Europe/London or America/New_York")
    return zone


class RowEdit(BaseModel):
    """One row of a list in the form; `source` is the index of the card item it edits (None when new)."""

    source: int | None = None

    @field_validator("source", mode="before")
    @classmethod
    def _blank_source(cls, value: Any) -> Any:
        return None if value in ("", None) else value

    def card_values(self) -> dict[str, Any]:
        """Return the card item's fields this row sets."""
        return self.model_dump(exclude={"source"})


class TextRow(RowEdit):
    """A canon post or a greeting."""

    text: Annotated[Text, _required("Write the text, or remove this row")]


class BannedRow(RowEdit):
    """A word or phrase the character never uses."""

    term: Annotated[ShortText, _required("Write the word or phrase to avoid")]
    suggest: ShortList = Field(default_factory=list)
    reason: ShortText = ""


class PreferredRow(RowEdit):
    """A word the character uses instead of others."""

    use: Annotated[ShortText, _required("Write the word to use")]
    instead_of: ShortList = Field(default_factory=list)


class SlotRow(RowEdit):
    """A usual posting time, local to the character's time zone."""

    days: str
    time: str

    @field_validator("days")
    @classmethod
    def _days(cls, value: str) -> str:
        return format_days(parse_days(value, strict=True))

    @field_validator("time")
    @classmethod
    def _time(cls, value: str) -> str:
        return normalise_time(value)


class LoreRow(RowEdit):
    """A lore entry: what the model should know when one of its keywords comes up."""

    name: ShortText = ""
    comment: ShortText = ""
    constant: bool = False
    keys: ShortList = Field(default_factory=list, validate_default=True)
    secondary_keys: ShortList = Field(default_factory=list)
    selective: bool = False
    enabled: bool = True
    insertion_order: int = Field(default=100, ge=-1_000_000, le=1_000_000)
    position: Literal["before_char", "after_char"] | None = None
    content: Annotated[Text, _required("Write what the model should know when a keyword comes up")]

    @field_validator("position", mode="before")
    @classmethod
    def _blank_position(cls, value: Any) -> Any:
        return None if value == "" else value

    @field_validator("keys")
    @classmethod
    def _keys_or_constant(cls, value: list[str], info: ValidationInfo) -> list[str]:
        if not value and not info.data.get("constant"):
            raise ValueError("Add at least one keyword, or tick “Always include”")
        return value

    def card_values(self) -> dict[str, Any]:
        """Return the entry's fields; an empty title or note stays unset."""
        values = super().card_values()
        values["name"] = self.name or None
        values["comment"] = self.comment or None
        return values


class BibleEdit(BaseModel):
    """Everything a person can change in a bible, as one validated edit."""

    name: Annotated[str, StringConstraints(strip_whitespace=True, max_length=MAX_NAME_CHARS),
                    _required("A character needs a name")]
    description: Text = ""
    personality: Text = ""
    scenario: Text = ""
    first_mes: Text = ""
    alternate_greetings: list[TextRow] = Field(default_factory=list, max_length=MAX_LIST_ITEMS)
    creator_notes: Text = ""
    system_prompt: Text = ""
    post_history_instructions: Text = ""
    tags: ShortList = Field(default_factory=list)
    creator: ShortText = ""
    character_version: ShortText = ""

    era_label: ShortText = ""
    era_start_year: Year = None
    era_end_year: Year = None
    timezone: str = "UTC"
    bluesky: ShortText = ""
    mastodon: ShortText = ""

    pov: Pov = "any"
    voice_register: Text = ""
    catchphrases: ShortList = Field(default_factory=list)
    signoff: ShortText = ""
    emoji: EmojiPolicy = "often"
    hashtags_max: int = Field(default=30, ge=0, le=100)
    hashtags_required: ShortList = Field(default_factory=list)
    hashtags_allowed: ShortList = Field(default_factory=list)
    urls: bool = True
    max_chars: int | None = Field(default=None, ge=1, le=MAX_TEXT_CHARS)

    banned: list[BannedRow] = Field(default_factory=list, max_length=MAX_LIST_ITEMS)
    preferred: list[PreferredRow] = Field(default_factory=list, max_length=MAX_LIST_ITEMS)
    canon_posts: list[TextRow] = Field(default_factory=list, max_length=MAX_LIST_ITEMS)
    slots: list[SlotRow] = Field(default_factory=list, max_length=MAX_LIST_ITEMS)
    jitter_minutes: int = Field(default=0, ge=0, le=MAX_JITTER_MINUTES)
    lore: list[LoreRow] = Field(default_factory=list, max_length=MAX_LIST_ITEMS)

    @field_validator("era_end_year")
    @classmethod
    def _era_order(cls, value: int | None, info: ValidationInfo) -> int | None:
        start = info.data.get("era_start_year")
        if value is not None and start is not None and value < start:
            raise ValueError("The era cannot end before it starts")
        return value

    @field_validator("timezone")
    @classmethod
    def _timezone(cls, value: str) -> str:
        return normalise_timezone(value or "UTC")

    @field_validator("bluesky")
    @classmethod
    def _bluesky(cls, value: str) -> str:
        handle = value.removeprefix("@")
        if handle and not _BLUESKY.fullmatch(handle):
            raise ValueError("A Bluesky handle looks like name.bsky.social")
        return handle

    @field_validator("mastodon")
    @classmethod
    def _mastodon(cls, value: str) -> str:
        match = _MASTODON.fullmatch(value)
        if value and match is None:
            raise ValueError("A Mastodon handle looks like @name@example.social")
        return f"@{match.group(1)}@{match.group(2)}" if match else ""

    @field_validator("hashtags_required", "hashtags_allowed")
    @classmethod
    def _hashtags(cls, value: list[str]) -> list[str]:
        tags = ["#" + tag.lstrip("#") for tag in value]
        for tag in tags:
            if not re.fullmatch(r"#\w+", tag):
                raise ValueError(f"“{tag}” is not a hashtag: use letters, digits and _ only")
        return tags


def edit_values(card: CardData) -> dict[str, Any]:
    """Return the form values that show `card` as it is (the starting point of an edit)."""
    greenroom = card.greenroom
    voice, era = greenroom.voice, greenroom.era
    entries = card.character_book.entries if card.character_book else []
    return {
        **{name: getattr(card, name) for name in (
            "name", "description", "personality", "scenario", "first_mes", "creator_notes", "system_prompt",
            "post_history_instructions", "tags", "creator", "character_version")},
        "alternate_greetings": _text_rows(card.alternate_greetings),
        "era_label": era.label, "era_start_year": era.start_year, "era_end_year": era.end_year,
        "timezone": greenroom.timezone,
        "bluesky": greenroom.handles.get("bluesky", ""), "mastodon": greenroom.handles.get("mastodon", ""),
        "pov": voice.pov, "voice_register": voice.register_, "catchphrases": voice.catchphrases,
        "signoff": voice.signoff or "", "emoji": voice.emoji, "hashtags_max": voice.hashtags.max,
        "hashtags_required": voice.hashtags.required, "hashtags_allowed": voice.hashtags.allowed,
        "urls": voice.urls, "max_chars": voice.max_chars,
        "banned": _item_rows(greenroom.vocabulary.banned),
        "preferred": _item_rows(greenroom.vocabulary.preferred),
        "canon_posts": _text_rows(greenroom.canon_posts),
        "slots": _item_rows(greenroom.rhythm.slots),
        "jitter_minutes": greenroom.rhythm.jitter_minutes,
        "lore": [{**row, "name": row.get("name") or "", "comment": row.get("comment") or "",
                  "position": row.get("position") or ""} for row in _item_rows(entries)],
    }


def _text_rows(texts: Sequence[str]) -> list[dict[str, Any]]:
    return [{"source": index, "text": text} for index, text in enumerate(texts)]


def _item_rows(items: Sequence[BaseModel]) -> list[dict[str, Any]]:
    return [{**item.model_dump(), "source": index} for index, item in enumerate(items)]


ItemT = TypeVar("ItemT", bound=BaseModel)


def _merge_rows(old: Sequence[ItemT], rows: Sequence[RowEdit], model: type[ItemT]) -> list[ItemT]:
    """Rebuild a list from rows, each starting from the card item it edits so its other keys survive."""
    merged: list[ItemT] = []
    for row in rows:
        values = row.card_values()
        base = old[row.source] if row.source is not None and 0 <= row.source < len(old) else None
        if base is None:
            merged.append(model.model_validate({key: value for key, value in values.items() if value is not None}))
            continue
        # An unset field left empty stays unset, so a save without changes changes nothing.
        update = {key: value for key, value in values.items()
                  if not (getattr(base, key, None) is None and not value)}
        merged.append(base.model_copy(update=update))
    return merged


def apply_edit(card: CardData, edit: BibleEdit) -> CardData:
    """Return `card` with the edited fields replaced; unknown keys and other extensions are kept."""
    greenroom = card.greenroom
    voice = greenroom.voice
    handles = {key: value for key, value in greenroom.handles.items() if key not in ("bluesky", "mastodon")}
    handles.update({key: value for key, value in (("bluesky", edit.bluesky), ("mastodon", edit.mastodon)) if value})
    extension = greenroom.model_copy(update={
        "era": greenroom.era.model_copy(update={
            "label": edit.era_label, "start_year": edit.era_start_year, "end_year": edit.era_end_year}),
        "timezone": edit.timezone,
        "handles": handles,
        "voice": voice.model_copy(update={
            "pov": edit.pov, "register_": edit.voice_register, "catchphrases": edit.catchphrases,
            "signoff": edit.signoff or None, "emoji": edit.emoji, "urls": edit.urls, "max_chars": edit.max_chars,
            "hashtags": voice.hashtags.model_copy(update={
                "max": edit.hashtags_max, "required": edit.hashtags_required, "allowed": edit.hashtags_allowed}),
        }),
        "vocabulary": greenroom.vocabulary.model_copy(update={
            "banned": _merge_rows(greenroom.vocabulary.banned, edit.banned, BannedTerm),
            "preferred": _merge_rows(greenroom.vocabulary.preferred, edit.preferred, PreferredTerm),
        }),
        "canon_posts": [row.text for row in edit.canon_posts],
        "rhythm": greenroom.rhythm.model_copy(update={
            "slots": _merge_rows(greenroom.rhythm.slots, edit.slots, RhythmSlot),
            "jitter_minutes": edit.jitter_minutes,
        }),
    })
    update: dict[str, Any] = {
        **edit.model_dump(include={
            "name", "description", "personality", "scenario", "first_mes", "creator_notes", "system_prompt",
            "post_history_instructions", "tags", "creator", "character_version"}),
        "alternate_greetings": [row.text for row in edit.alternate_greetings],
    }
    book = card.character_book
    if book is not None or edit.lore:  # a card without lore gets no empty lore book
        update["character_book"] = (book or CharacterBook()).model_copy(
            update={"entries": _merge_rows(book.entries if book else [], edit.lore, LoreEntry)})
    edited = card.model_copy(update=update).with_greenroom(extension)
    # model_copy skips validation; a round trip through JSON checks the result is a valid card, and
    # exclude_unset keeps defaults the card never had from turning into explicit nulls.
    return CardData.model_validate(edited.model_dump(by_alias=True, mode="json", exclude_unset=True))


def create_character_from_edit(*, session: Session, member: Member, edit: BibleEdit, note: str = "") -> Character:
    """Create a character whose first bible version is `edit` applied to an empty card."""
    card = apply_edit(CardData(name=edit.name), edit)
    return create_character(session=session, member=member, card=card, note=note.strip()[:500] or "Created")


def save_bible_edit(*, session: Session, member: Member, character: Character, edit: BibleEdit,
                    base_version: int | None, note: str = "", overwrite: bool = False) -> CharacterVersion:
    """Apply `edit` to the version the person started from and save it as the next version.

    Raises Conflict when someone saved a newer version meanwhile, unless `overwrite` says to replace it.
    """
    start = base_version if base_version and 0 < base_version <= character.current_version else None
    base = get_version(session, character, start)
    card = apply_edit(CardData.model_validate(base.card), edit)
    return save_bible(session=session, member=member, character=character, card=card, note=note,
                      expected_version=None if overwrite else base.number)
