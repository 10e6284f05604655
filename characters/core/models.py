"""SQLModel tables. No `from __future__ import annotations` here: relationship resolution needs real types."""

import enum
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import JSON, Column, DateTime, Index, LargeBinary, String, TypeDecorator, UniqueConstraint
from sqlalchemy.engine import Dialect
from sqlmodel import Field, SQLModel


def utcnow() -> datetime:
    """Return the current time, timezone-aware in UTC."""
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """Store datetimes as UTC and always hand back aware UTC datetimes, on SQLite too."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetimes are not stored; pass an aware datetime")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _now_field() -> Any:
    """Return a column that defaults to the moment the row object is created."""
    return Field(default_factory=utcnow, sa_type=UTCDateTime)


class Role(enum.StrEnum):
    """What a member may do in a workspace, from most to least powerful."""

    OWNER = "owner"
    EDITOR = "editor"
    WRITER = "writer"
    VIEWER = "viewer"


class PostStatus(enum.StrEnum):
    """Where a post is in its lifecycle."""

    DRAFT = "draft"
    IN_REVIEW = "in_review"
    APPROVED = "approved"
    PUBLISHING = "publishing"
    PUBLISHED = "published"
    FAILED = "failed"
    UNCONFIRMED = "unconfirmed"
    MISSED = "missed"
    CANCELLED = "cancelled"


class User(SQLModel, table=True):
    """A person who logs in; Flask-Login wraps it in the web layer."""

    id: int | None = Field(default=None, primary_key=True)
    email: str = Field(sa_column=Column(String(320), unique=True, nullable=False))
    display_name: str = Field(max_length=120)
    password_hash: str = Field(max_length=255)
    is_active: bool = True
    is_admin: bool = False
    created_at: datetime = _now_field()


class UserSession(SQLModel, table=True):
    """One signed-in browser: its cookie carries the token, so ending the row ends that sign-in everywhere."""

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="user.id", index=True, ondelete="CASCADE")
    token_hash: str = Field(sa_column=Column(String(64), unique=True, nullable=False))
    remember: bool = False
    created_at: datetime = _now_field()
    last_seen_at: datetime = _now_field()
    expires_at: datetime = Field(sa_type=UTCDateTime)
    user_agent: str = Field(default="", max_length=300)
    ip_address: str = Field(default="", max_length=64)
    ended_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class PasswordReset(SQLModel, table=True):
    """A one-time password-reset link sent by email; stored hashed, short-lived, used at most once."""

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="user.id", index=True, ondelete="CASCADE")
    token_hash: str = Field(sa_column=Column(String(64), unique=True, nullable=False))
    created_at: datetime = _now_field()
    expires_at: datetime = Field(sa_type=UTCDateTime)
    used_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class Workspace(SQLModel, table=True):
    """One fan community or one marketing team; everything else belongs to one."""

    id: int | None = Field(default=None, primary_key=True)
    slug: str = Field(sa_column=Column(String(64), unique=True, nullable=False))
    name: str = Field(max_length=120)
    two_person_rule: bool = True
    writers_edit_bibles: bool = False
    # Posts found late by at most this many minutes still publish; later ones wait as "missed".
    late_grace_minutes: int = 15
    # Secret for the workspace's iCalendar feed URL (stored hashed like any token).
    calendar_token_hash: str | None = Field(default=None, max_length=64)
    # Keep the full prompt of each LLM generation (off by default: bibles can be confidential).
    store_prompts: bool = False
    # Listening: how often the scheduler polls each channel's notifications, and how soon the audience expects
    # an answer (conversations waiting longer are overdue).
    listen_interval_seconds: int = 60
    response_target_minutes: int = 60
    # Editors may send their own replies without a second person (off: replies follow the two-person rule).
    editors_send_replies: bool = False
    # The queue's next free slot prefers the character's best hours from its own engagement history.
    prefer_best_hours: bool = False
    created_at: datetime = _now_field()


class Membership(SQLModel, table=True):
    """A user's role in a workspace."""

    __table_args__ = (UniqueConstraint("workspace_id", "user_id", name="uq_membership_workspace_user"),)

    id: int | None = Field(default=None, primary_key=True)
    workspace_id: int = Field(foreign_key="workspace.id", index=True, ondelete="CASCADE")
    user_id: int = Field(foreign_key="user.id", index=True, ondelete="CASCADE")
    role: Role = Field(sa_type=String(16))
    created_at: datetime = _now_field()


