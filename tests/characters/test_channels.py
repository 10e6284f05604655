"""Channels in the domain: validation, owners-only changes, encrypted credentials, removal and the public feed query."""

from datetime import UTC, datetime, timedelta

import pytest
from pydantic import ValidationError
from sqlmodel import select

from characters.core.config import get_settings
from characters.core.errors import DomainError, NotFound, PermissionDenied
from characters.core.models import Channel, ChannelKind, Delivery, DeliveryStatus, Post, PostPart, PostStatus, Role
from characters.publishing.addresses import ALLOW_SETTING, is_public_address
from characters.publishing.channels import (
    BlueskyChannelCreate,
    MastodonChannelCreate,
    WebhookChannelCreate,
    check_pending,
    create_channel,
    feed_image,
    feed_items,
    get_channel,
    list_channels,
    parse_channel_create,
    public_feed_character,
    remove_channel,
    request_check,
    rotate_secrets,
    set_disabled,
)
from characters.publishing.secrets import SecretBox, generate_key
from tests.factories import make_character, member, workspace_with_roles

BOX = SecretBox(generate_key())


@pytest.fixture
def world(session):
    people = workspace_with_roles(session)
    people["character"] = make_character(session, people["workspace"], people["owner"], "Pip Test")
    people["as_owner"] = member(people["workspace"], people["owner"], Role.OWNER)
    return people


def _bluesky(**overrides) -> BlueskyChannelCreate:
    return BlueskyChannelCreate(**{"handle": "@Pip.bsky.social", "app_password": "abcd-efgh-ijkl-mnop", **overrides})


def test_a_bluesky_channel_keeps_settings_in_clear_and_the_password_encrypted(session, world):
    created = create_channel(session=session, member=world["as_owner"], character=world["character"],
                             channel_create=_bluesky(), box=BOX)
    session.commit()
    channel = session.get(Channel, created.channel.id)
    assert channel.kind == ChannelKind.BLUESKY
    assert channel.label == "@pip.bsky.social"
    assert channel.settings == {"service_url": "https://bsky.social", "handle": "pip.bsky.social"}
    assert "abcd" not in channel.secret_token
    assert "abcd" not in str(channel.settings)
    assert BOX.decrypt(channel.secret_token) == {"app_password": "abcd-efgh-ijkl-mnop"}
    assert created.signing_secret is None


def test_a_mastodon_channel(session, world):
    created = create_channel(session=session, member=world["as_owner"], character=world["character"], box=BOX,
                             channel_create=MastodonChannelCreate(api_base_url="https://mastodon.example/",
                                                                  access_token="tok-123456", label=" Pip on Masto "))
    assert created.channel.settings == {"api_base_url": "https://mastodon.example"}
    assert created.channel.label == "Pip on Masto"
    assert BOX.decrypt(created.channel.secret_token) == {"access_token": "tok-123456"}


def test_a_webhook_gets_a_generated_signing_secret_shown_once(session, world):
    created = create_channel(session=session, member=world["as_owner"], character=world["character"], box=BOX,
                             channel_create=WebhookChannelCreate(url="https://hooks.example.org/in"))
    assert created.signing_secret.startswith("whsec_")
    assert len(created.signing_secret) > 40
    assert BOX.decrypt(created.channel.secret_token) == {"signing_secret": created.signing_secret}
    assert created.signing_secret not in str(created.channel.settings)


