"""Channels: where a character publishes. Every character always has its own public feed."""

import re
import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal
from urllib.parse import SplitResult, urlsplit

from pydantic import BaseModel, Field, SecretStr, field_validator
from sqlalchemy import select as sa_select
from sqlmodel import Session, col, select

from characters.accounts.workspaces import Action, Member
from characters.audit.log import record_change
from characters.core.config import get_settings
from characters.core.errors import DomainError, NotFound
from characters.core.models import (
    Channel,
    ChannelKind,
    Character,
    Delivery,
    DeliveryStatus,
    Post,
    PostPart,
    Workspace,
    require_id,
    utcnow,
)
from characters.publishing.addresses import AddressRefused, check_host
from characters.publishing.secrets import SecretBox, SecretsUnreadable

DEFAULT_BLUESKY_SERVICE = "https://bsky.social"
# A handle is a domain name (atproto spec): labels of letters, digits and hyphens, at least two of them.
HANDLE_PATTERN = re.compile(r"^(?=.{1,253}$)([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+"
                            r"[a-z](?:[a-z0-9-]{0,61}[a-z0-9])?$")
FEED_LENGTH = 50


def _outbound_url(value: str) -> SplitResult:
    """Split an http(s) address with a host the outbound policy allows and no credentials, or raise ValueError."""
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError("enter a full address starting with https://")
    if parts.username or parts.password:
        raise ValueError("put credentials in their own field, not in the address")
    _check_outbound_host(parts.hostname)
    return parts


def _service_url(value: str) -> str:
    """Return an http(s) base URL without a trailing slash, or raise ValueError."""
    value = value.strip()
    parts = _outbound_url(value)
    if parts.query or parts.fragment:
        raise ValueError("the address must not have a ?query or #fragment")
    return value.rstrip("/")


def _check_outbound_host(host: str) -> None:
    """Refuse, when the channel is added, a host the outbound-address policy would refuse at every connection."""
    try:
        check_host(host, allow_private=get_settings().outbound_allow_private_addresses)
    except AddressRefused as refused:
        raise ValueError(refused.message) from None


def _label(value: str) -> str:
    return value.strip()


class BlueskyChannelCreate(BaseModel):
    """A Bluesky (or any atproto PDS) account, reached with an app password."""

    kind: Literal["bluesky"] = "bluesky"
    label: str = Field(default="", max_length=200)
    service_url: str = Field(default=DEFAULT_BLUESKY_SERVICE, max_length=500)
    handle: str = Field(min_length=3, max_length=253)
    app_password: SecretStr = Field(min_length=4, max_length=200)

    _check_label = field_validator("label")(_label)
    _check_service = field_validator("service_url")(_service_url)

    @field_validator("handle")
    @classmethod
    def _check_handle(cls, value: str) -> str:
        value = value.strip().removeprefix("@").lower()
        if not HANDLE_PATTERN.fullmatch(value):
            raise ValueError("a handle looks like name.bsky.social (no @, no spaces)")
        return value


class MastodonChannelCreate(BaseModel):
    """A Mastodon account on an instance, reached with an access token (write:statuses, write:media)."""

    kind: Literal["mastodon"] = "mastodon"
    label: str = Field(default="", max_length=200)
    api_base_url: str = Field(max_length=500)
    access_token: SecretStr = Field(min_length=4, max_length=500)

    _check_label = field_validator("label")(_label)
    _check_base = field_validator("api_base_url")(_service_url)


class WebhookChannelCreate(BaseModel):
    """An HTTPS endpoint that receives each post as signed JSON; the signing secret is generated."""

    kind: Literal["webhook"] = "webhook"
    label: str = Field(default="", max_length=200)
    url: str = Field(max_length=2000)

    _check_label = field_validator("label")(_label)

    @field_validator("url")
    @classmethod
    def _check_url(cls, value: str) -> str:
        value = value.strip()
        _outbound_url(value)
        return value


ChannelCreate = BlueskyChannelCreate | MastodonChannelCreate | WebhookChannelCreate
_CREATE_MODELS: dict[str, type[ChannelCreate]] = {
    "bluesky": BlueskyChannelCreate, "mastodon": MastodonChannelCreate, "webhook": WebhookChannelCreate}


def parse_channel_create(kind: str, data: dict[str, Any]) -> ChannelCreate:
    """Validate a new channel's input (None counts as missing); raise ValidationError naming the fields at fault."""
    model = _CREATE_MODELS.get(kind)
    if model is None:
        raise DomainError(f"Channels of kind “{kind}” cannot be added; choose bluesky, mastodon or webhook.",
                          field="kind")
    return model.model_validate({**{key: value for key, value in data.items() if value is not None}, "kind": kind})


@dataclass(frozen=True)
class CreatedChannel:
    """A new channel and, for webhooks, the signing secret: shown once, never again."""

    channel: Channel
    signing_secret: str | None = None