class Invite(SQLModel, table=True):
    """A link that lets someone join a workspace with a role until it expires or is used."""

    id: int | None = Field(default=None, primary_key=True)
    workspace_id: int = Field(foreign_key="workspace.id", index=True, ondelete="CASCADE")
    token_hash: str = Field(sa_column=Column(String(64), unique=True, nullable=False))
    role: Role = Field(sa_type=String(16))
    created_by_id: int = Field(foreign_key="user.id")
    created_at: datetime = _now_field()
    expires_at: datetime = Field(sa_type=UTCDateTime)
    used_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    used_by_id: int | None = Field(default=None, foreign_key="user.id")


class Character(SQLModel, table=True):
    """A persona account; its bible lives in CharacterVersion rows, newest = current."""

    __table_args__ = (UniqueConstraint("workspace_id", "slug", name="uq_character_workspace_slug"),)

    id: int | None = Field(default=None, primary_key=True)
    workspace_id: int = Field(foreign_key="workspace.id", index=True, ondelete="CASCADE")
    slug: str = Field(max_length=64)
    name: str = Field(max_length=200)
    current_version: int = 1
    avatar_png: bytes | None = Field(default=None, sa_column=Column(LargeBinary, nullable=True))
    archived_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    created_at: datetime = _now_field()
    updated_at: datetime = _now_field()


class CharacterVersion(SQLModel, table=True):
    """One saved bible: the full card data as it was at that save."""

    __table_args__ = (UniqueConstraint("character_id", "number", name="uq_character_version_number"),)

    id: int | None = Field(default=None, primary_key=True)
    character_id: int = Field(foreign_key="character.id", index=True, ondelete="CASCADE")
    number: int
    card: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    note: str = Field(default="", max_length=500)
    created_by_id: int | None = Field(default=None, foreign_key="user.id")
    created_at: datetime = _now_field()


class ChannelKind(enum.StrEnum):
    """The networks and outlets a character can publish to."""

    BLUESKY = "bluesky"
    MASTODON = "mastodon"
    WEBHOOK = "webhook"
    FEED = "feed"


# The networks with an audience: listened to for conversations and read for engagement numbers.
SOCIAL_NETWORKS = (ChannelKind.BLUESKY.value, ChannelKind.MASTODON.value)


class DeliveryStatus(enum.StrEnum):
    """Where one post's delivery to one channel stands."""

    PENDING = "pending"
    PUBLISHING = "publishing"
    PUBLISHED = "published"
    FAILED = "failed"
    UNCONFIRMED = "unconfirmed"
    MISSED = "missed"
    CANCELLED = "cancelled"


class Campaign(SQLModel, table=True):
    """A planned push (a launch, a season) that groups posts of several characters."""

    id: int | None = Field(default=None, primary_key=True)
    workspace_id: int = Field(foreign_key="workspace.id", index=True, ondelete="CASCADE")
    name: str = Field(max_length=200)
    goal: str = Field(default="", max_length=2000)
    starts_on: date | None = None
    ends_on: date | None = None
    character_ids: list[int] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    created_at: datetime = _now_field()


class Scene(SQLModel, table=True):
    """A scripted exchange between characters, reviewed and approved as one unit."""

    id: int | None = Field(default=None, primary_key=True)
    workspace_id: int = Field(foreign_key="workspace.id", index=True, ondelete="CASCADE")
    title: str = Field(max_length=200)
    campaign_id: int | None = Field(default=None, foreign_key="campaign.id", ondelete="SET NULL")
    author_id: int | None = Field(default=None, foreign_key="user.id")
    status: PostStatus = Field(default=PostStatus.DRAFT, sa_type=String(16))
    version: int = 1
    starts_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    created_at: datetime = _now_field()
    updated_at: datetime = _now_field()


