"""Production mode (HSTS, Secure cookies), no-store on everything personal, and ids no column can hold."""

import re
import secrets

import pytest

from characters.core.config import Settings
from characters.core.models import Role
from tests.factories import DEFAULT_PASSWORD, make_character, workspace_with_roles
from tests.web.test_api_helpers import make_token
from web.security import digits_up_to

HSTS = "max-age=31536000; includeSubDomains"


@pytest.fixture
def people(session):
    people = workspace_with_roles(session)
    make_character(session, people["workspace"], people["owner"], "Walt Test")
    return people


def _app(engine, environment: str, **settings):
    from web import create_app

    return create_app({"TESTING": True, "WTF_CSRF_ENABLED": False, "RATELIMIT_ENABLED": False}, settings=Settings(
        database_url=engine.url.render_as_string(hide_password=False), greenroom_env=environment,
        secret_key=secrets.token_urlsafe(32), **settings))


@pytest.fixture
def production_app(engine):
    app = _app(engine, "production")
    yield app
    app.extensions["greenroom.engine"].dispose()


def test_production_sends_hsts_on_every_response_and_marks_cookies_secure(production_app):
    client = production_app.test_client()
    for path in ("/login", "/static/app.css", "/no-such-page"):
        assert client.get(path).headers["Strict-Transport-Security"] == HSTS
    assert production_app.config["SESSION_COOKIE_SECURE"] is True
    assert production_app.config["REMEMBER_COOKIE_SECURE"] is True


def test_development_sends_no_hsts_and_keeps_the_cookie_setting(engine):
    app = _app(engine, "development")
    try:
        assert "Strict-Transport-Security" not in app.test_client().get("/login").headers
        assert app.config["SESSION_COOKIE_SECURE"] is False
    finally:
        app.extensions["greenroom.engine"].dispose()


def test_pages_for_a_logged_in_member_are_never_stored(client, auth, people):
    assert "no-store" not in client.get("/login").headers.get("Cache-Control", "")
    auth.login("owner@fans.example", DEFAULT_PASSWORD)
    for path in ("/w/fans/posts/", "/w/fans/characters/", "/w/fans/posts/export.csv", "/w/fans/posts/export.json",
                 "/w/fans/characters/walt-test/card.json"):
        response = client.get(path)
        assert response.status_code == 200, path
        assert response.headers["Cache-Control"] == "no-store", path
        response.close()  # ends a streamed export inside its own request context
    assert "no-store" not in client.get("/static/app.css").headers.get("Cache-Control", "")


def test_api_answers_to_a_token_are_never_stored(client, session, people):
    token = make_token(session, people["workspace"], people["owner"], Role.OWNER)
    response = client.get("/api/v1/characters", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"


@pytest.mark.parametrize("post_id", [2**31, 2**63 - 1, 2**63, 2**64, 10**30])
def test_ids_beyond_what_the_database_holds_are_not_found(client, auth, session, people, post_id):
    auth.login("owner@fans.example", DEFAULT_PASSWORD)
    assert client.get(f"/w/fans/posts/{post_id}").status_code == 404
    token = make_token(session, people["workspace"], people["owner"], Role.OWNER)
    headers = {"Authorization": f"Bearer {token}"}
    assert client.get(f"/api/v1/posts/{post_id}", headers=headers).status_code == 404
    # Every method: werkzeug would say 405 when only the converter refused the number and another method's rule
    # shares the path.
    for method in ("put", "patch", "delete"):
        assert getattr(client, method)(f"/api/v1/posts/{post_id}", headers=headers, json={}).status_code == 404
    assert client.delete(f"/api/v1/channels/{post_id}", headers=headers).status_code == 404
    assert client.post(f"/api/v1/posts/{post_id}/comments", headers=headers, json={"body": "x"}).status_code == 404


@pytest.mark.parametrize("limit", [0, 1, 5, 9, 10, 19, 100, 305, 999, 2**31 - 1])
def test_the_id_pattern_matches_exactly_the_numbers_up_to_its_limit(limit):
    pattern = re.compile(digits_up_to(limit) + r"\Z")
    near = {*range(0, 1200), *(limit + d for d in range(-1200, 1200) if limit + d >= 0), 10 * limit, limit * 2 + 7}
    assert [n for n in sorted(near) if bool(pattern.match(str(n))) != (n <= limit)] == []
    assert not pattern.match("007")
