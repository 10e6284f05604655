"""Bluesky listening: app.bsky.notification.listNotifications through the account's PDS, threads by getPostThread.

Notifications come newest first, ordered by the AppView's sort time: the earlier of the record's own createdAt and
when it was indexed, so one that arrives late can sort before one already read. A poll therefore reads pages back
to LOOKBACK before the newest time the last poll saw (the channel's cursor): conversations read twice are stored once
(by their URI), while likes and reposts are counted only when newer than the cursor (a late one within the window
goes uncounted, never counted twice; exact per-post numbers are the analytics job's). At most MAX_ITEMS per poll.
Mentions, replies and quotes become conversations; likes and reposts are only counted.

The SDK is only touched through the publisher (import-linter keeps atproto there): clients are typed Any here.
Every call goes through the channel's one Bluesky session, shared with the publisher in this process and saved
encrypted on the channel (see scheduler/publishers/bluesky.py): a poll never logs in again while the session works.
"""

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any, Protocol

from characters.core.models import ChannelKind
from characters.listening.ingest import Incoming, ListenTarget, Poll, ThreadWanted, trim_thread
from scheduler.listeners.base import get, parse_time, text_of
from scheduler.publishers.base import SessionSlot
from scheduler.publishers.bluesky import BlueskyPublisher

MAX_ITEMS = 5_000
# A channel's first poll takes only the latest notifications: years of old mentions are history, not an inbox (and
# would all go overdue an hour later).
FIRST_POLL_ITEMS = 500  # notifications read per poll at most (pages of PAGE_SIZE)
PAGE_SIZE = 100  # the most listNotifications gives per page
THREAD_PARENT_HEIGHT = 200  # ancestors asked for; trimmed to the thread limit when stored
THREAD_DEPTH = 1  # direct replies to the conversation's post
COUNTED = {"like": "likes", "repost": "reposts"}
LOOKBACK = timedelta(minutes=2)
LISTED = ("mention", "reply", "quote")


class BlueskyTransport(Protocol):
    """The three calls listening makes, as JSON-shaped dicts (tests and the benchmark swap in a fake)."""

    def me(self) -> str:
        """Return the channel account's DID."""
        ...

    def list_notifications(self, cursor: str | None, limit: int) -> dict[str, Any]:
        """Return one page of app.bsky.notification.listNotifications (newest first)."""
        ...

    def get_post_thread(self, uri: str, depth: int, parent_height: int) -> dict[str, Any] | None:
        """Return app.bsky.feed.getPostThread's answer, or None when the post is not found."""
        ...


# (target, decrypted credentials, session slot) → the transport for that channel.
TransportFactory = Callable[[ListenTarget, dict[str, Any], SessionSlot | None], BlueskyTransport]


class SdkTransport:
    """The real transport: the atproto SDK through the publisher's shared session for the channel."""

    def __init__(self, publisher: BlueskyPublisher, target: ListenTarget, secrets: dict[str, Any],
                 session: SessionSlot | None) -> None:
        self._publisher = publisher
        self._target = target
        self._secrets = secrets
        self._session = session

    def _run(self, action: str, call: Callable[[Any, str], Any]) -> Any:
        return self._publisher.call(self._target.settings, self._secrets, self._session, action, call)

    def me(self) -> str:
        """Return the channel account's DID (from the session; no request once it exists)."""
        return str(self._run("start the Bluesky session", lambda client, did: did))

    def list_notifications(self, cursor: str | None, limit: int) -> dict[str, Any]:
        """Return one page of notifications as JSON."""
        def call(client: Any, did: str) -> dict[str, Any]:
            page = client.app.bsky.notification.list_notifications(params={"cursor": cursor, "limit": limit})
            return dict(page.model_dump(mode="json", by_alias=True, exclude_none=True))
        return dict(self._run("read Bluesky notifications", call))

    def get_post_thread(self, uri: str, depth: int, parent_height: int) -> dict[str, Any] | None:
        """Return the thread as JSON, or None when Bluesky says the post is not found (deleted)."""
        def call(client: Any, did: str) -> dict[str, Any] | None:
            try:
                answer = client.app.bsky.feed.get_post_thread(
                    params={"uri": uri, "depth": depth, "parentHeight": parent_height})
            except Exception as error:  # the SDK's BadRequestError, read by its shape
                if getattr(getattr(getattr(error, "response", None), "content", None), "error", "") == "NotFound":
                    return None
                raise
            return dict(answer.model_dump(mode="json", by_alias=True, exclude_none=True))
        found = self._run("read a Bluesky thread", call)
        return dict(found) if found is not None else None


def sdk_transport(publisher: BlueskyPublisher) -> TransportFactory:
    """Return a factory of real transports that share `publisher`'s sessions (one per channel and process)."""
    return lambda target, secrets, session: SdkTransport(publisher, target, secrets, session)


