import re

import pytest

from characters.core.models import Role
from tests.factories import DEFAULT_PASSWORD, make_user, workspace_with_roles


def test_login_page_renders(client, session):
    make_user(session)
    response = client.get("/login")
    assert response.status_code == 200
    assert b'for="email"' in response.data
    assert b'autocomplete="current-password"' in response.data


def test_login_and_logout(client, auth, session):
    people = workspace_with_roles(session)
    response = auth.login(people["writer"].email)
    assert response.status_code == 302
    assert client.get("/").headers["Location"].endswith("/w/fans/")
    page = client.get("/w/fans/")
    assert b"Fans" in page.data
    assert b"writer" in page.data
    assert auth.logout().headers["Location"].endswith("/login")
    assert client.get("/w/fans/").status_code == 302


@pytest.mark.parametrize(("email", "password"), [("writer@fans.example", "wrong-password-1"),
                                             ("ghost@fans.example", DEFAULT_PASSWORD)])
def test_failed_login_gives_one_generic_message(client, auth, session, email, password):
    workspace_with_roles(session)
    response = auth.login(email, password)
    assert response.status_code == 200
    assert b"That email and password don&#39;t match an account." in response.data


def test_malformed_login_form_gives_field_errors(client, session):
    make_user(session)
    response = client.post("/login", data={"email": "", "password": "x" * 5000})
    assert response.status_code == 200
    assert b'aria-invalid="true"' in response.data


@pytest.mark.parametrize(("next_url", "expected"), [
    ("/w/fans/members/", "/w/fans/members/"),
    ("https://evil.example/", "/"),
    ("//evil.example/", "/"),
    ("/\\evil.example", "/"),
    ("javascript:alert(1)", "/"),
])
def test_next_redirects_stay_on_site(client, session, next_url, expected):
    people = workspace_with_roles(session)
    response = client.post("/login?next=" + next_url, data={"email": people["owner"].email,
                                                             "password": DEFAULT_PASSWORD})
    assert response.headers["Location"] == expected


def test_anonymous_users_are_sent_to_login_with_next(client, session):
    workspace_with_roles(session)
    response = client.get("/w/fans/posts/")
    assert response.status_code == 302
    assert "/login?next=" in response.headers["Location"]


def test_setup_page_only_while_no_user_exists(client, session):
    response = client.get("/login")
    assert response.headers["Location"].endswith("/setup")
    form = {"display_name": "Ada", "email": "ada@example.com", "password": DEFAULT_PASSWORD,
            "confirm": DEFAULT_PASSWORD, "workspace_name": "Ada's Fans", "workspace_slug": "adas-fans"}
    response = client.post("/setup", data=form)
    assert response.headers["Location"].endswith("/w/adas-fans/")
    assert client.get("/w/adas-fans/").status_code == 200
    assert client.get("/setup").headers["Location"].endswith("/login")


def test_setup_reports_bad_fields_without_saving(client, session):
    form = {"display_name": "Ada", "email": "ada@example.com", "password": DEFAULT_PASSWORD,
            "confirm": DEFAULT_PASSWORD, "workspace_name": "Ada's Fans", "workspace_slug": "Not A Slug"}
    response = client.post("/setup", data=form)
    assert response.status_code == 200
    assert re.search(rb'<p class="error" id="workspace_slug-error">[^<]*lowercase letters', response.data)
    assert client.get("/login").headers["Location"].endswith("/setup")


def test_session_cookie_flags(app, client, session):
    people = workspace_with_roles(session)
    response = client.post("/login", data={"email": people["owner"].email, "password": DEFAULT_PASSWORD,
                                           "remember": "y"})
    cookies = response.headers.getlist("Set-Cookie")
    assert all("HttpOnly" in cookie and "SameSite=Lax" in cookie for cookie in cookies)
    assert app.config["SESSION_COOKIE_HTTPONLY"]


def test_security_headers(client, session):
    make_user(session)
    response = client.get("/login")
    assert "default-src 'self'" in response.headers["Content-Security-Policy"]
    assert response.headers["X-Frame-Options"] == "DENY"


def test_csrf_is_required_on_forms(app, session):
    make_user(session)
    app.config["WTF_CSRF_ENABLED"] = True
    response = app.test_client().post("/login", data={"email": "writer@example.com", "password": DEFAULT_PASSWORD})
    assert response.status_code == 400
    assert b"form expired" in response.data


def test_login_is_rate_limited(engine, session):
    from characters.core.config import Settings
    from web import create_app

    make_user(session)
    settings = Settings(database_url=engine.url.render_as_string(hide_password=False), secret_key="t",
                        login_rate_limit="3 per minute")
    app = create_app({"TESTING": True, "WTF_CSRF_ENABLED": False}, settings=settings)
    client = app.test_client()
    statuses = [client.post("/login", data={"email": "writer@example.com", "password": "nope-nope-nope"}).status_code
                for _ in range(4)]
    app.extensions["greenroom.engine"].dispose()
    assert statuses == [200, 200, 200, 429]


def test_invite_signup_joins_workspace(client, session):
    from characters.accounts.workspaces import create_invite
    from tests.factories import member

    people = workspace_with_roles(session)
    token = create_invite(session=session, member=member(people["workspace"], people["owner"], Role.OWNER),
                          role=Role.WRITER)
    session.commit()
    page = client.get(f"/invite/{token}")
    assert b"Join Fans" in page.data
    response = client.post(f"/invite/{token}", data={
        "signup-display_name": "Newcomer", "signup-email": "new@example.com",
        "signup-password": DEFAULT_PASSWORD, "signup-confirm": DEFAULT_PASSWORD})
    assert response.headers["Location"].endswith("/w/fans/")
    assert b"writer" in client.get("/w/fans/").data
    assert client.get(f"/invite/{token}").status_code == 404


def test_invite_signup_with_taken_email_shows_field_error(client, session):
    from characters.accounts.workspaces import create_invite
    from tests.factories import member

    people = workspace_with_roles(session)
    token = create_invite(session=session, member=member(people["workspace"], people["owner"], Role.OWNER),
                          role=Role.WRITER)
    session.commit()
    response = client.post(f"/invite/{token}", data={
        "signup-display_name": "Dup", "signup-email": people["editor"].email,
        "signup-password": DEFAULT_PASSWORD, "signup-confirm": DEFAULT_PASSWORD})
    assert response.status_code == 200
    assert re.search(rb'<p class="error" id="signup-email-error">[^<]*already exists', response.data)
    assert client.get(f"/invite/{token}").status_code == 200
