"""Scenes through the web: plan lines, submit, approve from a start time, and the writer cannot approve."""

import pytest
from sqlmodel import select

from characters.core.models import Post, PostStatus, Scene, utcnow
from tests.factories import DEFAULT_PASSWORD, make_character, workspace_with_roles


@pytest.fixture
def cast(session):
    people = workspace_with_roles(session, "sn")
    people["ada"] = make_character(session, people["workspace"], people["owner"], "Ada")
    people["bo"] = make_character(session, people["workspace"], people["owner"], "Bo")
    return people


def _lines(cast):
    return {"title": "Tea", "lines-0-character": str(cast["ada"].id), "lines-0-text": "Tea, Bo?",
            "lines-1-character": str(cast["bo"].id), "lines-1-text": "Always.", "lines-1-delay": "7"}


def test_plan_submit_and_approve_a_scene(client, auth, session, cast):
    auth.login("writer@sn.example", DEFAULT_PASSWORD)
    added = client.post("/w/sn/scenes/new", data={**_lines(cast), "op": "add_line"})
    assert b'name="lines-2-text"' in added.data
    assert client.post("/w/sn/scenes/new", data=_lines(cast)).status_code == 302
    scene = session.exec(select(Scene)).one()
    client.post(f"/w/sn/scenes/{scene.id}/submit", data={"version": "1"})
    page = client.get(f"/w/sn/scenes/{scene.id}").data.decode()
    assert "+7 min, replying to line 1" in page
    assert "Approve the scene" not in page
    assert client.post(f"/w/sn/scenes/{scene.id}/approve", data={"version": "1", "when": "at",
                                                                 "starts_local": "2099-01-01T10:00"}).status_code == 403
    auth.logout()
    auth.login("editor@sn.example", DEFAULT_PASSWORD)
    assert "Tea" in client.get("/w/sn/inbox/").data.decode()
    client.post(f"/w/sn/scenes/{scene.id}/approve", data={"version": "1", "when": "at",
                                                          "starts_local": "2099-01-01T10:00"})
    session.rollback()
    session.expire_all()
    posts = session.exec(select(Post).order_by(Post.scene_position)).all()
    assert [p.status for p in posts] == [PostStatus.APPROVED] * 2
    assert (posts[1].due_at - posts[0].due_at).total_seconds() == 7 * 60
    assert posts[0].due_at > utcnow()


@pytest.mark.parametrize(("data", "message"), [
    ({"title": "", "lines-0-character": "1", "lines-0-text": "x"}, "Title"),
    ({"title": "T", "lines-0-character": "999", "lines-0-text": "x"}, "Line 1"),
    ({"title": "T", "lines-0-character": "1", "lines-0-text": "x", "lines-1-character": "1",
      "lines-1-text": "y", "lines-1-delay": "99999999"}, "Line 2"),
])
def test_bad_scenes_are_refused_with_a_message(client, auth, session, cast, data, message):
    auth.login("writer@sn.example", DEFAULT_PASSWORD)
    response = client.post("/w/sn/scenes/new", data=data)
    assert response.status_code == 200
    assert message in response.data.decode()
    assert session.exec(select(Scene)).first() is None


def test_stale_scene_edit_is_a_conflict(client, auth, session, cast):
    auth.login("writer@sn.example", DEFAULT_PASSWORD)
    client.post("/w/sn/scenes/new", data=_lines(cast))
    scene = session.exec(select(Scene)).one()
    assert client.post(f"/w/sn/scenes/{scene.id}/edit", data={**_lines(cast), "version": "1"}).status_code == 302
    stale = client.post(f"/w/sn/scenes/{scene.id}/edit", data={**_lines(cast), "version": "1"})
    assert stale.status_code == 409
    assert b"changed while you were working" in stale.data
