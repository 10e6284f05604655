"""Bluesky (any atproto PDS): posts with link, tag and mention facets, images with alt text, threads and replies.

Every part is written with a record key derived from the delivery's idempotency key, so a retry after an unknown
outcome finds (or collides with) the earlier record instead of posting twice.

One session per channel and process, shared by every thread and call (publishing, look-ups, connection checks):
the reference PDS allows 30 logins per account in 5 minutes. The session is saved (encrypted, through the request's
SessionSlot) whenever it is created or refreshed, so a restarted scheduler imports it instead of logging in. An
expired or refused access token is refreshed; only a refused refresh logs in again with the app password.
"""

import hashlib
import io
import logging
import threading
import time
import warnings
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

import httpx
from atproto import Client, client_utils, models
from atproto_client import exceptions as atproto_errors
from atproto_client.client.session import Session, SessionEvent
from atproto_client.request import Request
from PIL import Image, UnidentifiedImageError

from characters.core.config import get_settings
from characters.core.models import ChannelKind
from characters.core.platforms import BLUESKY
from characters.publishing.addresses import Resolver, resolve_host
from scheduler.publishers.base import (
    Found,
    Lookup,
    OutcomeUnknown,
    PartContent,
    PinnedTransport,
    PublishError,
    PublishOutcome,
    PublishRequest,
    RemoteRef,
    SafeToResend,
    SessionSlot,
    check_length,
    retry_after_seconds,
)

log = logging.getLogger("greenroom.scheduler")
Result = TypeVar("Result")

POST_COLLECTION = "app.bsky.feed.post"
DEFAULT_TIMEOUT_SECONDS = 30.0

_TID_ALPHABET = "234567abcdefghijklmnopqrstuvwxyz"
# Derived record keys carry a timestamp inside one fixed past year, so they are valid TIDs that never look "future".
_TID_WINDOW_START_US = 1_672_531_200_000_000  # 2023-01-01T00:00:00Z
_TID_WINDOW_US = 365 * 24 * 3600 * 1_000_000

# (service URL, timeout, the transport that applies the outbound-address policy) → a client.
ClientFactory = Callable[[str, float, httpx.BaseTransport], Client]


def record_key(idempotency_key: str, part_index: int) -> str:
    """Return the record key (a valid TID) for one part of one delivery; the same inputs always give the same key."""
    digest = int.from_bytes(hashlib.sha256(f"{idempotency_key}:{part_index}".encode()).digest()[:8], "big")
    timestamp_us = _TID_WINDOW_START_US + digest % _TID_WINDOW_US
    value = (timestamp_us << 10) | (digest >> 54)  # 53-bit timestamp, 10-bit clock id: the top bit stays 0
    return "".join(_TID_ALPHABET[(value >> shift) & 31] for shift in range(60, -1, -5))


def check_part(part: PartContent, position: int) -> None:
    """Refuse, before anything is sent, a part Bluesky would reject."""
    label = f"Part {position + 1}"
    check_length(part, position, BLUESKY)
    if BLUESKY.max_text_bytes is not None and len(part.text.encode("utf-8")) > BLUESKY.max_text_bytes:
        raise PublishError(f"{label} is longer than Bluesky's {BLUESKY.max_text_bytes} bytes.", retryable=False)
    if not part.text.strip() and part.image is None:
        raise PublishError(f"{label} is empty.", retryable=False)
    if part.image is not None:
        if BLUESKY.max_image_bytes is not None and len(part.image) > BLUESKY.max_image_bytes:
            raise PublishError(f"{label}'s image is {len(part.image):,} bytes; Bluesky accepts up to "
                               f"{BLUESKY.max_image_bytes:,}.", retryable=False)
        if part.image_mime and not part.image_mime.startswith("image/"):
            raise PublishError(f"{label}'s attachment is {part.image_mime}, not an image.", retryable=False)


def _default_client(service_url: str, timeout: float, transport: httpx.BaseTransport) -> Client:
    # trust_env=False: a proxy from the environment would take requests past the transport and its checks.
    return Client(base_url=service_url, request=Request(timeout=timeout, transport=transport, trust_env=False))


@dataclass(frozen=True)
class _Account:
    """Where and as whom a channel logs in; `fingerprint` tells whether a saved session belongs to it."""

    service_url: str
    handle: str
    password: str

    @property
    def fingerprint(self) -> str:
        return hashlib.sha256(f"{self.service_url}\n{self.handle}\n{self.password}".encode()).hexdigest()


