"""The channels pages: owners add, test, disable and remove; everyone else only looks; secrets never come back."""

import re

import pytest
from sqlmodel import select

from characters.core.models import AuditEvent, Channel, ChannelKind, Role
from characters.publishing.secrets import SecretBox
from tests.factories import CHANNEL_KEY as KEY
from tests.factories import DEFAULT_PASSWORD, make_character, workspace_with_roles

pytestmark = pytest.mark.usefixtures("channel_key")

APP_PASSWORD = "abcd-efgh-ijkl-mnop"
TOKEN = "mastodon-token-0123456789"


@pytest.fixture
def world(session):
    people = workspace_with_roles(session)
    people["character"] = make_character(session, people["workspace"], people["owner"], "Pip Test")
    return people


def _page(world) -> str:
    return f"/w/fans/channels/{world['character'].slug}/"


def _add(client, world, kind, **fields):
    return client.post(_page(world) + f"add/{kind}", data={f"{kind}-{name}": value for name, value in fields.items()})


def _channels(session, kind=None):
    session.rollback()  # end the test's own read transaction to see what the app committed
    query = select(Channel)
    if kind:
        query = query.where(Channel.kind == kind)
    return list(session.exec(query))


def test_an_owner_adds_a_bluesky_channel_and_the_password_is_never_shown(client, auth, session, world):
    auth.login("owner@fans.example", DEFAULT_PASSWORD)
    response = _add(client, world, "bluesky", handle="pip.bsky.social", app_password=APP_PASSWORD,
                    service_url="https://bsky.social")
    assert response.status_code == 302
    page = client.get(_page(world))
    assert b"@pip.bsky.social on https://bsky.social" in page.data
    assert APP_PASSWORD.encode() not in page.data
    [channel] = _channels(session, ChannelKind.BLUESKY)
    assert SecretBox(KEY).decrypt(channel.secret_token) == {"app_password": APP_PASSWORD}


def test_a_mastodon_channel(client, auth, session, world):
    auth.login("owner@fans.example", DEFAULT_PASSWORD)
    assert _add(client, world, "mastodon", api_base_url="https://mastodon.example", access_token=TOKEN,
                label="Pip on Masto").status_code == 302
    page = client.get(_page(world))
    assert b"Pip on Masto" in page.data
    assert TOKEN.encode() not in page.data


def test_a_webhook_signing_secret_is_shown_once(client, auth, session, world):
    auth.login("owner@fans.example", DEFAULT_PASSWORD)
    response = _add(client, world, "webhook", url="https://hooks.example.org/in")
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    secret = re.search(rb'value="(whsec_[^"]+)"', response.data).group(1).decode()
    [channel] = _channels(session, ChannelKind.WEBHOOK)
    assert SecretBox(KEY).decrypt(channel.secret_token) == {"signing_secret": secret}
    assert secret.encode() not in client.get(_page(world)).data


def test_invalid_input_is_shown_on_the_form_and_nothing_is_saved(client, auth, session, world):
    auth.login("owner@fans.example", DEFAULT_PASSWORD)
    response = _add(client, world, "bluesky", handle="not a handle", app_password=APP_PASSWORD,
                    service_url="https://bsky.social")
    assert response.status_code == 400
    assert b"A handle looks like" in response.data
    assert APP_PASSWORD.encode() not in response.data  # a password field is never filled back in
    assert _channels(session, ChannelKind.BLUESKY) == []
    response = _add(client, world, "webhook", url="ftp://files.example.org")
    assert response.status_code == 400
    assert b"https://" in response.data


def test_a_private_instance_address_is_refused_on_its_field_before_the_token_is_stored(client, auth, session, world):
    auth.login("owner@fans.example", DEFAULT_PASSWORD)
    response = _add(client, world, "mastodon", api_base_url="http://127.0.0.1:3000", access_token=TOKEN)
    assert response.status_code == 400
    assert b"OUTBOUND_ALLOW_PRIVATE_ADDRESSES" in response.data
    assert TOKEN.encode() not in response.data
    assert _channels(session, ChannelKind.MASTODON) == []


def test_a_missing_key_is_explained_instead_of_crashing(client, auth, session, world, monkeypatch, app):
    auth.login("owner@fans.example", DEFAULT_PASSWORD)
    settings = app.extensions["greenroom.settings"]
    monkeypatch.setattr(settings, "channel_secrets_key", "")
    response = _add(client, world, "mastodon", api_base_url="https://mastodon.example", access_token=TOKEN)
    assert response.status_code == 503
    assert b"CHANNEL_SECRETS_KEY is not set" in response.data
    assert TOKEN.encode() not in response.data


def test_test_connection_asks_the_scheduler_and_the_page_polls_until_it_answers(client, auth, session, world):
    auth.login("owner@fans.example", DEFAULT_PASSWORD)
    _add(client, world, "bluesky", handle="pip.bsky.social", app_password=APP_PASSWORD,
         service_url="https://bsky.social")
    [channel] = _channels(session, ChannelKind.BLUESKY)
    assert client.post(f"/w/fans/channels/{channel.id}/check").status_code == 302
    page = client.get(_page(world))
    assert b"Checking\xe2\x80\xa6" in page.data
    assert page.headers["Refresh"] == "3"
    [channel] = _channels(session, ChannelKind.BLUESKY)
    assert channel.check_requested_at is not None
    # The scheduler process reports back (it owns the publishers; the web app never runs them).
    channel.check_requested_at = None
    channel.last_checked_at = channel.created_at
    channel.last_check_ok, channel.last_check_message = False, "Could not log in to Bluesky: Invalid identifier"
    session.add(channel)
    session.commit()
    page = client.get(_page(world))
    assert "Refresh" not in page.headers
    assert b"Failed" in page.data
    assert b"Invalid identifier" in page.data


