import re

from characters.accounts.workspaces import set_member_role
from characters.core.models import Role
from tests.factories import DEFAULT_PASSWORD, workspace_with_roles
from tests.web.test_api_helpers import make_api_world


def test_owner_creates_an_invite_link_shown_once(client, auth, session):
    workspace_with_roles(session)
    auth.login("owner@fans.example", DEFAULT_PASSWORD)
    response = client.post("/w/fans/members/", data={"role": "editor", "days": "3"})
    assert response.status_code == 200
    link = re.search(rb'value="(http://localhost/invite/[^"]+)"', response.data)
    assert link is not None
    assert link.group(1) not in client.get("/w/fans/members/").data
    auth.logout()
    assert b"Join Fans" in client.get(link.group(1).decode().replace("http://localhost", "")).data


def test_bad_invite_form_shows_errors(client, auth, session):
    workspace_with_roles(session)
    auth.login("owner@fans.example", DEFAULT_PASSWORD)
    response = client.post("/w/fans/members/", data={"role": "emperor", "days": "-4"})
    assert response.status_code == 200
    assert b'class="error"' in response.data
    assert b"/invite/" not in response.data


def test_owner_changes_a_role_and_removes_a_member(client, auth, session):
    people = workspace_with_roles(session)
    auth.login("owner@fans.example", DEFAULT_PASSWORD)
    client.post(f"/w/fans/members/{people['writer'].id}/role", data={"role": "editor"})
    assert b"Writer is now editor." in client.get("/w/fans/members/").data
    client.post(f"/w/fans/members/{people['viewer'].id}/remove")
    assert b"viewer@fans.example" not in client.get("/w/fans/members/").data


def test_last_owner_cannot_demote_themselves(client, auth, session):
    people = workspace_with_roles(session)
    auth.login("owner@fans.example", DEFAULT_PASSWORD)
    client.post(f"/w/fans/members/{people['owner'].id}/role", data={"role": "viewer"})
    page = client.get("/w/fans/members/")
    assert b"at least one owner" in page.data


def test_editors_see_members_but_cannot_manage(client, auth, session):
    people = workspace_with_roles(session)
    auth.login("editor@fans.example", DEFAULT_PASSWORD)
    page = client.get("/w/fans/members/")
    assert page.status_code == 200
    assert b"Create invite link" not in page.data
    assert client.post("/w/fans/members/", data={"role": "owner", "days": "7"}).status_code == 403
    assert client.post(f"/w/fans/members/{people['writer'].id}/role", data={"role": "owner"}).status_code == 403
    assert client.post(f"/w/fans/members/{people['writer'].id}/remove").status_code == 403


def test_owner_changes_settings_others_cannot(client, auth, session):
    workspace_with_roles(session)
    auth.login("writer@fans.example", DEFAULT_PASSWORD)
    assert client.get("/w/fans/settings").status_code == 403
    auth.logout()
    auth.login("owner@fans.example", DEFAULT_PASSWORD)
    response = client.post("/w/fans/settings", data={"name": "Fans United", "writers_edit_bibles": "y"})
    assert response.status_code == 302
    page = client.get("/w/fans/settings")
    assert b"Fans United" in page.data
    assert b'id="two_person_rule" name="two_person_rule" type="checkbox" value="y">' in page.data


def test_empty_settings_name_is_a_field_error(client, auth, session):
    workspace_with_roles(session)
    auth.login("owner@fans.example", DEFAULT_PASSWORD)
    response = client.post("/w/fans/settings", data={"name": "   "})
    assert response.status_code == 200
    assert b"1 to 120 characters" in response.data or b"This field is required" in response.data


def test_a_removed_members_token_stays_dead_when_they_are_added_again(client, auth, session):
    world = make_api_world(session, character=None)
    assert client.get("/api/v1/me", headers=world.headers("writer")).status_code == 200
    auth.login("owner@fans.example", DEFAULT_PASSWORD)
    client.post(f"/w/fans/members/{world.people['writer'].id}/remove")
    set_member_role(session=session, workspace=world.workspace, user=world.people["writer"], role=Role.WRITER)
    session.commit()
    assert client.get("/api/v1/me", headers=world.headers("writer")).status_code == 401
    assert client.get("/api/v1/me", headers=world.headers("editor")).status_code == 200
