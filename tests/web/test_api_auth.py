"""API access: bearer tokens only, scopes, roles, the two-person rule, workspace isolation and per-token limits."""

from datetime import timedelta

import pytest
from sqlmodel import select

from characters.accounts.tokens import revoke_token
from characters.accounts.workspaces import remove_member, set_member_role
from characters.core.config import Settings
from characters.core.models import ApiToken, Role, utcnow
from characters.posting.campaigns import CampaignInput, create_campaign
from characters.posting.posts import PostContent, create_draft
from characters.posting.scenes import SceneInput, SceneLine, create_scene
from characters.publishing.channels import ensure_feed_channel
from tests.factories import DEFAULT_PASSWORD, member
from tests.web.test_api_helpers import make_api_world

pytestmark = pytest.mark.usefixtures("fresh_checker")


@pytest.fixture
def world(session):
    return make_api_world(session)


def _draft(session, world, role="writer", text="Splash! The river is cold today."):
    post = create_draft(session=session, member=member(world.workspace, world.people[role], Role(role)),
                        character=world.character, content=PostContent.of_texts([text]))
    session.commit()
    return post


def _error(response):
    assert set(response.json) == {"error"}
    assert set(response.json["error"]) == {"code", "message", "details"}
    return response.json["error"]


@pytest.mark.parametrize("header", [None, "Bearer", "Bearer grn_nope", "Basic Zm9vOmJhcg==", "grn_abc"])
def test_requests_without_a_valid_token_get_401_json(client, world, header):
    response = client.get("/api/v1/posts", headers={"Authorization": header} if header else {})
    assert response.status_code == 401
    assert _error(response)["code"] == "unauthorized"
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_a_logged_in_browser_session_is_not_enough(client, auth, world):
    auth.login(world.people["owner"].email, DEFAULT_PASSWORD)
    assert client.get("/w/fans/").status_code == 200
    assert client.get("/api/v1/posts").status_code == 401


def test_me_says_who_the_token_acts_as(client, world):
    body = client.get("/api/v1/me", headers=world.headers("editor")).json
    assert body == {"user_id": world.people["editor"].id, "display_name": "Editor", "workspace": "fans",
                    "workspace_name": "Fans", "role": "editor", "scope": "write", "token_name": "script",
                    "two_person_rule": True}
    assert client.get("/api/v1/me", headers=world.headers("read")).json["role"] == "viewer"


def test_revoked_tokens_and_removed_members_get_401(client, session, world):
    assert client.get("/api/v1/me", headers=world.headers("writer")).status_code == 200
    token = session.exec(select(ApiToken).where(ApiToken.user_id == world.people["writer"].id)).one()
    revoke_token(session=session, member=member(world.workspace, world.people["owner"], Role.OWNER),
                 token_id=token.id)
    remove_member(session=session, workspace=world.workspace, user=world.people["viewer"])
    session.commit()
    assert client.get("/api/v1/me", headers=world.headers("writer")).status_code == 401
    assert client.get("/api/v1/me", headers=world.headers("viewer")).status_code == 401


def test_a_token_never_exceeds_its_users_current_role(client, session, world):
    post = _draft(session, world)
    set_member_role(session=session, workspace=world.workspace, user=world.people["editor"], role=Role.VIEWER)
    session.commit()
    response = client.post(f"/api/v1/posts/{post.id}/cancel", json={"version": 1}, headers=world.headers("editor"))
    assert response.status_code == 403
    assert _error(response)["code"] == "forbidden"


def test_read_tokens_and_viewers_cannot_write(client, world):
    new_post = {"character": "pip-the-otter", "parts": [{"text": "Hello"}]}
    read = client.post("/api/v1/posts", json=new_post, headers=world.headers("read"))
    assert read.status_code == 403
    assert _error(read)["code"] == "read_only_token"
    assert client.post("/api/v1/posts", json=new_post, headers=world.headers("viewer")).status_code == 403
    assert client.get("/api/v1/posts", headers=world.headers("read")).status_code == 200
    assert client.post("/api/v1/posts", json=new_post, headers=world.headers("writer")).status_code == 201


def test_writers_cannot_approve_and_nobody_approves_their_own_post(client, session, world):
    post = _draft(session, world, role="editor")
    submitted = client.post(f"/api/v1/posts/{post.id}/submit", json={"version": 1}, headers=world.headers("editor"))
    assert submitted.status_code == 200
    assert submitted.json["post"]["status"] == "in_review"
    due = (utcnow() + timedelta(days=1)).isoformat()
    approve = {"version": 1, "due_at": due, "override_reason": "Checked by hand."}
    writer = client.post(f"/api/v1/posts/{post.id}/approve", json=approve, headers=world.headers("writer"))
    assert writer.status_code == 403
    own = client.post(f"/api/v1/posts/{post.id}/approve", json=approve, headers=world.headers("editor"))
    assert own.status_code == 403
    assert "two-person rule" in _error(own)["message"]
    other = client.post(f"/api/v1/posts/{post.id}/approve", json=approve, headers=world.headers("owner"))
    assert other.status_code == 200
    assert other.json["post"]["status"] == "approved"


