"""Campaigns, scenes, channels (never their secrets) and the schedule in each character's local time."""

from datetime import timedelta

import pytest
from cryptography.fernet import Fernet
from sqlmodel import col, select

from characters.core.config import Settings
from characters.core.models import AuditEvent, utcnow
from tests.factories import make_character
from tests.web.test_api_helpers import make_api_world

pytestmark = pytest.mark.usefixtures("fresh_checker")


@pytest.fixture
def world(session):
    return make_api_world(session)


def test_campaigns_are_planned_by_editors_and_show_progress(client, world):
    body = {"name": "Launch week", "goal": "Ten posts", "starts_on": "2030-03-01", "ends_on": "2030-03-07",
            "character_ids": [world.character.id]}
    assert client.post("/api/v1/campaigns", headers=world.headers("writer"), json=body).status_code == 403
    created = client.post("/api/v1/campaigns", headers=world.headers("editor"), json=body)
    assert created.status_code == 201
    assert created.json["progress"]["total"] == 0
    campaign_id = created.json["id"]
    client.post("/api/v1/posts", headers=world.headers("writer"), json={
        "character": "pip-the-otter", "parts": [{"text": "Launch!"}], "campaign_id": campaign_id})
    assert client.get(f"/api/v1/campaigns/{campaign_id}", headers=world.headers("viewer")).json["progress"] == {
        "drafted": 1, "in_review": 0, "approved": 0, "published": 0, "other": 0, "total": 1}
    changed = client.put(f"/api/v1/campaigns/{campaign_id}", headers=world.headers("editor"),
                         json={**body, "name": "Launch fortnight", "ends_on": "2030-03-14"})
    assert changed.json["name"] == "Launch fortnight"
    assert changed.json["ends_on"] == "2030-03-14"
    backwards = client.put(f"/api/v1/campaigns/{campaign_id}", headers=world.headers("editor"),
                           json={**body, "ends_on": "2030-02-01"})
    assert backwards.status_code == 422
    assert [c["name"] for c in client.get("/api/v1/campaigns", headers=world.headers("viewer")).json["items"]] == [
        "Launch fortnight"]


def test_a_scene_is_written_reviewed_and_approved_as_one(client, session, world):
    owl = make_character(session, world.workspace, world.people["owner"], "Olive the Owl", timezone="America/Chicago")
    lines = [{"character_id": world.character.id, "text": "Anyone up for a swim?"},
             {"character_id": owl.id, "text": "At this hour? Hoo.", "delay_minutes": 10}]
    created = client.post("/api/v1/scenes", headers=world.headers("writer"), json={"title": "Night swim",
                                                                                      "lines": lines})
    assert created.status_code == 201, created.json
    scene = created.json
    assert [line["character"] for line in scene["lines"]] == ["pip-the-otter", "olive-the-owl"]
    edited = client.put(f"/api/v1/scenes/{scene['id']}", headers={**world.headers("writer"), "If-Match": '"1"'},
                        json={"title": "Night swim, take two", "lines": lines})
    assert edited.status_code == 200
    assert edited.json["version"] == 2
    assert client.post(f"/api/v1/scenes/{scene['id']}/submit", headers=world.headers("writer"),
                       json={"version": 2}).json["status"] == "in_review"
    start = (utcnow() + timedelta(days=1)).replace(microsecond=0)
    approve = {"version": 2, "starts_at": start.isoformat(), "override_reason": "Read through."}
    assert client.post(f"/api/v1/scenes/{scene['id']}/approve", headers=world.headers("writer"),
                       json=approve).status_code == 403
    approved = client.post(f"/api/v1/scenes/{scene['id']}/approve", headers=world.headers("editor"), json=approve)
    assert approved.status_code == 200
    assert approved.json["status"] == "approved"
    dues = [line["due_at"] for line in approved.json["lines"]]
    assert dues[1] > dues[0]
    assert [line["status"] for line in approved.json["lines"]] == ["approved", "approved"]
    listed = client.get("/api/v1/scenes", headers=world.headers("viewer")).json["items"]
    assert [(s["title"], s["lines"]) for s in listed] == [("Night swim, take two", [])]
    line_post = approved.json["lines"][0]["post_id"]
    direct = client.post(f"/api/v1/posts/{line_post}/cancel", headers=world.headers("editor"), json={"version": 3})
    assert direct.status_code == 409
    assert "scene" in direct.json["error"]["message"]
    cancelled = client.post(f"/api/v1/scenes/{scene['id']}/cancel", headers=world.headers("editor"),
                            json={"version": 2})
    assert cancelled.json["status"] == "cancelled"


