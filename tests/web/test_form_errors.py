"""WTForms pages on the one form helper: a refusal shows next to the field it concerns, and nothing is saved."""

import re

import pytest
from sqlmodel import func, select

from characters.accounts.tokens import MAX_ACTIVE_TOKENS
from characters.core.models import ApiToken, Role, Workspace
from tests.factories import DEFAULT_PASSWORD, workspace_with_roles
from tests.web.test_api_helpers import make_token


def _field_error(html: bytes, field_id: str) -> str:
    found = re.search(rf'<p class="error" id="{field_id}-error">([^<]*)</p>'.encode(), html)
    assert found is not None, f"no error on {field_id}"
    return found.group(1).decode()


@pytest.mark.parametrize(("slug", "message"), [("fans", "is taken"), ("Not A Slug", "lowercase letters")])
def test_a_bad_workspace_address_is_explained_on_the_address(client, auth, session, slug, message):
    workspace_with_roles(session)
    auth.login("owner@fans.example", DEFAULT_PASSWORD)
    response = client.post("/workspaces/new", data={"name": "Other fans", "slug": slug})
    assert response.status_code == 200
    assert message in _field_error(response.data, "slug")
    assert b'aria-invalid="true"' in response.data
    assert session.exec(select(func.count()).select_from(Workspace)).one() == 1


def test_one_token_too_many_is_an_error_on_the_name(client, auth, session):
    people = workspace_with_roles(session)
    for number in range(MAX_ACTIVE_TOKENS):
        make_token(session, people["workspace"], people["writer"], Role.WRITER, name=f"script {number}")
    auth.login("writer@fans.example", DEFAULT_PASSWORD)
    response = client.post("/w/fans/tokens/", data={"name": "one more", "scope": "read"})
    assert response.status_code == 200
    assert f"already have {MAX_ACTIVE_TOKENS} tokens" in _field_error(response.data, "name")
    assert b'value="grn_' not in response.data  # no secret shown
    assert session.exec(select(func.count()).select_from(ApiToken)).one() == MAX_ACTIVE_TOKENS
