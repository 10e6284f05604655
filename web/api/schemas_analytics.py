"""Models of the analytics API: the report's numbers, and one post's numbers over time."""

from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, Field
from pydantic.json_schema import SkipJsonSchema

from web.api.schemas import DbId, IsoDate, Slug


class AnalyticsQuery(BaseModel):
    """The period (a preset, or start_date and end_date) and what to narrow the numbers to."""

    period: Literal["7d", "30d", "90d", "365d"] | SkipJsonSchema[None] = Field(
        default=None, description="The last 7, 30, 90 or 365 days (default 30d); ignored with start_date/end_date.")
    start_date: IsoDate = Field(default=None, description="First local day of the period (with end_date).")
    end_date: IsoDate = Field(default=None, description="Last local day of the period, at most 366 days on.")
    character: Slug | SkipJsonSchema[None] = None
    campaign_id: DbId | SkipJsonSchema[None] = None
    network: Literal["bluesky", "mastodon"] | SkipJsonSchema[None] = None
    timezone: str | SkipJsonSchema[None] = Field(
        default=None, max_length=64,
        description="IANA zone of the dates and of the follower points (default: the character's, else UTC).")


class NumbersOut(BaseModel):
    """Measured posts (one post on one network each) and the sums of their latest numbers."""

    posts: int
    likes: int
    reposts: int
    replies: int
    quotes: int
    engagement: int = Field(description="likes + reposts + replies + quotes")
    per_post: float = Field(description="Average engagement per post.")


class TrendPoint(NumbersOut):
    """One day (or one week, starting Monday) of the trend."""

    date: date


class WeekdayNumbers(NumbersOut):
    """One weekday (0 = Monday), local to each post's character."""

    weekday: int
    name: str


class HourNumbers(NumbersOut):
    """One hour of the day (0-23), local to each post's character."""

    hour: int


class CampaignNumbers(NumbersOut):
    """One campaign's posts (campaign_id null: posts outside any campaign)."""

    campaign_id: int | None
    name: str


class NetworkNumbers(NumbersOut):
    """One network's posts."""

    network: str


class RankedPost(BaseModel):
    """A published post on one network, with its latest numbers."""

    post_id: int
    character: str
    network: str
    published_at: datetime
    url: str | None
    excerpt: str
    likes: int
    reposts: int
    replies: int
    quotes: int
    engagement: int


class BestHoursOut(BaseModel):
    """The best local hours from the period's own numbers, or why there are none yet."""

    hours: list[int]
    enough: bool
    measured_posts: int
    qualified_hours: int
    message: str


class AccountOut(BaseModel):
    """One network account's followers at the period's start and end (null: not read by then)."""

    channel_id: int
    character: str
    network: str
    label: str
    start: int | None
    end: int | None
    change: int | None


class FollowerPoint(BaseModel):
    """The followers of every account in view at the end of a day (or week)."""

    date: date
    followers: int | None


class PeriodOut(BaseModel):
    """The period the numbers cover."""

    start: datetime
    end: datetime
    first_day: date
    last_day: date
    timezone: str
    unit: Literal["day", "week"] = Field(description="What each trend and follower point covers.")


class AnalyticsOut(BaseModel):
    """The same numbers as the analytics page."""

    period: PeriodOut
    empty: bool = Field(description="Nothing measured yet: numbers arrive 10 minutes after a post is published.")
    totals: NumbersOut = Field(description="Broadcast posts only: replies to audience conversations are counted in "
                               "`conversation_replies` and left out of every other number, ranking and best hour.")
    conversation_replies: NumbersOut = Field(description="Replies to audience conversations (listening) in the period.")
    trend: list[TrendPoint]
    by_weekday: list[WeekdayNumbers]
    by_hour: list[HourNumbers]
    best_hours: BestHoursOut
    by_campaign: list[CampaignNumbers]
    by_network: list[NetworkNumbers]
    top: list[RankedPost]
    bottom: list[RankedPost]
    accounts: list[AccountOut]
    followers: list[FollowerPoint]
    follower_change: int | None


class SnapshotOut(BaseModel):
    """The numbers of one delivery at one reading."""

    taken_at: datetime
    likes: int
    reposts: int
    replies: int
    quotes: int


class DeliveryNumbersOut(BaseModel):
    """A post's numbers on one network: the latest, and every reading."""

    delivery_id: int
    network: str | None
    url: str | None
    published_at: datetime | None
    read_at: datetime | None = Field(description="When the latest numbers were read (null: not yet).")
    likes: int
    reposts: int
    replies: int
    quotes: int
    snapshots: list[SnapshotOut]


class PostNumbersOut(BaseModel):
    """A post's numbers on each network it went to."""

    post_id: int
    deliveries: list[DeliveryNumbersOut]
