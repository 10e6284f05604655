"""Scenes: scripted exchanges between characters, written, reviewed and approved as one unit."""

from collections.abc import Callable
from datetime import datetime

from sqlmodel import Session

from characters.accounts.workspaces import Member
from characters.core.models import Scene, require_id, utcnow
from characters.posting.rhythm import due_time_or_next_slot
from characters.posting.scenes import (
    approve_scene,
    cancel_scene,
    create_scene,
    first_character,
    get_scene,
    list_scenes,
    reject_scene,
    save_scene,
    scene_lines,
    submit_scene,
)
from web.api import bp
from web.api.auth import api_member
from web.api.schemas import VersionHeaders
from web.api.schemas_planning import (
    SceneApproveIn,
    SceneIn,
    SceneLineOut,
    SceneList,
    SceneOut,
    SceneRejectIn,
    SceneUpdate,
    SceneVersion,
)
from web.api.spec import operation
from web.api.versions import expected_version
from web.database import get_session, unit_of_work

TAG = "scenes"


def _out(scene: Scene, *, with_lines: bool = True) -> SceneOut:
    lines = scene_lines(get_session(), scene) if with_lines else []
    return SceneOut(
        id=require_id(scene), title=scene.title, status=scene.status, version=scene.version,
        campaign_id=scene.campaign_id, starts_at=scene.starts_at, created_at=scene.created_at,
        updated_at=scene.updated_at,
        lines=[SceneLineOut(post_id=require_id(line.post), character=line.character.slug,
                            character_id=require_id(line.character), text=line.text,
                            delay_minutes=line.post.delay_minutes, offset_minutes=line.offset_minutes,
                            status=line.post.status, due_at=line.post.due_at) for line in lines])


def _act(scene_id: int, act: Callable[[Session, Member, Scene], object]) -> SceneOut:
    member = api_member()
    with unit_of_work() as db:
        scene = get_scene(db, member.workspace, scene_id)
        act(db, member, scene)
    return _out(scene)


@bp.get("/scenes")
@operation(TAG, SceneList)
def list_all_scenes() -> SceneList:
    """List the workspace's scenes, newest first (lines left out; GET one scene for them)."""
    return SceneList(items=[_out(scene, with_lines=False)
                            for scene in list_scenes(get_session(), api_member().workspace)])


@bp.post("/scenes")
@operation(TAG, SceneOut, status=201, writes=True)
def create_one_scene(json: SceneIn) -> tuple[SceneOut, int]:
    """Write a new scene; each line becomes a draft post of its character."""
    with unit_of_work() as db:
        scene = create_scene(session=db, member=api_member(), data=json)
    return _out(scene), 201


@bp.get("/scenes/<int:scene_id>")
@operation(TAG, SceneOut)
def get_one_scene(scene_id: int) -> SceneOut:
    """Return a scene with its lines."""
    return _out(get_scene(get_session(), api_member().workspace, scene_id))


@bp.put("/scenes/<int:scene_id>")
@operation(TAG, SceneOut, writes=True, errors=[428])
def replace_scene(scene_id: int, json: SceneUpdate, headers: VersionHeaders) -> SceneOut:
    """Save new lines as the next version; an approved scene goes back to review."""
    version = expected_version(json.version, headers)
    return _act(scene_id, lambda db, member, scene: save_scene(session=db, member=member, scene=scene,
                                                               expected_version=version, data=json))


@bp.post("/scenes/<int:scene_id>/submit")
@operation(TAG, SceneOut, writes=True)
def submit_one_scene(scene_id: int, json: SceneVersion) -> SceneOut:
    """Send a draft scene to review."""
    return _act(scene_id, lambda db, member, scene: submit_scene(session=db, member=member, scene=scene,
                                                                 expected_version=json.version))


@bp.post("/scenes/<int:scene_id>/approve")
@operation(TAG, SceneOut, writes=True)
def approve_one_scene(scene_id: int, json: SceneApproveIn) -> SceneOut:
    """Approve every line from a start time (editors; never one's own scene)."""
    def act(db: Session, member: Member, scene: Scene) -> object:
        return approve_scene(session=db, member=member, scene=scene, expected_version=json.version,
                             starts_at=_start(db, scene, json.starts_at), override_reason=json.override_reason)
    return _act(scene_id, act)


def _start(db: Session, scene: Scene, starts_at: datetime | None) -> datetime:
    """Return the requested start, or the first character's next free rhythm slot."""
    return due_time_or_next_slot(db, first_character(db, scene), starts_at, now=utcnow(), field="starts_at")


@bp.post("/scenes/<int:scene_id>/reject")
@operation(TAG, SceneOut, writes=True)
def reject_one_scene(scene_id: int, json: SceneRejectIn) -> SceneOut:
    """Send a scene in review back to draft with a comment."""
    return _act(scene_id, lambda db, member, scene: reject_scene(session=db, member=member, scene=scene,
                                                                 expected_version=json.version,
                                                                 comment=json.comment))


@bp.post("/scenes/<int:scene_id>/cancel")
@operation(TAG, SceneOut, writes=True)
def cancel_one_scene(scene_id: int, json: SceneVersion) -> SceneOut:
    """Cancel a scene and every line still waiting to go out."""
    return _act(scene_id, lambda db, member, scene: cancel_scene(session=db, member=member, scene=scene,
                                                                 expected_version=json.version))