class BlueskyListener:
    """Polls a Bluesky channel's notifications and reads threads."""

    kind = ChannelKind.BLUESKY.value

    def __init__(self, transport_for: TransportFactory, *, max_items: int = MAX_ITEMS,
                 first_poll_items: int = FIRST_POLL_ITEMS) -> None:
        self._transport_for = transport_for
        self.max_items = max_items
        self.first_poll_items = first_poll_items

    def poll(self, target: ListenTarget, secrets: dict[str, Any], session: SessionSlot | None) -> Poll:
        """Read pages of notifications back to the cursor; return the items and counts, with the new cursor."""
        transport = self._transport_for(target, secrets, session)
        since = parse_time(target.cursor)
        stop_before = since - LOOKBACK if since is not None else None
        newest: datetime | None = since
        items: list[Incoming] = []
        counts = {"likes": 0, "reposts": 0}
        page_cursor: str | None = None
        read = 0
        limit = self.max_items if target.cursor is not None else min(self.max_items, self.first_poll_items)
        while read < limit:
            page = transport.list_notifications(page_cursor, min(PAGE_SIZE, limit - read))
            notes = [note for note in page.get("notifications") or [] if isinstance(note, dict)]
            reached_cursor = False
            for note in notes:
                read += 1
                indexed = parse_time(note.get("indexedAt"))
                if indexed is None:
                    continue
                if stop_before is not None and indexed < stop_before:
                    reached_cursor = True
                    break
                newest = indexed if newest is None or indexed > newest else newest
                reason = note.get("reason")
                if reason in COUNTED:
                    if since is None or indexed > since:  # the one at the cursor was counted last time
                        counts[COUNTED[reason]] += 1
                elif reason in LISTED:
                    item = incoming(note, indexed)
                    if item is not None:
                        items.append(item)
            page_cursor = page.get("cursor") if isinstance(page.get("cursor"), str) else None
            if reached_cursor or not notes or not page_cursor:
                break
        cursor = newest.isoformat() if newest is not None else None
        return Poll(items=items, cursor=cursor, likes=counts["likes"], reposts=counts["reposts"])

    def thread(self, target: ListenTarget, secrets: dict[str, Any], session: SessionSlot | None,
               wanted: ThreadWanted) -> list[dict[str, Any]] | None:
        """Return the thread root first (trimmed to MAX_THREAD_POSTS), or None when the post is deleted or blocked."""
        transport = self._transport_for(target, secrets, session)
        answer = transport.get_post_thread(wanted.network_id, THREAD_DEPTH, THREAD_PARENT_HEIGHT)
        node = get(answer, "thread")
        if not _is_post(node):
            return None  # notFoundPost or blockedPost: the author deleted it or blocks the character
        me = transport.me()
        ancestors: list[dict[str, Any]] = []
        parent = get(node, "parent")
        while _is_post(parent):
            ancestors.append(thread_post(parent["post"], me))
            parent = get(parent, "parent")
        ancestors.reverse()
        replies = [thread_post(reply["post"], me) for reply in get(node, "replies") or [] if _is_post(reply)]
        replies.sort(key=lambda post: str(post.get("posted_at") or ""))
        return trim_thread(ancestors, thread_post(node["post"], me), replies)


def _mapping(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _is_post(node: Any) -> bool:
    return isinstance(node, dict) and isinstance(node.get("post"), dict)


def web_url(handle: str, uri: str) -> str:
    """Return the bsky.app link of a post."""
    return f"https://bsky.app/profile/{handle}/post/{uri.rsplit('/', 1)[-1]}"


def incoming(note: dict[str, Any], indexed: datetime) -> Incoming | None:
    """Turn one mention, reply or quote notification into an item; None when it has no post to answer."""
    uri, cid = note.get("uri"), note.get("cid")
    if not isinstance(uri, str) or not isinstance(cid, str):
        return None
    record = _mapping(note.get("record"))
    author = _mapping(note.get("author"))
    handle = text_of(author.get("handle"))
    root_uri, root_cid = get(record, "reply", "root", "uri"), get(record, "reply", "root", "cid")
    if not (isinstance(root_uri, str) and isinstance(root_cid, str)):
        root_uri, root_cid = uri, cid  # not a reply: a reply to it starts a thread here
    quoted = get(record, "embed", "record", "uri") or get(record, "embed", "record", "record", "uri")
    subjects = tuple(ref for ref in (get(record, "reply", "parent", "uri"), get(record, "reply", "root", "uri"),
                                     quoted, note.get("reasonSubject")) if isinstance(ref, str) and ref)
    viewer = _mapping(author.get("viewer"))
    return Incoming(
        network_id=uri, reason=str(note.get("reason")), text=text_of(record.get("text"), 10_000),
        posted_at=parse_time(record.get("createdAt"), indexed) or indexed,
        author_ref=text_of(author.get("did")), author_handle=handle,
        author_name=text_of(author.get("displayName")), author_avatar_url=text_of(author.get("avatar"), 2000) or None,
        url=web_url(handle or text_of(author.get("did")), uri),
        remote_ref={"id": uri, "url": web_url(handle or text_of(author.get("did")), uri), "cid": cid,
                    "root_uri": root_uri, "root_cid": root_cid},
        subject_refs=subjects, gone=bool(viewer.get("blockedBy") or viewer.get("blocking")))


def thread_post(post: dict[str, Any], me: str) -> dict[str, Any]:
    """Return one post of a thread as the inbox shows it."""
    author = _mapping(post.get("author"))
    uri = str(post.get("uri") or "")
    handle = text_of(author.get("handle"))
    return {"uri": uri, "url": web_url(handle or text_of(author.get("did")), uri) if uri else None,
            "author_ref": text_of(author.get("did")), "author_handle": handle,
            "author_name": text_of(author.get("displayName")), "author_avatar_url": author.get("avatar"),
            "text": text_of(get(post, "record", "text"), 10_000),
            "posted_at": get(post, "record", "createdAt") or post.get("indexedAt"),
            "is_character": bool(me) and author.get("did") == me}
