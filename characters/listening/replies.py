"""Replying in character: a reply is a post of the conversation's character, delivered to the conversation's
channel only, one part that fits the network, reviewed like any post (the two-person rule holds).

An owner may let editors send their own replies without a second person (`Workspace.editors_send_replies`,
changed only by owners and recorded in the audit log). An approved reply goes out at once unless it is given a
time. Publishing it as a real reply in the thread, and marking the conversation replied, is the publisher's part.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_
from sqlmodel import Session, col, select

from characters.accounts.workspaces import Action, Member
from characters.audit.log import record_change, record_event
from characters.consistency.judge import LlmJudge
from characters.core.errors import DomainError, NotFound, PermissionDenied
from characters.core.models import (
    Channel,
    Character,
    Conversation,
    ConversationStatus,
    Delivery,
    DeliveryStatus,
    Post,
    PostPart,
    PostStatus,
    require_id,
    utcnow,
)
from characters.core.platforms import platform_named
from characters.listening.inbox import REPLY_UNDER_WAY, WAITING, assign_conversation, character_of_conversation
from characters.posting.posts import (
    MAX_POST_CHARS,
    PartInput,
    add_revision,
    first_texts,
    parts_of,
    write_parts,
)
from characters.posting.workflow import (
    CheckFailed,
    PostCheck,
    apply_approval,
    check_post,
    refusal,
    require_future,
    require_reviewer,
    submit_post,
)

# "At once": the scheduler claims deliveries due at or before now; a moment ahead keeps the due time in the future.
SEND_DELAY = timedelta(seconds=5)
MAX_CONTEXT_CHARS = 3_500  # the drafting helper takes at most 4,000 characters of the post replied to


@dataclass(frozen=True)
class ThreadItem:
    """One post of the thread as the audience sees it."""

    author_handle: str
    author_name: str
    text: str
    url: str | None
    posted_at: str | None
    is_character: bool
    is_this: bool  # the post of the conversation itself
    omitted_before: int = 0  # a long thread is cut: how many posts were left out before this one
    omitted_after: int = 0  # and how many replies after it


def thread_of(conversation: Conversation) -> list[ThreadItem]:
    """Return the thread root first, ending with the conversation's own post (added when the cache lacks it)."""
    items: list[ThreadItem] = []
    for raw in conversation.thread or []:
        if not isinstance(raw, dict):
            continue
        url = raw.get("url") or None
        is_this = bool(url and url == conversation.url) or raw.get("uri") == conversation.network_id
        items.append(ThreadItem(
            author_handle=str(raw.get("author_handle") or raw.get("handle") or ""),
            author_name=str(raw.get("author_name") or raw.get("display_name") or ""),
            text=str(raw.get("text") or ""), url=str(url) if url else None,
            posted_at=str(raw.get("posted_at")) if raw.get("posted_at") else None,
            is_character=bool(raw.get("is_character")), is_this=is_this,
            omitted_before=_count(raw.get("omitted_before")), omitted_after=_count(raw.get("omitted_after"))))
    if not any(item.is_this for item in items):
        items.append(ThreadItem(author_handle=conversation.author_handle, author_name=conversation.author_name,
                                text=conversation.text, url=conversation.url,
                                posted_at=conversation.posted_at.isoformat(), is_character=False, is_this=True))
    return items


def _count(value: Any) -> int:
    return value if isinstance(value, int) and value > 0 else 0


def reply_context(conversation: Conversation, character_name: str) -> str:
    """Return the thread as text for the drafting help: who said what, oldest first, the latest kept when long."""
    lines = []
    for item in thread_of(conversation):
        who = character_name + " (you)" if item.is_character else f"@{item.author_handle}" + (
            f" ({item.author_name})" if item.author_name else "")
        lines.append(f"{who}: {' '.join(item.text.split())}")
    text = "\n".join(lines)
    if len(text) <= MAX_CONTEXT_CHARS:
        return text
    # The post answered is last and matters most: keep it whole and as much of what led to it as fits.
    kept: list[str] = []
    room = MAX_CONTEXT_CHARS - len("…\n")
    for line in reversed(lines):
        if len(line) + 1 > room:
            if not kept:
                kept.append(line[-room:])
            break
        kept.append(line)
        room -= len(line) + 1
    return "…\n" + "\n".join(reversed(kept))


