"""Reading a page never writes, and what a page or the API shows of a channel never carries its secrets."""

from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from sqlalchemy import event
from sqlmodel import select

from characters.core.models import Channel, ChannelKind, Role, utcnow
from characters.posting.posts import PostContent, create_draft
from characters.posting.recurring import RuleInput, create_rule
from characters.posting.scenes import SceneInput, create_scene
from characters.publishing.channels import WebhookChannelCreate, create_channel
from characters.publishing.secrets import SecretBox
from tests.factories import CHANNEL_KEY as KEY
from tests.factories import DEFAULT_PASSWORD, make_character, member
from tests.web.test_api_helpers import make_api_world

pytestmark = pytest.mark.usefixtures("channel_key")

HOOK_URL = "https://hooks.example.org/in/tok-in-the-path?token=tok-in-the-query"


@pytest.fixture
def world(session):
    world = make_api_world(session)
    owner = member(world.workspace, world.people["owner"], Role.OWNER)
    writer = member(world.workspace, world.people["writer"], Role.WRITER)
    create_channel(session=session, member=owner, character=world.character,
                   channel_create=WebhookChannelCreate(url=HOOK_URL), box=SecretBox(KEY))
    world.post = create_draft(session=session, member=writer, character=world.character,
                              content=PostContent.of_texts(["A quiet morning on the river."]))
    world.scene = create_scene(session=session, member=writer, data=SceneInput(
        title="Hello", lines=[{"character_id": world.character.id, "text": "Morning."}]))
    world.rule = create_rule(session=session, member=writer, data=RuleInput.model_validate({
        "character_id": world.character.id, "parts": ["Tip."], "weekdays": "mon", "local_time": "09:00",
        "timezone": "UTC", "starts_at": utcnow(), "max_count": 2}))
    # A character from before feeds came with the character: its pages must read fine without one.
    world.legacy = make_character(session, world.workspace, world.people["owner"], "Old Timer")
    session.delete(session.exec(select(Channel).where(Channel.character_id == world.legacy.id)).one())
    session.commit()
    return world


@contextmanager
def writes(app) -> Iterator[list[str]]:
    """Collect every INSERT, UPDATE and DELETE the app's engine runs inside the block."""
    engine = app.extensions["greenroom.engine"]
    seen: list[str] = []

    def record(connection, cursor, statement, *args):
        if statement.lstrip().split(" ", 1)[0].upper() in ("INSERT", "UPDATE", "DELETE"):
            seen.append(statement)

    event.listen(engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", record)


def _pages(world) -> list[str]:
    return ["/w/fans/channels/", f"/w/fans/channels/{world.character.slug}/", f"/w/fans/channels/{world.legacy.slug}/",
            "/w/fans/posts/", f"/w/fans/posts/new?character={world.legacy.slug}", "/w/fans/posts/new",
            f"/w/fans/posts/{world.post.id}/edit", f"/w/fans/posts/{world.post.id}", "/w/fans/audit/",
            "/w/fans/scenes/", f"/w/fans/scenes/{world.scene.id}", f"/w/fans/posts/recurring/{world.rule.id}",
            "/w/fans/posts/recurring", "/w/fans/inbox/"]


def test_opening_pages_writes_nothing(app, client, auth, world):
    auth.login("owner@fans.example", DEFAULT_PASSWORD)
    for path in _pages(world):
        with writes(app) as seen:
            response = client.get(path)
        assert response.status_code == 200, path
        assert seen == [], path


def test_reading_channels_through_the_api_writes_nothing(app, client, world):
    headers = world.headers("viewer")
    client.get("/api/v1/channels", headers=headers)  # the token's first use is recorded, once
    with writes(app) as seen:
        listed = client.get("/api/v1/channels", headers=headers)
    assert listed.status_code == 200
    assert seen == []
    assert {item["kind"] for item in listed.json["items"] if item["character"] == world.legacy.slug} == set()


def test_a_new_draft_for_a_character_without_a_feed_goes_to_a_new_feed(client, auth, session, world):
    auth.login("writer@fans.example", DEFAULT_PASSWORD)
    response = client.post(f"/w/fans/posts/new?character={world.legacy.slug}",
                           data={"character": world.legacy.slug, "parts-0-text": "Still here.", "op": "save"})
    assert response.status_code == 302
    session.rollback()
    [feed] = session.exec(select(Channel).where(Channel.character_id == world.legacy.id)).all()
    assert feed.kind == ChannelKind.FEED


@pytest.mark.parametrize("role", ["viewer", "owner"])
def test_a_webhook_url_is_shown_by_its_host_only(client, auth, world, role):
    auth.login(f"{role}@fans.example", DEFAULT_PASSWORD)
    page = client.get(f"/w/fans/channels/{world.character.slug}/")
    assert b"hooks.example.org" in page.data
    assert b"tok-in-the-path" not in page.data
    assert b"tok-in-the-query" not in page.data
    listed = client.get("/api/v1/channels", headers=world.headers(role))
    [hook] = [item for item in listed.json["items"] if item["kind"] == "webhook"]
    assert hook["address"] == "hooks.example.org"
    one = client.get(f"/api/v1/channels/{hook['id']}", headers=world.headers(role))
    for body in (listed.data, one.data):
        assert b"tok-in-the-path" not in body
        assert b"tok-in-the-query" not in body
