"""The account page: a new password logs every other device out, and each device can be logged out from here."""

import re

import pytest
from sqlmodel import col, select

from characters.accounts.users import authenticate
from characters.core.models import UserSession
from tests.factories import DEFAULT_PASSWORD, make_user, workspace_with_roles
from tests.web.test_sessions import _is_in, _log_in, _replay

NEW_PASSWORD = "Tangerine lighthouse oboe"
PHONE = ("Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
         "Version/18.1 Mobile/15E148 Safari/604.1")


@pytest.fixture
def people(session):
    return workspace_with_roles(session)


@pytest.fixture
def devices(app, client, people):
    """The writer logged in on this client (Firefox) and on a phone; each device's cookies."""
    client.environ_base["HTTP_USER_AGENT"] = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"
    here = _log_in(client, people["writer"].email, remember=True)
    phone = app.test_client()
    phone.environ_base["HTTP_USER_AGENT"] = PHONE
    return {"here": here, "phone": _log_in(phone, people["writer"].email), "phone_client": phone}


def _sign_in_ids(session):
    session.expire_all()
    return {row.user_agent: row.id
            for row in session.exec(select(UserSession).where(col(UserSession.ended_at).is_(None)))}


def test_the_account_page_needs_a_login(client, people):
    assert "/login?next=" in client.get("/account/").headers["Location"]


def test_every_page_links_to_the_account(client, people, devices):
    assert b'href="/account/"' in client.get("/w/fans/").data


def test_the_account_page_lists_the_devices_and_marks_this_one(client, people, devices):
    page = client.get("/account/").data.decode()
    assert people["writer"].email in page
    assert "Firefox on Linux" in page
    assert "Safari on iPhone" in page
    assert page.count("This device") == 1
    assert re.search(r"Firefox on Linux <span class=\"tag\">This device</span>", page)
    assert "127.0.0.1" in page
    assert "Log out everywhere else" in page
    assert "(kept logged in)" in page


def test_changing_the_password_logs_out_other_devices_and_keeps_this_one(app, client, session, people, devices):
    response = client.post("/account/password", data={"current_password": DEFAULT_PASSWORD,
                                                      "password": NEW_PASSWORD, "confirm": NEW_PASSWORD})
    assert response.headers["Location"].endswith("/account/")
    assert "Every other device is logged out" in client.get("/account/").data.decode()
    assert _is_in(client)
    assert not _is_in(devices["phone_client"])
    assert not _is_in(_replay(app, devices["phone"]))
    # This browser got a new sign-in: a copy of its old cookies is out too.
    assert not _is_in(_replay(app, devices["here"]))
    assert not _is_in(_replay(app, {"remember_token": devices["here"]["remember_token"]}))
    session.expire_all()
    assert authenticate(session, people["writer"].email, NEW_PASSWORD) is not None
    # Still "kept logged in": the new sign-in is a remembered one like the one it replaced.
    assert client.get_cookie("remember_token") is not None


@pytest.mark.parametrize(("form", "field", "message"), [
    ({"current_password": "wrong-password-1", "password": NEW_PASSWORD, "confirm": NEW_PASSWORD},
     "current_password", "not your current password"),
    ({"current_password": DEFAULT_PASSWORD, "password": "password12", "confirm": "password12"},
     "password", "too easy to guess"),
    ({"current_password": DEFAULT_PASSWORD, "password": "qwertyuiop", "confirm": "qwertyuiop"},
     "password", "This is a top-100 common password"),
    ({"current_password": DEFAULT_PASSWORD, "password": NEW_PASSWORD, "confirm": "Tangerine lighthouse"},
     "confirm", "The passwords differ"),
])
def test_a_refused_password_change_says_why_and_changes_nothing(client, session, people, devices, form, field,
                                                                message):
    response = client.post("/account/password", data=form)
    assert response.status_code == 200
    assert re.search(rf'<p class="error" id="{field}-error">[^<]*{message}', response.data.decode())
    assert _is_in(devices["phone_client"])
    assert authenticate(session, people["writer"].email, DEFAULT_PASSWORD) is not None


def test_log_out_everywhere_else(app, client, session, people, devices):
    other = make_user(session, "other@fans.example")
    elsewhere = app.test_client()  # another person's sign-in stays
    _log_in(elsewhere, other.email)
    response = client.post("/account/sessions/end-others")
    assert response.headers["Location"].endswith("/account/")
    assert "Logged out 1 other device." in client.get("/account/").data.decode()
    assert _is_in(client)
    assert not _is_in(devices["phone_client"])
    assert elsewhere.get("/account/").status_code == 200
    client.post("/account/sessions/end-others")
    assert "No other device was logged in." in client.get("/account/").data.decode()


def test_logging_one_device_out(client, session, people, devices):
    ids = _sign_in_ids(session)
    response = client.post(f"/account/sessions/{ids[PHONE]}/end")
    assert response.headers["Location"].endswith("/account/")
    assert not _is_in(devices["phone_client"])
    assert _is_in(client)
    assert "Safari on iPhone" not in client.get("/account/").data.decode()


def test_logging_this_device_out_from_the_list(client, session, people, devices):
    here = next(sign_in_id for agent, sign_in_id in _sign_in_ids(session).items() if agent != PHONE)
    response = client.post(f"/account/sessions/{here}/end")
    assert response.headers["Location"].endswith("/login")
    assert not _is_in(client)
    assert _is_in(devices["phone_client"])


def test_another_persons_sign_in_cannot_be_ended(app, client, session, people, devices):
    editor = app.test_client()
    _log_in(editor, people["editor"].email)
    ids = _sign_in_ids(session)
    [editors] = [sign_in_id for sign_in_id in ids.values()
                 if session.get(UserSession, sign_in_id).user_id == people["editor"].id]
    assert client.post(f"/account/sessions/{editors}/end").status_code == 404
    assert client.post("/account/sessions/2147483647/end").status_code == 404
    assert _is_in(editor)


@pytest.mark.parametrize(("path", "data"), [
    ("/account/password", {"current_password": DEFAULT_PASSWORD, "password": NEW_PASSWORD, "confirm": NEW_PASSWORD}),
    ("/account/sessions/end-others", {}),
    ("/account/sessions/1/end", {}),
])
def test_account_forms_need_the_csrf_token(app, client, session, people, devices, path, data):
    app.config["WTF_CSRF_ENABLED"] = True
    response = client.post(path, data=data)
    assert response.status_code == 400
    assert b"form expired" in response.data
    assert _is_in(devices["phone_client"])
    assert authenticate(session, people["writer"].email, DEFAULT_PASSWORD) is not None


def test_the_account_page_carries_its_csrf_tokens(app, client, people, devices):
    app.config["WTF_CSRF_ENABLED"] = True
    page = client.get("/account/").data.decode()
    assert page.count('name="csrf_token"') >= 4  # password, each device, everywhere else (and the log-out button)
