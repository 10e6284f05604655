"""The Mastodon publisher against mastodon-mock, a stateful Mastodon API server run as its own process."""

import io
import time
from datetime import UTC, datetime, timedelta

import pytest
from PIL import Image

from scheduler.publishers.base import (
    CannotTell,
    Found,
    OutcomeUnknown,
    PartContent,
    PublishError,
    PublishRequest,
    SafeToResend,
)
from scheduler.publishers.mastodon import IDEMPOTENCY_WINDOW, MastodonPublisher
from tests.services.mastodon import SEEDED_TOKEN, running_mastodon

# The test servers listen on 127.0.0.1, which the outbound-address policy refuses by default.
pytestmark = pytest.mark.usefixtures("private_addresses_allowed")


@pytest.fixture(scope="session")
def mastodon_server(tmp_path_factory):
    with running_mastodon(tmp_path_factory.mktemp("mastodon")) as server:
        yield server


@pytest.fixture
def server(mastodon_server):
    mastodon_server.reset()
    return mastodon_server


def _png() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (8, 6), (200, 40, 90)).save(buffer, format="PNG")
    return buffer.getvalue()


def _request(server, *texts: str, key: str = "delivery-1", token: str = SEEDED_TOKEN, **extra) -> PublishRequest:
    return PublishRequest(idempotency_key=key, parts=[PartContent(text) for text in texts],
                          settings={"api_base_url": server.url}, secrets={"access_token": token}, **extra)


def _own_statuses(server):
    client = server.client()
    return client.account_statuses(client.account_verify_credentials()["id"], limit=40)


def test_publishes_a_status(server):
    outcome = MastodonPublisher().publish(_request(server, "Morning from the greenroom! https://example.org/a"))
    [ref] = outcome.refs
    status = server.client().status(ref.id)
    assert "Morning from the greenroom!" in status["content"]
    assert ref.url == status["url"]
    assert ref.extra["instance"] == server.url


def test_media_carries_its_alt_text(server):
    request = PublishRequest(idempotency_key="img", settings={"api_base_url": server.url},
                             secrets={"access_token": SEEDED_TOKEN},
                             parts=[PartContent("A sketch", image=_png(), image_mime="image/png",
                                                image_alt="A pink rectangle, drawn in a hurry")])
    [ref] = MastodonPublisher().publish(request).refs
    [attachment] = server.client().status(ref.id)["media_attachments"]
    assert attachment["type"] == "image"
    assert attachment["description"] == "A pink rectangle, drawn in a hurry"


def test_a_thread_is_a_chain_of_replies(server):
    outcome = MastodonPublisher().publish(_request(server, "1/3 once upon a time", "2/3 there was", "3/3 the end"))
    client = server.client()
    statuses = [client.status(ref.id) for ref in outcome.refs]
    assert statuses[0]["in_reply_to_id"] is None
    assert statuses[1]["in_reply_to_id"] == statuses[0]["id"]
    assert statuses[2]["in_reply_to_id"] == statuses[1]["id"]


def test_a_reply_to_another_post_on_the_same_instance(server):
    first = MastodonPublisher().publish(_request(server, "Opening line", key="scene-1"))
    reply = MastodonPublisher().publish(_request(server, "A reply", key="scene-2", reply_to=first.refs[-1]))
    assert server.client().status(reply.refs[0].id)["in_reply_to_id"] == first.refs[0].id


def test_the_same_idempotency_key_twice_gives_one_status(server):
    publisher = MastodonPublisher()
    first = publisher.publish(_request(server, "Only once, please", "and its second part"))
    again = publisher.publish(_request(server, "Only once, please", "and its second part"))
    assert [ref.id for ref in first.refs] == [ref.id for ref in again.refs]
    assert len(_own_statuses(server)) == 2


NOW = datetime.now(UTC)


def _look_up(publisher, request, sent_ago: timedelta = timedelta(minutes=1)):
    return publisher.look_up(request, since=NOW - sent_ago, now=NOW)


def test_a_look_up_finds_an_earlier_attempt(server):
    publisher = MastodonPublisher()
    request = _request(server, "Part one of two", "Part two of two")
    outcome = publisher.publish(request)
    found = _look_up(publisher, request)
    assert isinstance(found, Found)
    assert [ref.id for ref in found.outcome.refs] == [ref.id for ref in outcome.refs]


