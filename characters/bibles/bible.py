"""Characters and their bible versions: every save is a new version, nothing is overwritten."""

import difflib
import re
import threading
import unicodedata
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

from sqlmodel import Session, col, select

from characters.accounts.workspaces import Action, Member
from characters.audit.log import record_change
from characters.bibles.card_data import CardData
from characters.bibles.cards import (
    MAX_CARD_BYTES,
    AvatarError,
    CardError,
    export_card_json,
    export_card_png,
    parse_card,
    process_avatar,
)
from characters.core.errors import Conflict, DomainError, NotFound
from characters.core.models import Character, CharacterVersion, Membership, Role, User, Workspace, require_id, utcnow
from characters.publishing.channels import ensure_feed_channel

MAX_SLUG_LENGTH = 48


def slugify(text: str) -> str:
    """Turn a display name into a URL-safe slug ("Walt Hadley" -> "walt-hadley")."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")[:MAX_SLUG_LENGTH].strip("-")
    return slug or "character"


def create_character(*, session: Session, member: Member, card: CardData, avatar_png: bytes | None = None,
                     note: str = "Created") -> Character:
    """Create a character with its first bible version and its own public feed channel."""
    member.require(Action.EDIT_BIBLE)
    character = Character(
        workspace_id=require_id(member.workspace), slug=_free_slug(session, member.workspace, card.name),
        name=card.name, current_version=1, avatar_png=avatar_png,
    )
    session.add(character)
    session.flush()
    session.add(CharacterVersion(character_id=require_id(character), number=1, card=card.to_json_dict(),
                                 note=note, created_by_id=member.user.id))
    ensure_feed_channel(session, character)  # created with the character, so reading its channels never writes
    session.flush()
    _record(session, member, "character_create", character, note=note)
    return character


def _record(session: Session, member: Member, action: str, character: Character, **details: Any) -> None:
    """Add a character change to the workspace's audit log."""
    record_change(session, member, action, character=character.name, slug=character.slug, **details)


def save_bible(*, session: Session, member: Member, character: Character, card: CardData,
               note: str = "", expected_version: int | None = None) -> CharacterVersion:
    """Store `card` as the character's next bible version (a no-op change still records who saved).

    With `expected_version`, raise Conflict if someone saved a newer version since that one was read.
    """
    member.require(Action.EDIT_BIBLE)
    _ensure_in_workspace(character, member.workspace)
    if expected_version is not None and expected_version != character.current_version:
        latest = get_version(session, character)
        author = session.get(User, latest.created_by_id) if latest.created_by_id else None
        who = author.display_name if author else "Someone"
        raise Conflict(f"{who} saved version {latest.number} while you were editing version {expected_version}.",
                       field="base_version")
    number = character.current_version + 1
    version = CharacterVersion(character_id=require_id(character), number=number,
                               card=card.to_json_dict(), note=note.strip()[:500], created_by_id=member.user.id)
    character.current_version = number
    character.name = card.name
    character.updated_at = utcnow()
    session.add(version)
    session.add(character)
    session.flush()
    _record(session, member, "character_edit", character, version=number, note=version.note)
    return version


def set_avatar(*, session: Session, member: Member, character: Character, avatar_png: bytes | None) -> None:
    """Replace (or remove) a character's avatar image, already processed by the caller."""
    member.require(Action.EDIT_BIBLE)
    _ensure_in_workspace(character, member.workspace)
    character.avatar_png = avatar_png
    character.updated_at = utcnow()
    session.add(character)
    session.flush()
    _record(session, member, "character_avatar", character, change="removed" if avatar_png is None else "replaced")


def set_archived(*, session: Session, member: Member, character: Character, archived: bool) -> None:
    """Archive a character (hidden from lists and drafting) or bring it back."""
    member.require(Action.EDIT_BIBLE)
    _ensure_in_workspace(character, member.workspace)
    character.archived_at = utcnow() if archived else None
    session.add(character)
    session.flush()
    _record(session, member, "character_archive" if archived else "character_restore", character)