def test_disable_enable_and_remove(client, auth, session, world):
    auth.login("owner@fans.example", DEFAULT_PASSWORD)
    _add(client, world, "mastodon", api_base_url="https://mastodon.example", access_token=TOKEN)
    [channel] = _channels(session, ChannelKind.MASTODON)
    client.post(f"/w/fans/channels/{channel.id}/disable")
    assert _channels(session, ChannelKind.MASTODON)[0].disabled_at is not None
    assert b"Disabled since" in client.get(_page(world)).data
    client.post(f"/w/fans/channels/{channel.id}/enable")
    assert _channels(session, ChannelKind.MASTODON)[0].disabled_at is None
    client.post(f"/w/fans/channels/{channel.id}/remove")
    assert _channels(session, ChannelKind.MASTODON) == []
    audited = [(e.action, e.details["kind"]) for e in session.exec(select(AuditEvent).order_by(AuditEvent.id))
               if e.action.startswith("channel_")]
    assert audited == [("channel_add", "mastodon"), ("channel_disable", "mastodon"), ("channel_enable", "mastodon"),
                       ("channel_remove", "mastodon")]


def test_the_feed_cannot_be_removed_from_the_page(client, auth, session, world):
    auth.login("owner@fans.example", DEFAULT_PASSWORD)
    client.get(_page(world))
    [feed] = _channels(session, ChannelKind.FEED)
    response = client.post(f"/w/fans/channels/{feed.id}/remove", follow_redirects=True)
    assert b"cannot be removed" in response.data
    assert _channels(session, ChannelKind.FEED)


@pytest.mark.parametrize("role", [Role.EDITOR, Role.WRITER, Role.VIEWER])
def test_other_roles_see_the_list_without_secrets_or_actions(client, auth, session, world, role):
    auth.login("owner@fans.example", DEFAULT_PASSWORD)
    _add(client, world, "bluesky", handle="pip.bsky.social", app_password=APP_PASSWORD,
         service_url="https://bsky.social")
    [channel] = _channels(session, ChannelKind.BLUESKY)
    auth.logout()
    auth.login(f"{role.value}@fans.example", DEFAULT_PASSWORD)
    page = client.get(_page(world))
    assert page.status_code == 200
    assert b"@pip.bsky.social" in page.data
    assert APP_PASSWORD.encode() not in page.data
    assert b"Test connection" not in page.data
    assert b"Add a channel" not in page.data
    assert client.get("/w/fans/channels/").status_code == 200
    for action in ("check", "disable", "remove"):
        assert client.post(f"/w/fans/channels/{channel.id}/{action}").status_code == 403
    assert _add(client, world, "webhook", url="https://hooks.example.org/in").status_code == 403
    assert len(_channels(session)) == 2
    assert _channels(session, ChannelKind.BLUESKY)[0].check_requested_at is None


def test_no_secret_appears_in_any_response(client, auth, session, world):
    auth.login("owner@fans.example", DEFAULT_PASSWORD)
    responses = [
        _add(client, world, "bluesky", handle="pip.bsky.social", app_password=APP_PASSWORD,
             service_url="https://bsky.social"),
        _add(client, world, "mastodon", api_base_url="https://mastodon.example", access_token=TOKEN),
        _add(client, world, "bluesky", handle="bad handle", app_password=APP_PASSWORD, service_url="x"),
        client.get(_page(world)), client.get("/w/fans/channels/"),
        client.get(f"/feeds/fans/{world['character'].slug}.atom"),
        client.get(f"/feeds/fans/{world['character'].slug}.json"),
    ]
    tokens = [c.secret_token for c in _channels(session) if c.secret_token]
    for response in responses:
        for secret in (APP_PASSWORD, TOKEN, *tokens):
            assert secret.encode() not in response.data


def test_the_index_lists_characters_with_their_feed_links(client, auth, world):
    auth.login("viewer@fans.example", DEFAULT_PASSWORD)
    page = client.get("/w/fans/channels/")
    slug = world["character"].slug.encode()
    assert b"Pip Test" in page.data
    assert b"/feeds/fans/" + slug + b".atom" in page.data
    assert b"/feeds/fans/" + slug + b".json" in page.data


def test_an_owner_of_another_workspace_gets_404_for_everything_here(client, auth, session, world):
    from tests.factories import make_user, make_workspace

    # The intruder exists first: the test's session keeps its read snapshot while the web requests write.
    make_workspace(session, make_user(session, "intruder@else.example"), "elsewhere")
    auth.login("owner@fans.example", DEFAULT_PASSWORD)
    _add(client, world, "mastodon", api_base_url="https://mastodon.example", access_token=TOKEN)
    [channel] = _channels(session, ChannelKind.MASTODON)
    auth.logout()
    auth.login("intruder@else.example", DEFAULT_PASSWORD)
    assert client.get(_page(world)).status_code == 404
    assert client.get(f"/w/elsewhere/channels/{world['character'].slug}/").status_code == 404
    for action in ("check", "disable", "remove"):
        assert client.post(f"/w/fans/channels/{channel.id}/{action}").status_code == 404
        assert client.post(f"/w/elsewhere/channels/{channel.id}/{action}").status_code == 404
    assert client.post(f"/w/elsewhere/channels/{world['character'].slug}/add/webhook",
                       data={"webhook-url": "https://hooks.example.org"}).status_code == 404
    [unchanged] = _channels(session, ChannelKind.MASTODON)
    assert unchanged.disabled_at is None
    assert unchanged.check_requested_at is None