class RecurringRule(SQLModel, table=True):
    """An evergreen post: an interval or weekly rule in local time, with an end date or a count."""

    id: int | None = Field(default=None, primary_key=True)
    workspace_id: int = Field(foreign_key="workspace.id", index=True, ondelete="CASCADE")
    character_id: int = Field(foreign_key="character.id", index=True, ondelete="CASCADE")
    author_id: int | None = Field(default=None, foreign_key="user.id")
    parts: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    channel_ids: list[int] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    kind: str = Field(default="weekly", max_length=16)  # "interval" or "weekly"
    interval_minutes: int | None = None
    weekdays: str = Field(default="", max_length=64)  # e.g. "mon,wed,fri"
    local_time: str = Field(default="09:00", max_length=5)  # HH:MM in `timezone`
    timezone: str = Field(default="UTC", max_length=64)
    starts_at: datetime = Field(sa_type=UTCDateTime)
    ends_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    max_count: int | None = None
    materialized_until: datetime | None = Field(default=None, sa_type=UTCDateTime)
    active: bool = True
    # Reviewed like a post: only an approved rule is materialized.
    status: PostStatus = Field(default=PostStatus.DRAFT, sa_type=String(16))
    version: int = 1
    approved_by_id: int | None = Field(default=None, foreign_key="user.id")
    approved_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    created_at: datetime = _now_field()