def list_characters(session: Session, workspace: Workspace, *, include_archived: bool = False
                    ) -> list[Character]:
    """Return the workspace's characters by name."""
    query = select(Character).where(Character.workspace_id == workspace.id)
    if not include_archived:
        query = query.where(col(Character.archived_at).is_(None))
    return list(session.exec(query.order_by(col(Character.name))).all())


def get_character(session: Session, workspace: Workspace, slug: str) -> Character:
    """Return the workspace's character `slug` or raise NotFound."""
    character = session.exec(
        select(Character).where(Character.workspace_id == workspace.id, Character.slug == slug)
    ).first()
    if character is None:
        raise NotFound("No such character in this workspace.")
    return character


def get_version(session: Session, character: Character, number: int | None = None) -> CharacterVersion:
    """Return one bible version (the current one by default) or raise NotFound."""
    wanted = character.current_version if number is None else number
    version = session.exec(
        select(CharacterVersion).where(CharacterVersion.character_id == character.id,
                                       CharacterVersion.number == wanted)
    ).first()
    if version is None:
        raise NotFound(f"Version {wanted} of this character does not exist.")
    return version


# Parsed cards by bible version. A version is never changed once saved, so its parsed card is shared by every
# request (parsing a 2,000-entry lorebook costs milliseconds each time). The key adds the creation instant to the
# id: SQLite may give a deleted row's id to a new one, never with the same instant.
CARD_CACHE_SIZE = 256
_parsed_cards: "OrderedDict[tuple[int | None, str], CardData]" = OrderedDict()
_parsed_cards_lock = threading.Lock()


@dataclass(frozen=True)
class Bible:
    """A character's current bible: its parsed card (shared between callers: never modify it) and a cache key."""

    key: str  # names this bible version, for caches of what is computed from it (the checker's models)
    card: CardData


def current_bibles(session: Session, characters: Sequence[Character]) -> dict[int, Bible]:
    """Return each character's current bible keyed by character id: one query, and one more for cards not cached."""
    ids = [require_id(character) for character in characters]
    if not ids:
        return {}
    versions = session.exec(select(CharacterVersion.character_id, CharacterVersion.id, CharacterVersion.created_at)
                            .join(Character, (col(Character.id) == col(CharacterVersion.character_id))
                                  & (col(Character.current_version) == col(CharacterVersion.number)))
                            .where(col(CharacterVersion.character_id).in_(ids))).all()
    keys = {character_id: (version_id, created_at.isoformat())
            for character_id, version_id, created_at in versions}
    with _parsed_cards_lock:
        cards = {key: _parsed_cards[key] for key in keys.values() if key in _parsed_cards}
        for key in cards:
            _parsed_cards.move_to_end(key)
    missing = {key[0]: key for key in keys.values() if key not in cards}
    if missing:
        rows = session.exec(select(CharacterVersion.id, CharacterVersion.card)
                            .where(col(CharacterVersion.id).in_(list(missing)))).all()
        parsed = {missing[version_id]: CardData.model_validate(card) for version_id, card in rows}
        cards.update(parsed)
        with _parsed_cards_lock:
            _parsed_cards.update(parsed)
            while len(_parsed_cards) > CARD_CACHE_SIZE:
                _parsed_cards.popitem(last=False)
    return {character_id: Bible(f"bible-version:{key[0]}:{key[1]}", cards[key]) for character_id, key in keys.items()
            if key in cards}


def current_bible(session: Session, character: Character) -> Bible:
    """Return the character's current bible, or raise NotFound."""
    bible = current_bibles(session, [character]).get(require_id(character))
    if bible is None:
        raise NotFound(f"Version {character.current_version} of this character does not exist.")
    return bible


def current_card(session: Session, character: Character) -> CardData:
    """Return the character's current bible as a card (shared between callers: never modify it)."""
    return current_bible(session, character).card


def current_cards(session: Session, characters: list[Character]) -> dict[int, CardData]:
    """Return each character's current bible as a card, keyed by character id (shared: never modify them)."""
    return {character_id: bible.card for character_id, bible in current_bibles(session, characters).items()}


