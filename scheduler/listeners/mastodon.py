"""Mastodon listening: /api/v1/notifications (mentions; favourites and boosts counted), threads by status context.

The channel's cursor is the id of the newest notification stored. A poll pages forward from it with `min_id`
(each page the notifications just after the last one read); the first poll of a channel pages back from the newest
with `max_id`. At most MAX_ITEMS per poll. Mastodon.py is only touched through the publisher (import-linter keeps
it there): its client is typed Any here.
"""

from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any, Protocol

from characters.core.models import ChannelKind, utcnow
from characters.listening.ingest import Incoming, ListenTarget, Poll, ThreadWanted, trim_thread
from scheduler.listeners.base import get, parse_time, text_of
from scheduler.publishers.base import SessionSlot
from scheduler.publishers.mastodon import MastodonPublisher, _html_text

MAX_ITEMS = 5_000
# A channel's first poll takes only the latest notifications: years of old mentions are history, not an inbox (and
# would all go overdue an hour later).
FIRST_POLL_ITEMS = 500
PAGE_SIZE = 40  # Mastodon's default and most servers' maximum for notifications
TYPES = ["mention", "favourite", "reblog"]
COUNTED = {"favourite": "likes", "reblog": "reposts"}


class MastodonTransport(Protocol):
    """The calls listening makes, as JSON-shaped mappings (tests swap in a fake)."""

    instance: str  # the API base URL, as the channel stores it

    def me(self) -> str:
        """Return the channel account's id."""
        ...

    def notifications(self, *, min_id: str | None, max_id: str | None, limit: int) -> list[Mapping[str, Any]]:
        """Return one page of notifications of TYPES, newest first."""
        ...

    def status_context(self, status_id: str) -> Mapping[str, Any] | None:
        """Return {"status", "ancestors", "descendants"} for a status, or None when it is gone."""
        ...


TransportFactory = Callable[[ListenTarget, dict[str, Any], SessionSlot | None], MastodonTransport]


class ApiTransport:
    """The real transport: Mastodon.py through the publisher's connection (address policy, error mapping)."""

    def __init__(self, publisher: MastodonPublisher, target: ListenTarget, secrets: dict[str, Any]) -> None:
        self._publisher = publisher
        self._target = target
        self._secrets = secrets
        self.instance = str(target.settings.get("api_base_url") or "").rstrip("/")
        self._me: str | None = None

    def _run(self, what: str, action: Callable[[Any], Any]) -> Any:
        result, _ = self._publisher.call(self._target.settings, self._secrets, what, action)
        return result

    def me(self) -> str:
        """Return the account id (asked once per transport)."""
        if self._me is None:
            self._me = str(self._run("verify the access token", lambda api: api.account_verify_credentials())["id"])
        return self._me

    def notifications(self, *, min_id: str | None, max_id: str | None, limit: int) -> list[Mapping[str, Any]]:
        """Return one page of notifications."""
        return list(self._run("read Mastodon notifications", lambda api: api.notifications(
            types=TYPES, min_id=min_id, max_id=max_id, limit=limit)) or [])

    def status_context(self, status_id: str) -> Mapping[str, Any] | None:
        """Return the status with its ancestors and descendants, or None when it was deleted."""
        def read(api: Any) -> Mapping[str, Any] | None:
            try:
                status = api.status(status_id)
                context = api.status_context(status_id)
            except Exception as error:  # Mastodon.py's MastodonNotFoundError: (message, 404, reason, detail)
                if len(error.args) > 1 and error.args[1] == 404:
                    return None
                raise
            return {"status": status, "ancestors": context["ancestors"], "descendants": context["descendants"]}
        found: Mapping[str, Any] | None = self._run("read a Mastodon thread", read)
        return found


def api_transport(publisher: MastodonPublisher) -> TransportFactory:
    """Return a factory of real transports through `publisher`."""
    return lambda target, secrets, session: ApiTransport(publisher, target, secrets)


def _id_key(value: str) -> tuple[int, str]:
    """Order ids numerically when they are numbers (Mastodon's are), as text otherwise."""
    return (int(value), "") if value.isdigit() else (0, value)