@pytest.mark.parametrize(("data", "field"), [
    ({"kind": "bluesky", "handle": "not a handle", "app_password": "abcd-efgh"}, "handle"),
    ({"kind": "bluesky", "handle": "pip.bsky.social", "app_password": ""}, "app_password"),
    ({"kind": "bluesky", "handle": "pip.test", "app_password": "abcdefgh", "service_url": "ftp://x"}, "service_url"),
    ({"kind": "mastodon", "api_base_url": "mastodon.social", "access_token": "abcdefgh"}, "api_base_url"),
    ({"kind": "mastodon", "api_base_url": "https://u:p@mastodon.social", "access_token": "abcdefgh"},
     "api_base_url"),
    ({"kind": "webhook", "url": "javascript:alert(1)"}, "url"),
    ({"kind": "webhook", "url": "https://user:pw@hooks.example.org"}, "url"),
])
def test_invalid_input_is_refused_with_the_field_named(data, field):
    kind = data.pop("kind")
    with pytest.raises(ValidationError) as caught:
        parse_channel_create(kind, data)
    assert caught.value.errors()[0]["loc"] == (field,)


PRIVATE_TARGETS = [
    ("bluesky", "service_url", {"handle": "pip.bsky.social", "app_password": "abcdefgh"}),
    ("mastodon", "api_base_url", {"access_token": "abcdefgh"}),
    ("webhook", "url", {}),
]


@pytest.mark.parametrize(("kind", "field", "other_fields"), PRIVATE_TARGETS)
@pytest.mark.parametrize("address", ["http://127.0.0.1:2583", "https://localhost", "https://pds.localhost./",
                                     "http://2130706433", "http://0x7f.1", "http://[::1]:3000", "https://[fec0::1]",
                                     "https://[2002:7f00:1::1]", "http://169.254.169.254", "http://10.0.0.8:8080"])
def test_a_private_address_is_refused_on_its_field_when_the_channel_is_added(kind, field, other_fields, address):
    with pytest.raises(ValidationError) as caught:
        parse_channel_create(kind, {**other_fields, field: address})
    [error] = caught.value.errors()
    assert error["loc"] == (field,)
    assert ALLOW_SETTING in error["msg"]


@pytest.mark.parametrize(("kind", "field", "other_fields"), PRIVATE_TARGETS)
def test_the_operator_may_allow_private_addresses(kind, field, other_fields, monkeypatch):
    monkeypatch.setenv(ALLOW_SETTING, "true")
    get_settings.cache_clear()
    try:
        created = parse_channel_create(kind, {**other_fields, field: "http://127.0.0.1:2583"})
    finally:
        get_settings.cache_clear()
    assert getattr(created, field) == "http://127.0.0.1:2583"


def test_only_network_channels_can_be_added():
    with pytest.raises(DomainError, match="feed"):
        parse_channel_create("feed", {})
    assert parse_channel_create("webhook", {"url": "https://hooks.example.org", "label": None}).label == ""


def test_secrets_never_show_in_a_validation_model_repr():
    assert "abcd-efgh-ijkl-mnop" not in repr(_bluesky())


@pytest.mark.parametrize("role", [Role.EDITOR, Role.WRITER, Role.VIEWER])
def test_only_owners_manage_channels(session, world, role):
    someone = member(world["workspace"], world[role.value], role)
    with pytest.raises(PermissionDenied):
        create_channel(session=session, member=someone, character=world["character"], channel_create=_bluesky(),
                       box=BOX)
    channel = create_channel(session=session, member=world["as_owner"], character=world["character"],
                             channel_create=_bluesky(), box=BOX).channel
    for action in (lambda: set_disabled(session=session, member=someone, channel=channel, disabled=True),
                   lambda: remove_channel(session=session, member=someone, channel=channel),
                   lambda: request_check(session=session, member=someone, channel=channel)):
        with pytest.raises(PermissionDenied):
            action()


def test_another_workspace_cannot_reach_a_channel(session, world):
    other = workspace_with_roles(session, "others")
    intruder = member(other["workspace"], other["owner"], Role.OWNER)
    channel = create_channel(session=session, member=world["as_owner"], character=world["character"],
                             channel_create=_bluesky(), box=BOX).channel
    session.commit()
    with pytest.raises(NotFound):
        get_channel(session, intruder, channel.id)
    with pytest.raises(NotFound):
        create_channel(session=session, member=intruder, character=world["character"], channel_create=_bluesky(),
                       box=BOX)
    with pytest.raises(NotFound):
        remove_channel(session=session, member=intruder, channel=channel)


