"""The two-person rule through the web and the API: an editor who changed the text cannot approve it."""

from datetime import timedelta
from html import unescape

import pytest
from sqlmodel import select

from characters.core.models import Post, PostStatus, Role, Scene, utcnow
from characters.posting.posts import PostContent, create_draft
from characters.posting.workflow import submit_post
from tests.factories import DEFAULT_PASSWORD, make_character, member, workspace_with_roles
from tests.web.test_api_helpers import make_api_world

pytestmark = pytest.mark.usefixtures("fresh_checker")

CHANGED = "You changed this post's text, and this workspace has the two-person rule: another editor must approve it."
APPROVE_AT = {"when": "at", "due_local": "2099-01-01T10:00"}


@pytest.fixture
def crew(session):
    people = workspace_with_roles(session, "tp")
    people["pip"] = make_character(session, people["workspace"], people["owner"], "Pip")
    people["bo"] = make_character(session, people["workspace"], people["owner"], "Bo")
    return people


def _in_review(session, crew):
    writer = member(crew["workspace"], crew["writer"], Role.WRITER)
    post = create_draft(session=session, member=writer, character=crew["pip"],
                        content=PostContent.of_texts(["A fine morning."]))
    submit_post(session=session, member=writer, post=post, expected_version=post.version)
    session.commit()
    return post


def _status(session, model, row_id):
    session.rollback()  # end the read transaction: SQLite would keep showing its old snapshot
    session.expire_all()
    return session.get(model, row_id).status


def _edited_on_the_web(client, auth, session, crew):
    post = _in_review(session, crew)
    auth.login("editor@tp.example", DEFAULT_PASSWORD)
    saved = client.post(f"/w/tp/posts/{post.id}/edit", data={"version": "1", "parts-0-text": "A finer morning."})
    assert saved.status_code == 302
    return post


def test_an_editor_who_edited_on_the_web_gets_no_button_and_a_403(client, auth, session, crew):
    post = _edited_on_the_web(client, auth, session, crew)
    approve_form = f'/posts/{post.id}/approve"'
    page = client.get(f"/w/tp/posts/{post.id}").data.decode()
    assert approve_form not in page
    assert "You wrote, submitted or changed this post" in page
    inbox = client.get("/w/tp/inbox/").data.decode()
    assert "A finer morning." in inbox
    assert approve_form not in inbox
    refused = client.post(f"/w/tp/posts/{post.id}/approve", data={"version": "2", **APPROVE_AT})
    assert refused.status_code == 403
    assert CHANGED in unescape(refused.data.decode())
    assert _status(session, Post, post.id) == PostStatus.IN_REVIEW
    auth.logout()
    auth.login("owner@tp.example", DEFAULT_PASSWORD)
    assert approve_form in client.get("/w/tp/inbox/").data.decode()
    assert client.post(f"/w/tp/posts/{post.id}/approve", data={"version": "2", **APPROVE_AT}).status_code == 302
    assert _status(session, Post, post.id) == PostStatus.APPROVED


def test_with_the_rule_off_the_editor_approves_what_he_edited(client, auth, session, crew):
    crew["workspace"].two_person_rule = False
    session.add(crew["workspace"])
    session.commit()
    post = _edited_on_the_web(client, auth, session, crew)
    assert f'/posts/{post.id}/approve"' in client.get(f"/w/tp/posts/{post.id}").data.decode()
    assert client.post(f"/w/tp/posts/{post.id}/approve", data={"version": "2", **APPROVE_AT}).status_code == 302
    assert _status(session, Post, post.id) == PostStatus.APPROVED


def test_the_author_still_cannot_approve_on_the_web(client, auth, session, crew):
    editor = member(crew["workspace"], crew["editor"], Role.EDITOR)
    post = create_draft(session=session, member=editor, character=crew["pip"], content=PostContent.of_texts(["Mine."]))
    submit_post(session=session, member=editor, post=post, expected_version=post.version)
    session.commit()
    auth.login("editor@tp.example", DEFAULT_PASSWORD)
    refused = client.post(f"/w/tp/posts/{post.id}/approve", data={"version": "1", **APPROVE_AT})
    assert refused.status_code == 403
    assert "You wrote or submitted this" in unescape(refused.data.decode())


def test_an_editor_who_changed_a_scene_line_cannot_approve_the_scene(client, auth, session, crew):
    lines = {"title": "Tea", "lines-0-character": str(crew["pip"].id), "lines-0-text": "Tea, Bo?",
             "lines-1-character": str(crew["bo"].id), "lines-1-text": "Always.", "lines-1-delay": "7"}
    start = {"when": "at", "starts_local": "2099-01-01T10:00"}
    auth.login("writer@tp.example", DEFAULT_PASSWORD)
    assert client.post("/w/tp/scenes/new", data=lines).status_code == 302
    scene = session.exec(select(Scene)).one()
    client.post(f"/w/tp/scenes/{scene.id}/submit", data={"version": "1"})
    auth.logout()
    auth.login("editor@tp.example", DEFAULT_PASSWORD)
    edited = client.post(f"/w/tp/scenes/{scene.id}/edit",
                         data={**lines, "lines-1-text": "Always. Milk?", "version": "1"})
    assert edited.status_code == 302
    page = client.get(f"/w/tp/scenes/{scene.id}").data.decode()
    assert "Approve the scene" not in page
    assert "You wrote, submitted or changed this scene" in page
    refused = client.post(f"/w/tp/scenes/{scene.id}/approve", data={"version": "2", **start})
    assert refused.status_code == 403
    assert "You changed this scene's text" in unescape(refused.data.decode())
    assert _status(session, Scene, scene.id) == PostStatus.IN_REVIEW
    auth.logout()
    auth.login("owner@tp.example", DEFAULT_PASSWORD)
    assert "Approve the scene" in client.get(f"/w/tp/scenes/{scene.id}").data.decode()
    assert client.post(f"/w/tp/scenes/{scene.id}/approve", data={"version": "2", **start}).status_code == 302
    assert _status(session, Scene, scene.id) == PostStatus.APPROVED


@pytest.fixture
def world(session):
    return make_api_world(session)


@pytest.mark.parametrize("method", ["patch", "put"])
def test_an_editor_who_changed_it_through_the_api_is_refused_the_approval(client, world, method):
    created = client.post("/api/v1/posts", headers=world.headers("writer"),
                          json={"character": "pip-the-otter", "parts": [{"text": "Splash! Off for a swim."}]}).json
    post_url = f"/api/v1/posts/{created['id']}"
    assert client.post(f"{post_url}/submit", headers=world.headers("writer"), json={"version": 1}).status_code == 200
    saved = getattr(client, method)(post_url, headers=world.headers("editor"),
                                    json={"version": 1, "parts": [{"text": "Splash! Off for a long swim."}]})
    assert saved.status_code == 200, saved.json
    assert saved.json["status"] == "in_review"
    assert saved.json["allowed_actions"]["approve"] is False
    due = (utcnow() + timedelta(hours=3)).isoformat()
    refused = client.post(f"{post_url}/approve", headers=world.headers("editor"), json={"version": 2, "due_at": due})
    assert refused.status_code == 403
    assert refused.json["error"]["message"] == CHANGED
    assert client.get(post_url, headers=world.headers("editor")).json["status"] == "in_review"
    approved = client.post(f"{post_url}/approve", headers=world.headers("owner"), json={"version": 2, "due_at": due})
    assert approved.status_code == 200, approved.json
    assert approved.json["post"]["status"] == "approved"