def list_versions(session: Session, character: Character) -> list[CharacterVersion]:
    """Return every bible version, newest first."""
    return list(session.exec(
        select(CharacterVersion).where(CharacterVersion.character_id == character.id)
        .order_by(col(CharacterVersion.number).desc())
    ).all())


def list_versions_with_authors(session: Session, character: Character
                               ) -> list[tuple[CharacterVersion, User | None]]:
    """Return every bible version, newest first, with the user who saved it (None if unknown)."""
    rows = session.exec(
        select(CharacterVersion, User)
        .join(User, col(CharacterVersion.created_by_id) == col(User.id), isouter=True)
        .where(CharacterVersion.character_id == character.id)
        .order_by(col(CharacterVersion.number).desc())
    ).all()
    return [(version, user) for version, user in rows]


def acting_owner(session: Session, workspace: Workspace) -> Member:
    """Return the workspace's first owner as a Member, for tools that act on the workspace's behalf."""
    row = session.exec(
        select(User).join(Membership, col(Membership.user_id) == col(User.id))
        .where(Membership.workspace_id == workspace.id, Membership.role == Role.OWNER)
        .order_by(col(Membership.created_at), col(Membership.id))
    ).first()
    if row is None:
        raise NotFound(f"The workspace {workspace.slug} has no owner.")
    return Member(workspace=workspace, user=row, role=Role.OWNER)


class CardMatches(DomainError):
    """The card is of a character the workspace already has: update it as a new version, or import a copy?"""

    def __init__(self, character: Character) -> None:
        super().__init__(f"{character.name} is already a character here (bible version {character.current_version}).",
                         field="file")
        self.character = character


ImportChoice = Literal["ask", "update", "copy"]


def import_card(*, session: Session, member: Member, raw: bytes, filename: str | None = None,
                on_match: ImportChoice = "copy") -> tuple[Character, list[str]]:
    """Create a character from a card file (JSON, PNG or CHARX); return it with what was noticed on the way.

    A card named like one of the workspace's characters raises CardMatches (`on_match="ask"`), becomes that
    character's next bible version ("update"), or a new character named "… (copy)" ("copy").
    A card that cannot be read raises DomainError (field "file") naming the problem; nothing is saved.
    """
    member.require(Action.EDIT_BIBLE)
    try:
        imported = parse_card(raw, filename)
    except CardError as error:
        raise DomainError(_sentence(f"this card cannot be imported: {error.message}"), field="file") from error
    warnings = [_sentence(warning) for warning in imported.warnings]
    avatar = None
    if imported.avatar is not None:
        try:
            avatar = process_avatar(imported.avatar, max_bytes=MAX_CARD_BYTES)
        except AvatarError as error:
            warnings.append(_sentence(f"the card's picture was left out: {error.message}"))
    source = f"{filename[:200]} ({imported.source_format})" if filename else imported.source_format
    card = imported.card
    existing = _named(session, member.workspace, card.name)
    if existing is not None and on_match == "ask":
        raise CardMatches(existing)
    if existing is not None and on_match == "update":
        save_bible(session=session, member=member, character=existing, card=card, note=f"Updated from {source}")
        if avatar is not None:
            set_avatar(session=session, member=member, character=existing, avatar_png=avatar)
        return existing, warnings
    if existing is not None:
        card = card.model_copy(update={"name": _copy_name(session, member.workspace, card.name)})
    character = create_character(session=session, member=member, card=card, avatar_png=avatar,
                                 note=f"Imported from {source}")
    return character, warnings


def _named(session: Session, workspace: Workspace, name: str) -> Character | None:
    """Return the workspace's character with this name (ignoring case and surrounding spaces), if any."""
    wanted = name.strip().casefold()
    names = session.exec(select(Character.id, Character.name).where(Character.workspace_id == workspace.id)).all()
    found = next((character_id for character_id, other in names if other.strip().casefold() == wanted), None)
    return session.get(Character, found) if found is not None else None


