"""Changing characters: create, edit the bible (a new version each save) and import a card file."""

import base64
from typing import Any

from flask import flash, redirect, render_template, request, url_for
from pydantic import BaseModel, ValidationError
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session
from werkzeug.wrappers import Response

from characters.accounts.workspaces import Action, Member
from characters.bibles.bible import (
    CardMatches,
    ImportChoice,
    current_card,
    get_character,
    import_card,
    upload_avatar,
)
from characters.bibles.card_data import CardData
from characters.bibles.cards import MAX_CARD_BYTES
from characters.bibles.editing import (
    BannedRow,
    BibleEdit,
    LoreRow,
    PreferredRow,
    SlotRow,
    TextRow,
    create_character_from_edit,
    edit_values,
    save_bible_edit,
    timezone_names,
)
from characters.core.errors import Conflict, DomainError
from characters.core.models import Character
from web.characters import bp, present
from web.context import current_member
from web.database import get_session, unit_of_work
from web.forms import EmptyForm
from web.forms_characters import ROW_FORMS, TIMEZONE_LIST_ID, BibleForm, ImportForm
from web.formtools import apply_errors, domain_errors, save_form, validation_errors

ROW_MODELS: dict[str, type[BaseModel]] = {
    "alternate_greetings": TextRow, "banned": BannedRow, "preferred": PreferredRow, "canon_posts": TextRow,
    "slots": SlotRow, "lore": LoreRow,
}
# Empty rows always on the page, so adding works without JavaScript too; lore rows are big, so fewer.
BLANK_ROWS = {"alternate_greetings": 1, "banned": 2, "preferred": 2, "canon_posts": 2, "slots": 2, "lore": 1}


def _editor() -> Member:
    member = current_member()
    member.require(Action.EDIT_BIBLE)
    return member


def _filled_form(card: CardData | None, base_version: int | None = None) -> BibleForm:
    """Return the editor showing `card` (an empty character when None), with empty rows to fill."""
    values = edit_values(card or CardData(name="-"))
    if card is None:
        values["name"] = ""
    form = BibleForm(formdata=None, data={**values, "base_version": base_version or ""})
    for name, count in BLANK_ROWS.items():
        for _ in range(count):
            form[name].append_entry()
    return form


def _is_blank(values: dict[str, Any]) -> bool:
    """Whether a row was left empty (its text fields all blank): such rows are not saved."""
    return not any(value.strip() if isinstance(value, str) else value
                   for key, value in values.items() if isinstance(value, str | list) and key != "source")


def _rows(field_list: Any, model: type[BaseModel]) -> tuple[list[BaseModel], bool]:
    """Validate each non-empty, non-removed row; put problems on the row's fields."""
    rows: list[BaseModel] = []
    valid = True
    for entry in field_list.entries:
        values = {key: value for key, value in entry.form.data.items() if key != "remove"}
        if entry.form.remove.data or _is_blank(values):
            continue
        try:
            rows.append(model.model_validate(values))
        except ValidationError as error:
            apply_errors(entry.form, validation_errors(error))
            valid = False
    return rows, valid


def edit_from_form(form: BibleForm) -> BibleEdit | None:
    """Read the form as a BibleEdit; on any problem, show it on its field and return None."""
    values: dict[str, Any] = {}
    valid = True
    for name in BibleEdit.model_fields:
        if name in ROW_MODELS:
            values[name], rows_valid = _rows(form[name], ROW_MODELS[name])
            valid = valid and rows_valid
        elif form[name].data is not None:
            values[name] = form[name].data
        elif BibleEdit.model_fields[name].is_required():
            values[name] = ""  # a field missing from the request reads as left empty
        # Any other missing or empty value (an empty number box) means "the default".
    try:
        edit = BibleEdit.model_validate(values)
    except ValidationError as error:
        apply_errors(form, validation_errors(error))
        return None
    return edit if valid else None


def _render_editor(form: BibleForm, character: Character | None, conflict: bool = False, avatar_error: str = "") -> str:
    row_templates = {name: row_form(prefix=f"{name}-__index__-") for name, row_form in ROW_FORMS.items()}
    return render_template("characters/edit.html", form=form, character=character, conflict=conflict,
                           row_templates=row_templates, problems=present.form_problems(form),
                           timezones=timezone_names(), timezone_list_id=TIMEZONE_LIST_ID, avatar_error=avatar_error)


