"""Mastodon: statuses, images with alt text and threads, each part sent with its own Idempotency-Key."""

import html
import re
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from functools import partial
from html.parser import HTMLParser
from typing import Any
from urllib.parse import urlsplit

import requests
import urllib3
from mastodon import (
    Mastodon,
    MastodonAPIError,
    MastodonError,
    MastodonNetworkError,
    MastodonNotFoundError,
    MastodonRatelimitError,
    MastodonServerError,
    MastodonUnauthorizedError,
)
from requests.adapters import HTTPAdapter

from characters.core.config import get_settings
from characters.core.models import ChannelKind
from characters.publishing.addresses import Resolver, resolve_host
from scheduler.publishers.base import (
    CannotTell,
    Found,
    Lookup,
    OutcomeUnknown,
    PartContent,
    PublishError,
    PublishOutcome,
    PublishRequest,
    RemoteRef,
    SafeToResend,
    SessionSlot,
    checked_addresses,
    retry_after_seconds,
)

DEFAULT_TIMEOUT_SECONDS = 30.0
# How far back a look-up searches the account for an earlier attempt.
RECENT_STATUSES = 40
# Mastodon keeps a status's Idempotency-Key for an hour ("stored for up to 1 hour", POST /api/v1/statuses): a resend
# within it returns the first status instead of posting again.
IDEMPOTENCY_WINDOW = timedelta(hours=1)
# Resends stop this long before the window closes: server clocks differ, and a resend may wait for a retry.
IDEMPOTENCY_MARGIN = timedelta(minutes=15)
USER_AGENT = "Greenroom/1 (+https://github.com/greenroom)"
_REMOTE_MENTION = re.compile(r"(?<![\w@])@([\w.]+)@[\w.-]+\w")


class _PinnedAdapter(HTTPAdapter):
    """Checks every request's host (redirects too) with the outbound-address policy, then connects to that address.

    Like PinnedTransport for httpx: urllib3 is handed a connection pool for the checked address, while the name
    stays in the Host header, the TLS server name and the certificate check, so a second DNS answer (rebinding)
    cannot send the token elsewhere. `get_connection_with_tls_context` is the hook requests documents for this.
    """

    def __init__(self, *, allow_private: bool, resolver: Resolver) -> None:
        super().__init__()
        self.allow_private = allow_private
        self._resolve = resolver

    def get_connection_with_tls_context(self, request: requests.PreparedRequest, verify: Any,
                                        proxies: dict[str, str] | None = None, cert: Any = None) -> Any:
        """Refuse a non-public host (PublishError) before the request, and the token in it, leaves; else pin it."""
        host_params, pool_kwargs = self.build_connection_pool_key_attributes(request, verify, cert)
        name, scheme = str(host_params["host"]), str(host_params["scheme"])
        port = host_params["port"] or (443 if scheme == "https" else 80)
        address = checked_addresses(name, port, allow_private=self.allow_private, resolver=self._resolve)[0]
        if scheme == "https":
            pool_kwargs = {**pool_kwargs, "server_hostname": name, "assert_hostname": name}
        return self.poolmanager.connection_from_host(host=address, port=port, scheme=scheme, pool_kwargs=pool_kwargs)

    def add_headers(self, request: requests.PreparedRequest, **kwargs: Any) -> None:
        """Name the host the request was meant for: the connection itself goes to its checked address."""
        request.headers["Host"] = urlsplit(request.url or "").netloc.rpartition("@")[2]


class _Connection:
    """A Mastodon.py client plus the headers of the last answer (Mastodon.py keeps Retry-After to itself)."""

    def __init__(self, api_base_url: str, access_token: str, timeout: float, adapter: _PinnedAdapter) -> None:
        self.last_headers: dict[str, str] = {}
        session = requests.Session()
        session.trust_env = False  # no proxy or .netrc surprises when publishing with someone's token
        session.mount("http://", adapter)
        session.mount("https://", adapter)
        session.hooks["response"].append(self._remember)
        self.api = Mastodon(access_token=access_token, api_base_url=api_base_url, request_timeout=timeout,
                            ratelimit_method="throw", version_check_mode="none", session=session,
                            user_agent=USER_AGENT)

    def _remember(self, response: requests.Response, *args: Any, **kwargs: Any) -> None:
        self.last_headers = dict(response.headers)


