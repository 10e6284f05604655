"""The post editor: new drafts, edits with optimistic locking (and the conflict page), the live check."""

import secrets
from datetime import datetime
from typing import Any

from flask import abort, flash, jsonify, redirect, render_template, request, url_for
from pydantic import ValidationError
from werkzeug.wrappers import Response

from characters.accounts.workspaces import Action
from characters.bibles.bible import current_bible, current_card, get_character, list_characters
from characters.consistency import check_confidence
from characters.consistency.rules import apply_replacement
from characters.core.errors import DomainError, NotFound
from characters.core.models import Autosave, Channel, ChannelKind, Character, Post, PostStatus, require_id
from characters.posting.autosave import discard_autosaves, get_autosave
from characters.posting.campaigns import list_campaigns
from characters.posting.planning import PLANNABLE, plan_post
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
from characters.posting.rhythm import is_zone, zone_named
from characters.posting.workflow import StaleVersion, character_of, check_texts, refusal, save_post, submit_post
from characters.publishing.channels import channels_of
from web.context import current_member
from web.database import get_session, reads_only, unit_of_work
from web.forms import EmptyForm
from web.judging import configured_judge, score_headline, score_scale, submitted_message
from web.posts import bp
from web.posts.autosave import image_parts, recovery_for, restored_state
from web.posts.editor_form import EditorState, PartView, content_of, parse_editor, state_from_parts
from web.posts.present import character_zone, int_arg, local_input, parse_local, viewer_zone

MAX_CHECK_BODY = 256 * 1024


@bp.route("/new", methods=["GET", "POST"])
def new() -> str | Response:
    """Write a new draft for one of the workspace's characters."""
    member = current_member()
    member.require(Action.DRAFT)
    db = get_session()
    characters = list_characters(db, member.workspace)
    restore = int_arg(request.args.get("restore")) if request.method == "GET" else None
    if restore is not None:
        row = get_autosave(db, member, restore)
        return _render_editor(
            restored_state(row, None, []),
            db.get(Character, row.character_id),
            characters,
            post=None,
            draft_key=row.draft_key,
        )
    wanted = request.values.get("character", "")
    character = next((c for c in characters if c.slug == wanted), characters[0] if characters else None)
    draft_key = (request.form.get("draft_key") or secrets.token_urlsafe(12))[:64]
    if request.method == "GET" or character is None:
        state = EditorState([PartView()], [], int_arg(request.args.get("campaign")), None,
                            due_local=_prefilled_time(character))
        return _render_editor(
            state, character, characters, post=None, draft_key=draft_key, recovery=recovery_for(None, state)
        )
    state, uploads = parse_editor(request)
    if request.form.get("character") and request.form["character"] != character.slug:
        state.error("character", "Not a valid choice: pick one of the workspace's characters.")
        return _render_editor(state, character, characters, post=None, draft_key=draft_key)
    if not EmptyForm().validate_on_submit():
        abort(400)
    if state.op == "switch":  # the character changed without JavaScript: the same text, the new character
        state.channel_ids = []
        return _render_editor(state, character, characters, post=None, draft_key=draft_key)
    content = content_of(state, uploads) if state.op in ("save", "submit") else None
    if content is None:
        return _render_editor(state, character, characters, post=None, draft_key=draft_key)
    try:
        due = _planned_time(state, character)
        with unit_of_work() as db:
            post = create_draft(
                session=db,
                member=member,
                character=get_character(db, member.workspace, character.slug),
                content=content,
            )
            plan_post(db, member, post, due)
            discard_autosaves(db, member, None, draft_key)
    except DomainError as error:
        state.error(_field_of(error), error.message)
        return _render_editor(state, character, characters, post=None, draft_key=draft_key)
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
    channel_ids = [t.channel_id for t in deliveries_of(db, post) if t.channel_id]
    restore = int_arg(request.args.get("restore"))
    if restore is not None:
        row = get_autosave(db, member, restore)
        if row.post_id != post.id:
            raise NotFound("That autosaved text belongs to another post.")
        return _render_editor(restored_state(row, post.version, image_parts(post)), character, [], post=post)
    state = state_from_parts(parts_of(db, post), channel_ids, post.campaign_id, post.version)
    state.due_local = local_input(post.due_at, character_zone(character))
    return _render_editor(state, character, [], post=post, recovery=recovery_for(post, state))


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
        due = _planned_time(state, character)
        with unit_of_work() as db:
            post = get_post(db, member.workspace, require_id(post))
            was = post.status
            save_post(session=db, member=member, post=post, expected_version=state.version or 0, content=content)
            if post.status in PLANNABLE:
                plan_post(db, member, post, due)
            discard_autosaves(db, member, post.id, "")
    except StaleVersion as stale:
        return _render_conflict(stale, state, character), 409
    except DomainError as error:
        state.error(_field_of(error), error.message)
        return _render_editor(state, character, [], post=post)
    if was == PostStatus.APPROVED:
        flash(
            f"Saved as version {post.version}. It was approved, so it went back to review and off the schedule.",
            "warning",
        )
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
            check = submit_post(
                session=db,
                member=member,
                post=get_post(db, member.workspace, post_id),
                expected_version=version,
                judge=configured_judge(),
            )
    except DomainError as error:
        flash(f"Saved, but not submitted: {error.message}", "error")
        return
    flash(submitted_message(check.score, check.verdict), "warning" if check.failed else "success")


