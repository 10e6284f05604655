"""Webhooks: each post as signed JSON (HMAC-SHA256), sent only to public addresses unless the operator allows more."""

import base64
import hashlib
import hmac
import json
import time
from collections.abc import Callable
from datetime import datetime
from typing import Any
from urllib.parse import urljoin, urlsplit

import httpx

from characters.core.config import get_settings
from characters.core.models import ChannelKind
from characters.publishing.addresses import Resolver, resolve_host
from scheduler.publishers.base import (
    CannotTell,
    Lookup,
    OutcomeUnknown,
    PinnedTransport,
    PublishError,
    PublishOutcome,
    PublishRequest,
    RemoteRef,
    SessionSlot,
    retry_after_seconds,
)

SIGNATURE_HEADER = "X-Greenroom-Signature"
USER_AGENT = "Greenroom-Webhook/1"
MAX_REDIRECTS = 3
# 307/308 keep the method and body; a 301/302/303 would turn the POST into a GET and lose the post.
FOLLOWED_REDIRECTS = frozenset({307, 308})
RETRYABLE_STATUSES = frozenset({408, 425, 429})


def sign(secret: str, timestamp: int, body: bytes) -> str:
    """Return the signature header value for `body` sent at `timestamp` (see docs/webhooks.md)."""
    digest = hmac.new(secret.encode("utf-8"), f"{timestamp}.".encode("ascii") + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


class WebhookPublisher:
    """POSTs signed JSON to the channel's URL."""

    kind = ChannelKind.WEBHOOK

    def __init__(self, *, allow_private_targets: bool | None = None, timeout: float | None = None,
                 resolver: Resolver = resolve_host, clock: Callable[[], float] = time.time) -> None:
        if allow_private_targets is None or timeout is None:
            settings = get_settings()
            allow_private_targets = (settings.outbound_allow_private_addresses if allow_private_targets is None
                                     else allow_private_targets)
            timeout = settings.webhook_timeout_seconds if timeout is None else timeout
        self.allow_private_targets = allow_private_targets
        self.timeout = timeout
        self._resolve = resolver
        self._clock = clock

    def publish(self, request: PublishRequest) -> PublishOutcome:
        """Deliver the post; the receiver dedupes on the Idempotency-Key header."""
        payload = {
            "type": "post",
            "id": request.idempotency_key,
            "character": request.character_name,
            "parts": [_part_json(position, part) for position, part in enumerate(request.parts)],
            "reply_to": None if request.reply_to is None else {"id": request.reply_to.id, "url": request.reply_to.url},
        }
        response = self._send(request.settings, request.secrets, payload, request.idempotency_key)
        return PublishOutcome(refs=[RemoteRef(id=request.idempotency_key, extra={"status": response.status_code})])

    def look_up(self, request: PublishRequest, *, since: datetime, now: datetime) -> Lookup:
        """Cannot tell: a receiver cannot be asked what it got, and its deduplication is its own code, not a proof."""
        return CannotTell("a webhook receiver cannot be asked what it received, and Greenroom cannot know whether "
                          "it ignores a repeated Idempotency-Key.")

    def check_connection(self, settings: dict[str, Any], secrets: dict[str, Any],
                         session: SessionSlot | None = None) -> str:
        """Send a signed ping and describe the answer."""
        response = self._send(settings, secrets, {"type": "ping"}, f"ping-{int(self._clock())}")
        return f"{urlsplit(str(settings.get('url', ''))).hostname} answered the ping with HTTP {response.status_code}"

    def _send(self, settings: dict[str, Any], secrets: dict[str, Any], payload: dict[str, Any],
              idempotency_key: str) -> httpx.Response:
        url = str(settings.get("url") or "")
        secret = str(secrets.get("signing_secret") or "")
        if not url or not secret:
            raise PublishError("The webhook channel has no URL or signing secret; add it again.", retryable=False)
        body = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
        timestamp = int(self._clock())
        headers = {"Content-Type": "application/json", "User-Agent": USER_AGENT, "Idempotency-Key": idempotency_key,
                   SIGNATURE_HEADER: sign(secret, timestamp, body)}
        transport = PinnedTransport(allow_private=self.allow_private_targets, resolver=self._resolve)
        with httpx.Client(timeout=self.timeout, follow_redirects=False, trust_env=False, transport=transport) as client:
            for _hop in range(MAX_REDIRECTS + 1):
                response = self._post(client, _checked_url(url), headers, body)
                if response.status_code not in FOLLOWED_REDIRECTS or "location" not in response.headers:
                    return _accept(response)
                url = urljoin(url, response.headers["location"])  # the next target is checked like the first
        raise PublishError(f"The webhook redirected more than {MAX_REDIRECTS} times.", retryable=False)

    @staticmethod
    def _post(client: httpx.Client, url: str, headers: dict[str, str], body: bytes) -> httpx.Response:
        """POST once; the client's PinnedTransport refuses a non-public host before anything is sent."""
        try:
            return client.post(url, content=body, headers=headers)
        except (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout) as error:
            raise PublishError(f"Cannot connect to the webhook: {error}", retryable=True) from None
        except (httpx.ReadTimeout, httpx.WriteTimeout, httpx.RemoteProtocolError, httpx.ReadError,
                httpx.WriteError) as error:
            # The request may have arrived: only the receiver knows (it dedupes on Idempotency-Key).
            raise OutcomeUnknown(f"The webhook did not answer after the post was sent: {error!r}") from None
        except httpx.HTTPError as error:
            raise PublishError(f"The webhook request failed: {error}", retryable=True) from None


def _checked_url(url: str) -> str:
    """Return `url` if it is an http(s) URL with a host (redirect targets included), else refuse it."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise PublishError(f"Webhooks need an http(s) URL, not {url!r}.", retryable=False)
    return url


def _part_json(position: int, part: Any) -> dict[str, Any]:
    image = None
    if part.image is not None:
        image = {"mime_type": part.image_mime, "alt": part.image_alt or "",
                 "data_base64": base64.b64encode(part.image).decode("ascii")}
    return {"position": position, "text": part.text, "image": image}


def _accept(response: httpx.Response) -> httpx.Response:
    """Return a 2xx response; map anything else to a PublishError."""
    status = response.status_code
    if 200 <= status < 300:
        return response
    summary = f"The webhook answered HTTP {status}: {response.text[:200]}".rstrip(": ")
    if status >= 500 or status in RETRYABLE_STATUSES:
        retry_after = retry_after_seconds(response.headers.get("retry-after"))
        raise PublishError(summary, retryable=True, retry_after=retry_after)
    raise PublishError(summary, retryable=False)