class _ChannelSession:
    """One channel's client and session in this process; `lock` makes threads share one login or refresh."""

    def __init__(self, account: _Account) -> None:
        self.account = account
        self.lock = threading.Lock()
        self.client: Client | None = None
        self.did = ""
        self.handle = ""
        self.generation = 0  # bumped on every renewal, so threads refused with the old session renew it only once


class BlueskyPublisher:
    """Publishes to the account named by the channel's service URL and handle, with an app password."""

    kind = ChannelKind.BLUESKY

    def __init__(self, *, timeout: float = DEFAULT_TIMEOUT_SECONDS, client_factory: ClientFactory = _default_client,
                 allow_private_addresses: bool | None = None, resolver: Resolver = resolve_host) -> None:
        self.timeout = timeout
        self._client_factory = client_factory
        self.allow_private_addresses = (get_settings().outbound_allow_private_addresses
                                        if allow_private_addresses is None else allow_private_addresses)
        self._resolve = resolver
        self._sessions: dict[Hashable, _ChannelSession] = {}
        self._sessions_lock = threading.Lock()

    def publish(self, request: PublishRequest) -> PublishOutcome:
        """Publish every part, each replying to the one before; parts already on the network are reused."""
        for position, part in enumerate(request.parts):
            check_part(part, position)
        session = self._session(request.settings, request.secrets, request.session)
        parent = request.reply_to
        root = _root_of(parent)
        self._check_parent(session, parent)
        refs: list[RemoteRef] = []
        for position, part in enumerate(request.parts):
            rkey = record_key(request.idempotency_key, position)
            ref = self._existing(session, rkey, root) or self._create(session, rkey, part, parent, root)
            refs.append(ref)
            parent = ref
            root = root or (ref.id, ref.extra["cid"])
        return PublishOutcome(refs=refs)

    def look_up(self, request: PublishRequest, *, since: datetime, now: datetime) -> Lookup:
        """Return the records if every part is there; if one is missing a resend is safe (it resumes from there)."""
        session = self._session(request.settings, request.secrets, request.session)
        root = _root_of(request.reply_to)
        refs: list[RemoteRef] = []
        for position in range(len(request.parts)):
            rkey = record_key(request.idempotency_key, position)
            ref = self._existing(session, rkey, root)
            if ref is None:
                which = f"part {position + 1} of {len(request.parts)}" if len(request.parts) > 1 else "the post"
                return SafeToResend(f"Bluesky has no record of {which} at its key {rkey}; a resend writes the same "
                                    "keys, so it cannot post twice.")
            refs.append(ref)
            root = root or (ref.id, ref.extra["cid"])
        return Found(PublishOutcome(refs=refs))

    def check_connection(self, settings: dict[str, Any], secrets: dict[str, Any],
                         session: SessionSlot | None = None) -> str:
        """Check the channel's session (logging in only if it has none that works) and name the account."""
        channel = self._session(settings, secrets, session)
        self._call(channel, "check the Bluesky session", lambda client: client.com.atproto.server.get_session())
        return f"Logged in as @{channel.handle} ({channel.did})"

    def query(self, settings: dict[str, Any], secrets: dict[str, Any], session: SessionSlot | None, nsid: str,
              params: dict[str, Any]) -> dict[str, Any] | None:
        """Run one read-only XRPC query with the channel's shared session (analytics); None when it is not found."""
        channel = self._session(settings, secrets, session)
        try:
            response = self._call(channel, f"read {nsid}", lambda client: client.invoke_query(
                nsid, params=models.dot_dict.DotDict(params)))
        except atproto_errors.AtProtocolError as error:
            if _status(error) == 400 and _error_name(error) in ("RecordNotFound", "NotFound"):
                return None
            raise _publish_error(error, action=f"read {nsid}") from None
        return response.content if isinstance(response.content, dict) else {}

    def call(self, settings: dict[str, Any], secrets: dict[str, Any], session: SessionSlot | None, action: str,
             call: Callable[[Client, str], Result]) -> Result:
        """Run `call(client, did)` with the channel's one shared session (listening reads through it too).

        A refused session is renewed once, as for publishing; any other failure is raised as a PublishError.
        """
        channel = self._session(settings, secrets, session)
        try:
            return self._call(channel, action, lambda client: call(client, channel.did))
        except atproto_errors.AtProtocolError as error:
            raise _publish_error(error, action=action) from None

    # --- the session ------------------------------------------------------------------------------------------

    def _session(self, settings: dict[str, Any], secrets: dict[str, Any], slot: SessionSlot | None
                 ) -> _ChannelSession:
        """Return the channel's session in this process, importing the saved one or logging in on first use."""
        account = _Account(service_url=str(settings.get("service_url") or "https://bsky.social"),
                           handle=str(settings.get("handle") or ""), password=str(secrets.get("app_password") or ""))
        if not account.handle or not account.password:
            raise PublishError("The Bluesky channel has no handle or app password; add it again.", retryable=False)
        key: Hashable = slot.channel_id if slot is not None else account.fingerprint
        with self._sessions_lock:
            channel = self._sessions.get(key)
            if channel is None or channel.account != account:  # new credentials: the old session is not theirs
                channel = self._sessions[key] = _ChannelSession(account)
        with channel.lock:
            if channel.client is None:
                self._start(channel, slot)
        return channel

    def _start(self, channel: _ChannelSession, slot: SessionSlot | None) -> None:
        """Give the channel a client: with the saved session when it belongs to this account, else a login."""
        account = channel.account
        transport = PinnedTransport(allow_private=self.allow_private_addresses, resolver=self._resolve)
        client = self._client_factory(account.service_url, self.timeout, transport)

        def changed(event: SessionEvent, session: Session) -> None:
            channel.did, channel.handle = session.did, session.handle
            if slot is not None and event in (SessionEvent.CREATE, SessionEvent.REFRESH):
                slot.save({"account": account.fingerprint, "session": session.export()})

        client.on_session_change(changed)
        saved = slot.saved if slot is not None else None
        if saved and saved.get("account") == account.fingerprint and saved.get("session"):
            try:
                client.login(session_string=str(saved["session"]), fetch_bsky_profile=False)  # no network call
            except (ValueError, atproto_errors.AtProtocolError):
                self._log_in(client, account)  # unreadable: as if none was saved
        else:
            self._log_in(client, account)
        channel.client = client

    @staticmethod
    def _log_in(client: Client, account: _Account) -> None:
        try:
            # There may be no AppView behind the PDS (self-hosted): the profile is not needed.
            client.login(account.handle, account.password, fetch_bsky_profile=False)
        except atproto_errors.AtProtocolError as error:
            raise _publish_error(error, action="log in to Bluesky") from None
        log.info("logged in to Bluesky as @%s", account.handle)

    def _call(self, channel: _ChannelSession, action: str, call: Callable[[Client], Result]) -> Result:
        """Run one call with the channel's session; if the session is refused, renew it once and call again.

        Errors other than a refused session are raised as the SDK's own, for the caller to read.
        """
        generation = channel.generation
        client = channel.client
        assert client is not None  # noqa: S101 - _session started it
        try:
            return _sdk_errors(call, client)
        except atproto_errors.AtProtocolError as error:
            if not _session_refused(error):
                raise
        with channel.lock:
            if channel.generation == generation:  # nobody renewed it meanwhile
                self._renew(channel, action)
                channel.generation += 1
        return _sdk_errors(call, client)

    def _renew(self, channel: _ChannelSession, action: str) -> None:
        """Refresh a refused session; log in again only when the refresh is refused too."""
        client = channel.client
        assert client is not None  # noqa: S101 - only called for a started session
        try:
            client._refresh_and_set_session()  # noqa: SLF001 - the SDK's own refresh; it has no public name
            return
        except atproto_errors.AtProtocolError as error:
            if not _session_refused(error):
                raise _publish_error(error, action=action) from None
        self._log_in(client, channel.account)

    # --- records ----------------------------------------------------------------------------------------------

    def _existing(self, channel: _ChannelSession, rkey: str, root: tuple[str, str] | None) -> RemoteRef | None:
        """Return the record at `rkey`, or None if there is none; a failed look-up raises PublishError."""
        params = models.ComAtprotoRepoGetRecord.Params(repo=channel.did, collection=POST_COLLECTION, rkey=rkey)
        try:
            record = self._call(channel, "look up an earlier attempt",
                                lambda client: client.com.atproto.repo.get_record(params))
        except atproto_errors.BadRequestError as error:
            if _error_name(error) == "RecordNotFound":
                return None
            raise _publish_error(error, action="look up an earlier attempt") from None
        except atproto_errors.AtProtocolError as error:
            raise _publish_error(error, action="look up an earlier attempt") from None
        if not record.cid:
            return None
        return _remote_ref(channel.did, record.uri, record.cid, root)

    def _create(self, channel: _ChannelSession, rkey: str, part: PartContent, parent: RemoteRef | None,
                root: tuple[str, str] | None) -> RemoteRef:
        client = channel.client
        assert client is not None  # noqa: S101 - _session started it
        record = models.AppBskyFeedPost.Record(
            text=part.text, facets=_facets(client, part.text) or None, created_at=client.get_current_time_iso(),
            reply=_reply_ref(parent, root), embed=self._image_embed(channel, part))
        data = models.ComAtprotoRepoCreateRecord.Data(repo=channel.did, collection=POST_COLLECTION, rkey=rkey,
                                                      record=record)
        try:
            created = self._call(channel, "publish to Bluesky",
                                 lambda client: client.com.atproto.repo.create_record(data))
        except atproto_errors.AtProtocolError as error:
            if _may_have_arrived(error):
                # A record already at this key is an earlier attempt of this very part (the key is derived from it).
                earlier = self._existing_or_none(channel, rkey, root)
                if earlier is not None:
                    return earlier
            if _sent_without_answer(error):
                raise OutcomeUnknown(f"Bluesky did not answer after the post was sent ({rkey}).") from None
            raise _publish_error(error, action="publish to Bluesky") from None
        return _remote_ref(channel.did, created.uri, created.cid, root)

    def _check_parent(self, channel: _ChannelSession, parent: RemoteRef | None) -> None:
        """Refuse to answer a post its author deleted: Bluesky would store a reply to nothing, seen by no one.

        Only a definite "not found" refuses; a look-up that fails otherwise lets the reply go out as before.
        """
        repo, _, rkey = parent.id.removeprefix("at://").partition(f"/{POST_COLLECTION}/") if parent else ("", "", "")
        if not rkey:
            return
        params = models.ComAtprotoRepoGetRecord.Params(repo=repo, collection=POST_COLLECTION, rkey=rkey)
        try:
            self._call(channel, "look up the post to reply to",
                       lambda client: client.com.atproto.repo.get_record(params))
        except atproto_errors.AtProtocolError as error:
            if _error_name(error) == "RecordNotFound":
                raise PublishError("The post to reply to was deleted by its author; nothing was sent.",
                                   retryable=False) from None

    def _existing_or_none(self, channel: _ChannelSession, rkey: str, root: tuple[str, str] | None
                          ) -> RemoteRef | None:
        try:
            return self._existing(channel, rkey, root)
        except PublishError:
            return None

    def _image_embed(self, channel: _ChannelSession, part: PartContent) -> Any:
        image_bytes = part.image
        if image_bytes is None:
            return None
        try:
            with warnings.catch_warnings():
                # The SDK hands httpx raw bytes as `data=`, which httpx deprecates; the upload itself is right.
                warnings.filterwarnings("ignore", message="Use 'content=", category=DeprecationWarning)
                blob = self._call(channel, "upload the image", lambda client: client.upload_blob(image_bytes)).blob
        except atproto_errors.AtProtocolError as error:
            raise _publish_error(error, action="upload the image") from None
        image = models.AppBskyEmbedImages.Image(alt=part.image_alt or "", image=blob,
                                                aspect_ratio=_aspect_ratio(image_bytes))
        return models.AppBskyEmbedImages.Main(images=[image])