def _field_of(error: DomainError) -> str:
    fields = {"channels": "channels", "campaign": "campaign", "character": "character", "due_at": "due_at"}
    return fields.get(error.field or "", "form")


def _prefilled_time(character: Character | None) -> str:
    """Return the planned time a calendar slot or a gap asked for (?due=, read in ?zone= or the viewer's zone),
    as the editor shows it: in the character's zone. Empty when none was asked for or it cannot be read."""
    wanted, zone_name = request.args.get("due", "")[:40], request.args.get("zone", "")[:64]
    if not wanted or character is None:
        return ""
    try:
        moment = parse_local(wanted, zone_named(zone_name) if is_zone(zone_name) else viewer_zone())
    except DomainError:
        return ""
    return local_input(moment, character_zone(character))


def _planned_time(state: EditorState, character: Character) -> datetime | None:
    """Read the planned time typed in the character's zone (None when left empty); DomainError when malformed."""
    return parse_local(state.due_local, character_zone(character)) if state.due_local.strip() else None


def _render_editor(
    state: EditorState,
    character: Character | None,
    characters: list[Character],
    post: Any,
    draft_key: str = "",
    recovery: Autosave | None = None,
) -> str:
    db = get_session()
    member = current_member()
    channels: list[Channel] = channels_of(db, character) if character else []
    if post is None and not state.channel_ids:
        # A new draft goes to the character's own feed unless the writer picks otherwise (none ticked means
        # the feed as well: saving creates it for a character from before feeds came with the character).
        state.channel_ids = [require_id(c) for c in channels if c.kind == ChannelKind.FEED]
    return render_template(
        "posts/editor.html",
        state=state,
        character=character,
        characters=characters,
        post=post,
        channels=channels,
        campaigns=list_campaigns(db, member.workspace),
        max_parts=MAX_THREAD_PARTS,
        max_chars=MAX_POST_CHARS,
        draft_key=draft_key,
        recovery=recovery,
        zone=viewer_zone(),
        char_zone=character_zone(character) if character else None,
        persona=_persona(character) if character else None,
    )


def _persona(character: Character) -> dict[str, Any]:
    """Return what the network previews show of the character: name, avatar and its handle on each network."""
    avatar = None
    if character.avatar_png is not None:
        avatar = url_for("characters.avatar", slug=character.slug, v=int(character.updated_at.timestamp()))
    return {"name": character.name, "avatar": avatar,
            "handles": current_card(get_session(), character).greenroom.handles}


def _render_conflict(stale: StaleVersion, state: EditorState, character: Character) -> str:
    db = get_session()
    theirs_post = stale.post
    theirs = [part.text for part in parts_of(db, theirs_post)]
    yours = [part.text for part in state.parts]
    editor_name = latest_editor(db, theirs_post)
    state.version = theirs_post.version
    return render_template(
        "posts/conflict.html",
        post=theirs_post,
        character=character,
        theirs=theirs,
        yours=yours,
        diff=diff_parts(theirs, yours),
        state=state,
        editor_name=editor_name,
        expected=stale.expected,
    )


class _BadCheck(Exception):
    """A live-check request the endpoint refuses, with the JSON answer to give."""

    def __init__(self, message: str, status: int) -> None:
        super().__init__(message)
        self.message, self.status = message, status