@pytest.fixture
def foreign(session):
    """Workspace B's character, post, campaign, scene and channel, seen from workspace A's tokens."""
    other = make_api_world(session, "team-b", character="Bob's Mascot")
    owner = member(other.workspace, other.people["owner"], Role.OWNER)
    post = create_draft(session=session, member=owner, character=other.character,
                        content=PostContent.of_texts(["B's secret plans"]))
    campaign = create_campaign(session=session, member=owner, data=CampaignInput(name="B's launch"))
    scene = create_scene(session=session, member=owner, data=SceneInput(
        title="B's scene", lines=[SceneLine(character_id=other.character.id, text="Hi")]))
    channel = ensure_feed_channel(session, other.character)
    session.commit()
    return {"slug": other.character.slug, "post": post.id, "campaign": campaign.id, "scene": scene.id,
            "channel": channel.id, "world": other}


FOREIGN_READS = ["/api/v1/characters/{slug}", "/api/v1/characters/{slug}/versions", "/api/v1/characters/{slug}/card",
                 "/api/v1/posts/{post}", "/api/v1/posts/{post}/comments", "/api/v1/posts/{post}/history",
                 "/api/v1/campaigns/{campaign}", "/api/v1/scenes/{scene}", "/api/v1/channels/{channel}",
                 "/api/v1/posts?character={slug}", "/api/v1/channels?character={slug}"]
FOREIGN_WRITES = [("put", "/api/v1/posts/{post}", {"version": 1, "parts": [{"text": "hijacked"}]}),
                  ("patch", "/api/v1/posts/{post}", {"version": 1, "parts": [{"text": "hijacked"}]}),
                  ("delete", "/api/v1/posts/{post}", None),
                  ("post", "/api/v1/posts/{post}/submit", {"version": 1}),
                  ("post", "/api/v1/posts/{post}/cancel", {"version": 1}),
                  ("post", "/api/v1/posts/{post}/comments", {"body": "hijacked"}),
                  ("post", "/api/v1/posts", {"character": "{slug}", "parts": [{"text": "hijacked"}]}),
                  ("patch", "/api/v1/characters/{slug}", {"version": 1, "name": "hijacked"}),
                  ("post", "/api/v1/characters/{slug}/archive", None),
                  ("post", "/api/v1/characters/{slug}/check", {"text": "hi"}),
                  ("put", "/api/v1/campaigns/{campaign}", {"name": "hijacked"}),
                  ("post", "/api/v1/scenes/{scene}/submit", {"version": 1}),
                  ("post", "/api/v1/channels/{channel}/disable", None),
                  ("delete", "/api/v1/channels/{channel}", None)]


@pytest.mark.parametrize("route", FOREIGN_READS)
def test_a_token_of_workspace_a_gets_404_for_anything_of_b(client, world, foreign, route):
    response = client.get(route.format(**foreign), headers=world.headers("owner"))
    assert response.status_code == 404
    assert _error(response)["code"] == "not_found"
    assert b"B's" not in response.data
    assert b"Bob" not in response.data


@pytest.mark.parametrize(("method", "route", "body"), FOREIGN_WRITES)
def test_writes_to_workspace_b_are_404_and_change_nothing(client, world, foreign, method, route, body):
    headers = {**world.headers("owner"), "If-Match": '"1"'}
    if body and body.get("character"):
        body = {**body, "character": foreign["slug"]}
    response = getattr(client, method)(route.format(**foreign), json=body, headers=headers)
    assert response.status_code == 404, response.json
    b_headers = foreign["world"].headers("owner")
    post = client.get(f"/api/v1/posts/{foreign['post']}", headers=b_headers).json
    assert (post["status"], post["version"], post["parts"][0]["text"]) == ("draft", 1, "B's secret plans")
    character = client.get(f"/api/v1/characters/{foreign['slug']}", headers=b_headers).json
    assert (character["name"], character["archived"]) == ("Bob's Mascot", False)
    assert client.get(f"/api/v1/campaigns/{foreign['campaign']}", headers=b_headers).json["name"] == "B's launch"
    assert client.get(f"/api/v1/channels/{foreign['channel']}", headers=b_headers).json["disabled"] is False
    assert client.get("/api/v1/posts", headers=world.headers("owner")).json["items"] == []


def test_the_api_needs_no_csrf_token(app, client, world):
    app.config["WTF_CSRF_ENABLED"] = True
    response = client.post("/api/v1/posts", json={"character": "pip-the-otter", "parts": [{"text": "Hi"}]},
                           headers=world.headers("writer"))
    assert response.status_code == 201


def test_the_token_records_when_it_was_last_used(client, session, world):
    client.get("/api/v1/me", headers=world.headers("writer"))
    session.expire_all()
    token = session.exec(select(ApiToken).where(ApiToken.user_id == world.people["writer"].id)).one()
    assert token.last_used_at is not None
    assert utcnow() - token.last_used_at < timedelta(minutes=1)


def test_requests_are_limited_per_token(engine, session, world):
    from web import create_app

    settings = Settings(database_url=engine.url.render_as_string(hide_password=False), secret_key="test-secret",
                        greenroom_env="test", api_rate_limit="3 per minute")
    app = create_app({"TESTING": True, "RATELIMIT_ENABLED": True}, settings=settings)
    client = app.test_client()
    try:
        answers = [client.get("/api/v1/me", headers=world.headers("writer")).status_code for _ in range(4)]
        assert answers == [200, 200, 200, 429]
        limited = client.get("/api/v1/me", headers=world.headers("writer"))
        assert _error(limited)["code"] == "rate_limited"
        assert "Retry-After" in limited.headers
        assert client.get("/api/v1/me", headers=world.headers("editor")).status_code == 200
    finally:
        app.extensions["greenroom.engine"].dispose()
