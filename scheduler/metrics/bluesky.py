"""Bluesky numbers through the channel's PDS (which proxies app.bsky.* to the AppView), on the publisher's session.

`app.bsky.feed.getPosts` takes up to 25 URIs per call and leaves out posts it does not know: those are looked up
in the account's repository, and only a record that is gone there ends the post's schedule (an AppView still
catching up does not).
"""

from collections.abc import Sequence
from typing import Any, Protocol

from characters.analytics.collect import Counts
from characters.core.models import ChannelKind
from scheduler.metrics.base import Account
from scheduler.publishers.base import SessionSlot

GET_POSTS_LIMIT = 25


class XrpcQuery(Protocol):
    """Runs a read-only XRPC query with a channel's session (the Bluesky publisher does; tests pass a fake)."""

    def query(self, settings: dict[str, Any], secrets: dict[str, Any], session: SessionSlot | None, nsid: str,
              params: dict[str, Any]) -> dict[str, Any] | None:
        """Return the JSON answer, None when the thing asked for is not found; raise PublishError otherwise."""
        ...


def _count(view: dict[str, Any], key: str) -> int:
    value = view.get(key)
    return value if isinstance(value, int) and value >= 0 else 0


class BlueskyMetrics:
    """Reads like, repost, reply and quote counts and the follower count of a Bluesky account."""

    kind = ChannelKind.BLUESKY.value
    batch_size = GET_POSTS_LIMIT

    def __init__(self, transport: XrpcQuery) -> None:
        self.transport = transport

    def _query(self, account: Account, nsid: str, params: dict[str, Any]) -> dict[str, Any] | None:
        return self.transport.query(account.settings, account.secrets, account.session, nsid, params)

    def read_posts(self, account: Account, ids: Sequence[str]) -> dict[str, Counts | None]:
        """Return counts for the URIs getPosts knows, None for those whose record was deleted."""
        if len(ids) > GET_POSTS_LIMIT:
            raise ValueError(f"getPosts takes at most {GET_POSTS_LIMIT} URIs, not {len(ids)}")
        answer = self._query(account, "app.bsky.feed.getPosts", {"uris": list(ids)}) or {}
        found: dict[str, Counts | None] = {}
        for view in answer.get("posts") or []:
            if isinstance(view, dict) and view.get("uri") in ids:
                found[str(view["uri"])] = Counts(likes=_count(view, "likeCount"), reposts=_count(view, "repostCount"),
                                                 replies=_count(view, "replyCount"), quotes=_count(view, "quoteCount"))
        for uri in ids:
            if uri not in found and self._deleted(account, uri):
                found[uri] = None
        return found

    def _deleted(self, account: Account, uri: str) -> bool:
        """Return whether the record behind an at:// URI is gone from its repository."""
        repo, _, rest = uri.removeprefix("at://").partition("/")
        collection, _, rkey = rest.partition("/")
        if not repo or not collection or not rkey:
            return True  # not a record address at all: nothing will ever be read for it
        record = self._query(account, "com.atproto.repo.getRecord",
                             {"repo": repo, "collection": collection, "rkey": rkey})
        return record is None

    def read_followers(self, account: Account) -> int:
        """Return followersCount from the account's profile."""
        actor = str(account.settings.get("handle") or "")
        profile = self._query(account, "app.bsky.actor.getProfile", {"actor": actor}) or {}
        return _count(profile, "followersCount")
