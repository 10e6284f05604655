"""Sign-ins that end: cookies carry a sign-in's secret, and an ended or expired sign-in lets no copy of them in."""

import re
from datetime import timedelta
from email.utils import parsedate_to_datetime

import pytest
from sqlmodel import select

from characters.accounts.sessions import LAST_SEEN_RESOLUTION, REMEMBER_LIFETIME
from characters.accounts.tokens import TokenCreate, create_token
from characters.core.models import Role, TokenScope, UserSession, utcnow
from tests.factories import DEFAULT_PASSWORD, member, workspace_with_roles
from tests.web.test_reads import writes

COOKIES = ("session", "remember_token")


@pytest.fixture
def people(session):
    return workspace_with_roles(session)


def _log_in(client, email, *, remember=False):
    data = {"email": email, "password": DEFAULT_PASSWORD} | ({"remember": "y"} if remember else {})
    response = client.post("/login", data=data)
    assert response.status_code == 302
    return {name: cookie.value for name in COOKIES if (cookie := client.get_cookie(name)) is not None}


def _replay(app, cookies):
    """Return a new browser that holds exactly these cookies."""
    browser = app.test_client()
    for name, value in cookies.items():
        browser.set_cookie(name, value)
    return browser


def _is_in(browser):
    return browser.get("/w/fans/").status_code == 200


def _sign_ins(session):
    session.expire_all()
    return session.exec(select(UserSession).order_by(UserSession.id)).all()


def test_logging_in_records_the_browser_and_its_cookies_carry_no_user_id(app, client, session, people):
    cookies = _log_in(client, people["writer"].email, remember=True)
    [sign_in] = _sign_ins(session)
    assert sign_in.user_id == people["writer"].id
    assert sign_in.remember
    assert sign_in.ip_address == "127.0.0.1"
    remember = cookies["remember_token"]
    assert not remember.split("|")[0].isdigit()
    assert remember.split("|")[0] != str(people["writer"].id)


def test_the_remember_cookie_lasts_as_long_as_a_remembered_sign_in(app, client, people):
    response = client.post("/login", data={"email": people["writer"].email, "password": DEFAULT_PASSWORD,
                                           "remember": "y"})
    [remember] = [cookie for cookie in response.headers.getlist("Set-Cookie") if cookie.startswith("remember_token")]
    expires = parsedate_to_datetime(re.search(r"Expires=([^;]+)", remember).group(1))
    assert abs(expires - (utcnow() + REMEMBER_LIFETIME)) < timedelta(minutes=1)
    assert app.config["REMEMBER_COOKIE_DURATION"] == REMEMBER_LIFETIME


def test_the_session_cookie_replayed_after_logout_is_logged_out(app, client, auth, session, people):
    cookies = _log_in(client, people["writer"].email)
    assert _is_in(_replay(app, cookies))
    auth.logout()
    assert not _is_in(_replay(app, cookies))
    assert all(sign_in.ended_at is not None for sign_in in _sign_ins(session))


def test_the_remember_cookie_replayed_after_logout_is_logged_out(app, client, auth, people):
    cookies = _log_in(client, people["writer"].email, remember=True)
    remember_only = {"remember_token": cookies["remember_token"]}
    assert _is_in(_replay(app, remember_only))
    auth.logout()
    assert not _is_in(_replay(app, remember_only))
    assert not _is_in(_replay(app, cookies))


def test_the_cookies_of_an_ended_sign_in_are_deleted_on_its_next_request(app, client, people):
    cookies = _log_in(client, people["writer"].email, remember=True)
    other = app.test_client()
    _log_in(other, people["writer"].email)
    other.post("/account/sessions/end-others")
    assert client.get("/w/fans/").status_code == 302
    assert client.get_cookie("remember_token") is None
    assert client.get_cookie("session") is None or client.get_cookie("session").value != cookies["session"]
    with client.session_transaction() as flask_session:
        assert "_user_id" not in flask_session


def test_logging_in_twice_makes_two_sign_ins_and_logging_out_ends_only_one(app, people, session):
    laptop, phone = app.test_client(), app.test_client()
    _log_in(laptop, people["writer"].email)
    _log_in(phone, people["writer"].email)
    laptop.post("/logout")
    assert not _is_in(laptop)
    assert _is_in(phone)


def test_an_expired_sign_in_is_refused(app, client, session, people):
    cookies = _log_in(client, people["writer"].email, remember=True)
    [sign_in] = _sign_ins(session)
    sign_in.expires_at = utcnow() - timedelta(seconds=1)
    session.add(sign_in)
    session.commit()
    assert not _is_in(client)
    assert not _is_in(_replay(app, {"remember_token": cookies["remember_token"]}))


def test_a_sign_in_idle_too_long_is_refused(client, session, people):
    _log_in(client, people["writer"].email)
    [sign_in] = _sign_ins(session)
    sign_in.last_seen_at = sign_in.created_at = utcnow() - timedelta(hours=13)
    session.add(sign_in)
    session.commit()
    assert not _is_in(client)


def test_a_deactivated_person_is_logged_out(client, session, people):
    _log_in(client, people["writer"].email)
    people["writer"].is_active = False
    session.add(people["writer"])
    session.commit()
    assert not _is_in(client)


def test_visits_slide_last_seen_at_most_every_few_minutes(app, client, session, people):
    _log_in(client, people["writer"].email)
    with writes(app) as seen:
        assert _is_in(client)
    assert seen == []
    [sign_in] = _sign_ins(session)
    earlier = utcnow() - LAST_SEEN_RESOLUTION
    sign_in.last_seen_at = earlier
    session.add(sign_in)
    session.commit()
    with writes(app) as seen:
        assert _is_in(client)
        assert _is_in(client)
    assert len(seen) == 1
    assert _sign_ins(session)[0].last_seen_at > earlier


def test_a_writing_request_records_the_visit_and_still_saves(app, client, session, people):
    _log_in(client, people["owner"].email)
    [sign_in] = _sign_ins(session)
    sign_in.last_seen_at = utcnow() - LAST_SEEN_RESOLUTION
    session.add(sign_in)
    session.commit()
    response = client.post("/w/fans/settings", data={"name": "Renamed fans", "two_person_rule": "y"})
    assert response.status_code == 302
    assert b"Renamed fans" in client.get("/w/fans/").data
    assert _sign_ins(session)[0].last_seen_at > utcnow() - timedelta(minutes=1)


def test_a_cookie_from_before_sign_ins_carried_a_user_id_and_no_longer_works(app, client, people):
    with client.session_transaction() as flask_session:
        flask_session["_user_id"] = str(people["writer"].id)
        flask_session["_fresh"] = True
    assert not _is_in(client)


def test_api_tokens_are_untouched_by_sign_ins(client, auth, session, people):
    token = create_token(session=session, member=member(people["workspace"], people["writer"], Role.WRITER),
                         token_create=TokenCreate(name="script", scope=TokenScope.READ)).secret
    session.commit()
    headers = {"Authorization": f"Bearer {token}"}
    assert client.get("/api/v1/characters", headers=headers).status_code == 200
    _log_in(client, people["writer"].email)
    auth.logout()
    assert client.get("/api/v1/characters", headers=headers).status_code == 200
    assert _sign_ins(session)[0].ended_at is not None
    assert client.get("/api/v1/characters").status_code == 401
