"""Scenes: plan a scripted exchange between characters, review and approve it as one unit."""

import re
from typing import Any

from flask import abort, flash, redirect, render_template, request, url_for
from pydantic import ValidationError
from werkzeug.wrappers import Response

from characters.accounts.workspaces import Action
from characters.audit.log import scene_events
from characters.bibles.bible import list_characters
from characters.core.errors import DomainError, NotFound, PermissionDenied
from characters.core.models import Scene, require_id, utcnow
from characters.posting.campaigns import list_campaigns
from characters.posting.rhythm import due_time_or_next_slot, next_free_slot
from characters.posting.scenes import (
    MAX_LINES,
    SceneInput,
    approve_scene,
    cancel_scene,
    create_scene,
    first_character,
    get_scene,
    line_counts,
    list_scenes,
    reject_scene,
    save_scene,
    scene_actions,
    scene_lines,
    submit_scene,
)
from characters.posting.workflow import CheckFailed, StaleVersion
from web.context import current_member, workspace_blueprint
from web.database import get_session, unit_of_work
from web.forms import EmptyForm
from web.formtools import FORM, FieldErrors, save_form, validation_errors
from web.posts.present import character_zone, int_arg, local_input, parse_local, viewer_zone

bp = workspace_blueprint("scenes", __name__, "/scenes")
_LINE_KEY = re.compile(r"^lines-(\d{1,3})-text$")


@bp.route("/")
def index() -> str:
    """List the workspace's scenes."""
    member = current_member()
    db = get_session()
    scenes = list_scenes(db, member.workspace)
    return render_template("scenes/index.html", scenes=scenes, counts=line_counts(db, scenes))


def _parse_lines() -> tuple[dict[str, Any], str]:
    """Read the scene form into plain data (and the button pressed)."""
    form = request.form
    indexes = sorted({int(m.group(1)) for key in form if (m := _LINE_KEY.match(key))})[:MAX_LINES]
    lines = [{"character_id": int_arg(form.get(f"lines-{i}-character")) or 0,
              "text": form.get(f"lines-{i}-text", ""),
              "delay_minutes": int_arg(form.get(f"lines-{i}-delay")) or 0} for i in indexes]
    op = form.get("op", "save")[:32]
    if op == "add_line" and len(lines) < MAX_LINES:
        previous = lines[-2]["character_id"] if len(lines) > 1 else (lines[0]["character_id"] if lines else 0)
        lines.append({"character_id": previous, "text": "", "delay_minutes": 5})
    elif op.startswith("remove_line-") and len(lines) > 1:
        index = int_arg(op.removeprefix("remove_line-"))
        if index is not None and index < len(lines):
            del lines[index]
    data = {"title": form.get("title", "")[:300], "campaign_id": int_arg(form.get("campaign")), "lines": lines}
    return data, op


def _render_form(data: dict[str, Any], errors: list[str], scene: Scene | None) -> str:
    member = current_member()
    db = get_session()
    return render_template("scenes/edit.html", data=data, errors=errors, scene=scene,
                           characters=list_characters(db, member.workspace),
                           campaigns=list_campaigns(db, member.workspace), max_lines=MAX_LINES)


def _scene_field(loc: tuple[int | str, ...]) -> str:
    """Name the part of the scene a pydantic error is about: "Line 3", "Title" or the form as a whole."""
    if len(loc) > 1 and loc[0] == "lines" and isinstance(loc[1], int):
        return f"Line {loc[1] + 1}"
    return "Title" if loc and loc[0] == "title" else FORM


def _messages(errors: FieldErrors) -> list[str]:
    """Return the errors as the scene form lists them, each prefixed with the line or field it is about."""
    return [message if name == FORM else f"{name}: {message}" for name, messages in errors.items()
            for message in messages]


@bp.route("/new", methods=["GET", "POST"])
def new() -> str | Response:
    """Plan a new scene."""
    member = current_member()
    member.require(Action.DRAFT)
    characters = list_characters(get_session(), member.workspace)
    if request.method == "GET":
        first = [c.id for c in characters[:2]] or [0]
        starting = [{"character_id": first[n % len(first)], "text": "", "delay_minutes": 0 if n == 0 else 5}
                    for n in range(2)]
        return _render_form({"title": "", "campaign_id": None, "lines": starting}, [], None)
    if not EmptyForm().validate_on_submit():
        abort(400)
    data, op = _parse_lines()
    if op != "save":
        return _render_form(data, [], None)
    scene, errors = save_form(lambda db: create_scene(session=db, member=member,
                                                      data=SceneInput.model_validate(data)), _scene_field)
    if scene is None:
        return _render_form(data, _messages(errors), None)
    flash(f"Scene “{scene.title}” saved as a draft.", "success")
    return redirect(url_for("scenes.detail", scene_id=scene.id))


