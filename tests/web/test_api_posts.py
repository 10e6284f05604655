"""Posts through the API: create, GET one, PUT/PATCH with version checks, delete drafts, list, comments, history."""

import base64
import io
from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from PIL import Image

from characters.core.models import Post, Role, utcnow
from characters.posting.posts import PostContent, create_draft
from characters.posting.workflow import approve_post, submit_post
from tests.factories import member
from tests.web.test_api_helpers import make_api_world

pytestmark = pytest.mark.usefixtures("fresh_checker")


@pytest.fixture
def world(session):
    return make_api_world(session)


def _create(client, world, *texts, who="writer", **fields):
    response = client.post("/api/v1/posts", headers=world.headers(who),
                           json={"character": "pip-the-otter", "parts": [{"text": t} for t in texts], **fields})
    assert response.status_code == 201, response.json
    return response.json


def _png() -> str:
    buffer = io.BytesIO()
    Image.new("RGB", (8, 8), "teal").save(buffer, format="PNG")
    return base64.b64encode(buffer.getvalue()).decode()


def test_a_draft_is_created_and_read_back_whole(client, world):
    post = _create(client, world, "Splash!", "Part two of the thread.")
    assert (post["status"], post["version"], post["character"]) == ("draft", 1, "pip-the-otter")
    assert [part["text"] for part in post["parts"]] == ["Splash!", "Part two of the thread."]
    assert [d["channel_kind"] for d in post["deliveries"]] == ["feed"]
    assert post["timezone"] == "Europe/London"
    assert post["allowed_actions"]["submit"] is True
    assert post["allowed_actions"]["approve"] is False
    got = client.get(f"/api/v1/posts/{post['id']}", headers=world.headers("viewer"))
    assert got.status_code == 200
    assert got.headers["ETag"] == '"1"'
    assert got.json["parts"] == post["parts"]
    assert got.json["allowed_actions"]["edit"] is False


def test_put_saves_a_new_version_and_a_stale_version_is_a_409_with_both(client, world):
    post = _create(client, world, "First words.")
    saved = client.put(f"/api/v1/posts/{post['id']}", headers=world.headers("writer"),
                       json={"version": 1, "parts": [{"text": "Second words."}]})
    assert saved.status_code == 200
    assert saved.json["version"] == 2
    assert saved.headers["ETag"] == '"2"'
    stale = client.put(f"/api/v1/posts/{post['id']}", headers={**world.headers("editor"), "If-Match": '"1"'},
                       json={"parts": [{"text": "Someone else's words."}]})
    error = stale.json["error"]
    assert stale.status_code == 409
    assert error["code"] == "version_conflict"
    assert error["details"]["your_version"] == 1
    assert error["details"]["current_version"] == 2
    assert error["details"]["current"]["parts"][0]["text"] == "Second words."
    again = client.put(f"/api/v1/posts/{post['id']}", headers={**world.headers("editor"), "If-Match": 'W/"2"'},
                       json={"parts": [{"text": "Merged words."}]})
    assert again.status_code == 200
    assert again.json["version"] == 3


def test_a_write_must_say_which_version_it_edited(client, world):
    post = _create(client, world, "Words.")
    missing = client.put(f"/api/v1/posts/{post['id']}", headers=world.headers("writer"),
                         json={"parts": [{"text": "New"}]})
    assert missing.status_code == 428
    assert missing.json["error"]["code"] == "precondition_required"
    disagree = client.put(f"/api/v1/posts/{post['id']}", headers={**world.headers("writer"), "If-Match": '"2"'},
                          json={"version": 1, "parts": [{"text": "New"}]})
    assert disagree.status_code == 422


