"""The late-post grace period: one domain rule, set from the settings page, the API and the CLI."""

import pytest
from sqlmodel import select

from characters.core.models import Workspace
from tests.factories import DEFAULT_PASSWORD, workspace_with_roles
from tests.web.test_api_helpers import make_api_world
from web.cli import main as cli


def grace(session, slug="fans"):
    session.expire_all()
    return session.exec(select(Workspace).where(Workspace.slug == slug)).one().late_grace_minutes


def test_the_owner_sets_the_grace_period_on_the_settings_page(client, auth, session):
    workspace_with_roles(session)
    auth.login("owner@fans.example", DEFAULT_PASSWORD)
    assert b'name="late_grace_minutes"' in client.get("/w/fans/settings").data
    response = client.post("/w/fans/settings", data={"name": "Fans", "late_grace_minutes": "45"})
    assert response.status_code == 302
    assert grace(session) == 45


@pytest.mark.parametrize(("value", "message"), [("-1", b"0 to 1440 minutes"), ("1441", b"0 to 1440 minutes"),
                                                ("abc", b"Not a valid integer value")])
def test_a_bad_grace_period_is_a_field_error_and_nothing_is_saved(client, auth, session, value, message):
    workspace_with_roles(session)
    auth.login("owner@fans.example", DEFAULT_PASSWORD)
    response = client.post("/w/fans/settings", data={"name": "Renamed", "late_grace_minutes": value})
    assert response.status_code == 200
    assert message in response.data
    assert grace(session) == 15
    assert session.exec(select(Workspace).where(Workspace.slug == "fans")).one().name != "Renamed"


def test_the_api_reads_and_changes_the_grace_period_for_owners_only(client, session):
    world = make_api_world(session, character=None)
    assert client.get("/api/v1/settings", headers=world.headers("owner")).json == {"late_grace_minutes": 15}
    response = client.patch("/api/v1/settings", json={"late_grace_minutes": 90}, headers=world.headers("owner"))
    assert response.status_code == 200, response.json
    assert response.json == {"late_grace_minutes": 90}
    assert grace(session) == 90
    assert client.patch("/api/v1/settings", json={"late_grace_minutes": 5},
                        headers=world.headers("editor")).status_code == 403
    assert grace(session) == 90


@pytest.mark.parametrize("value", [-1, 1441, "abc", False, "30", 2.5, None])
def test_the_api_refuses_a_bad_grace_period(client, session, value):
    world = make_api_world(session, character=None)
    response = client.patch("/api/v1/settings", json={"late_grace_minutes": value}, headers=world.headers("owner"))
    assert response.status_code == 422
    assert "late_grace_minutes" in str(response.json)
    assert grace(session) == 15


def test_the_cli_sets_the_grace_period(runner, session):
    workspace_with_roles(session)
    result = runner.invoke(cli, ["workspaces", "set", "fans", "--late-grace-minutes", "30"])
    assert result.exit_code == 0, result.output
    assert "30" in result.output
    assert grace(session) == 30


@pytest.mark.parametrize(("value", "message"), [("-1", "0 to 1440 minutes"), ("1441", "0 to 1440 minutes"),
                                                ("abc", "not a valid integer")])
def test_the_cli_refuses_a_bad_grace_period(runner, session, value, message):
    workspace_with_roles(session)
    result = runner.invoke(cli, ["workspaces", "set", "fans", "--late-grace-minutes", value])
    assert result.exit_code != 0
    assert message in result.output
    assert grace(session) == 15
