"""Channels: where a character publishes. Every character always has its own public feed."""

import ipaddress
import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, Field, SecretStr, TypeAdapter, field_validator
from sqlmodel import Session, col, select

from characters.errors import DomainError, NotFound
from characters.models import Channel, ChannelKind, Character, require_id, utcnow
from characters.secrets import SecretBox
from characters.workspaces import Action, Member

DEFAULT_BLUESKY_SERVICE = "https://bsky.social"
# A handle is a domain name (atproto spec): labels of letters, digits and hyphens, at least two of them.
HANDLE_PATTERN = re.compile(r"^(?=.{1,253}$)([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+"
                            r"[a-z](?:[a-z0-9-]{0,61}[a-z0-9])?$")
CHANNEL_REMOVED = "channel removed"
MAX_CHECK_MESSAGE = 2000


def _service_url(value: str) -> str:
    """Return an http(s) base URL without a trailing slash, or raise ValueError."""
    value = value.strip()
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError("enter a full address starting with https://")
    if parts.username or parts.password:
        raise ValueError("put credentials in their own field, not in the address")
    if parts.query or parts.fragment:
        raise ValueError("the address must not have a ?query or #fragment")
    return value.rstrip("/")


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
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError("enter a full address starting with https://")
        if parts.username or parts.password:
            raise ValueError("the address must not carry a user name or password")
        return value


ChannelCreate = Annotated[BlueskyChannelCreate | MastodonChannelCreate | WebhookChannelCreate,
                          Field(discriminator="kind")]
CHANNEL_CREATE: TypeAdapter[ChannelCreate] = TypeAdapter(ChannelCreate)


@dataclass(frozen=True)
class CreatedChannel:
    """A new channel and, for webhooks, the signing secret: shown once, never again."""

    channel: Channel
    signing_secret: str | None = None


def ensure_feed_channel(session: Session, character: Character) -> Channel:
    """Return the character's own feed channel, creating it on first use."""
    channel = session.exec(
        select(Channel).where(Channel.character_id == character.id, Channel.kind == ChannelKind.FEED)
    ).first()
    if channel is None:
        channel = Channel(workspace_id=character.workspace_id, character_id=require_id(character),
                          kind=ChannelKind.FEED, label=f"{character.name}'s feed")
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
    """Return every channel of a character (disabled ones too), making sure its feed exists."""
    ensure_feed_channel(session, character)
    return channels_of(session, character, include_disabled=True)


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
    return CreatedChannel(channel=channel, signing_secret=signing_secret)


def get_channel(session: Session, member: Member, channel_id: int) -> Channel:
    """Return a channel of the member's workspace or raise NotFound."""
    channel = session.get(Channel, channel_id)
    if channel is None or channel.workspace_id != member.workspace.id:
        raise NotFound("No such channel in this workspace.")
    return channel


def set_disabled(*, session: Session, member: Member, channel: Channel, disabled: bool) -> None:
    """Pause or resume publishing to a channel (its queued deliveries wait while it is disabled)."""
    member.require(Action.MANAGE_CHANNELS)
    _ensure_channel_in_workspace(channel, member)
    channel.disabled_at = utcnow() if disabled else None
    session.add(channel)
    session.flush()


def remove_channel(*, session: Session, member: Member, channel: Channel) -> None:
    """Delete a channel and its credentials; its queued deliveries keep a NULL channel and the scheduler fails them."""
    member.require(Action.MANAGE_CHANNELS)
    _ensure_channel_in_workspace(channel, member)
    if channel.kind == ChannelKind.FEED:
        raise DomainError("A character's own feed cannot be removed; disable it instead.")
    # The foreign key is ON DELETE SET NULL: deliveries stay for the record, failed with CHANNEL_REMOVED.
    session.delete(channel)
    session.flush()


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


def channel_credentials(channel: Channel, box: SecretBox) -> dict[str, Any]:
    """Return a channel's decrypted credentials (empty for the feed, which has none)."""
    return box.decrypt(channel.secret_token) if channel.secret_token else {}


def channels_awaiting_check(session: Session) -> list[Channel]:
    """Return channels whose connection test was requested and has not been run since."""
    query = select(Channel).where(col(Channel.check_requested_at).is_not(None))
    return [channel for channel in session.exec(query.order_by(col(Channel.check_requested_at))) if
            check_pending(channel)]


def record_check(*, session: Session, channel: Channel, ok: bool, message: str, checked_at: datetime | None = None
                 ) -> None:
    """Store the outcome of a connection test for the channels page to show."""
    channel.last_checked_at = checked_at or utcnow()
    channel.last_check_ok = ok
    channel.last_check_message = message[:MAX_CHECK_MESSAGE]
    session.add(channel)
    session.flush()


CheckFunction = Callable[[ChannelKind, dict[str, Any], dict[str, Any]], str]


def run_requested_checks(*, session: Session, box: SecretBox, check: CheckFunction) -> int:
    """Run every requested connection test with `check(kind, settings, credentials)`; return how many ran."""
    channels = channels_awaiting_check(session)
    for channel in channels:
        try:
            description = check(ChannelKind(channel.kind), dict(channel.settings), channel_credentials(channel, box))
        except Exception as error:  # any failure is the answer the person asked for
            record_check(session=session, channel=channel, ok=False, message=getattr(error, "message", str(error)))
        else:
            record_check(session=session, channel=channel, ok=True, message=description)
    return len(channels)


def rotate_secrets(session: Session, box: SecretBox) -> int:
    """Re-encrypt every stored channel secret with the primary key; return how many were rewritten."""
    count = 0
    for channel in session.exec(select(Channel).where(col(Channel.secret_token).is_not(None))).all():
        assert channel.secret_token is not None  # noqa: S101 - filtered by the query
        channel.secret_token = box.rotate(channel.secret_token)
        session.add(channel)
        count += 1
    session.flush()
    return count


def is_public_address(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    """Return whether an address is on the public internet (not private, loopback, link-local or reserved)."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return address.is_global and not (address.is_multicast or address.is_reserved or address.is_unspecified)


def _ensure_in_workspace(character: Character, member: Member) -> None:
    if character.workspace_id != member.workspace.id:
        raise NotFound("No such character in this workspace.")


def _ensure_channel_in_workspace(channel: Channel, member: Member) -> None:
    if channel.workspace_id != member.workspace.id:
        raise NotFound("No such channel in this workspace.")
