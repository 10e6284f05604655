"""Scenes: a scripted exchange between characters (A posts; B replies after N minutes; …) reviewed as one unit.

A scene is a Scene row plus one Post per line (scene_position, reply_to_post_id = the line before,
delay_minutes after it). The scene moves through the same statuses as a post and takes its lines along;
approving it approves every line at start + the cumulative delays, and the scheduler publishes each line
as a real reply to the one before.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from pydantic import BaseModel, Field, field_validator
from sqlalchemy import func
from sqlmodel import Session, col, select

from characters.accounts.workspaces import Action, Member
from characters.audit.log import record_event
from characters.core.errors import DomainError, NotFound, PermissionDenied
from characters.core.models import Character, Comment, Post, PostStatus, Scene, Workspace, require_id, utcnow
from characters.posting.posts import (
    EDITABLE,
    MAX_POST_CHARS,
    PostContent,
    add_revision,
    checked_campaign_id,
    deliveries_of,
    first_texts,
    parts_of,
    set_channels,
    write_parts,
)
from characters.posting.workflow import (
    CANCELLABLE,
    CheckFailed,
    PostCheck,
    cancel_deliveries,
    check_post,
    conditional_update,
    ensure_not_in_flight,
    own_work,
    refusal,
    require_future,
    require_reviewer,
    schedule_deliveries,
    unschedule_deliveries,
)

MAX_LINES = 40
MAX_DELAY_MINUTES = 7 * 24 * 60


class SceneLine(BaseModel):
    """One line of a scene: who says it, what, and how many minutes after the line before."""

    character_id: int
    text: str = Field(max_length=MAX_POST_CHARS)
    delay_minutes: int = Field(default=0, ge=0, le=MAX_DELAY_MINUTES)


class SceneInput(BaseModel):
    """A scene as its form sends it."""

    title: str = Field(min_length=1, max_length=200)
    lines: list[SceneLine] = Field(min_length=1, max_length=MAX_LINES)
    campaign_id: int | None = None

    @field_validator("title")
    @classmethod
    def _strip_title(cls, value: str) -> str:
        value = value.strip()
        if not value:
            raise ValueError("a scene needs a title")
        return value


@dataclass(frozen=True)
class LineView:
    """A saved line with its character, its text and when it is due."""

    post: Post
    character: Character
    text: str
    offset_minutes: int


def _characters(session: Session, workspace: Workspace, data: SceneInput) -> dict[int, Character]:
    wanted = {line.character_id for line in data.lines}
    found = {require_id(c): c for c in session.exec(select(Character).where(
        Character.workspace_id == workspace.id, col(Character.id).in_(wanted), col(Character.archived_at).is_(None)))}
    missing = [number for number, line in enumerate(data.lines, start=1) if line.character_id not in found]
    if missing:
        raise DomainError(f"Line {missing[0]}: pick one of this workspace's characters.", field="lines")
    return found


def create_scene(*, session: Session, member: Member, data: SceneInput) -> Scene:
    """Create a scene and one draft post per line."""
    member.require(Action.DRAFT)
    characters = _characters(session, member.workspace, data)
    scene = Scene(workspace_id=require_id(member.workspace), title=data.title, author_id=member.user.id,
                  campaign_id=checked_campaign_id(session, member.workspace, data.campaign_id))
    session.add(scene)
    session.flush()
    _write_lines(session, member, scene, data, characters, existing=[])
    record_event(session, workspace_id=scene.workspace_id, actor=member.user, action="scene_create",
                 scene_id=scene.id, to_status=PostStatus.DRAFT.value, details={"lines": len(data.lines)})
    return scene


def _write_lines(session: Session, member: Member, scene: Scene, data: SceneInput,
                 characters: dict[int, Character], existing: list[Post]) -> None:
    """Make the scene's posts match the lines: update in place by position, add or delete the rest."""
    previous: Post | None = None
    for position, line in enumerate(data.lines):
        character = characters[line.character_id]
        keep_channels: list[int] | None = None
        if position < len(existing):
            post = existing[position]
            if post.character_id == line.character_id:
                keep_channels = [t.channel_id for t in deliveries_of(session, post) if t.channel_id is not None]
            post.character_id = require_id(character)
            post.bible_version = character.current_version
            post.version += 1
        else:
            post = Post(workspace_id=scene.workspace_id, character_id=require_id(character),
                        author_id=scene.author_id, scene_id=scene.id, status=PostStatus(scene.status),
                        bible_version=character.current_version)
        post.scene_position, post.delay_minutes = position, line.delay_minutes
        post.reply_to_post_id = previous.id if previous else None
        post.campaign_id = scene.campaign_id
        post.updated_at = utcnow()
        session.add(post)
        session.flush()
        write_parts(session, post, PostContent.of_texts([line.text]).parts, parts_of(session, post))
        set_channels(session, post, character, keep_channels or None)
        add_revision(session, post, member.user)
        previous = post
    for post in existing[len(data.lines):]:
        session.delete(post)
    session.flush()


