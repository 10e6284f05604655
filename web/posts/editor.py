"""The post editor: new drafts, edits with optimistic locking (and the conflict page), the live check."""

from typing import Any

from flask import abort, flash, jsonify, redirect, render_template, request, url_for
from pydantic import ValidationError
from werkzeug.wrappers import Response

from characters.accounts.workspaces import Action
from characters.bibles.bible import get_character, list_characters
from characters.core.errors import DomainError, NotFound
from characters.core.models import Channel, ChannelKind, Character, Post, PostStatus, require_id
from characters.posting.campaigns import list_campaigns
from characters.posting.posts import (
    EDITABLE,
    MAX_POST_CHARS,
    MAX_THREAD_PARTS,
    create_draft,
    deliveries_of,
    diff_parts,
    get_post,
    latest_editor,
    parts_of,
    platforms_for_kinds,
)
from characters.posting.workflow import StaleVersion, character_of, check_texts, refusal, save_post, submit_post
from characters.publishing.channels import channels_of
from web.context import current_member
from web.database import get_session, reads_only, unit_of_work
from web.forms import EmptyForm
from web.judging import configured_judge
from web.posts import bp
from web.posts.editor_form import EditorState, PartView, content_of, parse_editor, state_from_parts

MAX_CHECK_BODY = 256 * 1024


@bp.route("/new", methods=["GET", "POST"])
def new() -> str | Response:
    """Write a new draft for one of the workspace's characters."""
    member = current_member()
    member.require(Action.DRAFT)
    db = get_session()
    characters = list_characters(db, member.workspace)
    wanted = request.values.get("character", "")
    character = next((c for c in characters if c.slug == wanted), characters[0] if characters else None)
    if request.method == "GET" or character is None:
        state = EditorState([PartView()], [], None, None)
        return _render_editor(state, character, characters, post=None)
    if request.form.get("character") and request.form["character"] != character.slug:
        state, _ = parse_editor(request)
        state.error("character", "Not a valid choice: pick one of the workspace's characters.")
        return _render_editor(state, character, characters, post=None)
    state, uploads = parse_editor(request)
    if not EmptyForm().validate_on_submit():
        abort(400)
    content = content_of(state, uploads) if state.op in ("save", "submit") else None
    if content is None:
        return _render_editor(state, character, characters, post=None)
    try:
        with unit_of_work() as db:
            post = create_draft(session=db, member=member, character=get_character(db, member.workspace,
                                                                                    character.slug),
                                content=content)
    except DomainError as error:
        state.error(_field_of(error), error.message)
        return _render_editor(state, character, characters, post=None)
    flash(f"Draft saved for {character.name}.", "success")
    if state.op == "submit":
        _submit_after_save(require_id(post), post.version)
    return redirect(url_for("posts.detail", post_id=post.id))


@bp.route("/<int:post_id>/edit", methods=["GET", "POST"])
def edit(post_id: int) -> str | Response | tuple[str, int]:
    """Edit a post; the form carries the version it was loaded at, so a stale save becomes a conflict page."""
    member = current_member()
    member.require(Action.DRAFT)
    db = get_session()
    post = get_post(db, member.workspace, post_id)
    if post.scene_id is not None:
        flash("This post is part of a scene; edit it in the scene.", "info")
        return redirect(url_for("scenes.detail", scene_id=post.scene_id))
    character = character_of(db, post)
    if request.method == "POST":
        return _save_edit(post, character)
    if post.status not in EDITABLE:
        flash(refusal(post.status, "edited"), "info")
        return redirect(url_for("posts.detail", post_id=post.id))
    state = state_from_parts(parts_of(db, post), [t.channel_id for t in deliveries_of(db, post) if t.channel_id],
                             post.campaign_id, post.version)
    return _render_editor(state, character, [], post=post)