def _check_request(member: Any, payload: Any) -> tuple[Character, list[str], list[str | None]]:
    """Read {character, parts, channels} from a live-check body: the character, its parts and their networks."""
    if not isinstance(payload, dict):
        raise _BadCheck("Send JSON: {character, parts, channels}.", 400)
    db = get_session()
    try:
        character = get_character(db, member.workspace, str(payload.get("character", ""))[:64])
    except NotFound:
        raise _BadCheck("No such character in this workspace.", 404) from None
    parts = payload.get("parts")
    if not isinstance(parts, list) or not parts or not all(isinstance(p, str) for p in parts):
        raise _BadCheck("`parts` must be a non-empty list of strings.", 400)
    parts = [p[:MAX_POST_CHARS] for p in parts[:MAX_THREAD_PARTS]]
    try:
        wanted = {int(c) for c in payload.get("channels") or [] if str(c).isdigit()}
    except (TypeError, ValueError, ValidationError):
        wanted = set()
    kinds = [c.kind for c in channels_of(db, character) if c.id in wanted]
    return character, parts, list(platforms_for_kinds(kinds))


def _checked(character: Character, parts: list[str], platforms: list[str | None]) -> dict[str, Any]:
    """Check the parts and say what the score means and how far the voice evidence goes."""
    db = get_session()
    result = check_texts(db, character, parts, platforms)
    # The folded post check carries no confidence: read it from the longest part, whose voice says the most, from
    # the model the check just built (same cache key), without checking the text a second time.
    longest = max(parts, key=len)
    confidence, note = None, None
    if longest.strip():
        bible = current_bible(db, character)
        confidence, note = check_confidence(bible.card, longest, cache_key=bible.key)
    return {
        **result.to_dict(),
        "headline": score_headline(result.score, result.verdict),
        "scale": score_scale(character.name),
        "confidence": confidence,
        "confidence_note": note,
    }


def _json_body() -> Any:
    if (request.content_length or 0) > MAX_CHECK_BODY:
        raise _BadCheck("The text is too long to check.", 413)
    return request.get_json(silent=True)


@bp.route("/check", methods=["POST"])
@reads_only
def check() -> Response | tuple[Response, int]:
    """Check draft text against a character as the writer types: score, verdict and findings with spans."""
    member = current_member()
    member.require(Action.DRAFT)
    try:
        character, parts, platforms = _check_request(member, _json_body())
    except _BadCheck as bad:
        return jsonify(error=bad.message), bad.status
    return jsonify(_checked(character, parts, platforms))


@bp.route("/check/apply", methods=["POST"])
@reads_only
def apply_fix() -> Response | tuple[Response, int]:
    """Apply one finding's replacement to a part and check the result (the editor's one-click fix).

    The body is a live-check body plus `fix`: {part, start, end, expected, replacement}; `expected` is what the
    span held when the check ran, so a draft edited since gets 409 and a fresh check instead of a wrong edit.
    """
    member = current_member()
    member.require(Action.DRAFT)
    try:
        payload = _json_body()
        character, parts, platforms = _check_request(member, payload)
        part, start, end, expected, replacement = _fix_of(payload, parts)
    except _BadCheck as bad:
        return jsonify(error=bad.message), bad.status
    text = parts[part - 1]
    if start is not None and text[start:end] != expected:
        answer = {"error": "The draft changed since it was checked; here is a fresh check.", "part": part}
        return jsonify({**answer, "check": _checked(character, parts, platforms)}), 409
    fixed, caret = apply_replacement(text, start, end, replacement)
    parts[part - 1] = fixed[:MAX_POST_CHARS]
    return jsonify(
        part=part,
        text=parts[part - 1],
        caret=min(caret, len(parts[part - 1])),
        check=_checked(character, parts, platforms),
    )


def _fix_of(payload: dict[str, Any], parts: list[str]) -> tuple[int, int | None, int | None, str, str]:
    """Read and bound-check the `fix` of an apply request."""
    fix = payload.get("fix")
    if not isinstance(fix, dict):
        raise _BadCheck("`fix` must be an object: {part, start, end, expected, replacement}.", 400)
    part, start, end = fix.get("part"), fix.get("start"), fix.get("end")
    expected, replacement = fix.get("expected", ""), fix.get("replacement")
    if not isinstance(part, int) or isinstance(part, bool) or not 1 <= part <= len(parts):
        raise _BadCheck("`fix.part` must be the number of a part, from 1.", 400)
    if not isinstance(replacement, str) or not isinstance(expected, str) or len(replacement) > MAX_POST_CHARS:
        raise _BadCheck("`fix.replacement` and `fix.expected` must be strings.", 400)
    if start is None and end is None:
        return part, None, None, expected, replacement
    offsets = (start, end) if isinstance(start, int) and isinstance(end, int) else None
    if (
        offsets is None
        or isinstance(start, bool)
        or isinstance(end, bool)
        or not 0 <= offsets[0] <= offsets[1] <= len(parts[part - 1])
    ):
        raise _BadCheck("`fix.start` and `fix.end` must be offsets inside the part.", 400)
    return part, offsets[0], offsets[1], expected, replacement