class MastodonPublisher:
    """Publishes to the account that owns the channel's access token."""

    kind = ChannelKind.MASTODON

    def __init__(self, *, timeout: float = DEFAULT_TIMEOUT_SECONDS, allow_private_addresses: bool | None = None,
                 resolver: Resolver = resolve_host) -> None:
        self.timeout = timeout
        self.allow_private_addresses = (get_settings().outbound_allow_private_addresses
                                        if allow_private_addresses is None else allow_private_addresses)
        self._resolve = resolver

    def publish(self, request: PublishRequest) -> PublishOutcome:
        """Publish every part, each replying to the one before; the server dedupes a resent part by its key."""
        connection, base = self._connect(request.settings, request.secrets)
        parent_id = self._local_status_id(connection, base, request.reply_to)
        refs: list[RemoteRef] = []
        for position, part in enumerate(request.parts):
            media_ids = [self._upload(connection, part)] if part.image is not None else None
            status = self._call(
                connection, "publish to Mastodon", sent_may_have_arrived=True,
                action=partial(connection.api.status_post, part.text, in_reply_to_id=parent_id, media_ids=media_ids,
                               idempotency_key=part_key(request.idempotency_key, position)))
            ref = _remote_ref(status, base)
            refs.append(ref)
            parent_id = ref.id
        return PublishOutcome(refs=refs)

    def look_up(self, request: PublishRequest, *, since: datetime, now: datetime) -> Lookup:
        """Find the parts among the account's latest statuses; else resend while the Idempotency-Key still holds.

        Within the key's window a resend is safe even when the account cannot be read right now.
        """
        resend_until = since + IDEMPOTENCY_WINDOW - IDEMPOTENCY_MARGIN
        safe = SafeToResend(f"Mastodon answers a resend with the same Idempotency-Key with the first status until "
                            f"{resend_until + IDEMPOTENCY_MARGIN:%H:%M} UTC, so it cannot post twice.")
        try:
            found = self._find(request)
        except PublishError:
            if now < resend_until:
                return safe
            raise
        if found is not None:
            return Found(found)
        if now < resend_until:
            return safe
        return CannotTell(f"it is not among the account's {RECENT_STATUSES} latest statuses, and it may have been "
                          f"sent at {since:%Y-%m-%d %H:%M} UTC, longer ago than Mastodon keeps an Idempotency-Key "
                          "(an hour).")

    def _find(self, request: PublishRequest) -> PublishOutcome | None:
        """Return the parts found among the account's latest statuses (same text, same reply chain), else None."""
        connection, base = self._connect(request.settings, request.secrets)
        me = self._call(connection, "read the account", action=connection.api.account_verify_credentials)
        recent = self._call(connection, "read recent statuses",
                            action=lambda: connection.api.account_statuses(me["id"], limit=RECENT_STATUSES))
        parent_id = self._local_status_id(connection, base, request.reply_to)
        refs: list[RemoteRef] = []
        for part in request.parts:
            wanted = _comparable(part.text)
            match = next((status for status in recent if status.get("in_reply_to_id") == parent_id
                          and _comparable(_html_text(status.get("content") or "")) == wanted), None)
            if match is None:
                return None
            ref = _remote_ref(match, base)
            refs.append(ref)
            parent_id = ref.id
        return PublishOutcome(refs=refs)

    def check_connection(self, settings: dict[str, Any], secrets: dict[str, Any],
                         session: SessionSlot | None = None) -> str:
        """Verify the token and name the account."""
        connection, base = self._connect(settings, secrets)
        account = self._call(connection, "verify the access token",
                             action=connection.api.account_verify_credentials)
        return f"Logged in as @{account['acct']}@{urlsplit(base).hostname}"

    def call(self, settings: dict[str, Any], secrets: dict[str, Any], what: str,
             action: Callable[[Mastodon], Any]) -> tuple[Any, str]:
        """Run `action(api)` as the channel's account (listening reads through it too); return it and the instance URL.

        Errors are mapped as for publishing (PublishError, with Retry-After when the server sends one).
        """
        connection, base = self._connect(settings, secrets)
        return self._call(connection, what, action=lambda: action(connection.api)), base

    def _connect(self, settings: dict[str, Any], secrets: dict[str, Any]) -> tuple[_Connection, str]:
        base = str(settings.get("api_base_url") or "").rstrip("/")
        token = str(secrets.get("access_token") or "")
        if not base or not token:
            raise PublishError("The Mastodon channel has no instance address or access token; add it again.",
                               retryable=False)
        adapter = _PinnedAdapter(allow_private=self.allow_private_addresses, resolver=self._resolve)
        return _Connection(base, token, self.timeout, adapter), base

    def _upload(self, connection: _Connection, part: PartContent) -> str:
        # An upload that may have arrived is harmless: an unattached upload is cleaned up by the server.
        media = self._call(connection, "upload the image",
                           action=lambda: connection.api.media_post(
                               part.image, mime_type=part.image_mime or "image/png",
                               description=part.image_alt or None, synchronous=True))
        return str(media["id"])

    def _local_status_id(self, connection: _Connection, base: str, reply_to: RemoteRef | None) -> str | None:
        """Return the id, on this account's instance, of the status to reply to (other instances number it apart)."""
        if reply_to is None:
            return None
        if reply_to.extra.get("instance") == base or not reply_to.url:
            return reply_to.id
        found = self._call(connection, "find the post to reply to",
                           action=lambda: connection.api.search_v2(reply_to.url, resolve=True, result_type="statuses"))
        statuses = found.get("statuses") or []
        if not statuses:
            raise PublishError(f"The post to reply to ({reply_to.url}) cannot be found from {base}.",
                               retryable=False)
        return str(statuses[0]["id"])

    @staticmethod
    def _call(connection: _Connection, what: str, *, action: Callable[[], Any],
              sent_may_have_arrived: bool = False) -> Any:
        """Run one API call, mapping Mastodon.py's errors onto PublishError / OutcomeUnknown."""
        try:
            return action()
        except MastodonRatelimitError:
            raise PublishError(f"Could not {what}: the server is rate limiting this account (HTTP 429).",
                               retryable=True, retry_after=_retry_after(connection)) from None
        except MastodonNetworkError as error:
            if isinstance(error.__context__, PublishError):
                raise error.__context__ from None  # the address policy refused the host before anything was sent
            if sent_may_have_arrived and _sent_without_answer(error):
                raise OutcomeUnknown(f"Mastodon did not answer after the post was sent: {error}") from None
            raise PublishError(f"Could not {what}: {error}", retryable=True) from None
        except (MastodonUnauthorizedError, MastodonNotFoundError, MastodonServerError, MastodonAPIError) as error:
            raise _api_error(error, what, connection) from None
        except MastodonError as error:
            raise PublishError(f"Could not {what}: {error}", retryable=False) from None


