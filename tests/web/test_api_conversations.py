"""The conversations API: list and read, change state (a stale status is a 409), and post a reply draft; another
workspace's conversation is a 404, a read token cannot write, and bad input is a 422 that saves nothing.
"""

import pytest
from sqlmodel import select

from characters.core.models import AuditEvent, Post, PostStatus
from tests.factories import make_character, make_conversation, make_user, make_workspace
from tests.web.test_api_helpers import make_api_world

pytestmark = pytest.mark.usefixtures("fresh_checker")


@pytest.fixture
def world(session):
    world = make_api_world(session)
    world.conversation = make_conversation(session, world.character, text="Pip, are otters real?",
                                           author_name="مريم 🌊", author_handle="maryam.example", is_question=True,
                                           thread=[{"author_handle": "pip.example", "text": "Splash!",
                                                    "is_character": True}])
    return world


def test_list_filter_and_read_one(client, session, world):
    make_conversation(session, world.character, text="Old and answered", status="replied", network="mastodon")
    response = client.get("/api/v1/conversations", headers=world.headers("viewer"))
    assert response.status_code == 200
    body = response.get_json()
    assert (body["total"], body["pages"]) == (1, 1)
    item = body["items"][0]
    assert (item["character"], item["author_name"], item["status"], item["is_question"]) == (
        "pip-the-otter", "مريم 🌊", "open", True)
    everything = client.get("/api/v1/conversations?view=all&network=mastodon", headers=world.headers("viewer"))
    assert [i["text"] for i in everything.get_json()["items"]] == ["Old and answered"]
    assert client.get("/api/v1/conversations?q=otters", headers=world.headers("viewer")).get_json()["total"] == 1
    one = client.get(f"/api/v1/conversations/{world.conversation.id}", headers=world.headers("viewer")).get_json()
    assert [(p["text"], p["is_character"], p["is_this"]) for p in one["thread"]] == [
        ("Splash!", True, False), ("Pip, are otters real?", False, True)]
    assert one["reply_limit"] == 300
    assert one["allowed_actions"]["take"] is False  # a viewer


def test_change_state_with_the_status_seen(client, session, world):
    url = f"/api/v1/conversations/{world.conversation.id}/state"
    response = client.post(url, json={"action": "assign", "expected": "open"}, headers=world.headers("writer"))
    assert response.status_code == 200
    assert (response.get_json()["status"], response.get_json()["assignee"]) == ("assigned", "Writer")
    stale = client.post(url, json={"action": "dismiss", "expected": "open"}, headers=world.headers("editor"))
    assert stale.status_code == 409
    assert client.post(url, json={"action": "dismiss", "expected": "assigned", "reason": "Spam"},
                       headers=world.headers("read")).status_code == 403
    assert client.post(url, json={"action": "explode", "expected": "open"},
                       headers=world.headers("editor")).status_code == 422
    session.rollback()
    assert [e.action for e in session.exec(select(AuditEvent).where(AuditEvent.action.startswith("conversation_")))
            ] == ["conversation_assigned"]


def test_post_a_reply_draft_and_submit_it(client, session, world):
    url = f"/api/v1/conversations/{world.conversation.id}/replies"
    response = client.post(url, json={"text": "Real as the river, friend.", "submit": True},
                           headers=world.headers("writer"))
    assert response.status_code == 201, response.get_json()
    assert response.get_json()["status"] == "in_review"
    session.rollback()
    post = session.exec(select(Post).where(Post.conversation_id == world.conversation.id)).one()
    assert post.status == PostStatus.IN_REVIEW
    # The editor approves it through the posts workflow endpoint, as any post: the two-person rule holds.
    one = client.get(f"/api/v1/conversations/{world.conversation.id}", headers=world.headers("writer")).get_json()
    assert [(r["post_id"], r["status"]) for r in one["replies"]] == [(post.id, "in_review")]
    approve = f"/api/v1/conversations/{world.conversation.id}/replies/{post.id}/approve"
    assert client.post(approve, json={"version": post.version}, headers=world.headers("writer")).status_code == 403
    past = client.post(approve, json={"version": post.version, "due_at": "2020-01-01T09:00:00+00:00"},
                       headers=world.headers("editor"))
    assert past.status_code == 422
    assert client.post(approve, json={"version": post.version + 1}, headers=world.headers("editor")).status_code == 409
    approved = client.post(approve, json={"version": post.version}, headers=world.headers("editor"))
    assert approved.status_code == 200, approved.get_json()
    assert approved.get_json()["status"] == "approved"  # due at once
    assert client.post(f"/api/v1/conversations/{world.conversation.id}/replies/999999/approve",
                       json={"version": 1}, headers=world.headers("editor")).status_code == 404


@pytest.mark.parametrize(("body", "status"), [
    ({"text": ""}, 422),
    ({"text": "x" * 301}, 422),
    ({"text": "x" * 100_000}, 422),
    ({"text": "ok", "extra": 1}, 422),
    ({"text": 5}, 422),
])
def test_bad_replies_are_refused_and_save_nothing(client, session, world, body, status):
    url = f"/api/v1/conversations/{world.conversation.id}/replies"
    response = client.post(url, json=body, headers=world.headers("writer"))
    assert response.status_code == status
    assert response.get_json()["error"]["message"]
    session.rollback()
    assert session.exec(select(Post).where(Post.conversation_id == world.conversation.id)).first() is None


def test_another_workspaces_conversation_is_not_found(client, session, world):
    stranger = make_user(session, "stranger@else.example")
    elsewhere = make_workspace(session, stranger, "elsewhere")
    theirs = make_conversation(session, make_character(session, elsewhere, stranger, "Theirs"))
    headers = world.headers("owner")
    assert client.get(f"/api/v1/conversations/{theirs.id}", headers=headers).status_code == 404
    assert client.post(f"/api/v1/conversations/{theirs.id}/state", json={"action": "dismiss", "expected": "open"},
                       headers=headers).status_code == 404
    assert client.post(f"/api/v1/conversations/{theirs.id}/replies", json={"text": "Hi"},
                       headers=headers).status_code == 404
    assert client.get("/api/v1/conversations?assignee=drop%20table", headers=headers).status_code == 422


def test_the_endpoints_are_in_the_openapi_document(client):
    paths = client.get("/api/v1/openapi.json").get_json()["paths"]
    assert {"/api/v1/conversations", "/api/v1/conversations/{conversation_id}",
            "/api/v1/conversations/{conversation_id}/state",
            "/api/v1/conversations/{conversation_id}/replies",
            "/api/v1/conversations/{conversation_id}/replies/{post_id}/approve"} <= set(paths)
