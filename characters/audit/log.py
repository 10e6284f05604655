"""The audit trail: events are appended (never updated or deleted) and read back per workspace or per scene."""

from dataclasses import dataclass
from typing import Any

from sqlalchemy import func
from sqlmodel import Session, col, select

from characters.accounts.workspaces import Member
from characters.core.models import AuditEvent, Post, PostPart, User, Workspace, require_id


def record_event(session: Session, *, workspace_id: int, actor: User | None, action: str,
                 post: Post | None = None, scene_id: int | None = None, from_status: str | None = None,
                 to_status: str | None = None, reason: str | None = None,
                 details: dict[str, Any] | None = None) -> AuditEvent:
    """Append one audit event (they are never updated or deleted)."""
    event = AuditEvent(workspace_id=workspace_id, post_id=post.id if post else None,
                       scene_id=scene_id if scene_id is not None else (post.scene_id if post else None),
                       actor_id=actor.id if actor else None, action=action, from_status=from_status,
                       to_status=to_status, reason=(reason or None) and reason[:4000], details=details or {})
    session.add(event)
    session.flush()
    return event


def record_change(session: Session, member: Member, action: str, **details: Any) -> AuditEvent:
    """Record who changed the workspace's setup (characters, channels, tokens, members, invites, settings)."""
    return record_event(session, workspace_id=require_id(member.workspace), actor=member.user, action=action,
                        details=details)


@dataclass(frozen=True)
class AuditRow:
    """One event as the log shows it: who did it (None: Greenroom itself) and the start of its post's text."""

    event: AuditEvent
    actor: str | None
    excerpt: str


@dataclass(frozen=True)
class AuditPage:
    """One page of the log, newest first; `next_before` is the cursor of the older page (None: last page)."""

    rows: list[AuditRow]
    next_before: int | None


def audit_page(session: Session, workspace: Workspace, *, action: str | None = None, before_id: int | None = None,
               limit: int = 100) -> AuditPage:
    """Return one page of the workspace's audit events, newest first, paged by id: two queries for any page."""
    query = (select(AuditEvent, User.display_name)
             .join(User, col(User.id) == col(AuditEvent.actor_id), isouter=True)
             .where(AuditEvent.workspace_id == workspace.id))
    if action:
        query = query.where(AuditEvent.action == action)
    if before_id is not None:
        query = query.where(col(AuditEvent.id) < before_id)
    rows = list(session.exec(query.order_by(col(AuditEvent.id).desc()).limit(limit + 1)).all())
    more = len(rows) > limit
    rows = rows[:limit]
    excerpts = _first_texts(session, {event.post_id for event, _ in rows if event.post_id is not None})
    return AuditPage(rows=[AuditRow(event, actor, excerpts.get(event.post_id, "") if event.post_id else "")
                           for event, actor in rows],
                     next_before=rows[-1][0].id if more and rows else None)


def _first_texts(session: Session, post_ids: set[int]) -> dict[int, str]:
    if not post_ids:
        return {}
    return dict(session.exec(select(PostPart.post_id, PostPart.text)
                             .where(col(PostPart.post_id).in_(post_ids), PostPart.position == 0)).all())


def audit_actions(session: Session, workspace: Workspace) -> list[str]:
    """Return the distinct actions recorded in the workspace, for the filter.

    A loose index scan (a recursive query that seeks the next action in ix_auditevent_workspace_action_id):
    one seek per distinct action, instead of reading every event as SELECT DISTINCT does on both databases.
    """
    step = (select(func.min(AuditEvent.action)).where(AuditEvent.workspace_id == workspace.id)
            .cte("actions", recursive=True))
    following = (select(func.min(AuditEvent.action)).where(AuditEvent.workspace_id == workspace.id,
                                                           col(AuditEvent.action) > step.c[0])
                 .scalar_subquery())
    actions = step.union_all(select(following).where(step.c[0].is_not(None)))
    return sorted(action for action in session.exec(select(actions.c[0])).all() if action is not None)


def scene_events(session: Session, scene_id: int) -> list[AuditEvent]:
    """Return a scene's events, newest first."""
    return list(session.exec(select(AuditEvent).where(AuditEvent.scene_id == scene_id)
                             .order_by(col(AuditEvent.id).desc())).all())