def test_channels_are_listed_without_secrets_and_managed_by_owners(engine, session, world):
    from web import create_app

    key = Fernet.generate_key().decode()
    settings = Settings(database_url=engine.url.render_as_string(hide_password=False), secret_key="test-secret",
                        greenroom_env="test", channel_secrets_key=key)
    app = create_app({"TESTING": True, "RATELIMIT_ENABLED": False}, settings=settings)
    client = app.test_client()
    try:
        bluesky = {"kind": "bluesky", "handle": "pip.bsky.social", "app_password": "abcd-efgh-ijkl-mnop"}
        url = "/api/v1/characters/pip-the-otter/channels"
        assert client.post(url, headers=world.headers("editor"), json=bluesky).status_code == 403
        added = client.post(url, headers=world.headers("owner"), json=bluesky)
        assert added.status_code == 201
        assert added.json["signing_secret"] is None
        hook = client.post(url, headers=world.headers("owner"),
                           json={"kind": "webhook", "url": "https://hooks.example/in?token=s3cret"})
        assert hook.json["signing_secret"].startswith("whsec_")
        assert hook.json["channel"]["address"] == "hooks.example"
        listed = client.get("/api/v1/channels", headers=world.headers("viewer"))
        assert [c["kind"] for c in listed.json["items"]] == ["feed", "bluesky", "webhook"]
        for secret in (b"abcd-efgh", b"whsec_", b"s3cret", key.encode()):
            assert secret not in listed.data
        channel_id = added.json["channel"]["id"]
        assert client.post(f"/api/v1/channels/{channel_id}/disable", headers=world.headers("owner")).json["disabled"]
        checked = client.post(f"/api/v1/channels/{channel_id}/check", headers=world.headers("owner"))
        assert checked.status_code == 200
        assert client.delete(f"/api/v1/channels/{channel_id}", headers=world.headers("owner")).status_code == 204
        feed = listed.json["items"][0]["id"]
        assert client.delete(f"/api/v1/channels/{feed}", headers=world.headers("owner")).status_code == 409
        wrong = client.post(url, headers=world.headers("owner"), json={"kind": "myspace", "url": "x"})
        assert wrong.status_code == 422
        audited = [(event.action, event.details["kind"]) for event in session.exec(
            select(AuditEvent).order_by(col(AuditEvent.id))) if event.action.startswith("channel_")]
        # The API's changes are in the audit log as the pages' are (the refused removal of the feed is not).
        assert audited == [("channel_add", "bluesky"), ("channel_add", "webhook"), ("channel_disable", "bluesky"),
                           ("channel_remove", "bluesky")]
    finally:
        app.extensions["greenroom.engine"].dispose()


def test_the_schedule_shows_due_posts_in_each_characters_local_time(client, world):
    post = client.post("/api/v1/posts", headers=world.headers("writer"),
                       json={"character": "pip-the-otter", "parts": [{"text": "Summer splash"}]}).json
    client.post(f"/api/v1/posts/{post['id']}/submit", headers=world.headers("writer"), json={"version": 1})
    client.post(f"/api/v1/posts/{post['id']}/approve", headers=world.headers("editor"),
                json={"version": 1, "due_at": "2031-07-01T08:00:00Z", "override_reason": "ok"})
    window = {"start": "2031-06-30T00:00:00+02:00", "end": "2031-07-02T00:00:00Z"}
    items = client.get("/api/v1/schedule", query_string=window, headers=world.headers("viewer")).json["items"]
    assert [(i["post_id"], i["due_at"], i["due_local"], i["timezone"]) for i in items] == [
        (post["id"], "2031-07-01T08:00:00Z", "2031-07-01T09:00:00+01:00", "Europe/London")]
    before = {**window, "character": "pip-the-otter", "end": "2031-07-01T07:59:00Z"}
    empty = client.get("/api/v1/schedule", query_string=before, headers=world.headers("viewer"))
    assert empty.json["items"] == []
    too_long = client.get("/api/v1/schedule", query_string={"start": "2031-01-01T00:00:00Z",
                                                            "end": "2032-06-01T00:00:00Z"},
                          headers=world.headers("viewer"))
    assert too_long.status_code == 422
