"""Overdue conversations: the workspace's editors hear once when one has waited past the response target.

A conversation is overdue while it is open or assigned, not gone, and received longer ago than the workspace's
`response_target_minutes`. Marking `overdue_notified_at` and writing the notifications happen in one transaction,
and only for the rows this call marked, so two schedulers never notify twice.
"""

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.engine import Engine
from sqlmodel import col

from characters.core.db import write_transaction
from characters.core.models import (
    Character,
    Conversation,
    ConversationStatus,
    Membership,
    Notification,
    Role,
    Workspace,
)

WAITING = (ConversationStatus.OPEN.value, ConversationStatus.ASSIGNED.value)
NOTIFIED_ROLES = (Role.OWNER.value, Role.EDITOR.value)
BATCH = 200  # conversations marked per workspace and run; the next run takes the rest
QUOTE_CHARS = 80


def _message(row: Any, target_minutes: int) -> str:
    words = " ".join((row.text or "").split())
    quote = words if len(words) <= QUOTE_CHARS else words[:QUOTE_CHARS - 1] + "…"
    who = f"@{row.author_handle}" if row.author_handle else "Someone"
    return (f"{who} has waited more than {target_minutes} minutes for {row.character_name} to answer"
            + (f": “{quote}”" if quote else "."))


def notify_overdue(engine: Engine, now: datetime) -> int:
    """Notify each workspace's owners and editors (and the assignee) of newly overdue conversations; return how many."""
    with engine.connect() as connection:
        workspaces = connection.execute(select(col(Workspace.id), col(Workspace.response_target_minutes))).all()
    total = 0
    for workspace_id, target_minutes in workspaces:
        cutoff = now - timedelta(minutes=max(int(target_minutes or 0), 1))
        with write_transaction(engine) as connection:
            candidates = connection.execute(
                select(col(Conversation.id)).where(
                    col(Conversation.workspace_id) == workspace_id, col(Conversation.status).in_(WAITING),
                    col(Conversation.gone_at).is_(None), col(Conversation.replied_at).is_(None),
                    col(Conversation.overdue_notified_at).is_(None), col(Conversation.received_at) < cutoff)
                .order_by(col(Conversation.received_at)).limit(BATCH)).scalars().all()
            if not candidates:
                continue
            marked = set(connection.execute(
                update(Conversation).where(col(Conversation.id).in_(candidates),
                                           col(Conversation.overdue_notified_at).is_(None))
                .values(overdue_notified_at=now).returning(col(Conversation.id))).scalars())
            if not marked:
                continue
            people = connection.execute(
                select(col(Membership.user_id)).where(col(Membership.workspace_id) == workspace_id,
                                                      col(Membership.role).in_(NOTIFIED_ROLES))
                .order_by(col(Membership.user_id))).scalars().all()
            rows: list[dict[str, Any]] = []
            found: Any = connection.execute(
                select(col(Conversation.id), col(Conversation.author_handle), col(Conversation.text),
                       col(Conversation.assignee_id), col(Character.name).label("character_name"))
                .join(Character, col(Character.id) == col(Conversation.character_id))
                .where(col(Conversation.id).in_(sorted(marked))).order_by(col(Conversation.id)))
            for row in found:
                message = _message(row, int(target_minutes))
                recipients = dict.fromkeys([*people, *([row.assignee_id] if row.assignee_id else [])])
                rows.extend({"user_id": user_id, "workspace_id": workspace_id, "post_id": None,
                             "conversation_id": row.id, "message": message, "created_at": now, "read_at": None}
                            for user_id in recipients)
            if rows:
                connection.execute(insert(Notification), rows)
            total += len(marked)
    return total
