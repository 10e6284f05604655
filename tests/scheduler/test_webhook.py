"""The webhook publisher against a local receiver that checks signatures; private targets are refused unless allowed."""

import json
import socket
import time

import pytest

from characters.publishing import addresses
from characters.publishing.addresses import ALLOW_SETTING
from scheduler.publishers.base import (
    OutcomeUnknown,
    PartContent,
    PublishError,
    PublishRequest,
    RemoteRef,
    retry_after_seconds,
)
from scheduler.publishers.webhook import WebhookPublisher, sign
from tests.services.webhook_receiver import running_receiver, verify_signature

SECRET = "whsec_test-secret"


@pytest.fixture
def receiver():
    with running_receiver(SECRET) as receiver:
        yield receiver


def _request(url: str, key: str = "delivery-1", **extra) -> PublishRequest:
    parts = [PartContent("First part with a link https://example.org/x"),
             PartContent("Second part", image=b"\x89PNG\r\n\x1a\nfake", image_mime="image/png", image_alt="A drawing")]
    return PublishRequest(idempotency_key=key, parts=parts, settings={"url": url}, secrets={"signing_secret": SECRET},
                          character_name="Walt Test", **extra)


def _local(**options) -> WebhookPublisher:
    """A publisher that may reach 127.0.0.1, as an operator with a local receiver would configure it."""
    return WebhookPublisher(allow_private_targets=True, timeout=options.pop("timeout", 5), **options)


def test_posts_signed_json_with_idempotency_key(receiver):
    outcome = _local().publish(_request(receiver.url, reply_to=RemoteRef(id="at://x", url="https://example.org/p")))
    assert outcome.refs[0].id == "delivery-1"
    [delivery] = receiver.deliveries
    assert delivery.signature_ok
    assert delivery.path == "/hooks/greenroom"
    assert delivery.headers["Idempotency-Key"] == "delivery-1"
    assert delivery.headers["Content-Type"] == "application/json"
    payload = delivery.json
    assert payload["type"] == "post"
    assert payload["character"] == "Walt Test"
    assert [part["text"] for part in payload["parts"]] == ["First part with a link https://example.org/x",
                                                           "Second part"]
    assert payload["parts"][1]["image"]["alt"] == "A drawing"
    assert payload["parts"][1]["image"]["mime_type"] == "image/png"
    assert payload["reply_to"] == {"id": "at://x", "url": "https://example.org/p"}


def test_the_documented_signature_scheme():
    body = b'{"type":"ping"}'
    header = sign("s3cret", 1_700_000_000, body)
    assert header.startswith("t=1700000000,v1=")
    assert verify_signature("s3cret", header, body, now=1_700_000_010)
    assert not verify_signature("other", header, body, now=1_700_000_010)
    assert not verify_signature("s3cret", header, body + b" ", now=1_700_000_010)
    assert not verify_signature("s3cret", header, body, now=1_700_000_000 + 3600)  # replayed an hour later


def test_a_resent_delivery_is_deduped_by_the_receiver(receiver):
    publisher = _local()
    publisher.publish(_request(receiver.url))
    publisher.publish(_request(receiver.url))
    assert len(receiver.deliveries) == 1


def test_a_wrong_secret_is_refused_by_the_receiver_and_is_permanent(receiver):
    request = _request(receiver.url)
    bad = PublishRequest(idempotency_key="k", parts=request.parts, settings=request.settings,
                         secrets={"signing_secret": "not-the-secret"})
    with pytest.raises(PublishError) as caught:
        _local().publish(bad)
    assert not caught.value.retryable
    assert "401" in caught.value.message


def test_server_errors_are_retryable_and_carry_retry_after(receiver):
    receiver.answer(503, {"Retry-After": "42"})
    with pytest.raises(PublishError) as caught:
        _local().publish(_request(receiver.url))
    assert caught.value.retryable
    assert caught.value.retry_after == 42
    receiver.answer(429, {"Retry-After": "7"})
    with pytest.raises(PublishError) as caught:
        _local().publish(_request(receiver.url, key="delivery-2"))
    assert caught.value.retryable
    assert caught.value.retry_after == 7


def test_client_errors_are_permanent(receiver):
    receiver.answer(410)
    with pytest.raises(PublishError) as caught:
        _local().publish(_request(receiver.url))
    assert not caught.value.retryable


def test_a_timeout_after_sending_is_an_unknown_outcome(receiver):
    receiver.answer(200, delay=1.5)
    with pytest.raises(OutcomeUnknown):
        _local(timeout=0.5).publish(_request(receiver.url))
    time.sleep(1.2)  # let the slow answer finish before the receiver stops
    assert len(receiver.deliveries) == 1  # it did arrive: only the receiver could tell


