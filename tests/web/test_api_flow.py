"""The whole loop through the API alone: a card becomes a character, a writer drafts and submits, an editor
approves, the scheduler publishes, and the script sees the post published.

The script talks HTTP to a live server with nothing but tokens; the scheduler's part runs in-process with the
domain's claim/settle functions and the feed publisher, the way the scheduler process drives them.
"""

import threading
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import httpx
import pytest
from werkzeug.serving import make_server

from characters.publishing.delivery import claim_due_deliveries, complete_delivery, load_deliveries, start_sending
from scheduler.publishers.base import PartContent, PublishRequest
from scheduler.publishers.feed import FeedPublisher
from tests.web.test_api_helpers import make_api_world

pytestmark = pytest.mark.usefixtures("fresh_checker")

CARD = Path(__file__).resolve().parents[1] / "characters" / "fixtures" / "cards" / "v2-fennick-lorebook.json"


@pytest.fixture
def base_url(app) -> Iterator[str]:
    """Serve the app on a free port for the length of the test."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/api/v1"
    server.shutdown()


def _api(base_url: str, token: str) -> httpx.Client:
    return httpx.Client(base_url=base_url, headers={"Authorization": f"Bearer {token}"}, timeout=30)


def publish_due(engine, now: datetime) -> int:
    """Do what the scheduler does for due feed deliveries: claim, mark sending, publish, settle."""
    claimed = claim_due_deliveries(engine, "flow-test", now, limit=10, lease_seconds=60)
    sending = start_sending(engine, "flow-test", [claim.id for claim in claimed], now)
    published = 0
    for delivery in load_deliveries(engine, [claim for claim in claimed if claim.id in sending]):
        outcome = FeedPublisher().publish(PublishRequest(
            idempotency_key=delivery.claimed.idempotency_key, settings={}, secrets={},
            parts=[PartContent(text=part.text) for part in delivery.parts]))
        refs = [{"id": ref.id, "url": ref.url, "extra": {}} for ref in outcome.refs]
        published += complete_delivery(engine, "flow-test", delivery.claimed.id, refs, outcome.url, now)
    return published


def test_a_script_with_tokens_takes_a_card_to_a_published_post(engine, session, base_url):
    world = make_api_world(session, character=None)
    owner, writer, editor = (_api(base_url, world.tokens[role]) for role in ("owner", "writer", "editor"))

    imported = owner.post("/character-cards", files={"file": (CARD.name, CARD.read_bytes(), "application/json")})
    assert imported.status_code == 201, imported.text
    character = imported.json()["character"]
    assert character["current_version"] == 1
    assert character["bible"]["name"] == character["name"]

    draft = writer.post("/posts", json={"character": character["slug"],
                                        "parts": [{"text": "Evening, friends. The lamps are lit on the quay."}]})
    assert draft.status_code == 201, draft.text
    post = draft.json()
    assert post["status"] == "draft"
    assert draft.headers["ETag"] == '"1"'
    submitted = writer.post(f"/posts/{post['id']}/submit", json={"version": post["version"]})
    assert submitted.json()["post"]["status"] == "in_review", submitted.text
    check = submitted.json()["check"]

    due_at = (datetime.now().astimezone() + timedelta(hours=2)).replace(microsecond=0)
    approval = {"version": post["version"], "due_at": due_at.isoformat()}
    if check["verdict"] == "fail":
        approval["override_reason"] = "Read aloud in the review; it is in voice."
    approved = editor.post(f"/posts/{post['id']}/approve", json=approval)
    assert approved.status_code == 200, approved.text
    assert approved.json()["post"]["status"] == "approved"
    assert datetime.fromisoformat(approved.json()["post"]["due_at"]) == due_at

    schedule = writer.get("/schedule", params={"start": (due_at - timedelta(hours=1)).isoformat(),
                                               "end": (due_at + timedelta(hours=1)).isoformat()}).json()
    assert [item["post_id"] for item in schedule["items"]] == [post["id"]]

    assert publish_due(engine, due_at - timedelta(minutes=1)) == 0
    assert publish_due(engine, due_at + timedelta(seconds=5)) == 1

    seen = writer.get(f"/posts/{post['id']}").json()
    assert seen["status"] == "published"
    assert seen["published_at"] is not None
    assert [delivery["status"] for delivery in seen["deliveries"]] == ["published"]
    assert publish_due(engine, due_at + timedelta(minutes=5)) == 0