def reply_limit(conversation: Conversation) -> int:
    """Return how long a reply on this conversation's network may be."""
    platform = platform_named(conversation.network)
    return platform.max_chars if platform else MAX_POST_CHARS


def _checked_text(conversation: Conversation, text: str) -> str:
    """Refuse an empty reply or one the network would not take; return the text."""
    if not text.strip():
        raise DomainError("Write the reply first.", field="text")
    platform = platform_named(conversation.network)
    if len(text) > MAX_POST_CHARS:
        raise DomainError(f"This reply has {len(text):,} characters; a {platform.label if platform else 'reply'} "
                          f"reply holds at most {reply_limit(conversation):,}.", field="text")
    if platform is not None:
        length = platform.measure(text)
        if length > platform.max_chars:
            raise DomainError(f"A {platform.label} reply holds at most {platform.max_chars} characters; this one "
                              f"has {length}. Shorten it.", field="text")
    return text


def channel_of(session: Session, conversation: Conversation) -> Channel | None:
    """Return the channel the conversation came through, or None when it was removed."""
    if conversation.channel_id is None:
        return None
    channel = session.get(Channel, conversation.channel_id)
    return channel if channel is not None and channel.workspace_id == conversation.workspace_id else None


def reply_channel(session: Session, conversation: Conversation) -> Channel:
    """Return the channel the conversation came through (the only one its reply goes to), or refuse a removed one.

    A disabled channel takes replies as it takes posts: they are written, checked, reviewed and approved, and the
    scheduler sends nothing to it (a delivery due while it is disabled fails, "nothing was sent").
    """
    channel = channel_of(session, conversation)
    if channel is None:
        raise DomainError("The channel this conversation came through was removed; connect it again to reply.")
    return channel


def disabled_note(channel: Channel | None) -> str | None:
    """Say what a disabled channel means for a reply before anyone writes one (None when it is enabled)."""
    if channel is None or channel.disabled_at is None:
        return None
    return (f"The channel “{channel.label}” is disabled: Greenroom sends nothing to it. You can still write, "
            "check and submit a reply, and an editor can approve it; enable the channel before the reply is due, "
            "or it fails with “nothing was sent” (then edit it and approve it again).")


def require_answerable(conversation: Conversation) -> None:
    """Refuse replying to a conversation whose post is gone or that was dismissed."""
    if conversation.gone_at is not None:
        raise DomainError("The author deleted this post (or blocked the character): it can no longer be answered.")
    if conversation.status == ConversationStatus.DISMISSED:
        raise DomainError("This conversation was dismissed; reopen it to reply.")


def replies_of(session: Session, conversation: Conversation) -> list[tuple[Post, str, Delivery | None]]:
    """Return the conversation's replies, oldest first, each with its text and its delivery (the sent link)."""
    posts = list(session.exec(select(Post).where(Post.conversation_id == conversation.id,
                                                 Post.workspace_id == conversation.workspace_id)
                              .order_by(col(Post.id))).all())
    if not posts:
        return []
    ids = [require_id(post) for post in posts]
    deliveries = {delivery.post_id: delivery for delivery in session.exec(
        select(Delivery).where(col(Delivery.post_id).in_(ids)).order_by(col(Delivery.id))).all()}
    texts = first_texts(session, posts)
    return [(post, texts.get(require_id(post), ""), deliveries.get(require_id(post))) for post in posts]


