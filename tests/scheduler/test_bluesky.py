"""The Bluesky publisher against a real PDS from npm (@atproto/pds with an in-memory PLC), checked with list_records."""

import base64
import io
import itertools
import json
import re
import threading
import time
from collections import Counter
from datetime import UTC, datetime

import httpx
import pytest
from atproto import Client
from atproto_client.request import Request
from PIL import Image

from characters.core.platforms import grapheme_count
from scheduler.publishers.base import (
    Found,
    OutcomeUnknown,
    PartContent,
    PublishError,
    PublishRequest,
    SafeToResend,
    SessionSlot,
)
from scheduler.publishers.bluesky import BlueskyPublisher, record_key
from tests.services.pds import running_pds

_names = itertools.count(1)
# The test servers listen on 127.0.0.1, which the outbound-address policy refuses by default.
pytestmark = pytest.mark.usefixtures("private_addresses_allowed")


@pytest.fixture(scope="session")
def pds(tmp_path_factory):
    with running_pds(tmp_path_factory.mktemp("pds")) as server:
        yield server


@pytest.fixture
def account(pds):
    return pds.create_account(f"char{next(_names)}")


def _request(pds, account, *parts: PartContent | str, key: str = "delivery-1", **extra) -> PublishRequest:
    return PublishRequest(
        idempotency_key=key, parts=[PartContent(part) if isinstance(part, str) else part for part in parts],
        settings={"service_url": pds.url, "handle": account.handle}, secrets={"app_password": account.app_password},
        **extra)


def _records(pds, account):
    """Return the account's posts keyed by record key."""
    return {record.uri.rsplit("/", 1)[-1]: record for record in pds.list_posts(account.did)}


def _png(width: int = 12, height: int = 8) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), (20, 120, 200)).save(buffer, format="PNG")
    return buffer.getvalue()


def test_record_keys_are_stable_valid_tids():
    key = record_key("target-42", 0)
    assert key == record_key("target-42", 0) != record_key("target-42", 1) != record_key("target-43", 0)
    assert re.fullmatch(r"[234567abcdefghij][234567abcdefghijklmnopqrstuvwxyz]{12}", key)


def test_publishes_text_with_link_and_mention_facets_at_utf8_byte_offsets(pds, account):
    friend = pds.create_account(f"friend{next(_names)}")
    text = f"Café ☕ with @{friend.handle} — notes at https://example.org/menu?x=1 #greenroom"
    outcome = BlueskyPublisher().publish(_request(pds, account, text))
    [ref] = outcome.refs
    record = _records(pds, account)[ref.id.rsplit("/", 1)[-1]]
    assert record.cid == ref.extra["cid"]
    value = record.value
    assert value.text == text
    encoded = text.encode("utf-8")
    spans = {feature.py_type: encoded[facet.index.byte_start:facet.index.byte_end].decode("utf-8")
             for facet in value.facets for feature in facet.features}
    assert spans["app.bsky.richtext.facet#mention"] == f"@{friend.handle}"
    assert spans["app.bsky.richtext.facet#link"] == "https://example.org/menu?x=1"
    assert spans["app.bsky.richtext.facet#tag"] == "#greenroom"
    mention = next(f.features[0] for f in value.facets if f.features[0].py_type.endswith("#mention"))
    assert mention.did == friend.did


def test_an_unknown_handle_stays_plain_text(pds, account):
    [ref] = BlueskyPublisher().publish(_request(pds, account, "Hello @nobody-here.test!")).refs
    record = _records(pds, account)[ref.id.rsplit("/", 1)[-1]]
    assert not record.value.facets


def test_an_image_is_uploaded_as_a_blob_with_alt_text(pds, account):
    part = PartContent("Look at this", image=_png(12, 8), image_mime="image/png", image_alt="A blue rectangle")
    [ref] = BlueskyPublisher().publish(_request(pds, account, part)).refs
    embed = _records(pds, account)[ref.id.rsplit("/", 1)[-1]].value.embed
    assert embed.py_type == "app.bsky.embed.images"
    [image] = embed.images
    assert image.alt == "A blue rectangle"
    assert image.image.mime_type == "image/png"
    assert image.image.size == len(part.image)
    assert image.image.ref.link.startswith("baf")  # a blob CID
    assert (image.aspect_ratio.width, image.aspect_ratio.height) == (12, 8)