def test_patch_changes_only_what_it_names_and_keeps_images(client, world):
    post = _create(client, world, "With a picture.", who="writer")
    with_image = client.put(f"/api/v1/posts/{post['id']}", headers=world.headers("writer"), json={
        "version": 1, "parts": [{"text": "With a picture.", "image_base64": _png(), "image_alt": "A teal square"}]})
    assert with_image.status_code == 200
    assert with_image.json["parts"][0]["has_image"] is True
    patched = client.patch(f"/api/v1/posts/{post['id']}", headers=world.headers("writer"),
                           json={"version": 2, "campaign_id": None})
    assert patched.status_code == 200
    assert patched.json["version"] == 3
    part = patched.json["parts"][0]
    assert (part["text"], part["has_image"], part["image_alt"]) == ("With a picture.", True, "A teal square")
    assert [d["channel_kind"] for d in patched.json["deliveries"]] == ["feed"]
    text_only = client.patch(f"/api/v1/posts/{post['id']}", headers=world.headers("writer"),
                             json={"version": 3, "parts": [{"text": "Words only now."}]})
    assert text_only.json["parts"][0]["has_image"] is False


def test_an_image_without_alt_text_or_not_an_image_is_refused(client, world):
    post = _create(client, world, "Words.")
    no_alt = client.put(f"/api/v1/posts/{post['id']}", headers=world.headers("writer"),
                        json={"version": 1, "parts": [{"text": "x", "image_base64": _png()}]})
    assert no_alt.status_code == 422
    assert "alt text" in no_alt.json["error"]["message"]
    junk = client.put(f"/api/v1/posts/{post['id']}", headers=world.headers("writer"), json={
        "version": 1, "parts": [{"text": "x", "image_base64": base64.b64encode(b"not a picture").decode(),
                                 "image_alt": "?"}]})
    assert junk.status_code == 422
    assert junk.json["error"]["details"][0]["field"] == "image"
    not_base64 = client.put(f"/api/v1/posts/{post['id']}", headers=world.headers("writer"),
                            json={"version": 1, "parts": [{"text": "x", "image_base64": "%%%", "image_alt": "?"}]})
    assert not_base64.status_code == 422


def test_editing_an_approved_post_sends_it_back_to_review(client, session, world):
    post = _create(client, world, "Approved words.")
    db_post = session.get(Post, post["id"])
    submit_post(session=session, member=member(world.workspace, world.people["writer"], Role.WRITER),
                post=db_post, expected_version=1)
    approve_post(session=session, member=member(world.workspace, world.people["editor"], Role.EDITOR), post=db_post,
                 expected_version=1, due_at=utcnow() + timedelta(days=1), override_reason="Fine.")
    session.commit()
    saved = client.patch(f"/api/v1/posts/{post['id']}", headers=world.headers("writer"),
                         json={"version": 1, "parts": [{"text": "Changed after approval."}]})
    assert saved.status_code == 200
    assert saved.json["status"] == "in_review"
    assert saved.json["due_at"] is None


def test_only_drafts_can_be_deleted_and_deleting_keeps_the_history(client, world):
    post = _create(client, world, "Soon gone.")
    submitted = _create(client, world, "In review.")
    client.post(f"/api/v1/posts/{submitted['id']}/submit", headers=world.headers("writer"), json={"version": 1})
    refused = client.delete(f"/api/v1/posts/{submitted['id']}", headers={**world.headers("writer"), "If-Match": "1"})
    assert refused.status_code == 409
    assert "cancel" in refused.json["error"]["message"].lower()
    deleted = client.delete(f"/api/v1/posts/{post['id']}", headers={**world.headers("writer"), "If-Match": '"1"'})
    assert deleted.status_code == 204
    assert deleted.data == b""
    assert client.get(f"/api/v1/posts/{post['id']}", headers=world.headers("writer")).json["status"] == "cancelled"
    assert client.delete(f"/api/v1/posts/{post['id']}", headers=world.headers("writer")).status_code == 428