def pending_reply(session: Session, conversation: Conversation) -> Post | None:
    """Return the reply being written, reviewed or sent (at most one at a time), if any."""
    return session.exec(select(Post).where(Post.conversation_id == conversation.id,
                                           Post.workspace_id == conversation.workspace_id,
                                           col(Post.status).in_([status.value for status in REPLY_UNDER_WAY]))
                        .order_by(col(Post.id).desc())).first()


def create_reply(session: Session, member: Member, conversation: Conversation, text: str) -> Post:
    """Save a reply draft for the conversation's character, for its channel only; take the conversation if open."""
    member.require(Action.DRAFT)
    text = _checked_text(conversation, text)
    # Two people replying at once: the second waits for the first's row lock, then finds its reply (PostgreSQL;
    # SQLite's writing requests are serialised already).
    session.refresh(conversation, with_for_update=True)
    require_answerable(conversation)
    if pending_reply(session, conversation) is not None:
        raise DomainError("A reply to this conversation is already on its way; change that one instead.",
                          field="text")
    channel = reply_channel(session, conversation)
    character = character_of_conversation(session, conversation)
    post = _new_reply_post(session, member, character, conversation, channel, text)
    record_event(session, workspace_id=post.workspace_id, actor=member.user, action="reply_draft", post=post,
                 to_status=PostStatus.DRAFT.value, details={"conversation_id": require_id(conversation)})
    if conversation.status == ConversationStatus.OPEN:
        assign_conversation(session, member, conversation, expected=ConversationStatus.OPEN)
    return post


def _new_reply_post(session: Session, member: Member, character: Character, conversation: Conversation,
                    channel: Channel, text: str) -> Post:
    """Save the reply draft with its one delivery, as `create_draft` does for posts.

    Written here because the post editor's channel choice offers enabled channels only, and a reply goes to its
    conversation's channel whatever its state.
    """
    if character.archived_at is not None:
        raise DomainError(f"{character.name} is archived; restore the character before replying.")
    post = Post(workspace_id=require_id(member.workspace), character_id=require_id(character),
                author_id=member.user.id, status=PostStatus.DRAFT, bible_version=character.current_version,
                conversation_id=require_id(conversation))
    session.add(post)
    session.flush()
    write_parts(session, post, [PartInput(text=text)], previous=[])
    session.add(Delivery(post_id=require_id(post), channel_id=require_id(channel), status=DeliveryStatus.PENDING))
    session.flush()
    add_revision(session, post, member.user)
    return post


def require_reply(session: Session, member: Member, post: Post) -> Conversation:
    """Return the conversation a reply post answers, or refuse a post that is not a reply of this workspace."""
    if post.workspace_id != member.workspace.id or post.conversation_id is None:
        raise NotFound("No such reply in this workspace.")
    conversation = session.get(Conversation, post.conversation_id)
    if conversation is None or conversation.workspace_id != member.workspace.id:
        raise NotFound("No such conversation in this workspace.")
    return conversation


def may_send_own(member: Member) -> bool:
    """Return whether this member may send their own replies without a second person."""
    return member.workspace.editors_send_replies and member.can(Action.APPROVE)


def _due(due_at: datetime | None, now: datetime | None) -> datetime:
    due = due_at or (now or utcnow()) + SEND_DELAY
    require_future(due, now)
    return due


def _approve(session: Session, member: Member, post: Post, *, expected_version: int, due: datetime,
             override_reason: str | None, judge: LlmJudge | None) -> PostCheck:
    check = check_post(session, post, judge)
    reason = (override_reason or "").strip()[:2000] or None
    if check.failed and not reason:
        raise CheckFailed(check)
    apply_approval(session, member, post, expected_version=expected_version, due_at=due, check=check,
                   override_reason=reason if check.failed else None)
    return check