def scene_posts(session: Session, scene: Scene) -> list[Post]:
    """Return the scene's line posts in order."""
    return list(session.exec(select(Post).where(Post.scene_id == scene.id).order_by(col(Post.scene_position))))


def first_character(session: Session, scene: Scene) -> Character:
    """Return who speaks the scene's first line: the scene starts in their rhythm and zone."""
    first = session.exec(select(Post).where(Post.scene_id == scene.id).order_by(col(Post.scene_position))).first()
    character = session.get(Character, first.character_id) if first is not None else None
    if character is None:
        raise DomainError("This scene has no lines.")
    return character


def scene_lines(session: Session, scene: Scene) -> list[LineView]:
    """Return the scene's lines with characters, texts and their offsets from the start."""
    posts = scene_posts(session, scene)
    texts = first_texts(session, posts)
    characters = {require_id(c): c for c in session.exec(select(Character).where(
        col(Character.id).in_({p.character_id for p in posts})))}
    offset = 0
    lines = []
    for post in posts:
        offset += post.delay_minutes if post.scene_position else 0
        lines.append(LineView(post, characters[post.character_id], texts.get(require_id(post), ""), offset))
    return lines


def save_scene(*, session: Session, member: Member, scene: Scene, expected_version: int, data: SceneInput) -> Scene:
    """Save new lines as the scene's next version; an approved scene goes back to review and off the clock."""
    member.require(Action.DRAFT)
    characters = _characters(session, member.workspace, data)
    old_status = PostStatus(scene.status)
    leaving = old_status is PostStatus.APPROVED
    values: dict[str, Any] = {"version": col(Scene.version) + 1, "title": data.title,
                              "campaign_id": checked_campaign_id(session, member.workspace, data.campaign_id)}
    if leaving:
        values.update(status=PostStatus.IN_REVIEW.value, starts_at=None)
    conditional_update(session, scene, expected_version=expected_version, from_statuses=EDITABLE, verb="edited",
                       values=values)
    existing = scene_posts(session, scene)
    for post in existing:
        ensure_not_in_flight(session, post)
        if leaving:
            unschedule_deliveries(session, post)
            post.status, post.due_at, post.approved_by_id, post.approved_at = PostStatus.IN_REVIEW, None, None, None
    _write_lines(session, member, scene, data, characters, existing)
    record_event(session, workspace_id=scene.workspace_id, actor=member.user, action="scene_edit", scene_id=scene.id,
                 from_status=old_status.value, to_status=scene.status, details={"version": scene.version},
                 reason="Edited after approval: back to review." if leaving else None)
    return scene


def _move_lines(session: Session, scene: Scene, to_status: PostStatus, **values: Any) -> list[Post]:
    posts = scene_posts(session, scene)
    for post in posts:
        for name, value in {"status": to_status, **values}.items():
            setattr(post, name, value)
        post.updated_at = utcnow()
        session.add(post)
    session.flush()
    return posts


