"""A member's notifications in one workspace: failed posts, rejections, approvals."""

from datetime import datetime

from sqlalchemy import func, update
from sqlmodel import Session, col, select

from characters.accounts.workspaces import Member
from characters.core.models import Notification, Post, User, utcnow


def notify(session: Session, *, user_id: int | None, workspace_id: int, post: Post | None, message: str,
           actor: User | None = None) -> None:
    """Leave a message for a user, unless they caused the event themselves."""
    if user_id is None or (actor is not None and actor.id == user_id):
        return
    session.add(Notification(user_id=user_id, workspace_id=workspace_id, post_id=post.id if post else None,
                             message=message[:2000]))
    session.flush()


def unread_count(session: Session, member: Member) -> int:
    """Return how many of the member's notifications in this workspace are unread."""
    query = select(func.count()).select_from(Notification).where(
        Notification.user_id == member.user.id, Notification.workspace_id == member.workspace.id,
        col(Notification.read_at).is_(None))
    return int(session.exec(query).one())


def recent_notifications(session: Session, member: Member, limit: int = 100) -> list[Notification]:
    """Return the member's latest notifications in this workspace, newest first."""
    return list(session.exec(
        select(Notification).where(Notification.user_id == member.user.id,
                                   Notification.workspace_id == member.workspace.id)
        .order_by(col(Notification.created_at).desc(), col(Notification.id).desc()).limit(limit)).all())


def mark_all_read(session: Session, member: Member, now: datetime | None = None) -> int:
    """Mark every unread notification of the member in this workspace as read; return how many."""
    result = session.execute(
        update(Notification).where(col(Notification.user_id) == member.user.id,
                                   col(Notification.workspace_id) == member.workspace.id,
                                   col(Notification.read_at).is_(None))
        .values(read_at=now or utcnow()))
    return int(getattr(result, "rowcount", 0) or 0)
