"""The token page: create (the secret shown once), list with last use, revoke; owners see everyone's tokens."""

import re

import pytest
from sqlmodel import select

from characters.core.models import ApiToken, Role
from tests.factories import DEFAULT_PASSWORD, workspace_with_roles
from tests.web.test_api_helpers import make_token

SECRET = re.compile(rb'value="(grn_[A-Za-z0-9_-]+)"')


@pytest.fixture
def people(session):
    return workspace_with_roles(session)


def _token_id(session, name):
    return session.exec(select(ApiToken.id).where(ApiToken.name == name)).one()


def test_a_member_creates_a_token_sees_it_once_and_it_works(client, auth, people):
    auth.login("writer@fans.example", DEFAULT_PASSWORD)
    page = client.get("/w/fans/tokens/")
    assert page.status_code == 200
    assert b"No tokens yet" in page.data
    assert b"API tokens" in page.data
    created = client.post("/w/fans/tokens/", data={"name": "import script", "scope": "write"})
    assert created.status_code == 200
    assert created.headers["Cache-Control"] == "no-store"
    secret = SECRET.search(created.data).group(1).decode()
    assert b"shown only once" in created.data
    assert b"import script" in created.data
    again = client.get("/w/fans/tokens/")
    assert secret.encode() not in again.data
    assert secret[:12].encode() in again.data
    assert b"never" in again.data
    me = client.get("/api/v1/me", headers={"Authorization": f"Bearer {secret}"})
    assert me.json["role"] == "writer"
    assert me.json["scope"] == "write"


def test_a_token_needs_a_name_and_a_known_scope(client, auth, people):
    auth.login("writer@fans.example", DEFAULT_PASSWORD)
    blank = client.post("/w/fans/tokens/", data={"name": "  ", "scope": "write"})
    assert SECRET.search(blank.data) is None
    assert b"This field is required" in blank.data
    assert SECRET.search(client.post("/w/fans/tokens/", data={"name": "x", "scope": "admin"}).data) is None


def test_revoking_a_token_makes_the_api_refuse_it(client, auth, session, people):
    secret = make_token(session, people["workspace"], people["writer"], Role.WRITER, name="old script")
    auth.login("writer@fans.example", DEFAULT_PASSWORD)
    token_id = re.search(rb"/tokens/(\d+)/revoke", client.get("/w/fans/tokens/").data).group(1).decode()
    response = client.post(f"/w/fans/tokens/{token_id}/revoke", follow_redirects=True)
    assert b"is revoked" in response.data
    assert b"revoked" in response.data
    assert client.get("/api/v1/me", headers={"Authorization": f"Bearer {secret}"}).status_code == 401


def test_owners_see_and_revoke_everyones_tokens_writers_only_their_own(client, auth, session, people):
    make_token(session, people["workspace"], people["editor"], Role.EDITOR, name="editor script")
    token_id = _token_id(session, "editor script")
    auth.login("writer@fans.example", DEFAULT_PASSWORD)
    assert b"editor script" not in client.get("/w/fans/tokens/").data
    assert client.post(f"/w/fans/tokens/{token_id}/revoke").status_code == 404
    auth.logout()
    auth.login("owner@fans.example", DEFAULT_PASSWORD)
    page = client.get("/w/fans/tokens/")
    assert b"editor script" in page.data
    assert b"Editor" in page.data
    assert client.post(f"/w/fans/tokens/{token_id}/revoke").status_code == 302


def test_the_navigation_links_to_the_token_page(client, auth, people):
    auth.login("viewer@fans.example", DEFAULT_PASSWORD)
    assert b'href="/w/fans/tokens/"' in client.get("/w/fans/").data
    assert client.get("/w/fans/tokens/").status_code == 200


def test_another_workspaces_token_page_is_404(client, auth, session, people):
    other = workspace_with_roles(session, "others")
    make_token(session, other["workspace"], other["owner"], Role.OWNER, name="their script")
    auth.login("owner@fans.example", DEFAULT_PASSWORD)
    assert client.get("/w/others/tokens/").status_code == 404
    assert client.post(f"/w/fans/tokens/{_token_id(session, 'their script')}/revoke").status_code == 404
