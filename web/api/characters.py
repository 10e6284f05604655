"""Characters: list, read, create from fields, update (a new bible version), archive, card import/export, check."""

from typing import Any

from flask import Response
from werkzeug.datastructures import FileStorage

from characters.accounts.workspaces import Action
from characters.bibles.bible import (
    export_character,
    get_character,
    get_version,
    import_card,
    list_characters,
    list_versions_with_authors,
    set_archived,
)
from characters.bibles.card_data import CardData
from characters.bibles.cards import MAX_CARD_BYTES
from characters.bibles.editing import BibleEdit, create_character_from_edit, edit_values, save_bible_edit
from characters.core.models import Character
from characters.posting.workflow import check_texts
from web.api import bp
from web.api.auth import api_member
from web.api.errors import ApiError, field_detail
from web.api.present import character_out, character_summary
from web.api.schemas import CheckOut, VersionHeaders
from web.api.schemas_characters import (
    CardQuery,
    CardUpload,
    CharacterCreate,
    CharacterList,
    CharacterListQuery,
    CharacterOut,
    CharacterPatch,
    CharacterSummary,
    CharacterUpdate,
    CheckIn,
    ImportOut,
    VersionList,
    VersionOut,
)
from web.api.spec import operation
from web.api.versions import expected_version
from web.database import get_session, reads_only, unit_of_work

TAG = "characters"


def _character(slug: str) -> Character:
    return get_character(get_session(), api_member().workspace, slug)


@bp.get("/characters")
@operation(TAG, CharacterList)
def list_all_characters(query: CharacterListQuery) -> CharacterList:
    """List the workspace's characters by name."""
    rows = list_characters(get_session(), api_member().workspace, include_archived=query.include_archived)
    return CharacterList(items=[character_summary(character) for character in rows])


@bp.post("/characters")
@operation(TAG, CharacterOut, status=201, writes=True)
def create_character(json: CharacterCreate) -> tuple[CharacterOut, int]:
    """Create a character from bible fields (its first version)."""
    with unit_of_work() as db:
        character = create_character_from_edit(session=db, member=api_member(), edit=json, note=json.note)
    return character_out(get_session(), character), 201


@bp.get("/characters/<slug>")
@operation(TAG, CharacterOut)
def get_one_character(slug: str) -> CharacterOut:
    """Return a character with its current bible."""
    return character_out(get_session(), _character(slug))


@bp.put("/characters/<slug>")
@operation(TAG, CharacterOut, writes=True, errors=[428])
def replace_character(slug: str, json: CharacterUpdate, headers: VersionHeaders) -> CharacterOut:
    """Save the whole bible as the next version; 409 if someone saved a newer one since `version`."""
    return _save(slug, json, expected_version(json.version, headers), json.note)


@bp.patch("/characters/<slug>")
@operation(TAG, CharacterOut, writes=True, errors=[428])
def update_character(slug: str, json: CharacterPatch, headers: VersionHeaders) -> CharacterOut:
    """Change some bible fields (the others are kept) as the next version."""
    version = _current_version(slug, expected_version(json.version, headers))  # type: ignore[attr-defined]
    base = get_version(get_session(), _character(slug), version)
    changes: dict[str, Any] = json.model_dump(exclude_unset=True, exclude={"note", "version"})
    edit = BibleEdit.model_validate({**_form_values(CardData.model_validate(base.card)), **changes})
    return _save(slug, edit, version, json.note)  # type: ignore[attr-defined]


def _form_values(card: CardData) -> dict[str, Any]:
    """Return the editor's values of `card`; rows drop keys the card leaves unset, so their defaults apply."""
    return {name: [{key: item for key, item in row.items() if item is not None} for row in value]
            if isinstance(value, list) and value and isinstance(value[0], dict) else value
            for name, value in edit_values(card).items()}


def _current_version(slug: str, version: int) -> int:
    """Return `version` if it is the current one; otherwise 409 with both versions and the bible as it is."""
    character = _character(slug)
    if version != character.current_version:
        raise ApiError(409, f"You edited version {version}; the current version is {character.current_version}.",
                       code="version_conflict", details={
                           "your_version": version, "current_version": character.current_version,
                           "current": character_out(get_session(), character).model_dump(mode="json")})
    return version


def _save(slug: str, edit: BibleEdit, version: int, note: str) -> CharacterOut:
    _current_version(slug, version)
    with unit_of_work() as db:
        character = get_character(db, api_member().workspace, slug)
        save_bible_edit(session=db, member=api_member(), character=character, edit=edit, base_version=version,
                        note=note)
    return character_out(get_session(), character)


@bp.post("/characters/<slug>/archive")
@operation(TAG, CharacterSummary, writes=True)
def archive_character(slug: str) -> CharacterSummary:
    """Archive a character: hidden from lists and drafting, its bible kept."""
    return _set_archived(slug, archived=True)


@bp.post("/characters/<slug>/restore")
@operation(TAG, CharacterSummary, writes=True)
def restore_character(slug: str) -> CharacterSummary:
    """Bring an archived character back."""
    return _set_archived(slug, archived=False)


def _set_archived(slug: str, *, archived: bool) -> CharacterSummary:
    with unit_of_work() as db:
        character = get_character(db, api_member().workspace, slug)
        set_archived(session=db, member=api_member(), character=character, archived=archived)
    return character_summary(character)


@bp.get("/characters/<slug>/versions")
@operation(TAG, VersionList)
def list_character_versions(slug: str) -> VersionList:
    """List every saved bible version, newest first."""
    rows = list_versions_with_authors(get_session(), _character(slug))
    return VersionList(items=[VersionOut(number=version.number, note=version.note, created_at=version.created_at,
                                         created_by=user.display_name if user else None) for version, user in rows])


@bp.post("/character-cards")
@operation(TAG, ImportOut, status=201, writes=True)
def import_character(form: CardUpload) -> tuple[ImportOut, int]:
    """Create a character from a Character Card file (multipart field `file`: JSON, PNG or CHARX)."""
    upload = form.file
    if not isinstance(upload, FileStorage):
        raise ApiError(422, "file: send a file, not a text field.",
                       details=[field_detail("file", "Expected a file", "file_type")])
    raw = upload.read(MAX_CARD_BYTES + 1)
    with unit_of_work() as db:
        character, warnings = import_card(session=db, member=api_member(), raw=raw, filename=upload.filename)
    return ImportOut(character=character_out(get_session(), character), warnings=warnings), 201


@bp.get("/characters/<slug>/card")
@operation(TAG, files={"application/json": {"type": "object"}, "image/png": {"type": "string", "format": "binary"}})
def export_card(slug: str, query: CardQuery) -> Response:
    """Download the current bible as a Character Card V2: JSON, or a PNG card on the avatar."""
    card_file = export_character(get_session(), _character(slug), query.format)
    return Response(card_file.content, mimetype=card_file.mimetype, headers={
        "Content-Disposition": f'attachment; filename="{card_file.filename}"', "Cache-Control": "no-store"})


@bp.post("/characters/<slug>/check")
@reads_only
@operation(TAG, CheckOut, writes=True)
def check_character_text(slug: str, json: CheckIn) -> CheckOut:
    """Check any text against the character's current bible, as the post editor does while typing."""
    member = api_member()
    member.require(Action.DRAFT)
    result = check_texts(get_session(), _character(slug), [json.text], [json.platform])
    return CheckOut(**result.to_dict())