def test_a_thread_is_a_chain_of_replies_to_one_root(pds, account):
    outcome = BlueskyPublisher().publish(_request(pds, account, "1/3 it begins", "2/3 it goes on", "3/3 it ends"))
    records = _records(pds, account)
    first, second, third = (records[ref.id.rsplit("/", 1)[-1]].value for ref in outcome.refs)
    root = outcome.refs[0]
    assert first.reply is None
    assert (second.reply.root.uri, second.reply.parent.uri) == (root.id, root.id)
    assert (third.reply.root.uri, third.reply.parent.uri) == (root.id, outcome.refs[1].id)
    assert third.reply.parent.cid == outcome.refs[1].extra["cid"]


def test_a_scene_reply_across_two_accounts(pds, account):
    other = pds.create_account(f"other{next(_names)}")
    opening = BlueskyPublisher().publish(_request(pds, account, "Who ate the last biscuit?", "Asking for a friend.",
                                                  key="scene-1"))
    answer = BlueskyPublisher().publish(_request(pds, other, "Not me.", key="scene-2", reply_to=opening.refs[-1]))
    [ref] = answer.refs
    assert ref.id.startswith(f"at://{other.did}/")
    reply = _records(pds, other)[ref.id.rsplit("/", 1)[-1]].value.reply
    assert reply.parent.uri == opening.refs[-1].id
    assert reply.parent.cid == opening.refs[-1].extra["cid"]
    assert reply.root.uri == opening.refs[0].id
    assert reply.root.cid == opening.refs[0].extra["cid"]
    assert ref.extra["root_uri"] == opening.refs[0].id  # a later reply to this one keeps the same root


def test_300_graphemes_pass_and_301_are_refused_before_sending(pds, account):
    family = "👩‍👩‍👧"  # one grapheme, five code points
    assert grapheme_count(family * 300) == 300
    BlueskyPublisher().publish(_request(pds, account, "ab " * 100, key="ok-300"))
    with pytest.raises(PublishError) as caught:
        BlueskyPublisher().publish(_request(pds, account, "fine", "x" * 301, key="too-long"))
    assert not caught.value.retryable
    assert "301" in caught.value.message
    assert "Part 2" in caught.value.message
    assert len(_records(pds, account)) == 1  # nothing of the refused thread went out


def test_non_images_and_oversized_images_are_refused_before_sending(pds, account):
    pdf = PartContent("x", image=b"%PDF-1.4", image_mime="application/pdf")
    with pytest.raises(PublishError, match="not an image"):
        BlueskyPublisher().publish(_request(pds, account, pdf))
    huge = PartContent("x", image=b"0" * 1_000_001, image_mime="image/png")
    with pytest.raises(PublishError, match="1,000,000"):
        BlueskyPublisher().publish(_request(pds, account, huge))
    assert _records(pds, account) == {}


def test_publishing_the_same_delivery_twice_writes_each_part_once(pds, account):
    request = _request(pds, account, "Exactly once", "even for threads")
    first = BlueskyPublisher().publish(request)
    again = BlueskyPublisher().publish(request)
    assert again == first
    assert len(_records(pds, account)) == 2
    assert set(_records(pds, account)) == {record_key("delivery-1", 0), record_key("delivery-1", 1)}


def _look_up(publisher, request):
    now = datetime.now(UTC)
    return publisher.look_up(request, since=now, now=now)


def test_a_look_up_finds_complete_deliveries_and_a_resend_resumes_a_partial_one(pds, account):
    publisher = BlueskyPublisher()
    request = _request(pds, account, "part one", "part two", key="partial")
    nothing = _look_up(publisher, request)
    assert isinstance(nothing, SafeToResend)
    assert "part 1 of 2" in nothing.reason
    publisher.publish(_request(pds, account, "part one", key="partial"))  # as if it stopped after part one
    partial = _look_up(publisher, request)
    assert isinstance(partial, SafeToResend)
    assert "part 2 of 2" in partial.reason
    outcome = publisher.publish(request)
    assert _look_up(publisher, request) == Found(outcome)
    assert len(_records(pds, account)) == 2