@bp.route("/<int:scene_id>")
def detail(scene_id: int) -> str:
    """Show a scene as a conversation, with its review actions and history."""
    member = current_member()
    db = get_session()
    scene = get_scene(db, member.workspace, scene_id)
    lines = scene_lines(db, scene)
    first = lines[0].character if lines else None
    zone = character_zone(first) if first else viewer_zone()
    actions = scene_actions(member, scene, [line.post for line in lines])
    slot = next_free_slot(db, first, utcnow()) if first and actions["approve"] else None
    return render_template("scenes/detail.html", scene=scene, lines=lines, char_zone=zone, zone=viewer_zone(),
                           suggestion=slot, suggestion_input=local_input(slot, zone),
                           events=scene_events(db, require_id(scene)), actions=actions,
                           fails=any(line.post.check_verdict == "fail" for line in lines),
                           starts_input=local_input(scene.starts_at, zone))


@bp.route("/<int:scene_id>/edit", methods=["GET", "POST"])
def edit(scene_id: int) -> str | Response | tuple[str, int]:
    """Edit a scene's lines; a stale form is refused with both versions named."""
    member = current_member()
    member.require(Action.DRAFT)
    db = get_session()
    scene = get_scene(db, member.workspace, scene_id)
    if request.method == "GET":
        data = {"title": scene.title, "campaign_id": scene.campaign_id, "version": scene.version,
                "lines": [{"character_id": line.character.id, "text": line.text,
                           "delay_minutes": line.post.delay_minutes} for line in scene_lines(db, scene)]}
        return _render_form(data, [], scene)
    if not EmptyForm().validate_on_submit():
        abort(400)
    data, op = _parse_lines()
    version = int_arg(request.form.get("version")) or 0
    data["version"] = version
    if op != "save":
        return _render_form(data, [], scene)
    try:
        with unit_of_work() as db:
            scene = get_scene(db, member.workspace, scene_id)
            save_scene(session=db, member=member, scene=scene, expected_version=version,
                       data=SceneInput.model_validate(data))
    except ValidationError as error:
        return _render_form(data, _messages(validation_errors(error, _scene_field)), scene)
    except StaleVersion as stale:
        data["version"] = stale.post.version
        return _render_form(data, [f"{stale.message} Your lines are below; saving again replaces theirs."],
                            scene), 409
    except DomainError as error:
        return _render_form(data, [error.message], scene)
    flash(f"Scene saved as version {scene.version}.", "success")
    return redirect(url_for("scenes.detail", scene_id=scene.id))


@bp.route("/<int:scene_id>/<any(submit, approve, reject, cancel):action>", methods=["POST"])
def transition(scene_id: int, action: str) -> Response:
    """Submit, approve (from a start time), reject or cancel a whole scene."""
    if not EmptyForm().validate_on_submit():
        abort(400)
    member = current_member()
    version = int_arg(request.form.get("version")) or 0
    try:
        with unit_of_work() as db:
            scene = get_scene(db, member.workspace, scene_id)
            message = _apply(action, scene, version)
    except (PermissionDenied, NotFound):
        raise  # a 403/404 page, not a flash: the request itself was not allowed
    except CheckFailed as failed:
        flash(f"A line fails the in-character check (score {failed.check.score}): give a reason to approve "
              "anyway, or send it back.", "error")
    except DomainError as error:
        flash(error.message, "error")
    else:
        flash(message, "success")
    return redirect(url_for("scenes.detail", scene_id=scene_id))


def _apply(action: str, scene: Scene, version: int) -> str:
    db, member = get_session(), current_member()
    if action == "submit":
        check = submit_scene(session=db, member=member, scene=scene, expected_version=version)
        return f"Scene submitted for review (lowest line score {check.score}, {check.verdict})."
    if action == "reject":
        reject_scene(session=db, member=member, scene=scene, expected_version=version,
                     comment=request.form.get("comment", "")[:5000])
        return "Scene sent back to draft with your comment."
    if action == "cancel":
        cancel_scene(session=db, member=member, scene=scene, expected_version=version)
        return "Scene cancelled."
    opener = first_character(db, scene)
    zone = character_zone(opener)
    given = None if request.form.get("when") == "next" else parse_local(request.form.get("starts_local", ""), zone,
                                                                         "starts_at")
    start = due_time_or_next_slot(db, opener, given, now=utcnow(), field="starts_at")
    posts = approve_scene(session=db, member=member, scene=scene, expected_version=version, starts_at=start,
                          override_reason=request.form.get("override_reason", ""))
    return f"Scene approved: {len(posts)} lines from {start.astimezone(zone):%a %d %b %H:%M} ({zone.key})."
