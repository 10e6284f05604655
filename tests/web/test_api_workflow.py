"""The lifecycle through the API follows the web's rules: states, roles, the check gate, versions, slots."""

from datetime import datetime, timedelta

import pytest

from characters.core.models import utcnow
from tests.web.test_api_helpers import make_api_world

pytestmark = pytest.mark.usefixtures("fresh_checker")


@pytest.fixture
def world(session):
    return make_api_world(session)


def _submitted(client, world, text="Splash! Off for a swim.", who="writer"):
    post = client.post("/api/v1/posts", headers=world.headers(who),
                       json={"character": "pip-the-otter", "parts": [{"text": text}]}).json
    response = client.post(f"/api/v1/posts/{post['id']}/submit", headers=world.headers(who),
                           json={"version": 1, "note": "Ready when you are."})
    assert response.status_code == 200, response.json
    return response.json


def _act(client, world, post_id, action, who="editor", **body):
    return client.post(f"/api/v1/posts/{post_id}/{action}", headers=world.headers(who), json={"version": 1, **body})


def _later(hours=3):
    return (utcnow() + timedelta(hours=hours)).isoformat()


def test_submit_stores_the_check_and_the_note(client, world):
    result = _submitted(client, world)
    assert result["post"]["status"] == "in_review"
    assert result["check"]["verdict"] in ("pass", "warn", "fail")
    assert result["post"]["check"]["score"] == result["check"]["score"]
    comments = client.get(f"/api/v1/posts/{result['post']['id']}/comments", headers=world.headers("viewer")).json
    assert [c["body"] for c in comments["items"]] == ["Ready when you are."]


def test_a_failing_check_needs_a_written_reason(client, world):
    banned = client.patch("/api/v1/characters/pip-the-otter", headers=world.headers("editor"),
                          json={"version": 1, "banned": [{"term": "iphone", "reason": "Otters have no phones."}]})
    assert banned.status_code == 200
    post = _submitted(client, world, "Just got my new iPhone!")["post"]
    assert post["check"]["verdict"] == "fail"
    refused = _act(client, world, post["id"], "approve", due_at=_later())
    assert refused.status_code == 422
    assert refused.json["error"]["code"] == "check_failed"
    assert refused.json["error"]["details"]["verdict"] == "fail"
    approved = _act(client, world, post["id"], "approve", due_at=_later(), override_reason="A joke we keep.")
    assert approved.status_code == 200
    assert approved.json["post"]["override_reason"] == "A joke we keep."


def test_approve_at_the_next_free_slot_then_reschedule(client, world):
    post = _submitted(client, world)["post"]
    first = _act(client, world, post["id"], "approve", next_slot=True, override_reason="ok")
    assert first.status_code == 200
    due = datetime.fromisoformat(first.json["post"]["due_local"])
    assert (due.hour, due.minute) in ((9, 0), (18, 30))
    assert first.json["post"]["timezone"] == "Europe/London"
    moved = _act(client, world, post["id"], "reschedule", due_at=_later(30))
    assert moved.status_code == 200
    assert moved.json["post"]["status"] == "approved"
    assert moved.json["post"]["deliveries"][0]["due_at"] == moved.json["post"]["due_at"]
    assert _act(client, world, post["id"], "reschedule", who="writer", due_at=_later()).status_code == 403


def test_reject_needs_a_comment_and_sends_the_post_back(client, world):
    post = _submitted(client, world)["post"]
    assert _act(client, world, post["id"], "reject", comment="").status_code == 422
    rejected = _act(client, world, post["id"], "reject", comment="More otter, less human.")
    assert rejected.status_code == 200
    assert rejected.json["post"]["status"] == "draft"
    assert _act(client, world, post["id"], "reject", comment="Again?").status_code == 409


def test_transitions_refuse_the_wrong_state_and_stale_versions(client, world):
    post = _submitted(client, world)["post"]
    again = _act(client, world, post["id"], "submit", who="writer")
    assert again.status_code == 409
    assert again.json["error"]["code"] == "invalid_state"
    client.put(f"/api/v1/posts/{post['id']}", headers=world.headers("writer"),
               json={"version": 1, "parts": [{"text": "Edited while in review."}]})
    stale = _act(client, world, post["id"], "approve", due_at=_later(), override_reason="ok")
    assert stale.status_code == 409
    assert stale.json["error"]["details"]["current_version"] == 2


def test_writers_cancel_their_own_posts_before_approval_only(client, world):
    mine = _submitted(client, world)["post"]
    theirs = _submitted(client, world, who="editor")["post"]
    assert _act(client, world, theirs["id"], "cancel", who="writer").status_code == 403
    cancelled = _act(client, world, mine["id"], "cancel", who="writer", reason="Changed my mind.")
    assert cancelled.status_code == 200
    assert cancelled.json["post"]["status"] == "cancelled"
    assert cancelled.json["post"]["deliveries"][0]["status"] == "cancelled"
    assert _act(client, world, mine["id"], "submit", who="writer").status_code == 409