def test_a_resend_is_safe_only_while_the_idempotency_key_holds(server):
    publisher = MastodonPublisher()
    never_posted = _request(server, "Something never posted", key="other")
    assert isinstance(_look_up(publisher, never_posted), SafeToResend)
    late = _look_up(publisher, never_posted, sent_ago=IDEMPOTENCY_WINDOW - timedelta(minutes=10))
    assert isinstance(late, CannotTell)
    assert "Idempotency-Key" in late.reason


def test_a_look_up_that_cannot_ask_resends_inside_the_window_and_fails_outside_it():
    from tests.services.ports import free_port

    down = PublishRequest(idempotency_key="k", parts=[PartContent("hi")],
                          settings={"api_base_url": f"http://127.0.0.1:{free_port()}"},
                          secrets={"access_token": SEEDED_TOKEN})
    publisher = MastodonPublisher(timeout=2)
    assert isinstance(_look_up(publisher, down), SafeToResend)  # the key makes the resend safe without asking
    with pytest.raises(PublishError) as caught:  # never taken as absence
        _look_up(publisher, down, sent_ago=timedelta(hours=2))
    assert caught.value.retryable


def test_a_bad_token_is_a_permanent_error(server):
    with pytest.raises(PublishError) as caught:
        MastodonPublisher().publish(_request(server, "hello", token="not-a-token"))
    assert not caught.value.retryable
    assert "401" in caught.value.message


def test_too_long_is_a_permanent_error(server):
    with pytest.raises(PublishError) as caught:
        MastodonPublisher().publish(_request(server, "x" * 501))
    assert not caught.value.retryable
    assert "422" in caught.value.message


@pytest.mark.parametrize("status", [403, 404, 422])
def test_refusals_are_permanent(server, status):
    server.add_fault(match={"methods": ["POST"], "path": "/api/v1/statuses"},
                     effect={"type": "status", "status": status})
    with pytest.raises(PublishError) as caught:
        MastodonPublisher().publish(_request(server, "hello"))
    assert not caught.value.retryable


def test_rate_limiting_is_retryable_after_the_servers_delay(server):
    server.add_fault(match={"path": "/api/v1/statuses"}, effect={"type": "ratelimit", "headers": {"Retry-After": "90"}})
    with pytest.raises(PublishError) as caught:
        MastodonPublisher().publish(_request(server, "hello"))
    assert caught.value.retryable
    assert caught.value.retry_after == 90


@pytest.mark.parametrize("status", [500, 502, 503])
def test_server_errors_are_retryable(server, status):
    server.add_fault(match={"path": "/api/v1/statuses"}, effect={"type": "status", "status": status}, count=1)
    with pytest.raises(PublishError) as caught:
        MastodonPublisher().publish(_request(server, "hello"))
    assert caught.value.retryable


def test_nothing_listening_is_retryable():
    from tests.services.ports import free_port

    request = PublishRequest(idempotency_key="k", parts=[PartContent("hi")],
                             settings={"api_base_url": f"http://127.0.0.1:{free_port()}"},
                             secrets={"access_token": SEEDED_TOKEN})
    with pytest.raises(PublishError) as caught:
        MastodonPublisher(timeout=2).publish(request)
    assert caught.value.retryable


def test_a_timeout_after_sending_is_an_unknown_outcome_and_a_resend_never_duplicates(server):
    # The server holds the request longer than the client waits: the client cannot know what happened.
    server.add_fault(match={"methods": ["POST"], "path": "/api/v1/statuses"},
                     effect={"type": "latency", "delay_ms": 1500}, count=1)
    request = _request(server, "Slow network day")
    with pytest.raises(OutcomeUnknown):
        MastodonPublisher(timeout=0.5).publish(request)
    time.sleep(1.5)  # whatever the server does with the first request, it has done it now
    publisher = MastodonPublisher()
    outcome = publisher.publish(request)  # resent with the same Idempotency-Key
    assert _look_up(publisher, request) == Found(outcome)
    assert len(_own_statuses(server)) == 1


def test_check_connection_names_the_account(server):
    message = MastodonPublisher().check_connection({"api_base_url": server.url}, {"access_token": SEEDED_TOKEN})
    assert message.startswith("Logged in as @")
    assert "127.0.0.1" in message
    with pytest.raises(PublishError):
        MastodonPublisher().check_connection({"api_base_url": server.url}, {"access_token": "wrong"})

