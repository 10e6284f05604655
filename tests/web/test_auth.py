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


@pytest.mark.parametrize("password", ["password12", "riverside-players2026"])
def test_setup_refuses_a_guessable_password(client, session, password):
    form = {"display_name": "Ada", "email": "ada@example.com", "password": password, "confirm": password,
            "workspace_name": "Riverside Players", "workspace_slug": "riverside-players"}
    response = client.post("/setup", data=form)
    assert response.status_code == 200
    assert re.search(rb'<p class="error" id="password-error">[^<]*too easy to guess', response.data)
    assert client.get("/login").headers["Location"].endswith("/setup")


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


def _invite(session, people, role=Role.WRITER):
    from characters.accounts.workspaces import create_invite
    from tests.factories import member

    token = create_invite(session=session, member=member(people["workspace"], people["owner"], Role.OWNER), role=role)
    session.commit()
    return token


def _join(client, token, email, password, confirm=None):
    return client.post(f"/invite/{token}", data={
        "signup-display_name": "Someone", "signup-email": email,
        "signup-password": password, "signup-confirm": password if confirm is None else confirm})


def test_invite_joins_an_existing_account_with_its_password(client, session):
    people = workspace_with_roles(session)
    make_user(session, "elsewhere@example.com", name="Elsewhere")
    token = _invite(session, people)
    response = _join(client, token, "elsewhere@example.com", DEFAULT_PASSWORD)
    assert response.headers["Location"].endswith("/w/fans/")
    assert b"Elsewhere" in client.get("/w/fans/members/").data
    assert client.get(f"/invite/{token}").status_code == 404


def test_invite_refuses_a_wrong_password_like_a_failed_login(client, session):
    from characters.accounts.users import FAILED_LOGIN_MESSAGE

    people = workspace_with_roles(session)
    token = _invite(session, people)
    response = _join(client, token, people["editor"].email, "Tangerine lighthouse oboe")
    assert response.status_code == 200
    assert re.search(rb'<p class="error" id="signup-password-error">' + re.escape(
        FAILED_LOGIN_MESSAGE.replace("'", "&#39;").encode()), response.data)
    assert b"already exists" not in response.data
    assert client.get(f"/invite/{token}").status_code == 200


@pytest.mark.parametrize(("password", "confirm"), [
    ("password12", None),                                   # refused by the policy, before any lookup
    ("Tangerine lighthouse oboe", "Tangerine lighthouse"),  # a mistyped confirmation
    ("short", None),                                        # a form error
])
def test_invite_answers_alike_whether_or_not_the_email_has_an_account(client, session, password, confirm):
    people = workspace_with_roles(session)
    token = _invite(session, people)

    def page(email):
        html = _join(client, token, email, password, confirm).data.decode()
        html = re.sub(r'name="(signup-|join-)?csrf_token" type="hidden" value="[^"]*"', "CSRF", html)
        return html.replace(email, "EMAIL")

    existing, new = page(people["editor"].email), page("newcomer@example.com")
    assert existing == new
    assert 'class="error"' in existing
    assert client.get(f"/invite/{token}").status_code == 200