class Post(SQLModel, table=True):
    """A post for one character, from first draft to published; its text lives in PostPart rows."""

    __table_args__ = (
        # The review badge, the queue, the calendar and the dashboard's counts: one workspace's posts by status,
        # in due order.
        Index("ix_post_workspace_status_due", "workspace_id", "status", "due_at"),
        # A character's taken slots and its feed: its posts by status, in due order.
        Index("ix_post_character_status_due", "character_id", "status", "due_at"),
        # The queue and the calendar in due order over several statuses, without sorting the whole range.
        Index("ix_post_workspace_due", "workspace_id", "due_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    workspace_id: int = Field(foreign_key="workspace.id", index=True, ondelete="CASCADE")
    character_id: int = Field(foreign_key="character.id", index=True, ondelete="CASCADE")
    author_id: int | None = Field(default=None, foreign_key="user.id")
    campaign_id: int | None = Field(default=None, foreign_key="campaign.id", index=True, ondelete="SET NULL")
    scene_id: int | None = Field(default=None, foreign_key="scene.id", index=True, ondelete="CASCADE")
    scene_position: int | None = None
    reply_to_post_id: int | None = Field(default=None, foreign_key="post.id", ondelete="SET NULL")
    # A reply to an audience conversation (listening): published as a real reply to the conversation's post.
    # No foreign key: conversation.subject_post_id points back here, and a cycle of keys cannot be created in
    # order; conversations are only deleted with their character, whose posts go with them.
    conversation_id: int | None = Field(default=None, index=True)
    delay_minutes: int = 0
    recurring_rule_id: int | None = Field(default=None, foreign_key="recurringrule.id", ondelete="SET NULL")
    # One row per occurrence of a recurring rule, so materializing twice changes nothing.
    occurrence_key: str | None = Field(default=None, sa_column=Column(String(120), unique=True, nullable=True))
    status: PostStatus = Field(default=PostStatus.DRAFT, sa_type=String(16), index=True)
    version: int = 1
    due_at: datetime | None = Field(default=None, sa_type=UTCDateTime, index=True)
    bible_version: int | None = None
    check_score: int | None = None
    check_verdict: str | None = Field(default=None, max_length=8)
    check_findings: list[dict[str, Any]] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    override_reason: str | None = Field(default=None, max_length=2000)
    submitted_by_id: int | None = Field(default=None, foreign_key="user.id")
    approved_by_id: int | None = Field(default=None, foreign_key="user.id")
    approved_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    published_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    last_error: str | None = Field(default=None, max_length=4000)
    created_at: datetime = _now_field()
    updated_at: datetime = _now_field()


class PostPart(SQLModel, table=True):
    """One part of a post (a thread has several), with at most one image and its alt text."""

    __table_args__ = (UniqueConstraint("post_id", "position", name="uq_post_part_position"),)

    id: int | None = Field(default=None, primary_key=True)
    post_id: int = Field(foreign_key="post.id", index=True, ondelete="CASCADE")
    position: int = 0
    text: str = ""
    image: bytes | None = Field(default=None, sa_column=Column(LargeBinary, nullable=True))
    image_mime: str | None = Field(default=None, max_length=32)
    image_alt: str | None = Field(default=None, max_length=2000)


class Channel(SQLModel, table=True):
    """Where a character publishes: a Bluesky or Mastodon account, a webhook, its own feed."""

    id: int | None = Field(default=None, primary_key=True)
    workspace_id: int = Field(foreign_key="workspace.id", index=True, ondelete="CASCADE")
    character_id: int = Field(foreign_key="character.id", index=True, ondelete="CASCADE")
    kind: ChannelKind = Field(sa_type=String(16))
    label: str = Field(default="", max_length=200)
    settings: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    # Fernet token of the credentials; never rendered back to anyone.
    secret_token: str | None = Field(default=None, max_length=8000)
    # Fernet token of the platform's login session (Bluesky), reused by every process until it expires.
    session_token: str | None = Field(default=None, max_length=8000)
    session_saved_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    disabled_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # "Test connection" runs in the scheduler process (it owns the publishers); the web app only asks.
    check_requested_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    last_checked_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    last_check_ok: bool | None = None
    last_check_message: str | None = Field(default=None, max_length=2000)
    # Listening: the network's cursor of the newest notification stored, when the channel was last polled, and
    # why the last poll failed (shown on the channel; nothing is lost, the next poll resumes from the cursor).
    listen_cursor: str | None = Field(default=None, max_length=500)
    listened_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    listen_retry_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    listen_error: str | None = Field(default=None, max_length=2000)
    listen_failures: int = 0
    # Likes and reposts of the character's posts are counted, not listed as conversations.
    likes_received: int = 0
    reposts_received: int = 0
    created_at: datetime = _now_field()


class Delivery(SQLModel, table=True):
    """A post's channel: the unit the scheduler claims, publishes and completes exactly once."""

    __table_args__ = (
        UniqueConstraint("post_id", "channel_id", name="uq_delivery_channel"),
        # The claim query: pending rows in due order.
        Index("ix_delivery_status_due_at", "status", "due_at"),
        # Analytics: a period's published deliveries with their latest numbers, read from the index alone.
        Index("ix_delivery_published_numbers", "published_at", "metrics_at", "post_id", "channel_id", "likes",
              "reposts", "replies", "quotes"),
        # Analytics collection: published deliveries never refreshed (their first refresh is found lazily), in
        # channel order, by a seek however many have finished their schedule (their metrics_due_at is null too).
        Index("ix_delivery_metrics_first", "status", "metrics_step", "metrics_due_at", "channel_id"),
        # A character's public feed: its feed channel's latest published deliveries and their posts, read from the
        # index alone (no heap page per delivery), however many posts the character has.
        Index("ix_delivery_channel_status_published", "channel_id", "status", "published_at", "post_id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    post_id: int = Field(foreign_key="post.id", index=True, ondelete="CASCADE")
    channel_id: int | None = Field(default=None, foreign_key="channel.id", index=True, ondelete="SET NULL")
    status: DeliveryStatus = Field(default=DeliveryStatus.PENDING, sa_type=String(16), index=True)
    due_at: datetime | None = Field(default=None, sa_type=UTCDateTime, index=True)
    idempotency_key: str | None = Field(default=None, sa_column=Column(String(120), unique=True, nullable=True))
    lease_owner: str | None = Field(default=None, max_length=120)
    lease_expires_at: datetime | None = Field(default=None, sa_type=UTCDateTime, index=True)
    attempts: int = 0
    next_attempt_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    remote_refs: list[dict[str, Any]] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    remote_url: str | None = Field(default=None, max_length=2000)
    last_error: str | None = Field(default=None, max_length=4000)
    published_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # Written (and committed) just before the publisher is called: a lease that expires without it was
    # never sent and may go back to pending; one with it may have reached the network and is never resent.
    sending_started_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # Analytics: the latest engagement numbers (snapshots keep the history), and when they are next refreshed
    # on the decaying schedule (step counts the refreshes done; null once the schedule is over).
    likes: int = 0
    reposts: int = 0
    replies: int = 0
    quotes: int = 0
    metrics_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    metrics_due_at: datetime | None = Field(default=None, sa_type=UTCDateTime, index=True)
    metrics_step: int = 0


class ConversationStatus(enum.StrEnum):
    """Where answering one audience conversation stands."""

    OPEN = "open"
    ASSIGNED = "assigned"
    REPLIED = "replied"
    DISMISSED = "dismissed"


class Conversation(SQLModel, table=True):
    """One mention, reply or quote of a character by its audience, stored once, and where answering it stands."""

    __table_args__ = (
        # Each network item is stored once per channel, however many pollers see it.
        UniqueConstraint("channel_id", "network_id", name="uq_conversation_channel_item"),
        # The inbox: a workspace's conversations by status, newest first; overdue ones by time received.
        Index("ix_conversation_workspace_status_received", "workspace_id", "status", "received_at"),
        Index("ix_conversation_character_received", "character_id", "received_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    workspace_id: int = Field(foreign_key="workspace.id", index=True, ondelete="CASCADE")
    character_id: int = Field(foreign_key="character.id", ondelete="CASCADE")
    channel_id: int | None = Field(default=None, foreign_key="channel.id", index=True, ondelete="SET NULL")
    network: str = Field(max_length=16)  # a ChannelKind: bluesky or mastodon
    network_id: str = Field(max_length=500)  # Bluesky at:// URI, Mastodon status id
    reason: str = Field(max_length=16)  # mention, reply or quote
    author_ref: str = Field(default="", max_length=300)  # Bluesky DID, Mastodon account id
    author_handle: str = Field(default="", max_length=300)
    author_name: str = Field(default="", max_length=300)
    author_avatar_url: str | None = Field(default=None, max_length=2000)
    text: str = ""
    url: str | None = Field(default=None, max_length=2000)
    # What a publisher needs to reply to it: {"id", "url", "cid", "root_uri", "root_cid", "instance"}.
    remote_ref: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    posted_at: datetime = Field(sa_type=UTCDateTime)
    received_at: datetime = _now_field()
    # The thread as the audience sees it (root first), fetched once and cached.
    thread: list[dict[str, Any]] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    thread_fetched_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # The character's own post this answers, when Greenroom published it (analytics and the inbox link to it).
    subject_post_id: int | None = Field(default=None, foreign_key="post.id", index=True, ondelete="SET NULL")
    # Triage signals computed offline when it arrives.
    is_question: bool = False
    is_negative: bool = False
    first_time_author: bool = True
    status: ConversationStatus = Field(default=ConversationStatus.OPEN, sa_type=String(16))
    assignee_id: int | None = Field(default=None, foreign_key="user.id", ondelete="SET NULL")
    status_changed_by_id: int | None = Field(default=None, foreign_key="user.id", ondelete="SET NULL")
    status_changed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # When the first reply went out (time to first response) and the editors heard it was overdue.
    replied_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    overdue_notified_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # The author deleted it (or blocked the character): kept for the record, never replied to.
    gone_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class EngagementSnapshot(SQLModel, table=True):
    """A published delivery's numbers at one moment; the series shows how a post landed over time."""

    __table_args__ = (Index("ix_engagementsnapshot_delivery_taken", "delivery_id", "taken_at"),)

    id: int | None = Field(default=None, primary_key=True)
    delivery_id: int = Field(foreign_key="delivery.id", ondelete="CASCADE")
    taken_at: datetime = _now_field()
    likes: int = 0
    reposts: int = 0
    replies: int = 0
    quotes: int = 0


class FollowerSnapshot(SQLModel, table=True):
    """A channel's follower count at one moment (follower growth)."""

    __table_args__ = (Index("ix_followersnapshot_channel_taken", "channel_id", "taken_at"),)

    id: int | None = Field(default=None, primary_key=True)
    channel_id: int = Field(foreign_key="channel.id", ondelete="CASCADE")
    taken_at: datetime = _now_field()
    followers: int = 0


class EngagementHour(SQLModel, table=True):
    """Analytics roll-up: broadcasts' latest numbers summed by local day and hour in each post's character's zone.

    Kept by the collector in the transaction that stores the numbers, so a workspace's period costs at most 24 rows
    a day whatever the number of posts. Replies to audience conversations are left out, as on the page.
    """

    workspace_id: int = Field(foreign_key="workspace.id", primary_key=True, ondelete="CASCADE")
    day: int = Field(primary_key=True)  # local days since 1970-01-01
    hour: int = Field(primary_key=True)
    posts: int = 0
    likes: int = 0
    reposts: int = 0
    replies: int = 0
    quotes: int = 0


class EngagementDay(SQLModel, table=True):
    """Analytics roll-up: a workspace's latest numbers summed by local day, campaign (0: none), network and whether
    the posts answer audience conversations."""

    workspace_id: int = Field(foreign_key="workspace.id", primary_key=True, ondelete="CASCADE")
    day: int = Field(primary_key=True)
    campaign_id: int = Field(primary_key=True)
    network: str = Field(primary_key=True, max_length=16)  # a ChannelKind, or "" for a removed channel
    answer: bool = Field(primary_key=True)
    posts: int = 0
    likes: int = 0
    reposts: int = 0
    replies: int = 0
    quotes: int = 0


class EngagementRank(SQLModel, table=True):
    """Analytics roll-up: each local day's five best and five worst broadcasts of a workspace, so a period's top and
    bottom posts are found among a few rows a day (the collector ranks a day again when it stores its numbers)."""

    workspace_id: int = Field(foreign_key="workspace.id", primary_key=True, ondelete="CASCADE")
    day: int = Field(primary_key=True)
    top: bool = Field(primary_key=True)  # False: among the day's worst
    delivery_id: int = Field(foreign_key="delivery.id", primary_key=True, ondelete="CASCADE")
    engagement: int = 0


class RollupZone(SQLModel, table=True):
    """The zone each character's roll-up rows were bucketed in; character 0 marks the workspace's roll-up as built.

    A character whose zone has changed since is bucketed again by the collector; until then pages read deliveries.
    """

    workspace_id: int = Field(foreign_key="workspace.id", primary_key=True, ondelete="CASCADE")
    character_id: int = Field(primary_key=True)
    zone: str = Field(default="", max_length=64)


class Autosave(SQLModel, table=True):
    """The editor's unsaved text, saved as the person types: the last few per draft, for recovery after a crash."""

    __table_args__ = (Index("ix_autosave_slot", "user_id", "workspace_id", "post_id", "draft_key"),)

    id: int | None = Field(default=None, primary_key=True)
    workspace_id: int = Field(foreign_key="workspace.id", ondelete="CASCADE")
    user_id: int = Field(foreign_key="user.id", ondelete="CASCADE")
    post_id: int | None = Field(default=None, foreign_key="post.id", index=True, ondelete="CASCADE")
    character_id: int = Field(foreign_key="character.id", ondelete="CASCADE")
    # A new draft has no post yet: the key tells one editor tab's unsaved draft from another's.
    draft_key: str = Field(default="", max_length=64)
    revision: int = 1
    base_version: int | None = None
    content: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    saved_at: datetime = _now_field()


class PostRevision(SQLModel, table=True):
    """The text of a post as it was at one version, for history and diffs."""

    id: int | None = Field(default=None, primary_key=True)
    post_id: int = Field(foreign_key="post.id", index=True, ondelete="CASCADE")
    version: int
    parts: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    edited_by_id: int | None = Field(default=None, foreign_key="user.id")
    created_at: datetime = _now_field()


class Comment(SQLModel, table=True):
    """A note in a post's discussion thread."""

    id: int | None = Field(default=None, primary_key=True)
    post_id: int = Field(foreign_key="post.id", index=True, ondelete="CASCADE")
    author_id: int | None = Field(default=None, foreign_key="user.id")
    body: str = Field(max_length=5000)
    created_at: datetime = _now_field()


class AuditEvent(SQLModel, table=True):
    """Who did what, when, from which status to which, and why; never updated or deleted."""

    # The log filtered by action, newest first, and the list of actions (one index seek per distinct action).
    __table_args__ = (Index("ix_auditevent_workspace_action_id", "workspace_id", "action", "id"),)

    id: int | None = Field(default=None, primary_key=True)
    workspace_id: int = Field(foreign_key="workspace.id", index=True, ondelete="CASCADE")
    post_id: int | None = Field(default=None, foreign_key="post.id", index=True, ondelete="SET NULL")
    scene_id: int | None = Field(default=None, foreign_key="scene.id", ondelete="SET NULL")
    actor_id: int | None = Field(default=None, foreign_key="user.id")
    action: str = Field(max_length=64)
    from_status: str | None = Field(default=None, max_length=16)
    to_status: str | None = Field(default=None, max_length=16)
    reason: str | None = Field(default=None, max_length=4000)
    details: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    created_at: datetime = _now_field()


class Notification(SQLModel, table=True):
    """A message for one user (a post failed, a post was rejected)."""

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="user.id", index=True, ondelete="CASCADE")
    workspace_id: int = Field(foreign_key="workspace.id", ondelete="CASCADE")
    post_id: int | None = Field(default=None, foreign_key="post.id", ondelete="SET NULL")
    conversation_id: int | None = Field(default=None, foreign_key="conversation.id", ondelete="SET NULL")
    message: str = Field(max_length=2000)
    created_at: datetime = _now_field()
    read_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class Generation(SQLModel, table=True):
    """One model call made while drafting: what it cost and how it came out (never an API key)."""

    id: int | None = Field(default=None, primary_key=True)
    workspace_id: int = Field(foreign_key="workspace.id", index=True, ondelete="CASCADE")
    character_id: int | None = Field(default=None, foreign_key="character.id", index=True, ondelete="SET NULL")
    user_id: int | None = Field(default=None, foreign_key="user.id", ondelete="SET NULL")
    kind: str = Field(max_length=16)  # "generate", "rewrite" or "reply"
    variant: int = 0
    model: str = Field(max_length=200)
    latency_ms: int = 0
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    # True when the server reported no usage and the counts are Greenroom's own estimate.
    tokens_estimated: bool = False
    repaired: bool = False
    score: int | None = None
    verdict: str | None = Field(default=None, max_length=8)
    error: str | None = Field(default=None, max_length=500)
    # The exact messages sent, only when the workspace's `store_prompts` is on.
    prompt: list[dict[str, Any]] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, index=True)


class TokenScope(enum.StrEnum):
    """What an API token may do: read only, or also write (never more than its user's role)."""

    READ = "read"
    WRITE = "write"


class ApiToken(SQLModel, table=True):
    """A personal access token for the JSON API: one user, one workspace; only its SHA-256 is stored."""

    id: int | None = Field(default=None, primary_key=True)
    workspace_id: int = Field(foreign_key="workspace.id", index=True, ondelete="CASCADE")
    user_id: int = Field(foreign_key="user.id", index=True, ondelete="CASCADE")
    name: str = Field(max_length=120)
    scope: TokenScope = Field(sa_type=String(8))
    token_hash: str = Field(sa_column=Column(String(64), unique=True, nullable=False))
    # The first characters of the token, so a person can tell their tokens apart without the secret.
    prefix: str = Field(max_length=16)
    created_at: datetime = _now_field()
    last_used_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    revoked_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


def require_id(row: SQLModel) -> int:
    """Return a row's primary key, which exists once the row has been flushed."""
    row_id = getattr(row, "id", None)
    if not isinstance(row_id, int):
        raise ValueError(f"{type(row).__name__} has not been flushed yet")
    return row_id
