"""The editor's autosave: JSON in as the person types, "saved at" out; recovery offered on the next visit."""

from typing import Any

from flask import flash, jsonify, redirect, request, url_for
from pydantic import ValidationError
from werkzeug.wrappers import Response

from characters.accounts.workspaces import Action
from characters.bibles.bible import get_character
from characters.core.errors import DomainError, NotFound
from characters.core.models import Autosave, Post
from characters.posting.autosave import AutosaveContent, autosave, discard_autosaves, recoverable
from characters.posting.posts import get_post, parts_of
from web.context import current_member
from web.database import get_session, unit_of_work
from web.forms import EmptyForm
from web.posts import bp
from web.posts.editor_form import EditorState, PartView
from web.posts.present import int_arg, viewer_zone

MAX_AUTOSAVE_BODY = 1024 * 1024


@bp.route("/autosave", methods=["POST"])
def autosave_draft() -> Response | tuple[Response, int]:
    """Keep the editor's current text as the draft's next autosaved version; answer when it was saved."""
    member = current_member()
    member.require(Action.DRAFT)
    payload: Any = request.get_json(silent=True) if (request.content_length or 0) <= MAX_AUTOSAVE_BODY else None
    if not isinstance(payload, dict):
        return jsonify(error="Send JSON: {character, parts, channel_ids, campaign_id, post_id | draft_key}."), 400
    try:
        content = AutosaveContent.model_validate(payload)
    except ValidationError:
        return jsonify(error="The draft could not be read: parts must be a list of {text, alt}."), 400
    post_id = int_arg(str(payload.get("post_id") or ""))
    try:
        with unit_of_work() as db:
            character = get_character(db, member.workspace, str(payload.get("character", ""))[:64])
            post = get_post(db, member.workspace, post_id) if post_id is not None else None
            row = autosave(
                session=db,
                member=member,
                character=character,
                post=post,
                draft_key=str(payload.get("draft_key", "")),
                content=content,
            )
    except NotFound as missing:
        return jsonify(error=missing.message), 404
    except DomainError as error:
        return jsonify(error=error.message), 409
    local = row.saved_at.astimezone(viewer_zone())
    return jsonify(
        revision=row.revision,
        saved_at=row.saved_at.isoformat(),
        message=f"Autosaved at {local:%H:%M:%S} (version {row.revision})",
    )


@bp.route("/autosave/discard", methods=["POST"])
def discard_autosave() -> Response:
    """Forget an autosaved draft the person chose not to restore; back to the editor it came from."""
    member = current_member()
    member.require(Action.DRAFT)
    if not EmptyForm().validate_on_submit():
        flash("The form expired; try again.", "error")
        return redirect(url_for("posts.new"))
    post_id = int_arg(request.form.get("post_id"))
    with unit_of_work() as db:
        discard_autosaves(db, member, post_id, request.form.get("draft_key", "")[:64])
    flash("Discarded the autosaved text.", "info")
    return redirect(url_for("posts.edit", post_id=post_id) if post_id else url_for("posts.new"))


def recovery_for(post: Post | None, state: EditorState) -> Autosave | None:
    """Return the autosave to offer back in the editor, unless it holds exactly what the form shows."""
    row = recoverable(get_session(), current_member(), post)
    if row is None or [(p["text"], p["alt"]) for p in row.content["parts"]] == [(p.text, p.alt) for p in state.parts]:
        return None
    return row


def restored_state(row: Autosave, version: int | None, keep: list[int | None]) -> EditorState:
    """Return the editor state an autosave holds (images of saved parts kept where the part still is)."""
    parts = [
        PartView(part["text"], part["alt"], keep[index] if index < len(keep) else None)
        for index, part in enumerate(row.content["parts"])
    ]
    return EditorState(parts, list(row.content.get("channel_ids") or []), row.content.get("campaign_id"), version)


def image_parts(post: Post) -> list[int | None]:
    """Return, per part of `post`, the part id whose image the editor keeps (None without an image)."""
    return [part.id if part.image is not None else None for part in parts_of(get_session(), post)]