def test_the_list_filters_and_pages_with_a_cursor(client, session, world):
    ids = [_create(client, world, f"Post {n}")["id"] for n in range(5)]
    first = client.get("/api/v1/posts?limit=2", headers=world.headers("viewer")).json
    assert [item["id"] for item in first["items"]] == ids[:-3:-1]
    assert first["next_cursor"] == ids[3]
    second = client.get(f"/api/v1/posts?limit=2&cursor={first['next_cursor']}", headers=world.headers("viewer")).json
    third = client.get(f"/api/v1/posts?limit=2&cursor={second['next_cursor']}", headers=world.headers("viewer")).json
    assert [item["id"] for item in second["items"] + third["items"]] == ids[2::-1]
    assert third["next_cursor"] is None
    assert third["items"][0]["excerpt"] == "Post 0"
    client.post(f"/api/v1/posts/{ids[0]}/submit", headers=world.headers("writer"), json={"version": 1})
    in_review = client.get("/api/v1/posts?status=in_review", headers=world.headers("viewer")).json["items"]
    assert [item["id"] for item in in_review] == [ids[0]]
    assert client.get("/api/v1/posts?character=nobody", headers=world.headers("viewer")).status_code == 404
    assert client.get("/api/v1/posts?status=lost", headers=world.headers("viewer")).status_code == 422


def test_the_list_filters_by_due_time_and_campaign(client, session, world):
    campaign = client.post("/api/v1/campaigns", headers=world.headers("editor"), json={"name": "Launch"}).json
    editor = member(world.workspace, world.people["editor"], Role.EDITOR)
    due = utcnow().replace(microsecond=0) + timedelta(days=2)
    for days in (0, 5):
        post = create_draft(session=session, member=member(world.workspace, world.people["writer"], Role.WRITER),
                            character=world.character, content=PostContent.of_texts(
                                [f"In {days} days"], campaign_id=campaign["id"] if days else None))
        submit_post(session=session, member=member(world.workspace, world.people["writer"], Role.WRITER),
                    post=post, expected_version=1)
        approve_post(session=session, member=editor, post=post, expected_version=1,
                     due_at=due + timedelta(days=days), override_reason="Fine.")
    session.commit()
    window = {"due_from": due.isoformat(), "due_to": (due + timedelta(days=1)).isoformat()}
    items = client.get("/api/v1/posts", query_string=window, headers=world.headers("viewer")).json["items"]
    assert [item["excerpt"] for item in items] == ["In 0 days"]
    assert items[0]["due_local"] == due.astimezone(ZoneInfo("Europe/London")).isoformat()
    in_campaign = client.get(f"/api/v1/posts?campaign_id={campaign['id']}", headers=world.headers("viewer")).json
    assert [item["excerpt"] for item in in_campaign["items"]] == ["In 5 days"]


def test_comments_and_history(client, world):
    post = _create(client, world, "Talk about me.")
    added = client.post(f"/api/v1/posts/{post['id']}/comments", headers=world.headers("editor"),
                        json={"body": "Less exclamation marks?"})
    assert added.status_code == 201
    assert added.json["author"] == "Editor"
    assert client.post(f"/api/v1/posts/{post['id']}/comments", headers=world.headers("viewer"),
                       json={"body": "Me too"}).status_code == 403
    assert client.post(f"/api/v1/posts/{post['id']}/comments", headers=world.headers("editor"),
                       json={"body": "   "}).status_code == 422
    comments = client.get(f"/api/v1/posts/{post['id']}/comments", headers=world.headers("viewer")).json["items"]
    assert [c["body"] for c in comments] == ["Less exclamation marks?"]
    client.put(f"/api/v1/posts/{post['id']}", headers=world.headers("writer"),
               json={"version": 1, "parts": [{"text": "Talk about me, calmly."}]})
    history = client.get(f"/api/v1/posts/{post['id']}/history", headers=world.headers("viewer")).json["items"]
    kinds = [item["kind"] for item in history]
    assert kinds.count("revision") == 2
    assert "comment" in kinds
    assert "event" in kinds
    assert any("+Talk about me, calmly." in line for item in history for line in item["diff"] or [])