def test_nothing_listening_is_retryable():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # bound but not listening: connections are refused
        with pytest.raises(PublishError) as caught:
            _local().publish(_request(f"http://127.0.0.1:{port}/hook"))
    assert caught.value.retryable


@pytest.mark.parametrize("url", [
    "http://127.0.0.1:9/hook",  # loopback
    "http://localhost:9/hook",  # a name that resolves to loopback
    "http://[::1]:9/hook",
    "http://10.20.30.40/hook",  # private ranges are refused before any connection is attempted
    "http://192.168.1.10/hook",
    "http://172.16.5.5/hook",
    "http://169.254.169.254/latest/meta-data",  # link-local: cloud metadata
    "http://100.64.1.1/hook",  # shared address space
    "http://[::ffff:10.0.0.1]/hook",  # IPv4-mapped IPv6
    "http://0.0.0.0/hook",
])
def test_private_loopback_and_link_local_targets_are_refused_by_default(url, receiver):
    publisher = WebhookPublisher(allow_private_targets=False, timeout=2)
    with pytest.raises(PublishError) as caught:
        publisher.publish(_request(url))
    assert not caught.value.retryable
    assert ALLOW_SETTING in caught.value.message


def test_every_resolved_address_is_checked():
    publisher = WebhookPublisher(allow_private_targets=False, timeout=2,
                                 resolver=lambda host, port: ["93.184.215.14", "10.0.0.7"])
    with pytest.raises(PublishError, match="10.0.0.7"):
        publisher.publish(_request("https://hooks.example.org/in"))


def test_the_operator_allow_setting_reaches_local_receivers(receiver, monkeypatch):
    from characters.core.config import get_settings

    get_settings.cache_clear()
    monkeypatch.setenv("WEBHOOK_ALLOW_PRIVATE_TARGETS", "true")
    monkeypatch.setenv("WEBHOOK_TIMEOUT_SECONDS", "3")
    try:
        publisher = WebhookPublisher()
    finally:
        get_settings.cache_clear()
    assert publisher.allow_private_targets
    assert publisher.timeout == 3
    publisher.publish(_request(receiver.url))
    assert len(receiver.deliveries) == 1


def test_redirects_to_private_targets_are_not_followed(receiver, monkeypatch):
    # Pretend the local receiver is a public host; the private address it redirects to must still be refused.
    monkeypatch.setattr(addresses, "is_public_address", lambda address: str(address) == "127.0.0.1")
    receiver.answer_once(307, {"Location": "http://10.1.2.3/steal"})
    with pytest.raises(PublishError, match="10.1.2.3"):
        WebhookPublisher(allow_private_targets=False, timeout=2).publish(_request(receiver.url))
    assert receiver.deliveries == []


def test_a_307_is_followed_with_the_same_signed_body(receiver):
    receiver.answer_once(307, {"Location": receiver.url + "?moved=1"})
    _local().publish(_request(receiver.url))
    [delivery] = receiver.deliveries
    assert delivery.path == "/hooks/greenroom?moved=1"
    assert delivery.signature_ok


def test_other_redirects_are_not_followed(receiver):
    receiver.answer_once(302, {"Location": receiver.url + "?moved=1"})
    with pytest.raises(PublishError, match="302") as caught:
        _local().publish(_request(receiver.url))
    assert not caught.value.retryable
    assert receiver.deliveries == []


def test_redirect_loops_are_bounded(receiver):
    receiver.answer(307, {"Location": receiver.url})
    with pytest.raises(PublishError, match="redirected more than"):
        _local().publish(_request(receiver.url))


def test_check_connection_sends_a_signed_ping(receiver):
    message = _local().check_connection({"url": receiver.url}, {"signing_secret": SECRET})
    assert message == "127.0.0.1 answered the ping with HTTP 200"
    assert json.loads(receiver.deliveries[0].body) == {"type": "ping"}


def test_missing_url_or_secret_is_permanent():
    with pytest.raises(PublishError) as caught:
        _local().check_connection({}, {})
    assert not caught.value.retryable


def test_retry_after_accepts_seconds_and_http_dates():
    assert retry_after_seconds("120") == 120
    assert retry_after_seconds("Wed, 21 Oct 2015 07:28:00 GMT", now=1445412460) == 20
    assert retry_after_seconds("soon") is None
    assert retry_after_seconds(None) is None
