"""Models of the post endpoints: content in, posts out, the lifecycle transitions and comments."""

from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, Field, model_validator
from pydantic.json_schema import SkipJsonSchema

from characters.core.models import DeliveryStatus, PostStatus
from characters.posting.posts import MAX_ALT_CHARS, MAX_IMAGE_BYTES, MAX_POST_CHARS, MAX_THREAD_PARTS
from characters.posting.workflow import MAX_REASON_CHARS
from web.api.schemas import Body, CheckOut, DbId, Moment, Slug, Version

MAX_CHANNELS = 20
# Base64 makes 3 bytes 4 characters.
MAX_IMAGE_BASE64_CHARS = (MAX_IMAGE_BYTES + 2) // 3 * 4


class PartIn(Body):
    """One thread part: its text and at most one image (new, or kept from one of the post's parts)."""

    text: str = Field(default="", max_length=MAX_POST_CHARS)
    image_base64: Annotated[str, Field(max_length=MAX_IMAGE_BASE64_CHARS)] | None = Field(
        default=None, description="A PNG, JPEG or WebP of at most 5 MB.")
    keep_image_of: DbId | None = Field(
        default=None, description="The id of one of this post's parts whose image this part keeps.")
    image_alt: str = Field(default="", max_length=MAX_ALT_CHARS, description="Required with an image.")


class PostContentIn(Body):
    """What a writer edits on a post."""

    parts: list[PartIn] = Field(min_length=1, max_length=MAX_THREAD_PARTS)
    channel_ids: Annotated[list[DbId], Field(max_length=MAX_CHANNELS)] | None = Field(
        default=None, description="The character's channels; none means its own feed.")
    campaign_id: DbId | None = None


class PostCreate(PostContentIn):
    """A new draft for one character."""

    character: str = Field(min_length=1, max_length=64, description="The character's slug.")


class PostUpdate(PostContentIn):
    """The whole content as the next version; `version` (or If-Match) is the version you edited."""

    version: Version | None = None


class PostPatch(Body):
    """Some of the content as the next version; what is left out stays (parts keep their images)."""

    version: Version | None = None
    parts: Annotated[list[PartIn], Field(min_length=1, max_length=MAX_THREAD_PARTS)] | None = Field(
        default=None, description="null or left out: the parts stay as they are.")
    channel_ids: Annotated[list[DbId], Field(max_length=MAX_CHANNELS)] | None = Field(
        default=None, description="null: the character's own feed; left out: the channels stay.")
    campaign_id: DbId | None = Field(default=None, description="null takes the post out of its campaign.")


class PostListQuery(BaseModel):
    """Filters and the page of the post list (newest first)."""

    status: PostStatus | SkipJsonSchema[None] = None
    character: Slug | SkipJsonSchema[None] = None
    campaign_id: DbId | SkipJsonSchema[None] = None
    due_from: Moment | SkipJsonSchema[None] = Field(default=None, description="Due at or after this time.")
    due_to: Moment | SkipJsonSchema[None] = Field(default=None, description="Due before this time.")
    cursor: DbId | SkipJsonSchema[None] = Field(default=None, description="`next_cursor` of the previous page.")
    limit: int = Field(default=50, ge=1, le=200)


class PartOut(BaseModel):
    """One part of a post."""

    id: int
    position: int
    text: str
    has_image: bool
    image_alt: str | None


class DeliveryOut(BaseModel):
    """Where one channel's copy of the post stands."""

    channel_id: int | None
    channel_kind: str | None
    channel_label: str | None
    status: DeliveryStatus
    due_at: datetime | None
    published_at: datetime | None
    remote_url: str | None
    last_error: str | None


class PostSummary(BaseModel):
    """A post as lists show it; `due_local` is the due time in the character's zone."""

    id: int
    character: str
    status: PostStatus
    version: int
    due_at: datetime | None
    due_local: str | None
    timezone: str
    campaign_id: int | None
    scene_id: int | None
    excerpt: str
    created_at: datetime
    updated_at: datetime


class PostOut(PostSummary):
    """One post, whole."""

    parts: list[PartOut]
    deliveries: list[DeliveryOut]
    check: CheckOut | None
    bible_version: int | None
    override_reason: str | None
    author_id: int | None
    submitted_by_id: int | None
    approved_by_id: int | None
    approved_at: datetime | None
    published_at: datetime | None
    last_error: str | None
    allowed_actions: dict[str, bool] = Field(description="What this token may do to the post now.")


class PostPage(BaseModel):
    """One page of posts, newest first; pass `next_cursor` as `cursor` for the next (null: no more)."""

    items: list[PostSummary]
    next_cursor: int | None


class SubmitIn(Body):
    """Send a draft to review."""

    version: Version
    note: str = Field(default="", max_length=MAX_REASON_CHARS, description="A note for the reviewers.")


class _When(Body):
    """A due time: an instant, or the character's next free rhythm slot."""

    version: Version
    due_at: Moment | None = None
    next_slot: bool = Field(default=False, description="Use the character's next free rhythm slot.")

    @model_validator(mode="after")
    def _one_time(self) -> "_When":
        if (self.due_at is None) == (not self.next_slot):
            raise ValueError("give either due_at or next_slot: true")
        return self


class ApproveIn(_When):
    """Approve a post in review for a time; a failing check needs a written reason."""

    override_reason: str = Field(default="", max_length=MAX_REASON_CHARS)


class RescheduleIn(_When):
    """Move an approved post to another time."""


class RejectIn(Body):
    """Send a post in review back to draft, saying what needs to change."""

    version: Version
    comment: str = Field(min_length=1, max_length=5000)


class CancelIn(Body):
    """Cancel a post and whatever of it was still waiting to go out."""

    version: Version
    reason: str = Field(default="", max_length=MAX_REASON_CHARS)


class TransitionOut(BaseModel):
    """The post after the transition, and the check it ran (if any)."""

    post: PostOut
    check: CheckOut | None = None
    moved: list[int] = Field(default_factory=list, description="Posts moved along (a scene's other lines).")


class CommentIn(Body):
    """A note in the post's discussion."""

    body: str = Field(min_length=1, max_length=5000)


class CommentOut(BaseModel):
    """One comment."""

    id: int
    author: str
    body: str
    created_at: datetime


class CommentList(BaseModel):
    """A post's discussion, oldest first."""

    items: list[CommentOut]


class HistoryItem(BaseModel):
    """One line of a post's history: a revision (with its diff), a comment or an audit event."""

    at: datetime
    kind: str
    who: str
    version: int | None = None
    diff: list[str] | None = None
    body: str | None = None
    action: str | None = None
    from_status: str | None = None
    to_status: str | None = None
    reason: str | None = None
    details: dict[str, Any] | None = None


class HistoryOut(BaseModel):
    """A post's history, oldest first."""

    items: list[HistoryItem]
