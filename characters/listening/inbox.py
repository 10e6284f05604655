"""The audience inbox: conversations filtered and searched a page at a time, and who answers each.

States: open → assigned → replied | dismissed, and back to open (reopen, unassign). Every change is one
conditional UPDATE (`WHERE id = … AND status = <the status the person saw>`), so two people acting on the same
conversation at once cannot both win: the second is told what happened instead. Each change is in the audit log
with who, when, from and to. A conversation is overdue when it has waited (since Greenroom received it) longer
than the workspace's response target and is still open or assigned.
"""

import enum
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import CursorResult, and_, case, func, or_, update
from sqlmodel import Session, col, select

from characters.accounts.workspaces import Action, Member, members_of
from characters.audit.log import record_change, record_event
from characters.core.errors import Conflict, DomainError, NotFound, PermissionDenied
from characters.core.models import (
    SOCIAL_NETWORKS,
    Character,
    Conversation,
    ConversationStatus,
    Post,
    PostStatus,
    Role,
    User,
    Workspace,
    require_id,
    utcnow,
)

PAGE_SIZE = 25
MAX_QUERY_CHARS = 200
MAX_REASON_CHARS = 2000
WAITING = (ConversationStatus.OPEN, ConversationStatus.ASSIGNED)
# A reply in one of these states is being written, reviewed or sent: at most one per conversation at a time.
REPLY_UNDER_WAY = (PostStatus.DRAFT, PostStatus.IN_REVIEW, PostStatus.APPROVED, PostStatus.PUBLISHING,
                   PostStatus.FAILED, PostStatus.MISSED, PostStatus.UNCONFIRMED)
NETWORKS = SOCIAL_NETWORKS


class View(enum.StrEnum):
    """Which conversations the inbox lists: by status, or the ones that wait (open or assigned)."""

    WAITING = "waiting"
    OVERDUE = "overdue"
    OPEN = "open"
    ASSIGNED = "assigned"
    REPLIED = "replied"
    DISMISSED = "dismissed"
    ALL = "all"


@dataclass(frozen=True)
class InboxFilters:
    """What the inbox is narrowed to; `assignee` is a user id, "me", "none" or None (anyone)."""

    view: View = View.WAITING
    character_id: int | None = None
    network: str | None = None
    assignee: int | str | None = None
    query: str = ""
    page: int = 1


@dataclass(frozen=True)
class InboxRow:
    """One conversation as the list shows it."""

    conversation: Conversation
    character_name: str
    character_slug: str
    assignee_name: str | None
    overdue: bool
    waited: timedelta
    reply_status: PostStatus | None = None  # the reply under way, so nobody starts a second one



@dataclass(frozen=True)
class InboxPage:
    """One page of the inbox."""

    rows: list[InboxRow]
    total: int
    page: int
    pages: int


@dataclass(frozen=True)
class InboxCounts:
    """What the header shows: conversations waiting for an answer, and how many of them are overdue."""

    waiting: int
    overdue: int


def response_target(workspace: Workspace) -> timedelta:
    """Return how long a conversation may wait before it is overdue."""
    return timedelta(minutes=workspace.response_target_minutes)


def overdue_before(workspace: Workspace, now: datetime) -> datetime:
    """Return the moment before which a conversation received and still waiting is overdue."""
    return now - response_target(workspace)


def is_overdue(conversation: Conversation, workspace: Workspace, now: datetime) -> bool:
    """Return whether the conversation still waits for an answer and has waited longer than the target."""
    return (conversation.status in WAITING and conversation.gone_at is None
            and conversation.received_at < overdue_before(workspace, now))


def waited(conversation: Conversation, now: datetime) -> timedelta:
    """Return how long it waited for its first answer (until now while it still waits)."""
    end = conversation.replied_at or (now if conversation.status in WAITING else conversation.status_changed_at)
    return max(timedelta(0), (end or now) - conversation.received_at)


def _overdue_clause(workspace: Workspace, now: datetime) -> Any:
    return and_(col(Conversation.status).in_([status.value for status in WAITING]),
                col(Conversation.gone_at).is_(None), col(Conversation.received_at) < overdue_before(workspace, now))


