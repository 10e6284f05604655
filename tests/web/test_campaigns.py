"""Campaigns: editors plan them, posts join them, the page shows progress."""

import re

import pytest
from sqlmodel import select

from characters.core.models import Campaign
from tests.factories import DEFAULT_PASSWORD, make_character, workspace_with_roles


@pytest.fixture
def people(session):
    people = workspace_with_roles(session, "cp")
    people["character"] = make_character(session, people["workspace"], people["owner"], "Walt")
    return people


def test_editor_creates_a_campaign_and_posts_join_it(client, auth, session, people):
    auth.login("editor@cp.example", DEFAULT_PASSWORD)
    response = client.post("/w/cp/campaigns/new", data={"name": "Spring Launch", "goal": "Sell paddles.",
                                                        "starts_on": "2026-03-01", "ends_on": "2026-03-31",
                                                        "characters": [str(people["character"].id)]})
    assert response.status_code == 302
    campaign = session.exec(select(Campaign)).one()
    client.post("/w/cp/posts/new", data={"character": "walt", "parts-0-text": "Paddles!",
                                         "campaign": str(campaign.id)})
    page = client.get(f"/w/cp/campaigns/{campaign.id}").data.decode()
    assert "Sell paddles." in page
    assert "Paddles!" in page
    assert "1 drafted" in page
    assert "Walt" in page
    assert "Spring Launch" in client.get("/w/cp/campaigns/").data.decode()


@pytest.mark.parametrize(("data", "field", "message"), [
    ({"name": ""}, "name", "String should have at least 1 character"),
    ({"name": "  "}, "name", "A campaign needs a name"),
    ({"name": "X", "starts_on": "2026-03-02", "ends_on": "2026-03-01"}, "form", "cannot end before it starts"),
    ({"name": "X", "starts_on": "not-a-date"}, "starts_on", "valid date"),
    ({"name": "X", "characters": ["99999"]}, "character_ids", "characters of this workspace"),
])
def test_bad_campaigns_are_refused_with_a_message_on_the_field(client, auth, session, people, data, field, message):
    auth.login("editor@cp.example", DEFAULT_PASSWORD)
    response = client.post("/w/cp/campaigns/new", data=data)
    assert response.status_code == 200
    where = '<div class="form-error" role="alert"><p>' if field == "form" else f'<p class="error" id="{field}-error">'
    shown = re.search(f"{re.escape(where)}([^<]*)</p>", response.data.decode())
    assert shown is not None
    assert message in shown.group(1)
    assert session.exec(select(Campaign)).first() is None


def test_writers_cannot_plan_campaigns(client, auth, people):
    auth.login("writer@cp.example", DEFAULT_PASSWORD)
    assert client.get("/w/cp/campaigns/new").status_code == 403
    assert client.post("/w/cp/campaigns/new", data={"name": "Mine"}).status_code == 403
    assert b"New campaign" not in client.get("/w/cp/campaigns/").data


def test_a_post_cannot_join_another_workspaces_campaign(client, auth, session, people):
    auth.login("writer@cp.example", DEFAULT_PASSWORD)
    response = client.post("/w/cp/posts/new", data={"character": "walt", "parts-0-text": "x", "campaign": "424242"})
    assert response.status_code == 200
    assert b"campaigns" in response.data