def _copy_name(session: Session, workspace: Workspace, name: str) -> str:
    """Return "Name (copy)", or "Name (copy 2)" and so on when that is taken too."""
    candidate, number = f"{name} (copy)", 2
    while _named(session, workspace, candidate) is not None:
        candidate, number = f"{name} (copy {number})", number + 1
    return candidate


def upload_avatar(*, session: Session, member: Member, character: Character, raw: bytes) -> None:
    """Set a character's avatar from an uploaded PNG, JPEG or WebP (re-encoded, metadata stripped)."""
    member.require(Action.EDIT_BIBLE)
    try:
        avatar = process_avatar(raw)
    except AvatarError as error:
        raise DomainError(_sentence(error.message), field="avatar") from error
    set_avatar(session=session, member=member, character=character, avatar_png=avatar)


@dataclass(frozen=True)
class CardFile:
    """An exported card, ready to download or write."""

    content: bytes
    filename: str
    mimetype: str


def export_character(session: Session, character: Character, file_format: Literal["json", "png"]) -> CardFile:
    """Export the character's current bible as a V2 JSON card or a PNG card on its avatar."""
    card = current_card(session, character)
    if file_format == "json":
        return CardFile(export_card_json(card), f"{character.slug}.json", "application/json")
    return CardFile(export_card_png(card, character.avatar_png), f"{character.slug}.png", "image/png")


def _sentence(text: str) -> str:
    """Capitalise and end a message from the card module (which writes lowercase clauses)."""
    text = text.strip()
    first_word = text.split(" ", 1)[0]
    if "." not in first_word.rstrip(".:;,"):  # a leading file name keeps its spelling
        text = text[:1].upper() + text[1:]
    return text if text.endswith((".", "!", "?")) else text + "."


@dataclass(frozen=True)
class FieldChange:
    """One bible field that differs between two versions, with a line diff of its text."""

    field: str
    before: str
    after: str
    diff_lines: list[str]


def diff_versions(older: CharacterVersion, newer: CharacterVersion) -> list[FieldChange]:
    """Compare two versions field by field, in words a person can read."""
    before, after = _flatten(older.card), _flatten(newer.card)
    changes = []
    for field in sorted(set(before) | set(after), key=_field_order):
        old_text, new_text = before.get(field, ""), after.get(field, "")
        if old_text != new_text:
            diff = list(difflib.unified_diff(old_text.splitlines(), new_text.splitlines(), lineterm="", n=1))
            changes.append(FieldChange(field=field, before=old_text, after=new_text, diff_lines=diff[2:]))
    return changes


def _flatten(value: Any, prefix: str = "") -> dict[str, str]:
    """Flatten a card into "voice › pov": "first_singular" pairs; lists of strings become lines."""
    if isinstance(value, dict):
        flat: dict[str, str] = {}
        for key, item in value.items():
            label = key if not prefix else f"{prefix} › {key}"
            flat.update(_flatten(item, label))
        return flat
    if isinstance(value, list):
        if all(isinstance(item, str) for item in value):
            return {prefix: "\n".join(value)} if value else {}
        flat = {}
        for index, item in enumerate(value, start=1):
            flat.update(_flatten(item, f"{prefix} #{index}"))
        return flat
    if value is None or value == "":
        return {}
    return {prefix: str(value)}


def _field_order(field: str) -> tuple[int, str]:
    return (field.count("›"), field)


def _free_slug(session: Session, workspace: Workspace, name: str) -> str:
    base = slugify(name)
    taken = set(session.exec(
        select(Character.slug).where(Character.workspace_id == workspace.id,
                                     col(Character.slug).startswith(base))
    ).all())
    slug, counter = base, 2
    while slug in taken:
        slug, counter = f"{base}-{counter}", counter + 1
    return slug


def _ensure_in_workspace(character: Character, workspace: Workspace) -> None:
    if character.workspace_id != workspace.id:
        raise NotFound("No such character in this workspace.")


