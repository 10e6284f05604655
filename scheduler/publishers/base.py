"""The small interface every publisher implements, the errors it may raise, and what all of them share."""

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from email.utils import parsedate_to_datetime
from typing import Any, Protocol

import httpx

from characters.core.models import ChannelKind
from characters.core.platforms import Platform
from characters.publishing.addresses import AddressRefused, HostUnresolvable, Resolver, resolve_checked, resolve_host


@dataclass(frozen=True)
class PartContent:
    """One part of a post as a network sees it: text and at most one image with alt text."""

    text: str
    image: bytes | None = None
    image_mime: str | None = None
    image_alt: str | None = None


@dataclass(frozen=True)
class RemoteRef:
    """Where a published part lives on the network (Bluesky: uri + cid; Mastodon: status id)."""

    id: str
    url: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class SessionSlot:
    """Where a channel keeps its network session between processes: the one saved last, and how to save a new one.

    `saved` is what the publisher gave `save` last time (decrypted); `save` writes it encrypted in its own short
    transaction and never raises.
    """

    channel_id: int
    saved: dict[str, Any] | None
    save: Callable[[dict[str, Any]], None]


@dataclass(frozen=True)
class PublishRequest:
    """Everything a publisher needs for one delivery; built by the scheduler from the database."""

    idempotency_key: str
    parts: list[PartContent]
    settings: dict[str, Any]
    secrets: dict[str, Any]
    reply_to: RemoteRef | None = None
    character_name: str = ""
    session: SessionSlot | None = None


@dataclass(frozen=True)
class PublishOutcome:
    """The published parts, first to last."""

    refs: list[RemoteRef]

    @property
    def url(self) -> str | None:
        """Return the link to the first part, when the network gives one."""
        return self.refs[0].url if self.refs else None


class PublishError(Exception):
    """The network refused or failed; `retryable` says whether trying again can help."""

    def __init__(self, message: str, *, retryable: bool, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.retryable = retryable
        self.retry_after = retry_after


class OutcomeUnknown(Exception):
    """The request may have reached the network (e.g. a timeout after sending): never blindly resend."""


@dataclass(frozen=True)
class Found:
    """Every part of the delivery is on the network."""

    outcome: PublishOutcome


@dataclass(frozen=True)
class SafeToResend:
    """The network proves that sending again cannot make a second post (absent, or deduplicated); `reason` says how."""

    reason: str


@dataclass(frozen=True)
class CannotTell:
    """The network cannot say whether an earlier attempt arrived, nor dedupe a resend: a person must decide."""

    reason: str


# What a look-up of a maybe-sent delivery concludes. A look-up that could not ask raises PublishError instead:
# that is never taken as absence.
Lookup = Found | SafeToResend | CannotTell


class Publisher(Protocol):
    """Publishes deliveries for one kind of channel."""

    kind: ChannelKind

    def publish(self, request: PublishRequest) -> PublishOutcome:
        """Publish all parts (a thread as replies) or raise PublishError / OutcomeUnknown."""
        ...

    def look_up(self, request: PublishRequest, *, since: datetime, now: datetime) -> Lookup:
        """Say whether an attempt that may have reached the network (no earlier than `since`) is there.

        Raises PublishError when the network could not be asked (down, 5xx, rate limited): never guess absence.
        """
        ...

    def check_connection(
        self, settings: dict[str, Any], secrets: dict[str, Any], session: SessionSlot | None = None
    ) -> str:
        """Return a short description of the connected account, or raise PublishError."""
        ...


def is_instant(publisher: Publisher) -> bool:
    """Return whether a publisher calls no network: it answers `publish` and `look_up` from what it is given.

    The scheduler hands one thread a whole group of such deliveries at once (each still marked before its call);
    a publisher says so with a class attribute `instant = True`, and every other one calls a network.
    """
    return getattr(publisher, "instant", False) is True


def check_length(part: PartContent, position: int, platform: Platform) -> None:
    """Refuse, before anything is sent, a part longer than the platform allows as it counts length."""
    length = platform.measure(part.text)
    if length > platform.max_chars:
        raise PublishError(
            f"Part {position + 1} has {length} characters; {platform.label} allows {platform.max_chars}.",
            retryable=False,
        )


def retry_after_seconds(value: str | None, *, now: float | None = None) -> float | None:
    """Parse a Retry-After header (seconds or an HTTP date) into seconds from now."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        moment = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, moment.timestamp() - (time.time() if now is None else now))


def checked_addresses(host: str, port: int, *, allow_private: bool, resolver: Resolver = resolve_host) -> list[str]:
    """Resolve a host through the outbound-address policy; a refusal is final, a DNS failure worth retrying."""
    try:
        return resolve_checked(host, port, allow_private=allow_private, resolver=resolver)
    except AddressRefused as refused:
        raise PublishError(refused.message, retryable=False) from None
    except HostUnresolvable as unresolvable:
        raise PublishError(unresolvable.message, retryable=True) from None


class PinnedTransport(httpx.BaseTransport):
    """Checks every request's host (redirects too) with the policy, then connects to the address it checked.

    Connecting to the checked address, not the name, means a second DNS answer cannot point elsewhere; the Host
    header and the TLS server name still carry the name, so virtual hosts and certificates work as before.
    """

    def __init__(
        self, *, allow_private: bool, resolver: Resolver = resolve_host, inner: httpx.BaseTransport | None = None
    ) -> None:
        self.allow_private = allow_private
        self._resolve = resolver
        self._inner = inner or httpx.HTTPTransport()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        """Refuse a non-public host (PublishError) before anything is sent, else send to its checked address."""
        url = request.url
        port = url.port or (443 if url.scheme == "https" else 80)
        addresses = checked_addresses(url.host, port, allow_private=self.allow_private, resolver=self._resolve)
        if url.scheme == "https":
            request.extensions = {**request.extensions, "sni_hostname": url.host}
        request.url = url.copy_with(host=addresses[0])
        return self._inner.handle_request(request)

    def close(self) -> None:
        """Close the connections of the transport underneath."""
        self._inner.close()