def _root_of(reply_to: RemoteRef | None) -> tuple[str, str] | None:
    """Return the thread root (uri, cid) a reply belongs to: the parent's root, or the parent itself."""
    if reply_to is None:
        return None
    cid = str(reply_to.extra.get("cid") or "")
    if not cid:
        raise PublishError("The post to reply to has no Bluesky record (no cid); was it published on Bluesky?",
                           retryable=False)
    return str(reply_to.extra.get("root_uri") or reply_to.id), str(reply_to.extra.get("root_cid") or cid)


def _reply_ref(parent: RemoteRef | None, root: tuple[str, str] | None) -> Any:
    if parent is None or root is None:
        return None
    return models.AppBskyFeedPost.ReplyRef(
        root=models.ComAtprotoRepoStrongRef.Main(uri=root[0], cid=root[1]),
        parent=models.ComAtprotoRepoStrongRef.Main(uri=parent.id, cid=str(parent.extra["cid"])))


def _remote_ref(did: str, uri: str, cid: str, root: tuple[str, str] | None) -> RemoteRef:
    rkey = uri.rsplit("/", 1)[-1]
    root_uri, root_cid = root or (uri, cid)
    return RemoteRef(id=uri, url=f"https://bsky.app/profile/{did}/post/{rkey}",
                     extra={"cid": cid, "root_uri": root_uri, "root_cid": root_cid})


