"""Mastodon numbers: favourites, reblogs, replies (and quotes where the server counts them) and followers.

Statuses are read 20 at a time with GET /api/v1/statuses?id[]= (Mastodon 4.3+); a server without that route is
asked one status at a time. A status left out of the batch is asked for alone, and only a 404 there ends its
schedule.
"""

import threading
from collections.abc import Sequence
from typing import Any, Protocol

import httpx

from characters.analytics.collect import Counts
from characters.core.models import ChannelKind
from characters.publishing.addresses import Resolver, resolve_host
from scheduler.metrics.base import Account
from scheduler.publishers.base import PinnedTransport, PublishError, retry_after_seconds

STATUSES_LIMIT = 20
DEFAULT_TIMEOUT_SECONDS = 30.0
USER_AGENT = "Greenroom/1 (+https://github.com/greenroom)"


class MastodonGet(Protocol):
    """Sends one authenticated GET to a Mastodon API (real: httpx; tests pass a fake)."""

    def get(self, base_url: str, token: str, path: str, params: list[tuple[str, str]]) -> Any:
        """Return the JSON answer, None on 404; raise PublishError (with Retry-After on 429) otherwise."""
        ...


class HttpxGet:
    """GETs through the outbound-address policy, one keep-alive client per instance, shared by threads."""

    def __init__(self, *, allow_private_addresses: bool, timeout: float = DEFAULT_TIMEOUT_SECONDS,
                 resolver: Resolver = resolve_host) -> None:
        self.allow_private_addresses = allow_private_addresses
        self.timeout = timeout
        self._resolve = resolver
        self._clients: dict[str, httpx.Client] = {}
        self._lock = threading.Lock()

    def _client(self, base_url: str) -> httpx.Client:
        with self._lock:
            client = self._clients.get(base_url)
            if client is None:
                transport = PinnedTransport(allow_private=self.allow_private_addresses, resolver=self._resolve)
                # trust_env=False: no proxy or .netrc from the environment carries someone's token elsewhere.
                client = self._clients[base_url] = httpx.Client(
                    base_url=base_url, transport=transport, timeout=self.timeout, trust_env=False,
                    headers={"User-Agent": USER_AGENT})
            return client

    def get(self, base_url: str, token: str, path: str, params: list[tuple[str, str]]) -> Any:
        """Return the JSON answer, None on 404; raise PublishError otherwise."""
        what = f"read {path} from {base_url}"
        try:
            response = self._client(base_url).get(path, params=tuple(params),
                                                  headers={"Authorization": f"Bearer {token}"})
        except httpx.HTTPError as error:
            raise PublishError(f"Could not {what}: {error}", retryable=True) from None
        if response.status_code == 404:
            return None
        if response.status_code == 429 or response.status_code >= 500:
            raise PublishError(f"Could not {what} (HTTP {response.status_code})", retryable=True,
                               retry_after=retry_after_seconds(response.headers.get("retry-after")))
        if response.status_code >= 400:
            raise PublishError(f"Could not {what} (HTTP {response.status_code})", retryable=False)
        try:
            return response.json()
        except ValueError:
            raise PublishError(f"Could not {what}: the answer is not JSON", retryable=True) from None

    def close(self) -> None:
        """Close every instance's connections."""
        with self._lock:
            for client in self._clients.values():
                client.close()
            self._clients.clear()


def _count(status: dict[str, Any], key: str) -> int:
    value = status.get(key)
    return value if isinstance(value, int) and value >= 0 else 0


def _counts(status: dict[str, Any]) -> Counts:
    return Counts(likes=_count(status, "favourites_count"), reposts=_count(status, "reblogs_count"),
                  replies=_count(status, "replies_count"), quotes=_count(status, "quotes_count"))


class MastodonMetrics:
    """Reads a Mastodon account's statuses' counts and its follower count."""

    kind = ChannelKind.MASTODON.value
    batch_size = STATUSES_LIMIT

    def __init__(self, transport: MastodonGet) -> None:
        self.transport = transport

    @staticmethod
    def _where(account: Account) -> tuple[str, str]:
        base = str(account.settings.get("api_base_url") or "").rstrip("/")
        token = str(account.secrets.get("access_token") or "")
        if not base or not token:
            raise PublishError("The Mastodon channel has no instance address or access token; add it again.",
                               retryable=False)
        return base, token

    def read_posts(self, account: Account, ids: Sequence[str]) -> dict[str, Counts | None]:
        """Return counts per status id, None for statuses the server no longer has."""
        if len(ids) > STATUSES_LIMIT:
            raise ValueError(f"Mastodon returns at most {STATUSES_LIMIT} statuses per call, not {len(ids)}")
        base, token = self._where(account)
        batch = self.transport.get(base, token, "/api/v1/statuses", [("id[]", status_id) for status_id in ids])
        found: dict[str, Counts | None] = {}
        for status in batch if isinstance(batch, list) else []:
            if isinstance(status, dict) and str(status.get("id")) in ids:
                found[str(status["id"])] = _counts(status)
        for status_id in ids:
            if status_id not in found:
                single = self.transport.get(base, token, f"/api/v1/statuses/{status_id}", [])
                found[status_id] = _counts(single) if isinstance(single, dict) else None
        return found

    def read_followers(self, account: Account) -> int:
        """Return followers_count of the account that owns the token."""
        base, token = self._where(account)
        me = self.transport.get(base, token, "/api/v1/accounts/verify_credentials", [])
        if not isinstance(me, dict):
            raise PublishError(f"Could not read the account from {base}.", retryable=True)
        return _count(me, "followers_count")
