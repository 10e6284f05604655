"""The analytics API: the page's numbers as JSON for a period and filters, a post's numbers over time, bad input
as 422 and other workspaces' rows as 404."""

from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import Session

from characters.core.models import Campaign, ChannelKind, EngagementSnapshot, require_id
from tests.characters.analytics.builders import followers, network_channel, published
from tests.web.test_api_helpers import make_api_world


@pytest.fixture
def world(session: Session):  # type: ignore[no-untyped-def]
    world = make_api_world(session)
    pip = world.character
    sky, toot = network_channel(session, pip), network_channel(session, pip, ChannelKind.MASTODON)
    launch = Campaign(workspace_id=require_id(world.workspace), name="Launch")
    session.add(launch)
    session.flush()
    now = datetime.now(UTC)
    for n in range(7):
        published(session, pip, sky if n % 2 else toot, now - timedelta(days=1 + n, hours=2), likes=n, reposts=1,
                  campaign_id=launch.id if n < 3 else None, text=f"Splash {n}")
    followers(session, sky, now - timedelta(days=10), 50)
    followers(session, sky, now - timedelta(hours=1), 58)
    session.commit()
    world.launch = launch
    return world


def test_the_numbers_of_the_last_30_days(client, world):
    response = client.get("/api/v1/analytics", headers=world.headers("read"))
    assert response.status_code == 200, response.json
    body = response.json
    assert body["empty"] is False
    assert body["totals"] == {"posts": 7, "likes": 21, "reposts": 7, "replies": 0, "quotes": 0, "engagement": 28,
                              "per_post": 4.0}
    assert body["period"]["unit"] == "day"
    assert len(body["trend"]) in (30, 31)
    assert sum(point["engagement"] for point in body["trend"]) == 28
    assert sum(hour["posts"] for hour in body["by_hour"]) == 7
    assert [day["name"] for day in body["by_weekday"]][:2] == ["Monday", "Tuesday"]
    assert {row["name"]: row["posts"] for row in body["by_campaign"]} == {"Launch": 3, "No campaign": 4}
    assert {row["network"]: row["posts"] for row in body["by_network"]} == {"bluesky": 3, "mastodon": 4}
    assert [row["likes"] for row in body["top"]] == [6, 5, 4, 3, 2]
    assert [row["likes"] for row in body["bottom"]] == [0, 1]
    assert body["top"][0]["excerpt"] == "Splash 6"
    assert body["top"][0]["character"] == "pip-the-otter"
    assert body["follower_change"] == 8
    assert body["best_hours"]["enough"] is False
    assert "Not enough data" in body["best_hours"]["message"]


def test_filters_and_a_custom_period(client, world):
    headers = world.headers("read")
    narrowed = client.get(f"/api/v1/analytics?network=mastodon&campaign_id={world.launch.id}", headers=headers).json
    assert narrowed["totals"]["posts"] == 2  # posts 0 and 2 of the campaign went to Mastodon
    character = client.get("/api/v1/analytics?character=pip-the-otter&period=7d", headers=headers).json
    assert character["period"]["timezone"] == "Europe/London"  # Pip's own zone
    assert character["totals"]["posts"] == 6  # the seventh went out 8 days ago
    long = client.get("/api/v1/analytics?start_date=2026-01-01&end_date=2026-12-31&timezone=Europe/Paris",
                      headers=headers).json
    assert long["period"]["unit"] == "week"
    assert long["period"]["timezone"] == "Europe/Paris"


def test_an_empty_workspace_says_so(client, session):
    world = make_api_world(session, "quiet")
    body = client.get("/api/v1/analytics", headers=world.headers("read")).json
    assert body["empty"] is True
    assert body["totals"]["posts"] == 0
    assert body["top"] == []
    assert body["accounts"] == []


@pytest.mark.parametrize(("query", "status", "text"), [
    ("period=12d", 422, "period"),
    ("start_date=2026-11-05&end_date=2026-11-01", 422, "last day is before its first day"),
    ("start_date=2026-11-05", 422, "Give both the first and the last day"),
    ("start_date=yesterday&end_date=2026-11-01", 422, "start_date"),
    ("timezone=Mars/Olympus", 422, "Unknown time zone"),
    ("network=myspace", 422, "network"),
    ("character=nobody", 404, "No such character"),
    ("campaign_id=999999", 404, "No such campaign"),
])
def test_bad_input_is_refused_with_a_message(client, world, query, status, text):
    response = client.get(f"/api/v1/analytics?{query}", headers=world.headers("read"))
    assert response.status_code == status, response.json
    assert text in str(response.json["error"])


def test_a_posts_numbers_over_time_and_other_workspaces(client, session, world):
    delivery = published(session, world.character, network_channel(session, world.character),
                         datetime.now(UTC) - timedelta(hours=5), likes=9, quotes=1)
    for hours, likes in ((4, 2), (3, 9)):
        session.add(EngagementSnapshot(delivery_id=require_id(delivery), likes=likes,
                                       taken_at=datetime.now(UTC) - timedelta(hours=hours)))
    session.commit()
    body = client.get(f"/api/v1/analytics/posts/{delivery.post_id}", headers=world.headers("read")).json
    assert body["post_id"] == delivery.post_id
    [only] = body["deliveries"]
    assert (only["network"], only["likes"], only["quotes"]) == ("bluesky", 9, 1)
    assert [snapshot["likes"] for snapshot in only["snapshots"]] == [2, 9]
    other = make_api_world(session, "rivals", character=None)
    assert client.get(f"/api/v1/analytics/posts/{delivery.post_id}",
                      headers=other.headers("read")).status_code == 404
    assert client.get("/api/v1/analytics", headers=other.headers("read")).json["empty"] is True


def test_the_document_describes_analytics(client):
    document = client.get("/api/v1/openapi.json").json
    assert "/api/v1/analytics" in document["paths"]
    assert "/api/v1/analytics/posts/{post_id}" in document["paths"]
    assert "AnalyticsOut" in document["components"]["schemas"]


def test_replies_to_conversations_are_counted_apart(client, session, world):
    pip = world.character
    sky = network_channel(session, pip)
    published(session, pip, sky, datetime.now(UTC) - timedelta(days=1), likes=2, text="Thank you!",
              conversation_id=77)
    session.commit()
    body = client.get("/api/v1/analytics", headers=world.headers("read")).json
    assert body["totals"]["posts"] == 7
    assert body["conversation_replies"] == {"posts": 1, "likes": 2, "reposts": 0, "replies": 0, "quotes": 0,
                                            "engagement": 2, "per_post": 2.0}
    assert "Thank you!" not in [row["excerpt"] for row in body["top"] + body["bottom"]]
    assert sum(hour["posts"] for hour in body["by_hour"]) == 7
