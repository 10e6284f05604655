"""A member's notifications in one workspace: approvals, requested changes, moves, failed and held posts.

A notification is stored once but read by people in many time zones, so a moment in its message is kept as a
marker (`moment()`) that the page showing it turns into the reader's local time.
"""

import re
from collections.abc import Callable
from datetime import datetime

from sqlalchemy import func, update
from sqlmodel import Session, col, select

from characters.accounts.workspaces import Member
from characters.core.models import Notification, Post, User, utcnow

MOMENT = re.compile(r"\[\[at:([0-9T:+.\-]{19,40})\]\]")
SNIPPET_CHARS = 60


def moment(when: datetime) -> str:
    """Return a marker for `when` that the reader's page shows in the reader's zone (UTC as a fallback)."""
    return f"[[at:{when.isoformat()}]]"


def render_moments(message: str, show: Callable[[datetime], str]) -> str:
    """Replace each moment marker in `message` with `show(moment)`."""
    return MOMENT.sub(lambda match: show(datetime.fromisoformat(match.group(1))), message)


def post_label(character_name: str, text: str) -> str:
    """Name a post in a message: the character and the start of its text."""
    words = " ".join(text.split())
    snippet = words if len(words) <= SNIPPET_CHARS else words[:SNIPPET_CHARS - 1].rstrip() + "…"
    return f"{character_name}'s post “{snippet}”" if snippet else f"{character_name}'s post"


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
