"""A member of workspace A gets 404 for anything of workspace B, on every blueprint."""

import pytest
from sqlmodel import select

from characters.core.models import Campaign, Post, PostPart, PostStatus, Role, utcnow
from characters.posting.campaigns import CampaignInput, create_campaign
from characters.posting.posts import PostContent, create_draft, parts_of
from characters.posting.recurring import RuleInput, create_rule
from characters.posting.scenes import SceneInput, create_scene
from tests.factories import DEFAULT_PASSWORD, add_member, make_character, make_user, make_workspace, member

GET_ROUTES = [
    "/w/{slug}/",  # workspaces
    "/w/{slug}/settings",  # workspaces
    "/w/{slug}/members/",  # members
    "/w/{slug}/posts/",  # posts
    "/w/{slug}/posts/new",  # posts
    "/w/{slug}/characters/",  # characters
    "/w/{slug}/characters/{character}/avatar.png",  # characters
    "/w/{slug}/posts/transfer",  # posts
    "/w/{slug}/posts/export.csv",  # posts
    "/w/{slug}/posts/export.json",  # posts
    "/w/{slug}/posts/recurring",  # posts
    "/w/{slug}/inbox/",  # inbox
    "/w/{slug}/calendar/",  # calendar
    "/w/{slug}/calendar/?view=week",  # calendar
    "/w/{slug}/calendar/queue",  # calendar
    "/w/{slug}/campaigns/",  # campaigns
    "/w/{slug}/campaigns/new",  # campaigns
    "/w/{slug}/scenes/",  # scenes
    "/w/{slug}/scenes/new",  # scenes
    "/w/{slug}/audit/",  # audit
    "/w/{slug}/drafting/generations",  # drafting
    "/w/{slug}/channels/",  # channels
]
POST_ROUTES = [
    "/w/{slug}/settings",
    "/w/{slug}/members/",
    "/w/{slug}/members/{user_id}/role",
    "/w/{slug}/members/{user_id}/remove",
    "/w/{slug}/members/invites/1/revoke",
    "/w/{slug}/posts/new",
    "/w/{slug}/posts/check",
    "/w/{slug}/posts/transfer",
    "/w/{slug}/posts/recurring",
    "/w/{slug}/calendar/move",
    "/w/{slug}/calendar/feed",
    "/w/{slug}/campaigns/new",
    "/w/{slug}/scenes/new",
    "/w/{slug}/drafting/generate",
    "/w/{slug}/drafting/generate/stream",
    "/w/{slug}/drafting/rewrite",
    "/w/{slug}/drafting/reply",
    "/w/{slug}/drafting/thread",
    "/w/{slug}/drafting/hashtags",
    "/w/{slug}/channels/{character}/add/webhook",
    "/w/{slug}/channels/1/check",
    "/w/{slug}/channels/1/disable",
    "/w/{slug}/channels/1/remove",
]


# Rows of workspace B, asked for through B's address and through A's own (ids must not leak across).
OBJECT_GET_ROUTES = [
    "/w/{slug}/posts/{post_id}",
    "/w/{slug}/posts/{post_id}/edit",
    "/w/{slug}/posts/{post_id}/images/{part_id}",
    "/w/{slug}/posts/recurring/{rule_id}",
    "/w/{slug}/campaigns/{campaign_id}",
    "/w/{slug}/campaigns/{campaign_id}/edit",
    "/w/{slug}/scenes/{scene_id}",
    "/w/{slug}/scenes/{scene_id}/edit",
]
OBJECT_POST_ROUTES = [
    "/w/{slug}/posts/{post_id}/edit",
    "/w/{slug}/posts/{post_id}/submit",
    "/w/{slug}/posts/{post_id}/approve",
    "/w/{slug}/posts/{post_id}/reject",
    "/w/{slug}/posts/{post_id}/cancel",
    "/w/{slug}/posts/{post_id}/reschedule",
    "/w/{slug}/posts/{post_id}/comments",
    "/w/{slug}/posts/recurring/{rule_id}",
    "/w/{slug}/campaigns/{campaign_id}/edit",
    "/w/{slug}/scenes/{scene_id}/edit",
    "/w/{slug}/scenes/{scene_id}/submit",
    "/w/{slug}/scenes/{scene_id}/cancel",
]


@pytest.fixture
def two_workspaces(session):
    """Alice owns A; Bob owns B (with a character and a writer); Alice logs in."""
    alice = make_user(session, "alice@a.example")
    make_workspace(session, alice, "team-a")
    bob = make_user(session, "bob@b.example")
    team_b = make_workspace(session, bob, "team-b")
    writer = add_member(session, team_b, "writer@b.example", Role.WRITER)
    character = make_character(session, team_b, bob, "Bob's Mascot")
    character.avatar_png = b"\x89PNG fake"
    session.add(character)
    session.commit()
    return {"user_id": writer.id, "character": character.slug, **_workflow_rows(session, team_b, bob, character)}