def _like(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _filtered(query: Any, member: Member, filters: InboxFilters, now: datetime) -> Any:
    workspace = member.workspace
    query = query.where(Conversation.workspace_id == workspace.id)
    view = filters.view
    if view is View.WAITING:
        query = query.where(col(Conversation.status).in_([status.value for status in WAITING]))
    elif view is View.OVERDUE:
        query = query.where(_overdue_clause(workspace, now))
    elif view is not View.ALL:
        query = query.where(Conversation.status == view.value)
    if filters.character_id is not None:
        query = query.where(Conversation.character_id == filters.character_id)
    if filters.network:
        query = query.where(Conversation.network == filters.network)
    if filters.assignee == "me":
        query = query.where(Conversation.assignee_id == member.user.id)
    elif filters.assignee == "none":
        query = query.where(col(Conversation.assignee_id).is_(None))
    elif isinstance(filters.assignee, int):
        query = query.where(Conversation.assignee_id == filters.assignee)
    text = filters.query.strip()[:MAX_QUERY_CHARS]
    if text:
        pattern = _like(text)
        query = query.where(or_(col(Conversation.text).ilike(pattern, escape="\\"),
                                col(Conversation.author_handle).ilike(pattern, escape="\\"),
                                col(Conversation.author_name).ilike(pattern, escape="\\")))
    return query


def list_conversations(session: Session, member: Member, filters: InboxFilters,
                       now: datetime | None = None) -> InboxPage:
    """Return one page of the workspace's conversations: two statements for any page and any filter.

    Waiting conversations come oldest first (the most overdue on top); other views newest first.
    """
    now = now or utcnow()
    total = int(session.exec(_filtered(select(func.count()).select_from(Conversation), member, filters, now)).one())
    pages = max(1, -(-total // PAGE_SIZE))
    page = min(max(filters.page, 1), pages)
    oldest_first = filters.view in (View.WAITING, View.OVERDUE, View.OPEN, View.ASSIGNED)
    order = (col(Conversation.received_at).asc() if oldest_first else col(Conversation.received_at).desc(),
             col(Conversation.id).asc() if oldest_first else col(Conversation.id).desc())
    query = (select(Conversation, Character.name, Character.slug, User.display_name)
             .join(Character, col(Character.id) == col(Conversation.character_id))
             .join(User, col(User.id) == col(Conversation.assignee_id), isouter=True))
    rows = session.exec(_filtered(query, member, filters, now).order_by(*order)
                        .offset((page - 1) * PAGE_SIZE).limit(PAGE_SIZE)).all()
    replies = _replies_under_way(session, member.workspace, [require_id(row[0]) for row in rows])
    workspace = member.workspace
    return InboxPage(rows=[InboxRow(conversation, name, slug, assignee, is_overdue(conversation, workspace, now),
                                    waited(conversation, now), replies.get(require_id(conversation)))
                           for conversation, name, slug, assignee in rows],
                     total=total, page=page, pages=pages)


def _replies_under_way(session: Session, workspace: Workspace, conversation_ids: list[int]) -> dict[int, PostStatus]:
    """Return the status of each listed conversation's reply under way, in one statement (none for no rows)."""
    if not conversation_ids:
        return {}
    found = session.exec(select(Post.conversation_id, Post.status)
                         .where(Post.workspace_id == workspace.id, col(Post.conversation_id).in_(conversation_ids),
                                col(Post.status).in_([status.value for status in REPLY_UNDER_WAY]))
                         .order_by(col(Post.id))).all()
    return {conversation_id: PostStatus(status) for conversation_id, status in found if conversation_id is not None}


def inbox_counts(session: Session, workspace: Workspace, now: datetime | None = None) -> InboxCounts:
    """Return how many conversations wait and how many of those are overdue, in one statement."""
    now = now or utcnow()
    overdue = case((col(Conversation.received_at) < overdue_before(workspace, now), 1), else_=0)
    waiting, late = session.exec(
        select(func.count(), func.coalesce(func.sum(overdue), 0)).select_from(Conversation)
        .where(Conversation.workspace_id == workspace.id,
               col(Conversation.status).in_([status.value for status in WAITING]),
               col(Conversation.gone_at).is_(None))).one()
    return InboxCounts(waiting=int(waiting), overdue=int(late))


def get_conversation(session: Session, workspace: Workspace, conversation_id: int) -> Conversation:
    """Return a conversation of this workspace or raise NotFound (another workspace's is not found either)."""
    conversation = session.get(Conversation, conversation_id)
    if conversation is None or conversation.workspace_id != workspace.id:
        raise NotFound("No such conversation in this workspace.")
    return conversation


def assignable_members(session: Session, workspace: Workspace) -> list[User]:
    """Return the members a conversation can be assigned to: everyone who may draft a reply."""
    return [user for user, role in members_of(session, workspace) if role is not Role.VIEWER]


def _change(session: Session, member: Member, conversation: Conversation, *, expected: ConversationStatus | str,
            allowed_from: tuple[ConversationStatus, ...], to: ConversationStatus, verb: str,
            values: dict[str, Any] | None = None, reason: str | None = None,
            details: dict[str, Any] | None = None) -> Conversation:
    """Move the conversation from `expected` to `to` in one conditional UPDATE, and record who did it."""
    expected = ConversationStatus(expected)
    if expected not in allowed_from:
        raise DomainError(f"A conversation that is {expected.value} cannot be {verb}.")
    now = utcnow()
    statement = (update(Conversation)
                 .where(col(Conversation.id) == conversation.id, col(Conversation.status) == expected.value)
                 .values(status=to.value, status_changed_by_id=member.user.id, status_changed_at=now,
                         **(values or {}))
                 .execution_options(synchronize_session=False))
    result = cast(CursorResult[Any], session.execute(statement))
    session.refresh(conversation)
    if result.rowcount != 1:
        raise Conflict(f"Someone else changed this conversation meanwhile: it is now {conversation.status}. "
                       "Nothing was changed; look again and decide.", field="status")
    record_event(session, workspace_id=conversation.workspace_id, actor=member.user, action=f"conversation_{verb}",
                 from_status=expected.value, to_status=to.value, reason=reason,
                 details={"conversation_id": require_id(conversation), **(details or {})})
    return conversation


def _require_drafter(member: Member) -> None:
    if not member.can(Action.DRAFT):
        raise PermissionDenied(f"Your role ({member.role.value}) cannot answer conversations.")


def assign_conversation(session: Session, member: Member, conversation: Conversation, *,
                        expected: ConversationStatus | str, assignee_id: int | None = None) -> Conversation:
    """Give the conversation to someone (default: the member); writers may only take it themselves."""
    _require_drafter(member)
    target = assignee_id if assignee_id is not None else require_id(member.user)
    if target != member.user.id and not member.can(Action.APPROVE):
        raise PermissionDenied("Writers can take a conversation themselves; editors assign it to others.")
    people = {require_id(user): user for user in assignable_members(session, member.workspace)}
    if target not in people:
        raise DomainError("Pick a member of this workspace who can write replies.", field="assignee")
    if conversation.gone_at is not None:
        raise DomainError("The author deleted this post (or blocked the character): there is nothing to answer.")
    return _change(session, member, conversation, expected=expected, allowed_from=WAITING,
                   to=ConversationStatus.ASSIGNED, verb="assigned", values={"assignee_id": target},
                   details={"assignee_id": target, "assignee": people[target].display_name})


def unassign_conversation(session: Session, member: Member, conversation: Conversation, *,
                          expected: ConversationStatus | str) -> Conversation:
    """Put an assigned conversation back to open, for anyone to take."""
    _require_drafter(member)
    if conversation.assignee_id != member.user.id and not member.can(Action.APPROVE):
        raise PermissionDenied("Only the person it is assigned to, or an editor, can give it back.")
    return _change(session, member, conversation, expected=expected, allowed_from=(ConversationStatus.ASSIGNED,),
                   to=ConversationStatus.OPEN, verb="unassigned", values={"assignee_id": None})


def dismiss_conversation(session: Session, member: Member, conversation: Conversation, *,
                         expected: ConversationStatus | str, reason: str = "") -> Conversation:
    """Decide not to answer (spam, nothing to say); it leaves the waiting list and the response-time figures."""
    _require_drafter(member)
    text = reason.strip()
    if len(text) > MAX_REASON_CHARS:
        raise DomainError(f"Keep the reason under {MAX_REASON_CHARS:,} characters.", field="reason")
    return _change(session, member, conversation, expected=expected, allowed_from=WAITING,
                   to=ConversationStatus.DISMISSED, verb="dismissed", reason=text or None)


def mark_replied(session: Session, member: Member, conversation: Conversation, *,
                 expected: ConversationStatus | str, now: datetime | None = None) -> Conversation:
    """Record that it was answered outside Greenroom (a reply sent from here is marked when it is published)."""
    _require_drafter(member)
    values: dict[str, Any] = {}
    if conversation.replied_at is None:
        values["replied_at"] = now or utcnow()
    return _change(session, member, conversation, expected=expected, allowed_from=WAITING,
                   to=ConversationStatus.REPLIED, verb="marked_replied", values=values)


def reopen_conversation(session: Session, member: Member, conversation: Conversation, *,
                        expected: ConversationStatus | str) -> Conversation:
    """Put a replied or dismissed conversation back in the waiting list, unassigned."""
    _require_drafter(member)
    return _change(session, member, conversation, expected=expected,
                   allowed_from=(ConversationStatus.REPLIED, ConversationStatus.DISMISSED),
                   to=ConversationStatus.OPEN, verb="reopened", values={"assignee_id": None})


STATE_ACTIONS = {
    "assign": assign_conversation,
    "unassign": unassign_conversation,
    "dismiss": dismiss_conversation,
    "mark_replied": mark_replied,
    "reopen": reopen_conversation,
}


def change_state(session: Session, member: Member, conversation: Conversation, action: str, *,
                 expected: ConversationStatus | str, assignee_id: int | None = None,
                 reason: str = "") -> Conversation:
    """Run one state change by name (assign, unassign, dismiss, mark_replied, reopen), as the page and API ask."""
    if action == "assign":
        return assign_conversation(session, member, conversation, expected=expected, assignee_id=assignee_id)
    if action == "dismiss":
        return dismiss_conversation(session, member, conversation, expected=expected, reason=reason)
    if action in STATE_ACTIONS:
        change: Any = STATE_ACTIONS[action]
        result: Conversation = change(session, member, conversation, expected=expected)
        return result
    raise DomainError(f"Unknown action {action[:40]!r}; use one of {', '.join(STATE_ACTIONS)}.", field="action")


def available_actions(member: Member, conversation: Conversation) -> dict[str, bool]:
    """Return which state buttons to offer this member (the server re-checks each)."""
    drafter = member.can(Action.DRAFT)
    status = ConversationStatus(conversation.status)
    waiting = status in WAITING
    mine = conversation.assignee_id == member.user.id
    return {
        "take": drafter and waiting and not mine and conversation.gone_at is None,
        "assign": member.can(Action.APPROVE) and waiting and conversation.gone_at is None,
        "unassign": drafter and status is ConversationStatus.ASSIGNED and (mine or member.can(Action.APPROVE)),
        "dismiss": drafter and waiting,
        "mark_replied": drafter and waiting,
        "reopen": drafter and not waiting,
        "reply": drafter and status is not ConversationStatus.DISMISSED and conversation.gone_at is None,
    }


def post_label(conversation: Conversation) -> str:
    """Name the conversation's own post in its thread by where it stands: to answer, answered, dismissed, deleted."""
    if conversation.gone_at is not None:
        return "deleted by its author"
    status = ConversationStatus(conversation.status)
    if status is ConversationStatus.REPLIED:
        return "answered"
    if status is ConversationStatus.DISMISSED:
        return "dismissed"
    return "to answer"


def character_of_conversation(session: Session, conversation: Conversation) -> Character:
    """Return the conversation's character."""
    character = session.get(Character, conversation.character_id)
    if character is None:
        raise NotFound("This conversation's character no longer exists.")
    return character


def author_history(session: Session, conversation: Conversation, limit: int = 5) -> list[Conversation]:
    """Return the author's earlier conversations with this character, newest first (for "returning" authors)."""
    if not conversation.author_handle and not conversation.author_ref:
        return []
    same_author = (Conversation.author_ref == conversation.author_ref if conversation.author_ref
                   else Conversation.author_handle == conversation.author_handle)
    return list(session.exec(
        select(Conversation).where(Conversation.character_id == conversation.character_id, same_author,
                                   col(Conversation.id) != conversation.id,
                                   col(Conversation.received_at) <= conversation.received_at)
        .order_by(col(Conversation.received_at).desc()).limit(limit)).all())


MIN_LISTEN_SECONDS, MAX_LISTEN_SECONDS = 15, 3600
MIN_TARGET_MINUTES, MAX_TARGET_MINUTES = 1, 10_080  # a week


def update_listening_settings(session: Session, member: Member, *, listen_interval_seconds: int | None = None,
                              response_target_minutes: int | None = None) -> Workspace:
    """Change how often channels are polled and the response target (owners only; changes are audited)."""
    member.require(Action.MANAGE_SETTINGS)
    workspace = member.workspace
    changes: dict[str, str] = {}
    if listen_interval_seconds is not None:
        if not MIN_LISTEN_SECONDS <= listen_interval_seconds <= MAX_LISTEN_SECONDS:
            raise DomainError(f"Poll every {MIN_LISTEN_SECONDS} to {MAX_LISTEN_SECONDS:,} seconds.",
                              field="listen_interval_seconds")
        if listen_interval_seconds != workspace.listen_interval_seconds:
            changes["listen_interval_seconds"] = f"{workspace.listen_interval_seconds} → {listen_interval_seconds}"
            workspace.listen_interval_seconds = listen_interval_seconds
    if response_target_minutes is not None:
        if not MIN_TARGET_MINUTES <= response_target_minutes <= MAX_TARGET_MINUTES:
            raise DomainError(f"Set a target of {MIN_TARGET_MINUTES} to {MAX_TARGET_MINUTES:,} minutes (a week).",
                              field="response_target_minutes")
        if response_target_minutes != workspace.response_target_minutes:
            changes["response_target_minutes"] = f"{workspace.response_target_minutes} → {response_target_minutes}"
            workspace.response_target_minutes = response_target_minutes
    if changes:
        session.add(workspace)
        session.flush()
        record_change(session, member, "settings_change", **changes)
    return workspace