def _facets(client: Client, text: str) -> list[Any]:
    """Return link and tag facets plus mention facets for handles that resolve (byte offsets in UTF-8)."""
    facets: list[Any] = list(client_utils.detect_facets(text))
    for mention in client_utils.detect_mentions(text):
        try:
            did = client.resolve_handle(mention.handle).did
        except atproto_errors.AtProtocolError:
            continue  # an unknown handle stays plain text, as in Bluesky's own apps
        facets.append(models.AppBskyRichtextFacet.Main(
            features=[models.AppBskyRichtextFacet.Mention(did=did)],
            index=models.AppBskyRichtextFacet.ByteSlice(byte_start=mention.byte_start, byte_end=mention.byte_end)))
    return sorted(facets, key=lambda facet: facet.index.byte_start)


def _aspect_ratio(image: bytes) -> Any:
    try:
        with Image.open(io.BytesIO(image)) as picture:
            width, height = picture.size
    except (UnidentifiedImageError, OSError, Image.DecompressionBombError):
        return None
    return models.AppBskyEmbedDefs.AspectRatio(width=width, height=height)


def _error_name(error: atproto_errors.AtProtocolError) -> str:
    response = getattr(error, "response", None)
    content = getattr(response, "content", None)
    return str(getattr(content, "error", "") or "")


