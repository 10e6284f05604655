"""A member of workspace A gets 404 for anything of workspace B, on every blueprint."""

import pytest

from characters.models import Role
from tests.factories import DEFAULT_PASSWORD, add_member, make_character, make_user, make_workspace

GET_ROUTES = [
    "/w/{slug}/",  # workspaces
    "/w/{slug}/settings",  # workspaces
    "/w/{slug}/members/",  # members
    "/w/{slug}/posts/",  # posts
    "/w/{slug}/posts/new",  # posts
    "/w/{slug}/characters/",  # characters
    "/w/{slug}/characters/{character}/avatar.png",  # characters
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
    return {"user_id": writer.id, "character": character.slug}


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
    assert b"writer@b.example" in page.data and b"Hijacked" not in page.data
    assert b"(empty draft)" not in client.get("/w/team-b/posts/").data


def test_unknown_workspace_looks_the_same_as_a_foreign_one(client, auth, two_workspaces):
    auth.login("alice@a.example", DEFAULT_PASSWORD)
    client.get("/w/team-a/")  # shows and clears the welcome message
    foreign = client.get("/w/team-b/")
    missing = client.get("/w/no-such-team/")
    assert foreign.status_code == missing.status_code == 404
    assert foreign.data.replace(b"team-b", b"X") == missing.data.replace(b"no-such-team", b"X")
