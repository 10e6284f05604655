"""Every publisher, and its connection test, refuses a private target before a credential leaves the machine."""

import socket
from collections.abc import Iterator

import pytest

from characters.publishing.addresses import ALLOW_SETTING
from scheduler.publishers.base import OutcomeUnknown, PartContent, Publisher, PublishError, PublishRequest
from scheduler.publishers.bluesky import BlueskyPublisher
from scheduler.publishers.mastodon import MastodonPublisher
from scheduler.publishers.webhook import WebhookPublisher


@pytest.fixture
def listener() -> Iterator[socket.socket]:
    """A socket on 127.0.0.1 that never answers: any connection attempt shows up as one to accept."""
    with socket.create_server(("127.0.0.1", 0)) as server:
        server.setblocking(False)
        yield server


def _loopback_dns(host: str, port: int) -> list[str]:
    """Fake DNS: every name is on this machine (no test reaches the internet)."""
    return ["127.0.0.1"]


def _nothing_connected(server: socket.socket) -> bool:
    try:
        connection, _ = server.accept()
    except BlockingIOError:
        return True
    connection.close()
    return False


def _publishers(allow: bool) -> dict[str, tuple[Publisher, dict[str, str], dict[str, str]]]:
    """Each kind's publisher, its URL setting and its credential."""
    return {
        "bluesky": (BlueskyPublisher(timeout=1, allow_private_addresses=allow, resolver=_loopback_dns),
                    {"handle": "pip.example.org"}, {"app_password": "app-pass-word"}),
        "mastodon": (MastodonPublisher(timeout=1, allow_private_addresses=allow, resolver=_loopback_dns),
                     {}, {"access_token": "token-0123456789"}),
        "webhook": (WebhookPublisher(timeout=1, allow_private_targets=allow, resolver=_loopback_dns),
                    {}, {"signing_secret": "whsec_test"}),
    }


URL_SETTING = {"bluesky": "service_url", "mastodon": "api_base_url", "webhook": "url"}


@pytest.mark.parametrize("kind", ["bluesky", "mastodon", "webhook"])
@pytest.mark.parametrize("host", ["127.0.0.1", "localhost", "2130706433", "social.example"])
@pytest.mark.parametrize("action", ["check_connection", "publish"])
def test_a_private_target_is_refused_before_anything_is_sent(kind, host, action, listener):
    publisher, settings, secrets = _publishers(allow=False)[kind]
    settings = {**settings, URL_SETTING[kind]: f"http://{host}:{listener.getsockname()[1]}"}
    request = PublishRequest(idempotency_key="k", parts=[PartContent("hi")], settings=settings, secrets=secrets)
    call = getattr(publisher, action)
    with pytest.raises(PublishError) as caught:
        call(request) if action == "publish" else call(settings, secrets)
    assert not caught.value.retryable
    assert ALLOW_SETTING in caught.value.message
    assert _nothing_connected(listener)


# "social.example" resolves only through the publisher's own (fake) resolver: reaching the listener at all proves the
# connection went to the checked address, not to a second DNS answer (the system resolver does not know the name).
@pytest.mark.parametrize("kind", ["bluesky", "mastodon", "webhook"])
def test_an_allowed_private_target_is_reached_at_the_address_that_was_checked(kind, listener):
    publisher, settings, secrets = _publishers(allow=True)[kind]
    settings = {**settings, URL_SETTING[kind]: f"http://social.example:{listener.getsockname()[1]}"}
    with pytest.raises((PublishError, OutcomeUnknown)):
        publisher.check_connection(settings, secrets)  # the listener never answers: a timeout
    assert not _nothing_connected(listener)