class _TimeoutOnCreate(httpx.HTTPTransport):
    """A transport that loses the answer to createRecord: after sending it, or before the request leaves."""

    def __init__(self, *, deliver: bool) -> None:
        super().__init__()
        self.deliver = deliver

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("com.atproto.repo.createRecord"):
            if self.deliver:
                super().handle_request(request).read()
            raise httpx.ReadTimeout("timed out waiting for the answer", request=request)
        return super().handle_request(request)


def _client_factory(deliver: bool):
    # The test's own transport stands in for the policy's one, which would only pass 127.0.0.1 through.
    return lambda url, timeout, transport: Client(base_url=url,
                                                  request=Request(transport=_TimeoutOnCreate(deliver=deliver)))


def test_a_lost_answer_is_recovered_by_finding_the_record_under_its_derived_key(pds, account):
    outcome = BlueskyPublisher(client_factory=_client_factory(deliver=True)).publish(
        _request(pds, account, "The answer got lost"))
    assert len(_records(pds, account)) == 1
    assert _look_up(BlueskyPublisher(), _request(pds, account, "The answer got lost")) == Found(outcome)


def test_a_timeout_with_nothing_on_the_network_is_an_unknown_outcome(pds, account):
    request = _request(pds, account, "Did it go?")
    with pytest.raises(OutcomeUnknown):
        BlueskyPublisher(client_factory=_client_factory(deliver=False)).publish(request)
    assert isinstance(_look_up(BlueskyPublisher(), request), SafeToResend)
    BlueskyPublisher().publish(request)  # the resend the scheduler then makes
    assert len(_records(pds, account)) == 1


def test_a_wrong_app_password_is_a_permanent_error(pds, account):
    request = PublishRequest(idempotency_key="k", parts=[PartContent("hi")],
                             settings={"service_url": pds.url, "handle": account.handle},
                             secrets={"app_password": "wrong-wrong-wrong-wrong"})
    with pytest.raises(PublishError) as caught:
        BlueskyPublisher().publish(request)
    assert not caught.value.retryable


def test_nothing_listening_is_retryable(account):
    from tests.services.ports import free_port

    request = PublishRequest(idempotency_key="k", parts=[PartContent("hi")],
                             settings={"service_url": f"http://127.0.0.1:{free_port()}", "handle": account.handle},
                             secrets={"app_password": account.app_password})
    with pytest.raises(PublishError) as caught:
        BlueskyPublisher(timeout=2).publish(request)
    assert caught.value.retryable


def test_check_connection_logs_in_and_names_the_account(pds, account):
    message = BlueskyPublisher().check_connection({"service_url": pds.url, "handle": account.handle},
                                                  {"app_password": account.app_password})
    assert message == f"Logged in as @{account.handle} ({account.did})"


# --- one session per channel ----------------------------------------------------------------------------------


class _Counting(httpx.BaseTransport):
    """Counts the XRPC methods called, then hands each request to the policy's transport."""

    def __init__(self, inner: httpx.BaseTransport, calls: Counter) -> None:
        self.inner = inner
        self.calls = calls
        self.lock = threading.Lock()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        with self.lock:
            self.calls[request.url.path.rsplit("/", 1)[-1]] += 1
        return self.inner.handle_request(request)


def _counting_publisher(calls: Counter) -> BlueskyPublisher:
    return BlueskyPublisher(client_factory=lambda url, timeout, transport: Client(
        base_url=url, request=Request(timeout=timeout, transport=_Counting(transport, calls), trust_env=False)))


class _Store:
    """A channel's saved session, as the scheduler keeps it in the channel row."""

    def __init__(self) -> None:
        self.saved: dict | None = None
        self.saves = 0

    def slot(self) -> SessionSlot:
        return SessionSlot(channel_id=7, saved=self.saved, save=self._save)

    def _save(self, session: dict) -> None:
        self.saved = session
        self.saves += 1


def _with_slot(request: PublishRequest, store: _Store) -> PublishRequest:
    return PublishRequest(idempotency_key=request.idempotency_key, parts=request.parts, settings=request.settings,
                          secrets=request.secrets, session=store.slot())


def _reforged(session_string: str, *, exp: int) -> str:
    """Return the session with its access token's expiry changed (the signature no longer matches)."""
    handle, did, access, refresh, endpoint = session_string.split(":::")
    header, payload, _signature = access.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims["exp"] = exp
    forged = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    return ":::".join([handle, did, f"{header}.{forged}.bm90LXNpZ25lZA", refresh, endpoint])


