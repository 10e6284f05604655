"""Models of campaigns, scenes, channels and the schedule.

Inputs extend the domain's own models, tightening only what a JSON client can send that a form cannot
(unknown fields, ids beyond the database's integers), so the rules stay the domain's.
"""

from datetime import date, datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, RootModel, model_validator
from pydantic.json_schema import SkipJsonSchema

from characters.core.models import ChannelKind, PostStatus
from characters.posting.campaigns import CampaignInput
from characters.posting.scenes import MAX_LINES, SceneInput, SceneLine
from characters.posting.workflow import MAX_REASON_CHARS
from characters.publishing.channels import BlueskyChannelCreate, MastodonChannelCreate, WebhookChannelCreate
from web.api.schemas import BODY_CONFIG, Body, DbId, IsoDate, Moment, Slug, Version


class CampaignIn(CampaignInput):
    """A campaign: name, goal, dates and the ids of its characters."""

    model_config = BODY_CONFIG

    starts_on: IsoDate = None
    ends_on: IsoDate = None
    character_ids: list[DbId] = Field(default_factory=list, max_length=500)


class ProgressOut(BaseModel):
    """How many of the campaign's posts are at each stage."""

    drafted: int
    in_review: int
    approved: int
    published: int
    other: int
    total: int


class CampaignOut(BaseModel):
    """A campaign and its progress."""

    id: int
    name: str
    goal: str
    starts_on: date | None
    ends_on: date | None
    character_ids: list[int]
    progress: ProgressOut
    created_at: datetime


class CampaignList(BaseModel):
    """The workspace's campaigns, latest start first."""

    items: list[CampaignOut]


class SceneLineIn(SceneLine):
    """One line: which character says it, what, and how many minutes after the line before."""

    model_config = BODY_CONFIG

    character_id: DbId


class SceneIn(SceneInput):
    """A scene: a title and its lines, in order."""

    model_config = BODY_CONFIG

    lines: list[SceneLineIn] = Field(min_length=1, max_length=MAX_LINES)  # type: ignore[assignment]
    campaign_id: DbId | None = None


class SceneUpdate(SceneIn):
    """The whole scene as its next version; `version` (or If-Match) is the version you edited."""

    version: Version | None = None


class SceneLineOut(BaseModel):
    """A saved line and when it goes out (once the scene is approved)."""

    post_id: int
    character: str
    character_id: int
    text: str
    delay_minutes: int
    offset_minutes: int
    status: PostStatus
    due_at: datetime | None


class SceneOut(BaseModel):
    """A scene with its lines."""

    id: int
    title: str
    status: PostStatus
    version: int
    campaign_id: int | None
    starts_at: datetime | None
    created_at: datetime
    updated_at: datetime
    lines: list[SceneLineOut]


class SceneList(BaseModel):
    """The workspace's scenes, newest first (without their lines)."""

    items: list[SceneOut]


class SceneVersion(Body):
    """The version of the scene you are acting on."""

    version: Version


class SceneApproveIn(SceneVersion):
    """Approve every line from `starts_at`; a failing line needs a written reason."""

    starts_at: Moment | None = None
    next_slot: bool = Field(default=False, description="Start at the first character's next free rhythm slot.")
    override_reason: str = Field(default="", max_length=MAX_REASON_CHARS)

    @model_validator(mode="after")
    def _one_time(self) -> "SceneApproveIn":
        if (self.starts_at is None) == (not self.next_slot):
            raise ValueError("give either starts_at or next_slot: true")
        return self


class SceneRejectIn(SceneVersion):
    """Send the scene back to draft with a comment."""

    comment: str = Field(min_length=1, max_length=5000)


class BlueskyChannelIn(BlueskyChannelCreate):
    """A Bluesky (or any atproto PDS) account, reached with an app password."""

    model_config = BODY_CONFIG


class MastodonChannelIn(MastodonChannelCreate):
    """A Mastodon account, reached with an access token (write:statuses, write:media)."""

    model_config = BODY_CONFIG


class WebhookChannelIn(WebhookChannelCreate):
    """An HTTPS endpoint that receives each post as signed JSON; the signing secret is generated."""

    model_config = BODY_CONFIG


class ChannelCreateIn(RootModel[Annotated[BlueskyChannelIn | MastodonChannelIn | WebhookChannelIn,
                                          Field(discriminator="kind")]]):
    """A Bluesky, Mastodon or webhook channel; credentials go in and never come back out."""

    model_config = ConfigDict(strict=True)


class ChannelOut(BaseModel):
    """A channel, with its non-secret details only."""

    id: int
    character: str
    kind: ChannelKind
    label: str
    address: str = Field(description="The handle, instance or host: what tells channels apart.")
    disabled: bool
    last_checked_at: datetime | None
    last_check_ok: bool | None
    last_check_message: str | None


class ChannelCreated(BaseModel):
    """A new channel; a webhook's signing secret is shown here once and never again."""

    channel: ChannelOut
    signing_secret: str | None = None


class ChannelList(BaseModel):
    """Channels of the workspace's characters."""

    items: list[ChannelOut]


class ChannelQuery(BaseModel):
    """Only this character's channels."""

    character: Slug | SkipJsonSchema[None] = None


class ScheduleQuery(BaseModel):
    """A time range of the schedule, optionally for one character or campaign."""

    start: Moment
    end: Moment
    character: Slug | SkipJsonSchema[None] = None
    campaign_id: DbId | SkipJsonSchema[None] = None
    cursor: DbId | SkipJsonSchema[None] = Field(default=None, description="`next_cursor` of the previous page.")
    limit: int = Field(default=100, ge=1, le=1000)


class ScheduleItem(BaseModel):
    """A scheduled post, with its due time in UTC and in the character's zone."""

    post_id: int
    character: str
    character_name: str
    status: PostStatus
    due_at: datetime
    due_local: str
    timezone: str
    excerpt: str
    campaign_id: int | None
    scene_id: int | None


class ScheduleOut(BaseModel):
    """Posts due in the range, soonest first; `next_cursor` gets the next page (null: this is the last)."""

    items: list[ScheduleItem]
    next_cursor: int | None = None