def approve_reply(session: Session, member: Member, post: Post, *, expected_version: int,
                  due_at: datetime | None = None, override_reason: str | None = None, now: datetime | None = None,
                  judge: LlmJudge | None = None) -> PostCheck:
    """Approve a reply in review: it goes out at once, or at `due_at`. Another editor's, unless owners allow own."""
    conversation = require_reply(session, member, post)
    require_answerable(conversation)
    if may_send_own(member):
        member.require(Action.APPROVE)
    else:
        require_reviewer(member, post)
    if post.status != PostStatus.IN_REVIEW:
        raise DomainError(refusal(post.status, "approved", "reply"))
    return _approve(session, member, post, expected_version=expected_version, due=_due(due_at, now),
                    override_reason=override_reason, judge=judge)


def send_own_reply(session: Session, member: Member, post: Post, *, expected_version: int,
                   due_at: datetime | None = None, override_reason: str | None = None, now: datetime | None = None,
                   judge: LlmJudge | None = None) -> PostCheck:
    """An editor sends their own reply draft without a second person, where the owners allow it (both audited)."""
    conversation = require_reply(session, member, post)
    require_answerable(conversation)
    if not may_send_own(member):
        raise PermissionDenied("Replies need a second person here: submit it for review, another editor approves "
                               "it. (Owners can let editors send their own replies in the workspace settings.)")
    due = _due(due_at, now)
    version = expected_version
    if post.status == PostStatus.DRAFT:
        submit_post(session=session, member=member, post=post, expected_version=version, note=None, judge=judge)
        version = post.version
    elif post.status != PostStatus.IN_REVIEW:
        raise DomainError(refusal(post.status, "sent", "reply"))
    check = _approve(session, member, post, expected_version=version, due=due, override_reason=override_reason,
                     judge=judge)
    record_event(session, workspace_id=post.workspace_id, actor=member.user, action="reply_sent_own", post=post,
                 from_status=PostStatus.IN_REVIEW.value, to_status=PostStatus.APPROVED.value,
                 reason="An editor sent their own reply (the workspace allows it).",
                 details={"conversation_id": require_id(conversation), "due_at": due.isoformat()})
    return check


def set_editors_send_replies(session: Session, member: Member, allowed: bool) -> bool:
    """Let editors send their own replies or not (owners only; audited); return whether it changed."""
    if not member.can(Action.MANAGE_SETTINGS):
        raise PermissionDenied("Only owners decide whether editors may send their own replies.")
    workspace = member.workspace
    before = workspace.editors_send_replies
    if before == allowed:
        return False
    workspace.editors_send_replies = allowed
    session.add(workspace)
    session.flush()
    record_change(session, member, "settings_change", editors_send_replies=f"{before} → {allowed}")
    return True


def reply_text(session: Session, post: Post) -> str:
    """Return the reply's text (its one part)."""
    parts = parts_of(session, post)
    return parts[0].text if parts else ""


def reply_summary(session: Session, conversation: Conversation) -> dict[str, Any]:
    """Return what the conversation page shows about its replies: the pending one and those sent, with links."""
    replies = replies_of(session, conversation)
    sent = [(post, text, delivery) for post, text, delivery in replies if post.status == PostStatus.PUBLISHED]
    pending = [(post, text, delivery) for post, text, delivery in replies if post.status in REPLY_UNDER_WAY]
    return {"sent": sent, "pending": pending[-1] if pending else None,
            "waiting": conversation.status in WAITING}


@dataclass(frozen=True)
class Subject:
    """The character's own post a conversation answers, when Greenroom published it."""

    post_id: int
    text: str


def subject_of(session: Session, conversation: Conversation) -> Subject | None:
    """Return the character's post this conversation answers, with its first part's text (None when unknown)."""
    if conversation.subject_post_id is None:
        return None
    row = session.exec(select(Post.id, PostPart.text)
                       .join(PostPart, and_(col(PostPart.post_id) == col(Post.id), col(PostPart.position) == 0),
                             isouter=True)
                       .where(Post.id == conversation.subject_post_id,
                              Post.workspace_id == conversation.workspace_id)).first()
    if row is None or row[0] is None:
        return None
    return Subject(post_id=row[0], text=row[1] or "")