def _save_edit(post: Post, character: Character) -> str | Response | tuple[str, int]:
    """Save the editor's form as the post's next version, or show the form again with what went wrong."""
    if not EmptyForm().validate_on_submit():
        abort(400)
    member = current_member()
    state, uploads = parse_editor(request)
    content = content_of(state, uploads) if state.op in ("save", "submit") else None
    if state.version is None:
        state.error("form", "This form is missing its version; reload the page and try again.")
        content = None
    if content is None:
        return _render_editor(state, character, [], post=post)
    try:
        with unit_of_work() as db:
            post = get_post(db, member.workspace, require_id(post))
            was = post.status
            save_post(session=db, member=member, post=post, expected_version=state.version or 0, content=content)
    except StaleVersion as stale:
        return _render_conflict(stale, state, character), 409
    except DomainError as error:
        state.error(_field_of(error), error.message)
        return _render_editor(state, character, [], post=post)
    if was == PostStatus.APPROVED:
        flash(f"Saved as version {post.version}. It was approved, so it went back to review and off the "
              "schedule.", "warning")
    else:
        flash(f"Saved as version {post.version}.", "success")
    if state.op == "submit" and post.status == PostStatus.DRAFT:
        _submit_after_save(require_id(post), post.version)
    return redirect(url_for("posts.detail", post_id=post.id))


def _submit_after_save(post_id: int, version: int) -> None:
    """Submit right after saving; a refusal leaves the saved draft and says why."""
    member = current_member()
    try:
        with unit_of_work() as db:
            check = submit_post(session=db, member=member, post=get_post(db, member.workspace, post_id),
                                expected_version=version, judge=configured_judge())
    except DomainError as error:
        flash(f"Saved, but not submitted: {error.message}", "error")
        return
    flash(_submitted_message(check.verdict, check.score), "warning" if check.failed else "success")


def _submitted_message(verdict: str, score: int) -> str:
    if verdict == "fail":
        return (f"Submitted for review, but it fails the in-character check (score {score}). An editor must "
                "fix it or approve it with a written reason.")
    return f"Submitted for review (in-character score {score}, {verdict})."


def _field_of(error: DomainError) -> str:
    return {"channels": "channels", "campaign": "campaign", "character": "character"}.get(error.field or "", "form")


def _render_editor(state: EditorState, character: Character | None, characters: list[Character],
                   post: Any) -> str:
    db = get_session()
    member = current_member()
    channels: list[Channel] = channels_of(db, character) if character else []
    if post is None and not state.channel_ids:
        # A new draft goes to the character's own feed unless the writer picks otherwise (none ticked means
        # the feed as well: saving creates it for a character from before feeds came with the character).
        state.channel_ids = [require_id(c) for c in channels if c.kind == ChannelKind.FEED]
    return render_template("posts/editor.html", state=state, character=character, characters=characters,
                           post=post, channels=channels, campaigns=list_campaigns(db, member.workspace),
                           max_parts=MAX_THREAD_PARTS, max_chars=MAX_POST_CHARS)


def _render_conflict(stale: StaleVersion, state: EditorState, character: Character) -> str:
    db = get_session()
    theirs_post = stale.post
    theirs = [part.text for part in parts_of(db, theirs_post)]
    yours = [part.text for part in state.parts]
    editor_name = latest_editor(db, theirs_post)
    state.version = theirs_post.version
    return render_template("posts/conflict.html", post=theirs_post, character=character, theirs=theirs,
                           yours=yours, diff=diff_parts(theirs, yours), state=state, editor_name=editor_name,
                           expected=stale.expected)


@bp.route("/check", methods=["POST"])
@reads_only
def check() -> Response | tuple[Response, int]:
    """Check draft text against a character as the writer types: score, verdict and findings with spans."""
    member = current_member()
    member.require(Action.DRAFT)
    if (request.content_length or 0) > MAX_CHECK_BODY:
        return jsonify(error="The text is too long to check."), 413
    payload = request.get_json(silent=True)
    if not isinstance(payload, dict):
        return jsonify(error="Send JSON: {character, parts, channels}."), 400
    db = get_session()
    try:
        character = get_character(db, member.workspace, str(payload.get("character", ""))[:64])
    except NotFound:
        return jsonify(error="No such character in this workspace."), 404
    parts = payload.get("parts")
    if not isinstance(parts, list) or not parts or not all(isinstance(p, str) for p in parts):
        return jsonify(error="`parts` must be a non-empty list of strings."), 400
    parts = [p[:MAX_POST_CHARS] for p in parts[:MAX_THREAD_PARTS]]
    try:
        wanted = {int(c) for c in payload.get("channels") or [] if str(c).isdigit()}
    except (TypeError, ValueError, ValidationError):
        wanted = set()
    kinds = [c.kind for c in channels_of(db, character) if c.id in wanted]
    result = check_texts(db, character, parts, platforms_for_kinds(kinds))
    return jsonify(result.to_dict())