def _status(error: atproto_errors.AtProtocolError) -> int | None:
    response = getattr(error, "response", None)
    status = getattr(response, "status_code", None)
    return status if isinstance(status, int) else None


def _sdk_errors(call: Callable[[Client], Result], client: Client) -> Result:
    """Run `call`, raising every transport failure as the SDK's NetworkError (it wraps only some of them)."""
    try:
        return call(client)
    except httpx.TransportError as error:  # e.g. RemoteProtocolError: the server went away mid-answer
        raise atproto_errors.NetworkError() from error


def _session_refused(error: atproto_errors.AtProtocolError) -> bool:
    """Return whether the server refused the session itself (expired, revoked, unknown), not the request."""
    if isinstance(error, atproto_errors.LoginRequiredError | atproto_errors.UnauthorizedError):
        return True
    return _error_name(error) in ("ExpiredToken", "InvalidToken", "AuthenticationRequired")


def _may_have_arrived(error: atproto_errors.AtProtocolError) -> bool:
    """Return whether the record may exist despite the error (a key collision answers 500 on the reference PDS)."""
    status = _status(error)
    return _sent_without_answer(error) or status is None or status >= 500


def _sent_without_answer(error: atproto_errors.AtProtocolError) -> bool:
    cause = error.__cause__
    return isinstance(cause, httpx.ReadTimeout | httpx.WriteTimeout | httpx.ReadError | httpx.WriteError |
                      httpx.RemoteProtocolError)


def _publish_error(error: atproto_errors.AtProtocolError, *, action: str) -> PublishError:
    """Map an SDK error to a PublishError that says whether retrying can help."""
    status = _status(error)
    name = _error_name(error)
    response = getattr(error, "response", None)
    message = getattr(getattr(response, "content", None), "message", None) or name or type(error).__name__
    text = f"Could not {action}: {message}" + (f" (HTTP {status})" if status else "")
    if isinstance(error, atproto_errors.RateLimitExceededError) or status == 429:
        headers = getattr(response, "headers", {}) or {}
        reset = headers.get("ratelimit-reset")
        retry_after = retry_after_seconds(headers.get("retry-after"))
        if retry_after is None and reset and str(reset).isdigit():
            retry_after = max(0.0, float(reset) - time.time())
        return PublishError(text, retryable=True, retry_after=retry_after)
    if status is None or status >= 500 or name in ("ExpiredToken",):
        return PublishError(text, retryable=True)  # network trouble or the server's own fault
    return PublishError(text, retryable=False)

