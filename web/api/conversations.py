"""Conversations: the audience inbox (list, read), state changes and reply drafts, through characters.listening."""

from sqlmodel import Session

from characters.accounts.workspaces import Member
from characters.bibles.bible import get_character
from characters.core.errors import NotFound
from characters.core.models import Conversation, require_id, utcnow
from characters.listening.inbox import (
    InboxFilters,
    InboxRow,
    available_actions,
    change_state,
    character_of_conversation,
    get_conversation,
    is_overdue,
    list_conversations,
    waited,
)
from characters.listening.replies import approve_reply, create_reply, replies_of, reply_limit, require_reply, thread_of
from characters.posting.posts import get_post, user_names
from characters.posting.workflow import submit_post
from web.api import bp
from web.api.auth import api_member
from web.api.present import post_out
from web.api.schemas_conversations import (
    ConversationListQuery,
    ConversationOut,
    ConversationPage,
    ConversationSummary,
    ReplyApproveIn,
    ReplyIn,
    ReplyOut,
    StateIn,
    ThreadPostOut,
)
from web.api.schemas_posts import PostOut
from web.api.spec import operation
from web.database import get_session, unit_of_work
from web.judging import configured_judge

TAG = "conversations"


def _summary(row: InboxRow) -> ConversationSummary:
    c = row.conversation
    return ConversationSummary(
        id=require_id(c), character=row.character_slug, character_name=row.character_name, channel_id=c.channel_id,
        network=c.network, reason=c.reason, author_handle=c.author_handle, author_name=c.author_name,
        author_avatar_url=c.author_avatar_url, text=c.text, url=c.url, posted_at=c.posted_at,
        received_at=c.received_at, status=c.status, assignee_id=c.assignee_id, assignee=row.assignee_name,
        is_question=c.is_question, is_negative=c.is_negative, first_time_author=c.first_time_author,
        overdue=row.overdue, waited_minutes=round(row.waited.total_seconds() / 60, 1), replied_at=c.replied_at,
        gone_at=c.gone_at, subject_post_id=c.subject_post_id)


def conversation_out(db: Session, member: Member, conversation: Conversation) -> ConversationOut:
    """Return one conversation whole, as this token's member sees it."""
    now = utcnow()
    character = character_of_conversation(db, conversation)
    assignee = user_names(db, {conversation.assignee_id}).get(conversation.assignee_id) \
        if conversation.assignee_id is not None else None
    row = InboxRow(conversation, character.name, character.slug, assignee,
                   is_overdue(conversation, member.workspace, now), waited(conversation, now))
    replies = [ReplyOut(post_id=require_id(post), status=post.status, version=post.version, text=text,
                        due_at=post.due_at, published_at=post.published_at,
                        remote_url=delivery.remote_url if delivery else None)
               for post, text, delivery in replies_of(db, conversation)]
    return ConversationOut(
        **_summary(row).model_dump(), replies=replies, reply_limit=reply_limit(conversation),
        thread=[ThreadPostOut(**item.__dict__) for item in thread_of(conversation)],
        status_changed_by_id=conversation.status_changed_by_id, status_changed_at=conversation.status_changed_at,
        allowed_actions=available_actions(member, conversation))


@bp.get("/conversations")
@operation(TAG, ConversationPage)
def list_all_conversations(query: ConversationListQuery) -> ConversationPage:
    """List conversations (waiting ones oldest first), filtered by view, character, network, assignee and words."""
    db = get_session()
    member = api_member()
    character = get_character(db, member.workspace, query.character) if query.character else None
    assignee: int | str | None = int(query.assignee) if query.assignee and query.assignee.isdigit() else query.assignee
    page = list_conversations(db, member, InboxFilters(
        view=query.view, character_id=character.id if character else None, network=query.network,
        assignee=assignee, query=query.q or "", page=query.page))
    return ConversationPage(items=[_summary(row) for row in page.rows], total=page.total, page=page.page,
                            pages=page.pages)


@bp.get("/conversations/<int:conversation_id>")
@operation(TAG, ConversationOut)
def get_one_conversation(conversation_id: int) -> ConversationOut:
    """Return one conversation with its thread (root first), its replies and what this token may do."""
    db = get_session()
    member = api_member()
    return conversation_out(db, member, get_conversation(db, member.workspace, conversation_id))


@bp.post("/conversations/<int:conversation_id>/state")
@operation(TAG, ConversationOut, writes=True)
def change_conversation_state(conversation_id: int, json: StateIn) -> ConversationOut:
    """Assign (yourself by default), unassign, dismiss, mark replied or reopen; audited with who and when."""
    member = api_member()
    with unit_of_work() as db:
        conversation = get_conversation(db, member.workspace, conversation_id)
        change_state(db, member, conversation, json.action, expected=json.expected, assignee_id=json.assignee_id,
                     reason=json.reason)
    return conversation_out(get_session(), member, conversation)


@bp.post("/conversations/<int:conversation_id>/replies")
@operation(TAG, PostOut, status=201, writes=True)
def post_reply_draft(conversation_id: int, json: ReplyIn) -> tuple[PostOut, int]:
    """Save a reply draft (and optionally submit it); it is reviewed and approved like any post."""
    member = api_member()
    with unit_of_work() as db:
        conversation = get_conversation(db, member.workspace, conversation_id)
        post = create_reply(db, member, conversation, json.text)
        if json.submit:
            submit_post(session=db, member=member, post=post, expected_version=post.version,
                        judge=configured_judge())
        post_id = require_id(post)
    db = get_session()
    return post_out(db, member, get_post(db, member.workspace, post_id)), 201


@bp.post("/conversations/<int:conversation_id>/replies/<int:post_id>/approve")
@operation(TAG, PostOut, writes=True)
def approve_conversation_reply(conversation_id: int, post_id: int, json: ReplyApproveIn) -> PostOut:
    """Approve a reply in review (another editor's, unless owners let editors send their own): at once or at due_at."""
    member = api_member()
    with unit_of_work() as db:
        conversation = get_conversation(db, member.workspace, conversation_id)
        post = get_post(db, member.workspace, post_id)
        if require_reply(db, member, post).id != conversation.id:
            raise NotFound("No such reply to this conversation.")
        approve_reply(db, member, post, expected_version=json.version, due_at=json.due_at,
                      override_reason=json.override_reason, judge=configured_judge())
    db = get_session()
    return post_out(db, member, get_post(db, member.workspace, post_id))