def submit_scene(*, session: Session, member: Member, scene: Scene, expected_version: int) -> PostCheck:
    """Send a draft scene to review; each line's check is stored; the worst one is returned."""
    member.require(Action.SUBMIT)
    lines = scene_lines(session, scene)
    empty = [str(number) for number, line in enumerate(lines, start=1) if not line.text.strip()]
    if empty:
        raise DomainError(f"Write line {', '.join(empty)} before submitting.", field="lines")
    conditional_update(session, scene, expected_version=expected_version, from_statuses=[PostStatus.DRAFT],
                       verb="submitted", values={"status": PostStatus.IN_REVIEW.value})
    worst = PostCheck(100, "pass")
    for post in _move_lines(session, scene, PostStatus.IN_REVIEW, submitted_by_id=member.user.id):
        check = check_post(session, post)
        post.check_score, post.check_verdict, post.check_findings = check.score, check.verdict, check.findings
        session.add(post)
        worst = _worse(worst, check)
    record_event(session, workspace_id=scene.workspace_id, actor=member.user, action="scene_submit",
                 scene_id=scene.id, from_status=PostStatus.DRAFT.value, to_status=PostStatus.IN_REVIEW.value,
                 details={"score": worst.score, "verdict": worst.verdict})
    return worst


def _worse(one: PostCheck, other: PostCheck) -> PostCheck:
    rank = {"pass": 0, "warn": 1, "fail": 2}
    verdict = one.verdict if rank[one.verdict] >= rank[other.verdict] else other.verdict
    return PostCheck(min(one.score, other.score), verdict, [*one.findings, *other.findings])


def approve_scene(*, session: Session, member: Member, scene: Scene, expected_version: int, starts_at: datetime,
                  now: datetime | None = None, override_reason: str | None = None) -> list[Post]:
    """Approve every line: line N is due at start + the delays of lines 2..N; a failing line needs a reason."""
    posts = scene_posts(session, scene)
    require_reviewer(member, scene, *posts)  # whoever wrote or changed any line counts, in one query
    if scene.status != PostStatus.IN_REVIEW:
        raise DomainError(refusal(scene.status, "approved", "scene"))
    require_future(starts_at, now)
    reason = (override_reason or "").strip()[:2000] or None
    checks = [check_post(session, post) for post in posts]
    failing = [check for check in checks if check.failed]
    if failing and not reason:
        raise CheckFailed(failing[0])
    conditional_update(session, scene, expected_version=expected_version, from_statuses=[PostStatus.IN_REVIEW],
                       verb="approved", values={"status": PostStatus.APPROVED.value, "starts_at": starts_at})
    due = starts_at
    for post, check in zip(posts, checks, strict=True):
        due = due + timedelta(minutes=post.delay_minutes if post.scene_position else 0)
        character = session.get(Character, post.character_id)
        post.status, post.due_at = PostStatus.APPROVED, due
        post.bible_version = character.current_version if character else post.bible_version
        post.check_score, post.check_verdict, post.check_findings = check.score, check.verdict, check.findings
        post.override_reason = reason if check.failed else None
        post.approved_by_id, post.approved_at, post.updated_at = member.user.id, utcnow(), utcnow()
        session.add(post)
        session.flush()
        ensure_not_in_flight(session, post)
        schedule_deliveries(session, post, due)
    record_event(session, workspace_id=scene.workspace_id, actor=member.user, action="scene_approve",
                 scene_id=scene.id, from_status=PostStatus.IN_REVIEW.value, to_status=PostStatus.APPROVED.value,
                 reason=reason if failing else None,
                 details={"starts_at": starts_at.isoformat(), "lines": len(posts), "override": bool(failing)})
    return posts


def reject_scene(*, session: Session, member: Member, scene: Scene, expected_version: int, comment: str) -> None:
    """Send a scene in review back to draft, with a comment on its first line."""
    member.require(Action.APPROVE)
    reason = comment.strip()[:5000]
    if not reason:
        raise DomainError("Write what needs to change.", field="reason")
    conditional_update(session, scene, expected_version=expected_version, from_statuses=[PostStatus.IN_REVIEW],
                       verb="rejected", values={"status": PostStatus.DRAFT.value})
    posts = _move_lines(session, scene, PostStatus.DRAFT)
    if posts:
        session.add(Comment(post_id=require_id(posts[0]), author_id=member.user.id, body=reason))
    record_event(session, workspace_id=scene.workspace_id, actor=member.user, action="scene_reject",
                 scene_id=scene.id, from_status=PostStatus.IN_REVIEW.value, to_status=PostStatus.DRAFT.value,
                 reason=reason)