@bp.route("/new", methods=["GET", "POST"])
def new() -> str | Response:
    """Create a character with the same editor as for changes; the first save is version 1."""
    member = _editor()
    form = BibleForm() if request.method == "POST" else _filled_form(None)
    if form.is_submitted():
        # Check both layers either way, so every problem shows at once.
        valid, edit = form.validate(), edit_from_form(form)
        picture = request.files.get("avatar")
        raw = picture.read(MAX_CARD_BYTES + 1) if picture is not None and picture.filename else None
        if valid and edit is not None:
            character, errors = save_form(lambda db: _created(db, member, edit, form.note.data or "", raw))
            avatar_error = " ".join(errors.pop("avatar", []))
            apply_errors(form, errors)
            if character is not None:
                flash(f"{character.name} is created.", "success")
                return redirect(url_for("characters.page", slug=character.slug))
            return _render_editor(form, None, avatar_error=avatar_error)
    return _render_editor(form, None)


def _created(db: Session, member: Member, edit: BibleEdit, note: str, avatar: bytes | None) -> Character:
    """Create the character and, when one was chosen, its avatar: both or neither."""
    character = create_character_from_edit(session=db, member=member, edit=edit, note=note)
    if avatar is not None:
        upload_avatar(session=db, member=member, character=character, raw=avatar)
    return character


@bp.route("/<slug>/edit", methods=["GET", "POST"])
def edit(slug: str) -> str | Response:
    """Edit the bible; saving stores a new version built on the one the editor was opened on."""
    member = _editor()
    character = get_character(get_session(), member.workspace, slug)
    form = BibleForm() if request.method == "POST" else _filled_form(current_card(get_session(), character),
                                                                     character.current_version)
    conflict = False
    if form.is_submitted():
        valid, edit = form.validate(), edit_from_form(form)
        if valid and edit is not None:
            base = form.base_version.data
            try:
                with unit_of_work() as db:
                    version = save_bible_edit(
                        session=db, member=member, character=character, edit=edit, note=form.note.data or "",
                        base_version=int(base) if str(base).isdigit() else None, overwrite=form.overwrite.data)
            except Conflict as error:
                conflict = error.field == "base_version"
                form.form_errors.append(error.message)
            except IntegrityError:
                # Two saves at the same instant both took the next number; the database kept the other one.
                conflict = True
                form.form_errors.append("Someone saved at the same moment as you.")
            except DomainError as error:
                apply_errors(form, domain_errors(error))
            else:
                flash(f"Saved as version {version.number}.", "success")
                return redirect(url_for("characters.page", slug=character.slug))
    return _render_editor(form, character, conflict)


@bp.route("/import", methods=["GET", "POST"])
def import_file() -> str | Response:
    """Create a character from a Character Card file; a bad file is explained and nothing is saved.

    A card of a character the workspace already has is held on the page (the browser cannot send a file twice)
    while the person picks: update that character as a new version, or import it as a copy.
    """
    member = _editor()
    form = ImportForm()
    choice = request.form.get("on_match", "")
    if choice in ("update", "copy") and request.form.get("card_data"):
        if not EmptyForm().validate_on_submit():
            flash("The form expired; choose the file again.", "error")
            return redirect(url_for("characters.import_file"))
        try:
            raw = base64.b64decode(request.form["card_data"], validate=True)[: MAX_CARD_BYTES + 1]
        except ValueError:
            flash("The held card could not be read; choose the file again.", "error")
            return redirect(url_for("characters.import_file"))
        filename = request.form.get("card_name", "")[:200] or None
    elif form.validate_on_submit():
        raw, filename = form.file.data.read(MAX_CARD_BYTES + 1), form.file.data.filename
        choice = "ask"
    else:
        return render_template("characters/import.html", form=form, match=None)
    on_match: ImportChoice = "update" if choice == "update" else "copy" if choice == "copy" else "ask"
    try:
        with unit_of_work() as db:
            character, warnings = import_card(session=db, member=member, filename=filename, raw=raw,
                                              on_match=on_match)
    except CardMatches as match:
        return render_template("characters/import.html", form=form, match=match.character, filename=filename,
                               card_data=base64.b64encode(raw).decode("ascii"))
    except DomainError as error:
        apply_errors(form, domain_errors(error))
        return render_template("characters/import.html", form=form, match=None)
    flash(f"Updated {character.name}: bible version {character.current_version}." if on_match == "update"
          else f"Imported {character.name}.", "success")
    for warning in warnings:
        flash(warning, "warning")
    return redirect(url_for("characters.page", slug=character.slug))