def test_list_has_the_feed_first_and_disabled_channels_too(session, world):
    owner = world["as_owner"]
    channel = create_channel(session=session, member=owner, character=world["character"], channel_create=_bluesky(),
                             box=BOX).channel
    set_disabled(session=session, member=owner, channel=channel, disabled=True)
    kinds = [(c.kind, c.disabled_at is not None) for c in list_channels(session, world["character"])]
    assert kinds == [(ChannelKind.FEED, False), (ChannelKind.BLUESKY, True)]
    set_disabled(session=session, member=owner, channel=channel, disabled=False)
    assert channel.disabled_at is None


def test_a_check_is_pending_until_the_scheduler_reports(session, world):
    channel = create_channel(session=session, member=world["as_owner"], character=world["character"],
                             channel_create=_bluesky(), box=BOX).channel
    assert not check_pending(channel)
    request_check(session=session, member=world["as_owner"], channel=channel)
    assert check_pending(channel)
    channel.last_checked_at = channel.check_requested_at + timedelta(seconds=1)
    assert not check_pending(channel)


def _queued_post(session, world, channel, status=DeliveryStatus.PENDING, published_at=None, text="Hello"):
    post = Post(workspace_id=world["workspace"].id, character_id=world["character"].id, status=PostStatus.APPROVED)
    session.add(post)
    session.flush()
    session.add(PostPart(post_id=post.id, position=0, text=text))
    target = Delivery(post_id=post.id, channel_id=channel.id, status=status, published_at=published_at)
    session.add(target)
    session.commit()
    return post, target


def test_removing_a_channel_leaves_its_queued_deliveries_without_a_channel(session, world):
    channel = create_channel(session=session, member=world["as_owner"], character=world["character"],
                             channel_create=_bluesky(), box=BOX).channel
    _post, target = _queued_post(session, world, channel)
    remove_channel(session=session, member=world["as_owner"], channel=channel)
    session.commit()
    session.expire_all()
    kept = session.get(Delivery, target.id)
    assert kept is not None
    assert kept.channel_id is None
    assert kept.status == DeliveryStatus.PENDING
    assert session.get(Channel, channel.id) is None


def test_the_feed_cannot_be_removed(session, world):
    feed = list_channels(session, world["character"])[0]
    with pytest.raises(DomainError, match="cannot be removed"):
        remove_channel(session=session, member=world["as_owner"], channel=feed)


def test_rotation_rewrites_every_secret_for_the_new_key(session, world):
    old_key, new_key = generate_key(), generate_key()
    for handle in ("a.bsky.social", "b.bsky.social"):
        create_channel(session=session, member=world["as_owner"], character=world["character"],
                       channel_create=_bluesky(handle=handle), box=SecretBox(old_key))
    session.commit()
    assert rotate_secrets(session, SecretBox(new_key, [old_key])) == 2
    session.commit()
    tokens = [c.secret_token for c in session.exec(select(Channel).where(Channel.kind == ChannelKind.BLUESKY))]
    assert [SecretBox(new_key).decrypt(token)["app_password"] for token in tokens] == ["abcd-efgh-ijkl-mnop"] * 2


def test_rotation_rewrites_saved_sessions_and_drops_unreadable_ones(session, world):
    old_key, new_key = generate_key(), generate_key()
    channels = [create_channel(session=session, member=world["as_owner"], character=world["character"],
                               channel_create=_bluesky(handle=handle), box=SecretBox(old_key)).channel
                for handle in ("a.bsky.social", "b.bsky.social")]
    saved_at = datetime(2026, 5, 1, 12, tzinfo=UTC)
    channels[0].session_token = SecretBox(old_key).encrypt({"session": "kept"})
    channels[1].session_token = SecretBox(generate_key()).encrypt({"session": "lost key"})
    for channel in channels:
        channel.session_saved_at = saved_at
        session.add(channel)
    session.commit()
    rotate_secrets(session, SecretBox(new_key, [old_key]))
    session.commit()
    kept, dropped = (session.get(Channel, channel.id) for channel in channels)
    assert SecretBox(new_key).decrypt(kept.session_token) == {"session": "kept"}
    assert (dropped.session_token, dropped.session_saved_at) == (None, None)  # the scheduler logs in again


