"""Reading characters: the list, the bible page, history with diffs, avatars, exports and archiving."""

from io import BytesIO
from typing import Literal

from flask import Response as FlaskResponse
from flask import flash, redirect, render_template, request, send_file, url_for
from werkzeug.wrappers import Response

from characters.accounts.workspaces import Action
from characters.bibles.bible import (
    current_card,
    current_cards,
    diff_versions,
    export_character,
    get_character,
    get_version,
    list_characters,
    list_versions_with_authors,
    set_archived,
    set_avatar,
    upload_avatar,
)
from characters.bibles.cards import MAX_AVATAR_BYTES
from characters.core.errors import NotFound
from characters.core.models import Character
from web.characters import bp, present
from web.context import current_member
from web.database import get_session, unit_of_work
from web.forms_characters import AvatarForm
from web.formtools import apply_errors, save_form

PAGE = 48  # character cards per page of the list (each reads its whole bible)


@bp.route("/")
def index() -> str:
    """List the workspace's characters (or the archived ones) with their era and voice at a glance."""
    member = current_member()
    db = get_session()
    show_archived = request.args.get("show") == "archived"
    everyone = list_characters(db, member.workspace, include_archived=True)
    matching = [character for character in everyone if (character.archived_at is not None) == show_archived]
    pages = max(1, -(-len(matching) // PAGE))
    page = min(max(request.args.get("page", 1, type=int) or 1, 1), pages)
    shown = matching[(page - 1) * PAGE:page * PAGE]
    archived_count = sum(1 for character in everyone if character.archived_at is not None)
    return render_template("characters/index.html", characters=shown, cards=current_cards(db, shown),
                           show_archived=show_archived, active_count=len(everyone) - archived_count,
                           archived_count=archived_count, page=page, pages=pages, first=(page - 1) * PAGE + 1,
                           total=len(matching))


def _character(slug: str) -> Character:
    return get_character(get_session(), current_member().workspace, slug)


def _render_page(character: Character, avatar_form: AvatarForm) -> str:
    card = current_card(get_session(), character)
    greenroom = card.greenroom
    return render_template(
        "characters/page.html", character=character, card=card, greenroom=greenroom,
        voice_rules=present.voice_rules(greenroom.voice), era=present.era_words(greenroom.era),
        knowledge=present.knowledge_limit(greenroom.era), zone=present.zone_text(greenroom.timezone),
        rhythm=present.rhythm_lines(greenroom.rhythm), avatar_form=avatar_form,
        can_edit=current_member().can(Action.EDIT_BIBLE),
    )


@bp.route("/<slug>/")
def page(slug: str) -> str:
    """Show the bible as a person reads it, with downloads and (for editors) the avatar controls."""
    return _render_page(_character(slug), AvatarForm(formdata=None))


@bp.route("/<slug>/history")
def history(slug: str) -> str:
    """List the bible's versions and show what changed between two of them (default: the latest change)."""
    character = _character(slug)
    db = get_session()
    newer_number = request.args.get("b", type=int) or character.current_version
    older_number = request.args.get("a", type=int) or (newer_number - 1 if newer_number > 1 else None)
    newer = get_version(db, character, newer_number)
    older = get_version(db, character, older_number) if older_number else None
    changes = present.diff_view(diff_versions(older, newer)) if older is not None else []
    return render_template("characters/history.html", character=character,
                           versions=list_versions_with_authors(db, character), older=older, newer=newer,
                           changes=changes)


@bp.route("/<slug>/avatar.png")
def avatar(slug: str) -> FlaskResponse:
    """Serve a character's avatar image."""
    character = _character(slug)
    if character.avatar_png is None:
        raise NotFound("This character has no avatar.")
    response = FlaskResponse(character.avatar_png, mimetype="image/png")
    response.headers["Cache-Control"] = "private, max-age=300"
    return response


@bp.route("/<slug>/avatar", methods=["POST"])
def avatar_upload(slug: str) -> str | Response:
    """Replace the avatar with an uploaded picture; a bad file is explained on the page, nothing changes."""
    member = current_member()
    member.require(Action.EDIT_BIBLE)
    character = _character(slug)
    form = AvatarForm()
    if form.validate_on_submit():
        _, errors = save_form(lambda db: upload_avatar(session=db, member=member, character=character,
                                                       raw=form.avatar.data.read(MAX_AVATAR_BYTES + 1)))
        apply_errors(form, errors)
        if not errors:
            flash("New picture saved.", "success")
            return redirect(url_for("characters.page", slug=character.slug))
    return _render_page(character, form)


@bp.route("/<slug>/avatar/remove", methods=["POST"])
def avatar_remove(slug: str) -> Response:
    """Remove the avatar (exports then use a placeholder with the initials)."""
    member = current_member()
    member.require(Action.EDIT_BIBLE)
    character = _character(slug)
    with unit_of_work() as db:
        set_avatar(session=db, member=member, character=character, avatar_png=None)
    flash("Picture removed.", "success")
    return redirect(url_for("characters.page", slug=character.slug))


@bp.route("/<slug>/card.<any(json, png):file_format>")
def export(slug: str, file_format: Literal["json", "png"]) -> Response:
    """Download the current bible as a Character Card V2: JSON, or a PNG card on the avatar."""
    card_file = export_character(get_session(), _character(slug), file_format)
    return send_file(BytesIO(card_file.content), mimetype=card_file.mimetype, as_attachment=True,
                     download_name=card_file.filename, max_age=0)


@bp.route("/<slug>/archive", methods=["POST"])
def archive(slug: str) -> Response:
    """Archive a character: hidden from the list and from drafting, its bible kept."""
    return _set_archived(slug, archived=True)


@bp.route("/<slug>/restore", methods=["POST"])
def restore(slug: str) -> Response:
    """Bring an archived character back."""
    return _set_archived(slug, archived=False)


def _set_archived(slug: str, *, archived: bool) -> Response:
    member = current_member()
    member.require(Action.EDIT_BIBLE)
    character = _character(slug)
    with unit_of_work() as db:
        set_archived(session=db, member=member, character=character, archived=archived)
    if archived:
        flash(f"{character.name} is archived. Find them under “Archived” to restore them.", "success")
        return redirect(url_for("characters.index"))
    flash(f"{character.name} is back.", "success")
    return redirect(url_for("characters.page", slug=character.slug))
