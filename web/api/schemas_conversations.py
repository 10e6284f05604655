"""Models of the conversation endpoints: the audience inbox, one conversation with its thread, state changes and
reply drafts.
"""

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field
from pydantic.json_schema import SkipJsonSchema

from characters.core.models import ConversationStatus
from characters.listening.inbox import MAX_QUERY_CHARS, MAX_REASON_CHARS, View
from characters.posting.posts import MAX_POST_CHARS
from web.api.schemas import Body, DbId, Moment, Slug, Version


class ConversationListQuery(BaseModel):
    """Filters and the page of the inbox: waiting ones oldest first, other views newest first."""

    view: View = Field(default=View.WAITING, description="waiting (open or assigned), overdue, a status, or all.")
    character: Slug | SkipJsonSchema[None] = None
    network: Literal["bluesky", "mastodon"] | SkipJsonSchema[None] = None
    assignee: str | SkipJsonSchema[None] = Field(default=None, pattern=r"^(me|none|[1-9][0-9]{0,8})$",
                                                 description="A user id, `me` or `none`.")
    q: str | SkipJsonSchema[None] = Field(default=None, max_length=MAX_QUERY_CHARS,
                                          description="Words in the text, the author's handle or name.")
    page: int = Field(default=1, ge=1, le=1_000_000)


class ThreadPostOut(BaseModel):
    """One post of the thread as the audience sees it."""

    author_handle: str
    author_name: str
    text: str
    url: str | None
    posted_at: str | None
    is_character: bool = Field(description="The character's own post.")
    is_this: bool = Field(description="The post of this conversation (the one to answer).")
    omitted_before: int = Field(description="Posts of a long thread left out before this one.")
    omitted_after: int


class ConversationSummary(BaseModel):
    """A conversation as the inbox lists it; `waited_minutes` runs until its first answer."""

    id: int
    character: str
    character_name: str
    channel_id: int | None
    network: str
    reason: str
    author_handle: str
    author_name: str
    author_avatar_url: str | None
    text: str
    url: str | None
    posted_at: datetime
    received_at: datetime
    status: ConversationStatus
    assignee_id: int | None
    assignee: str | None
    is_question: bool
    is_negative: bool
    first_time_author: bool
    overdue: bool
    waited_minutes: float
    replied_at: datetime | None
    gone_at: datetime | None
    subject_post_id: int | None


class ConversationPage(BaseModel):
    """One page of conversations."""

    items: list[ConversationSummary]
    total: int
    page: int
    pages: int


class ReplyOut(BaseModel):
    """One reply to the conversation (a post): its status and, once published, its link."""

    post_id: int
    status: str
    version: int
    text: str
    due_at: datetime | None
    published_at: datetime | None
    remote_url: str | None


class ConversationOut(ConversationSummary):
    """One conversation with its thread, its replies and what this token may do."""

    thread: list[ThreadPostOut]
    replies: list[ReplyOut]
    status_changed_by_id: int | None
    status_changed_at: datetime | None
    reply_limit: int = Field(description="How long a reply may be on this network (as the network counts).")
    allowed_actions: dict[str, bool]


class StateIn(Body):
    """A state change; `expected` is the status you saw (a different one now is a 409, nothing changes)."""

    action: Literal["assign", "unassign", "dismiss", "mark_replied", "reopen"]
    expected: ConversationStatus
    assignee_id: DbId | None = Field(default=None, description="assign: whom (default: yourself).")
    reason: str = Field(default="", max_length=MAX_REASON_CHARS, description="dismiss: why (optional).")


class ReplyIn(Body):
    """A reply draft in the conversation's character's voice, for the conversation's channel only."""

    text: str = Field(min_length=1, max_length=MAX_POST_CHARS)
    submit: bool = Field(default=False, description="Also send it to review.")


class ReplyApproveIn(Body):
    """Approve a reply in review: it goes out at once, or at `due_at`; a failing check needs a written reason."""

    version: Version
    due_at: Moment | None = Field(default=None, description="null or left out: at once.")
    override_reason: str = Field(default="", max_length=MAX_REASON_CHARS)