def ensure_feed_channel(session: Session, character: Character) -> Channel:
    """Return the character's own feed channel, creating it when missing (write paths only: reads never call this)."""
    channel = session.exec(
        select(Channel).where(Channel.character_id == character.id, Channel.kind == ChannelKind.FEED)
    ).first()
    if channel is None:
        channel = Channel(workspace_id=character.workspace_id, character_id=require_id(character),
                          kind=ChannelKind.FEED, label=f"{character.name[:180]}'s feed")
        session.add(channel)
        session.flush()
    return channel


def channels_of(session: Session, character: Character, *, include_disabled: bool = False) -> list[Channel]:
    """Return a character's channels, feed first."""
    query = select(Channel).where(Channel.character_id == character.id)
    if not include_disabled:
        query = query.where(col(Channel.disabled_at).is_(None))
    channels = list(session.exec(query.order_by(col(Channel.id))).all())
    return sorted(channels, key=lambda channel: channel.kind != ChannelKind.FEED)


def list_channels(session: Session, character: Character) -> list[Channel]:
    """Return every channel of a character (disabled ones too), feed first; reading never creates one."""
    return channels_of(session, character, include_disabled=True)


def describe_channel(channel: Channel) -> str:
    """Return what tells a channel apart, safe for every member to see: a webhook shows only its host."""
    settings = channel.settings or {}
    if channel.kind == ChannelKind.BLUESKY:
        return f"@{settings.get('handle', '')} on {settings.get('service_url', '')}"
    if channel.kind == ChannelKind.MASTODON:
        return str(settings.get("api_base_url", ""))
    if channel.kind == ChannelKind.WEBHOOK:
        # The path or query may carry the receiver's token, so only the host is ever shown.
        return urlsplit(str(settings.get("url", ""))).hostname or "webhook"
    return "Atom and JSON Feed, public"


def create_channel(*, session: Session, member: Member, character: Character, channel_create: ChannelCreate,
                   box: SecretBox) -> CreatedChannel:
    """Add a Bluesky, Mastodon or webhook channel to `character`, its credentials encrypted with `box`."""
    member.require(Action.MANAGE_CHANNELS)
    _ensure_in_workspace(character, member)
    signing_secret: str | None = None
    settings: dict[str, Any]
    credentials: dict[str, Any]
    match channel_create:
        case BlueskyChannelCreate():
            settings = {"service_url": channel_create.service_url, "handle": channel_create.handle}
            credentials = {"app_password": channel_create.app_password.get_secret_value()}
            default_label = f"@{channel_create.handle}"
        case MastodonChannelCreate():
            settings = {"api_base_url": channel_create.api_base_url}
            credentials = {"access_token": channel_create.access_token.get_secret_value()}
            default_label = urlsplit(channel_create.api_base_url).hostname or channel_create.api_base_url
        case WebhookChannelCreate():
            signing_secret = "whsec_" + secrets.token_urlsafe(32)
            settings = {"url": channel_create.url}
            credentials = {"signing_secret": signing_secret}
            default_label = urlsplit(channel_create.url).hostname or "Webhook"
    channel = Channel(workspace_id=require_id(member.workspace), character_id=require_id(character),
                      kind=ChannelKind(channel_create.kind), label=channel_create.label or default_label,
                      settings=settings, secret_token=box.encrypt(credentials))
    session.add(channel)
    session.flush()
    record_change(session, member, "channel_add", channel=channel.label, kind=str(channel.kind),
                  character=character.name)
    return CreatedChannel(channel=channel, signing_secret=signing_secret)


def get_channel(session: Session, member: Member, channel_id: int) -> Channel:
    """Return a channel of the member's workspace or raise NotFound."""
    channel = session.get(Channel, channel_id)
    if channel is None or channel.workspace_id != member.workspace.id:
        raise NotFound("No such channel in this workspace.")
    return channel


def channel_character(session: Session, channel: Channel) -> Character:
    """Return the character a channel publishes for (channels are removed with their character)."""
    character = session.get(Character, channel.character_id)
    if character is None:
        raise NotFound("This channel's character no longer exists.")
    return character


def set_disabled(*, session: Session, member: Member, channel: Channel, disabled: bool) -> None:
    """Pause or resume a channel; while it is disabled the scheduler sends nothing to it."""
    member.require(Action.MANAGE_CHANNELS)
    _ensure_channel_in_workspace(channel, member)
    channel.disabled_at = utcnow() if disabled else None
    session.add(channel)
    session.flush()
    _record(session, member, channel, "channel_disable" if disabled else "channel_enable")


def remove_channel(*, session: Session, member: Member, channel: Channel) -> None:
    """Delete a channel and its credentials; its queued deliveries keep a NULL channel and the scheduler fails them."""
    member.require(Action.MANAGE_CHANNELS)
    _ensure_channel_in_workspace(channel, member)
    if channel.kind == ChannelKind.FEED:
        raise DomainError("A character's own feed cannot be removed; disable it instead.")
    _record(session, member, channel, "channel_remove")
    # The foreign key is ON DELETE SET NULL: deliveries stay for the record and the scheduler fails the queued ones.
    session.delete(channel)
    session.flush()