class MastodonListener:
    """Polls a Mastodon channel's notifications and reads threads."""

    kind = ChannelKind.MASTODON.value

    def __init__(self, transport_for: TransportFactory, *, max_items: int = MAX_ITEMS,
                 first_poll_items: int = FIRST_POLL_ITEMS) -> None:
        self._transport_for = transport_for
        self.max_items = max_items
        self.first_poll_items = first_poll_items

    def poll(self, target: ListenTarget, secrets: dict[str, Any], session: SessionSlot | None) -> Poll:
        """Read the notifications after the cursor; return the mentions and counts, with the new cursor."""
        transport = self._transport_for(target, secrets, session)
        forward = target.cursor is not None
        min_id, max_id = target.cursor, None
        newest = target.cursor
        items: list[Incoming] = []
        counts = {"likes": 0, "reposts": 0}
        read = 0
        limit = self.max_items if target.cursor is not None else min(self.max_items, self.first_poll_items)
        while read < limit:
            page = transport.notifications(min_id=min_id, max_id=max_id, limit=min(PAGE_SIZE, limit - read))
            ids = [str(note.get("id")) for note in page if note.get("id") is not None]
            if not ids:
                break
            for note in page:
                read += 1
                kind = note.get("type")
                if kind in COUNTED:
                    counts[COUNTED[kind]] += 1
                elif kind == "mention":
                    item = incoming(note, transport.instance)
                    if item is not None:
                        items.append(item)
            top, bottom = max(ids, key=_id_key), min(ids, key=_id_key)
            newest = top if newest is None or _id_key(top) > _id_key(newest) else newest
            if forward:
                min_id = top
            else:
                max_id = bottom
        return Poll(items=items, cursor=newest, likes=counts["likes"], reposts=counts["reposts"])

    def thread(self, target: ListenTarget, secrets: dict[str, Any], session: SessionSlot | None,
               wanted: ThreadWanted) -> list[dict[str, Any]] | None:
        """Return the thread root first (trimmed), or None when the status is deleted."""
        transport = self._transport_for(target, secrets, session)
        status_id = str(wanted.remote_ref.get("id") or wanted.network_id)
        found = transport.status_context(status_id)
        if found is None:
            return None
        me = transport.me()
        ancestors = [thread_post(status, me) for status in found.get("ancestors") or []]
        replies = [thread_post(status, me) for status in found.get("descendants") or []
                   if str(get(status, "in_reply_to_id")) == status_id]
        return trim_thread(ancestors, thread_post(found["status"], me), replies)


def incoming(note: Mapping[str, Any], instance: str) -> Incoming | None:
    """Turn one mention notification into an item; None when it carries no status."""
    status = note.get("status")
    if not isinstance(status, Mapping) or status.get("id") is None:
        return None
    account = status.get("account") if isinstance(status.get("account"), Mapping) else note.get("account")
    account = account if isinstance(account, Mapping) else {}
    status_id = str(status["id"])
    url = status.get("url") or status.get("uri")
    posted: datetime = parse_time(status.get("created_at")) or parse_time(note.get("created_at")) or utcnow()
    reply_to = status.get("in_reply_to_id")
    return Incoming(
        network_id=status_id, reason="reply" if reply_to is not None else "mention",
        text=_html_text(str(status.get("content") or "")), posted_at=posted,
        author_ref=str(account.get("id") or ""), author_handle=text_of(account.get("acct")),
        author_name=text_of(account.get("display_name")),
        author_avatar_url=text_of(account.get("avatar"), 2000) or None,
        url=str(url) if url else None,
        remote_ref={"id": status_id, "url": str(url) if url else None, "uri": status.get("uri"), "instance": instance},
        subject_refs=(str(reply_to),) if reply_to is not None else ())


def thread_post(status: Mapping[str, Any], me: str) -> dict[str, Any]:
    """Return one status of a thread as the inbox shows it."""
    account = status.get("account") if isinstance(status.get("account"), Mapping) else {}
    posted = parse_time(status.get("created_at"))
    return {"uri": str(status.get("uri") or ""), "url": status.get("url") or status.get("uri"),
            "author_ref": str(get(account, "id") or ""), "author_handle": text_of(get(account, "acct")),
            "author_name": text_of(get(account, "display_name")), "author_avatar_url": get(account, "avatar"),
            "text": _html_text(str(status.get("content") or "")),
            "posted_at": posted.isoformat() if posted is not None else None,
            "is_character": bool(me) and str(get(account, "id")) == me}