def _workflow_rows(session, workspace, owner, character):
    """Give B a post (with an image part), a campaign, a scene and a recurring rule."""
    bob = member(workspace, owner, Role.OWNER)
    post = create_draft(session=session, member=bob, character=character, content=PostContent.model_validate(
        {"parts": [{"text": "Bob's secret draft", "image": b"img", "image_mime": "image/png", "image_alt": "x"}]}))
    campaign = create_campaign(session=session, member=bob, data=CampaignInput(name="Bob's launch"))
    scene = create_scene(session=session, member=bob, data=SceneInput(
        title="Bob's scene", lines=[{"character_id": character.id, "text": "Bob's line"}]))
    rule = create_rule(session=session, member=bob, data=RuleInput(
        character_id=character.id, parts=["Bob's tip"], weekdays="mon", starts_at=utcnow(), max_count=2))
    session.commit()
    return {"post_id": post.id, "part_id": parts_of(session, post)[0].id, "campaign_id": campaign.id,
            "scene_id": scene.id, "rule_id": rule.id}


@pytest.mark.parametrize("route", GET_ROUTES)
def test_get_routes_of_another_workspace_are_404(client, auth, two_workspaces, route):
    auth.login("alice@a.example", DEFAULT_PASSWORD)
    assert client.get(route.format(slug="team-a", **two_workspaces)).status_code != 404 or "avatar" in route
    response = client.get(route.format(slug="team-b", **two_workspaces))
    assert response.status_code == 404
    assert b"Bob" not in response.data


@pytest.mark.parametrize("route", POST_ROUTES)
def test_post_routes_of_another_workspace_are_404_and_change_nothing(client, auth, session, two_workspaces, route):
    auth.login("alice@a.example", DEFAULT_PASSWORD)
    response = client.post(route.format(slug="team-b", **two_workspaces),
                           data={"role": "owner", "name": "Hijacked", "text": "hi", "character": "bobs-mascot"})
    assert response.status_code == 404
    auth.logout()
    auth.login("bob@b.example", DEFAULT_PASSWORD)
    page = client.get("/w/team-b/members/")
    assert b"writer@b.example" in page.data
    assert b"Hijacked" not in page.data
    assert b"(empty draft)" not in client.get("/w/team-b/posts/").data


@pytest.mark.parametrize("route", OBJECT_GET_ROUTES)
@pytest.mark.parametrize("through", ["team-a", "team-b"])
def test_rows_of_another_workspace_are_404_through_any_address(client, auth, two_workspaces, route, through):
    auth.login("alice@a.example", DEFAULT_PASSWORD)
    response = client.get(route.format(slug=through, **two_workspaces))
    assert response.status_code == 404
    assert b"Bob" not in response.data


@pytest.mark.parametrize("route", OBJECT_POST_ROUTES)
@pytest.mark.parametrize("through", ["team-a", "team-b"])
def test_actions_on_rows_of_another_workspace_are_404_and_change_nothing(client, auth, session, two_workspaces,
                                                                          route, through):
    auth.login("alice@a.example", DEFAULT_PASSWORD)
    response = client.post(route.format(slug=through, **two_workspaces), data={
        "version": "1", "parts-0-text": "Hijacked", "title": "Hijacked", "name": "Hijacked", "when": "next",
        "comment": "Hijacked", "body": "Hijacked", "op": "submit", "lines-0-text": "Hijacked"})
    assert response.status_code == 404
    session.rollback()
    assert session.get(Post, two_workspaces["post_id"]).status == PostStatus.DRAFT
    assert "Hijacked" not in " ".join(session.exec(select(PostPart.text)).all())
    assert session.get(Campaign, two_workspaces["campaign_id"]).name == "Bob's launch"


def test_inbox_calendar_and_audit_of_another_workspace_show_nothing_of_it(client, auth, two_workspaces):
    auth.login("alice@a.example", DEFAULT_PASSWORD)
    for path in ("inbox/", "calendar/", "calendar/queue", "audit/", "campaigns/", "scenes/", "posts/export.json"):
        assert b"Bob" not in client.get(f"/w/team-a/{path}").data, path
    moved = client.post("/w/team-a/calendar/move", json={"post_id": two_workspaces["post_id"], "version": 1,
                                                         "date": "2030-01-01"})
    assert moved.status_code == 404
    checked = client.post("/w/team-a/posts/check", json={"character": two_workspaces["character"], "parts": ["x"]})
    assert checked.status_code == 404

def test_unknown_workspace_looks_the_same_as_a_foreign_one(client, auth, two_workspaces):
    auth.login("alice@a.example", DEFAULT_PASSWORD)
    client.get("/w/team-a/")  # shows and clears the welcome message
    foreign = client.get("/w/team-b/")
    missing = client.get("/w/no-such-team/")
    assert foreign.status_code == missing.status_code == 404
    assert foreign.data.replace(b"team-b", b"X") == missing.data.replace(b"no-such-team", b"X")