def part_key(idempotency_key: str, position: int) -> str:
    """Return the Idempotency-Key of one part: the delivery's key plus the part's position."""
    return f"{idempotency_key}:{position}"


def _api_error(error: MastodonAPIError, what: str, connection: _Connection) -> PublishError:
    status = error.args[1] if len(error.args) > 1 and isinstance(error.args[1], int) else None
    detail = error.args[3] if len(error.args) > 3 and error.args[3] else (error.args[2] if len(error.args) > 2 else "")
    message = f"Could not {what}: {detail or 'the server refused'}" + (f" (HTTP {status})" if status else "")
    if isinstance(error, MastodonServerError) or status is None or status >= 500 or status in (408, 425):
        return PublishError(message, retryable=True, retry_after=_retry_after(connection))
    if status == 429:
        return PublishError(message, retryable=True, retry_after=_retry_after(connection))
    return PublishError(message, retryable=False)  # 401, 403, 404, 410, 422: trying again will not help


def _retry_after(connection: _Connection) -> float | None:
    headers = {key.lower(): value for key, value in connection.last_headers.items()}
    seconds = retry_after_seconds(headers.get("retry-after"))
    if seconds is None and connection.api.ratelimit_reset:
        seconds = max(0.0, float(connection.api.ratelimit_reset) - time.time())
    return seconds


def _sent_without_answer(error: MastodonNetworkError) -> bool:
    """Return whether the request left this machine before the failure (so it may have been handled)."""
    cause = error.__context__
    if isinstance(cause, requests.exceptions.ConnectTimeout):
        return False
    if isinstance(cause, requests.exceptions.ReadTimeout):
        return True
    if isinstance(cause, requests.exceptions.ConnectionError):
        reason = getattr(cause.args[0], "reason", cause.args[0]) if cause.args else None
        return not isinstance(reason, urllib3.exceptions.NewConnectionError | urllib3.exceptions.NameResolutionError)
    return False


def _remote_ref(status: Any, base: str) -> RemoteRef:
    return RemoteRef(id=str(status["id"]), url=status.get("url") or status.get("uri"),
                     extra={"instance": base, "uri": status.get("uri")})


class _TextExtractor(HTMLParser):
    """Turn a status's HTML back into the text a person typed (paragraphs and line breaks as newlines)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.chunks: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "br":
            self.chunks.append("\n")
        elif tag == "p" and self.chunks:
            self.chunks.append("\n\n")

    def handle_data(self, data: str) -> None:
        self.chunks.append(data)


def _html_text(content: str) -> str:
    extractor = _TextExtractor()
    extractor.feed(content)
    extractor.close()
    return "".join(extractor.chunks)


def _comparable(text: str) -> str:
    """Return text reduced to what survives Mastodon's rendering (remote mentions show only the user name)."""
    return " ".join(_REMOTE_MENTION.sub(r"@\1", html.unescape(text)).split())
