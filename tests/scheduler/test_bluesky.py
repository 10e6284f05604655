"""The Bluesky publisher against a real PDS from npm (@atproto/pds with an in-memory PLC), checked with list_records."""

import io
import itertools
import re

import httpx
import pytest
from atproto import Client
from atproto_client.request import Request
from PIL import Image

from characters.core.platforms import grapheme_count
from scheduler.publishers.base import OutcomeUnknown, PartContent, PublishError, PublishRequest
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


def test_find_published_sees_complete_deliveries_only_and_publish_resumes_a_partial_one(pds, account):
    publisher = BlueskyPublisher()
    request = _request(pds, account, "part one", "part two", key="partial")
    assert publisher.find_published(request) is None
    publisher.publish(_request(pds, account, "part one", key="partial"))  # as if it stopped after part one
    assert publisher.find_published(request) is None
    outcome = publisher.publish(request)
    assert publisher.find_published(request) == outcome
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
    assert BlueskyPublisher().find_published(_request(pds, account, "The answer got lost")) == outcome


def test_a_timeout_with_nothing_on_the_network_is_an_unknown_outcome(pds, account):
    request = _request(pds, account, "Did it go?")
    with pytest.raises(OutcomeUnknown):
        BlueskyPublisher(client_factory=_client_factory(deliver=False)).publish(request)
    assert BlueskyPublisher().find_published(request) is None
    BlueskyPublisher().publish(request)  # the retry the scheduler may then decide on
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