def _record(session: Session, member: Member, channel: Channel, action: str) -> None:
    """Audit a change to a channel (from the pages and the API alike), naming it, its kind and its character."""
    character = session.get(Character, channel.character_id)
    record_change(session, member, action, channel=channel.label, kind=str(channel.kind),
                  character=character.name if character is not None else None)


def request_check(*, session: Session, member: Member, channel: Channel) -> None:
    """Ask the scheduler process to test the channel's connection at its next turn."""
    member.require(Action.MANAGE_CHANNELS)
    _ensure_channel_in_workspace(channel, member)
    channel.check_requested_at = utcnow()
    session.add(channel)
    session.flush()


def check_pending(channel: Channel) -> bool:
    """Return whether a requested connection test has not reported back yet."""
    if channel.check_requested_at is None:
        return False
    return channel.last_checked_at is None or channel.last_checked_at < channel.check_requested_at


def rotate_secrets(session: Session, box: SecretBox) -> int:
    """Re-encrypt every stored channel secret with the primary key; return how many were rewritten.

    A saved network session is re-encrypted too; one no key opens any more is dropped (the scheduler logs in again).
    """
    count = 0
    for channel in session.exec(select(Channel).where(col(Channel.secret_token).is_not(None))).all():
        assert channel.secret_token is not None  # noqa: S101 - filtered by the query
        channel.secret_token = box.rotate(channel.secret_token)
        if channel.session_token is not None:
            try:
                channel.session_token = box.rotate(channel.session_token)
            except SecretsUnreadable:
                channel.session_token, channel.session_saved_at = None, None
        session.add(channel)
        count += 1
    session.flush()
    return count


@dataclass(frozen=True)
class FeedItem:
    """One post as the character's public feed shows it."""

    post: Post
    parts: list[PostPart]
    published_at: datetime


def public_feed_character(session: Session, workspace_slug: str, character_slug: str) -> Character:
    """Return the character whose public feed this is, or raise NotFound (archived characters and disabled feeds)."""
    character = session.exec(
        select(Character).join(Workspace, col(Workspace.id) == col(Character.workspace_id))
        .where(Workspace.slug == workspace_slug, Character.slug == character_slug,
               col(Character.archived_at).is_(None))).first()
    if character is None:
        raise NotFound("No such feed.")
    disabled_feed = session.exec(
        select(Channel.id).where(Channel.character_id == character.id, Channel.kind == ChannelKind.FEED,
                                 col(Channel.disabled_at).is_not(None))).first()
    if disabled_feed is not None:
        raise NotFound("No such feed.")
    return character


def feed_items(session: Session, character: Character, *, limit: int = FEED_LENGTH) -> list[FeedItem]:
    """Return the character's posts whose feed delivery is published, newest first."""
    # The latest deliveries of the character's feed channel first, from ix_delivery_channel_status_published alone
    # (a few hundred index entries), then only their posts: not every post of the character joined and sorted.
    feeds = select(col(Channel.id)).where(Channel.character_id == character.id, Channel.kind == ChannelKind.FEED)
    latest = (sa_select(col(Delivery.post_id), col(Delivery.published_at))
              .where(col(Delivery.channel_id).in_(feeds), col(Delivery.status) == DeliveryStatus.PUBLISHED)
              .order_by(col(Delivery.published_at).desc(), col(Delivery.post_id).desc()).limit(limit).subquery())
    rows = session.exec(
        select(Post, latest.c.published_at).join(latest, latest.c.post_id == col(Post.id))
        .where(Post.character_id == character.id)
        .order_by(latest.c.published_at.desc(), col(Post.id).desc())).all()
    posts = [post for post, _ in rows]
    parts: dict[int, list[PostPart]] = {require_id(post): [] for post in posts}
    if parts:
        for part in session.exec(select(PostPart).where(col(PostPart.post_id).in_(list(parts)))
                                 .order_by(col(PostPart.position))):
            parts[part.post_id].append(part)
    return [FeedItem(post=post, parts=parts[require_id(post)], published_at=published_at or post.updated_at)
            for post, published_at in rows]


def feed_image(session: Session, character: Character, part_id: int) -> PostPart:
    """Return a part's image if its post is in the character's public feed, else raise NotFound."""
    part = session.get(PostPart, part_id)
    if part is None or part.image is None:
        raise NotFound("No such image.")
    published = session.exec(
        select(Delivery.id).join(Channel, col(Channel.id) == col(Delivery.channel_id))
        .join(Post, col(Post.id) == col(Delivery.post_id))
        .where(Delivery.post_id == part.post_id, Post.character_id == character.id,
               Channel.kind == ChannelKind.FEED, Delivery.status == DeliveryStatus.PUBLISHED)).first()
    if published is None:
        raise NotFound("No such image.")
    return part


def _ensure_in_workspace(character: Character, member: Member) -> None:
    if character.workspace_id != member.workspace.id:
        raise NotFound("No such character in this workspace.")


def _ensure_channel_in_workspace(channel: Channel, member: Member) -> None:
    if channel.workspace_id != member.workspace.id:
        raise NotFound("No such channel in this workspace.")