def test_the_feed_shows_only_posts_whose_feed_delivery_is_published(session, world):
    feed = list_channels(session, world["character"])[0]
    bluesky = create_channel(session=session, member=world["as_owner"], character=world["character"],
                             channel_create=_bluesky(), box=BOX).channel
    moment = datetime(2026, 5, 1, 12, tzinfo=UTC)
    older, _ = _queued_post(session, world, feed, DeliveryStatus.PUBLISHED, moment, "older")
    newer, _ = _queued_post(session, world, feed, DeliveryStatus.PUBLISHED, moment + timedelta(hours=1), "newer")
    _queued_post(session, world, feed, DeliveryStatus.PENDING, None, "not yet")
    _queued_post(session, world, bluesky, DeliveryStatus.PUBLISHED, moment, "elsewhere only")
    character = public_feed_character(session, "fans", world["character"].slug)
    items = feed_items(session, character)
    assert [item.post.id for item in items] == [newer.id, older.id]
    assert [item.parts[0].text for item in items] == ["newer", "older"]


def test_feed_images_are_served_only_for_published_feed_posts(session, world):
    feed = list_channels(session, world["character"])[0]
    shown, _ = _queued_post(session, world, feed, DeliveryStatus.PUBLISHED, datetime(2026, 5, 1, tzinfo=UTC))
    hidden, _ = _queued_post(session, world, feed, DeliveryStatus.PENDING)
    parts = {}
    for post in (shown, hidden):
        part = session.exec(select(PostPart).where(PostPart.post_id == post.id)).one()
        part.image, part.image_mime = b"\x89PNG", "image/png"
        session.add(part)
        parts[post.id] = part
    session.commit()
    assert feed_image(session, world["character"], parts[shown.id].id).image == b"\x89PNG"
    with pytest.raises(NotFound):
        feed_image(session, world["character"], parts[hidden.id].id)


def test_archived_characters_and_unknown_slugs_have_no_feed(session, world):
    with pytest.raises(NotFound):
        public_feed_character(session, "fans", "nobody")
    with pytest.raises(NotFound):
        public_feed_character(session, "elsewhere", world["character"].slug)
    world["character"].archived_at = datetime.now(UTC)
    session.add(world["character"])
    session.commit()
    with pytest.raises(NotFound):
        public_feed_character(session, "fans", world["character"].slug)


@pytest.mark.parametrize(("address", "public"), [
    ("93.184.215.14", True), ("2606:4700::1111", True), ("10.0.0.1", False), ("127.0.0.1", False),
    ("169.254.169.254", False), ("::1", False), ("fe80::1", False), ("fc00::1", False), ("100.64.0.1", False),
    ("::ffff:192.168.0.1", False), ("224.0.0.1", False), ("0.0.0.0", False),  # noqa: S104 - an address to classify, not bind
])
def test_public_addresses(address, public):
    import ipaddress

    assert is_public_address(ipaddress.ip_address(address)) is public


def test_feed_channel_of_a_character_with_a_200_character_name(session):
    from characters.publishing.channels import ensure_feed_channel
    from tests.factories import make_character, make_user, make_workspace

    owner = make_user(session, "longname@example.com")
    workspace = make_workspace(session, owner, "long-names")
    character = make_character(session, workspace, owner, "N" * 200)
    channel = ensure_feed_channel(session, character)
    session.commit()
    assert channel.label.endswith("'s feed")
    assert len(channel.label) <= 200