def cancel_scene(*, session: Session, member: Member, scene: Scene, expected_version: int) -> None:
    """Cancel a scene and every line still waiting to go out (editors, or the author before approval)."""
    if not member.can(Action.APPROVE):
        member.require(Action.DRAFT)
        if scene.author_id != member.user.id or scene.status not in (PostStatus.DRAFT, PostStatus.IN_REVIEW):
            raise PermissionDenied("Writers can cancel only their own scenes before approval; ask an editor.")
    old = scene.status
    conditional_update(session, scene, expected_version=expected_version, from_statuses=CANCELLABLE,
                       verb="cancelled", values={"status": PostStatus.CANCELLED.value})
    for post in _move_lines(session, scene, PostStatus.CANCELLED, due_at=None):
        ensure_not_in_flight(session, post)
        cancel_deliveries(session, post)
    record_event(session, workspace_id=scene.workspace_id, actor=member.user, action="scene_cancel",
                 scene_id=scene.id, from_status=old, to_status=PostStatus.CANCELLED.value)


OPEN = frozenset({PostStatus.DRAFT, PostStatus.IN_REVIEW, PostStatus.APPROVED})


def scene_actions(member: Member, scene: Scene, posts: list[Post]) -> dict[str, bool]:
    """Return which buttons to offer this member on this scene and its line posts (the server re-checks each)."""
    status = PostStatus(scene.status)
    own = own_work(member, scene, *posts)
    writer_may_cancel = (member.can(Action.DRAFT) and scene.author_id == member.user.id
                         and status in (PostStatus.DRAFT, PostStatus.IN_REVIEW))
    return {
        "edit": member.can(Action.DRAFT) and status in OPEN,
        "submit": member.can(Action.SUBMIT) and status is PostStatus.DRAFT,
        "approve": member.can(Action.APPROVE) and status is PostStatus.IN_REVIEW and not own,
        "reject": member.can(Action.APPROVE) and status is PostStatus.IN_REVIEW,
        "cancel": status in OPEN and (member.can(Action.APPROVE) or writer_may_cancel),
        "own": own,
    }


def list_scenes(session: Session, workspace: Workspace) -> list[Scene]:
    """Return the workspace's scenes, newest first."""
    return list(session.exec(select(Scene).where(Scene.workspace_id == workspace.id)
                             .order_by(col(Scene.updated_at).desc(), col(Scene.id).desc())).all())


def line_counts(session: Session, scenes: list[Scene]) -> dict[int, int]:
    """Return how many lines each scene has, keyed by scene id, in one query."""
    ids = [require_id(scene) for scene in scenes]
    counts = dict.fromkeys(ids, 0)
    if ids:
        rows = session.exec(select(Post.scene_id, func.count()).where(col(Post.scene_id).in_(ids))
                            .group_by(col(Post.scene_id))).all()
        counts.update((scene_id, count) for scene_id, count in rows if scene_id is not None)
    return counts


def scenes_in_review(session: Session, workspace: Workspace) -> list[Scene]:
    """Return scenes waiting for review, oldest first."""
    return list(session.exec(select(Scene).where(Scene.workspace_id == workspace.id,
                                                 Scene.status == PostStatus.IN_REVIEW)
                             .order_by(col(Scene.updated_at), col(Scene.id))).all())


def get_scene(session: Session, workspace: Workspace, scene_id: int) -> Scene:
    """Return a scene of this workspace or raise NotFound."""
    scene = session.get(Scene, scene_id)
    if scene is None or scene.workspace_id != workspace.id:
        raise NotFound("No such scene in this workspace.")
    return scene