def test_many_deliveries_look_ups_and_checks_on_one_channel_log_in_once(pds, account):
    calls: Counter = Counter()
    store = _Store()
    publisher = _counting_publisher(calls)
    requests = [_with_slot(_request(pds, account, f"Post {n}", key=f"many-{n}"), store) for n in range(8)]
    threads = [threading.Thread(target=publisher.publish, args=(request,)) for request in requests]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert all(isinstance(_look_up(publisher, request), Found) for request in requests)
    publisher.check_connection(requests[0].settings, requests[0].secrets, store.slot())

    assert calls["com.atproto.server.createSession"] == 1
    assert calls["com.atproto.repo.createRecord"] == 8
    assert len(_records(pds, account)) == 8
    assert store.saves == 1
    assert store.saved is not None
    assert store.saved["session"].split(":::")[1] == account.did


def test_a_restarted_process_reuses_the_saved_session(pds, account):
    store = _Store()
    _counting_publisher(Counter()).publish(_with_slot(_request(pds, account, "Before the restart", key="r-1"), store))
    calls: Counter = Counter()
    restarted = _counting_publisher(calls)  # a new process: nothing in memory, the session from the channel row
    restarted.publish(_with_slot(_request(pds, account, "After the restart", key="r-2"), store))
    message = restarted.check_connection({"service_url": pds.url, "handle": account.handle},
                                         {"app_password": account.app_password}, store.slot())
    assert message == f"Logged in as @{account.handle} ({account.did})"
    assert calls["com.atproto.server.createSession"] == 0
    assert store.saves == 1


def test_a_session_saved_for_other_credentials_is_not_used(pds, account):
    store = _Store()
    _counting_publisher(Counter()).publish(_with_slot(_request(pds, account, "Mine", key="o-1"), store))
    other = pds.create_account(f"other{next(_names)}")
    calls: Counter = Counter()
    _counting_publisher(calls).publish(_with_slot(_request(pds, other, "Theirs", key="o-2"), store))
    assert calls["com.atproto.server.createSession"] == 1
    assert len(_records(pds, other)) == 1


def test_an_expired_access_token_is_refreshed_without_logging_in(pds, account):
    store = _Store()
    _counting_publisher(Counter()).publish(_with_slot(_request(pds, account, "First", key="e-1"), store))
    assert store.saved is not None
    store.saved = {**store.saved, "session": _reforged(store.saved["session"], exp=int(time.time()) - 60)}
    calls: Counter = Counter()
    _counting_publisher(calls).publish(_with_slot(_request(pds, account, "Second", key="e-2"), store))
    assert calls["com.atproto.server.refreshSession"] == 1
    assert calls["com.atproto.server.createSession"] == 0
    assert store.saves == 2  # the refreshed session is saved for the next process
    assert len(_records(pds, account)) == 2


def test_a_session_the_server_refuses_is_refreshed_then_logged_in_again(pds, account):
    store = _Store()
    _counting_publisher(Counter()).publish(_with_slot(_request(pds, account, "First", key="x-1"), store))
    assert store.saved is not None
    # Looks valid to the client for an hour, but the server refuses the signature: refresh, then call again.
    store.saved = {**store.saved, "session": _reforged(store.saved["session"], exp=int(time.time()) + 3600)}
    calls: Counter = Counter()
    _counting_publisher(calls).publish(_with_slot(_request(pds, account, "Second", key="x-2"), store))
    assert (calls["com.atproto.server.refreshSession"], calls["com.atproto.server.createSession"]) == (1, 0)

    # A refresh token the server refuses too (revoked): only then log in again with the app password.
    handle, did, access, _refresh, endpoint = _reforged(store.saved["session"], exp=int(time.time()) + 3600).split(
        ":::")
    store.saved = {**store.saved, "session": ":::".join([handle, did, access, access, endpoint])}
    calls.clear()
    _counting_publisher(calls).publish(_with_slot(_request(pds, account, "Third", key="x-3"), store))
    assert (calls["com.atproto.server.refreshSession"], calls["com.atproto.server.createSession"]) == (1, 1)
    assert len(_records(pds, account)) == 3
