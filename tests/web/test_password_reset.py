"""Resetting a forgotten password by email: over a real SMTP server (aiosmtpd), or into the log without one."""

import logging
import re
import time
from collections.abc import Iterator
from datetime import timedelta

import pytest
from flask import Flask
from sqlmodel import select

from characters.accounts.users import authenticate
from characters.core.config import Settings
from characters.core.models import PasswordReset, utcnow
from tests.characters.test_accounts import Inbox, smtp_server
from tests.conftest import TEST_CONFIG
from tests.factories import DEFAULT_PASSWORD, workspace_with_roles
from tests.web.test_sessions import _is_in, _log_in

NEW_PASSWORD = "Tangerine lighthouse oboe"
LINK = re.compile(r"https?://\S+/password/reset/[A-Za-z0-9_-]+")


@pytest.fixture
def people(session):
    return workspace_with_roles(session)


@pytest.fixture
def inbox() -> Iterator[tuple[Inbox, int]]:
    with smtp_server() as running:
        yield running


def _app(engine, config=TEST_CONFIG, **settings) -> Flask:
    from web import create_app

    return create_app(config, settings=Settings(
        database_url=engine.url.render_as_string(hide_password=False), secret_key="test-secret",
        greenroom_env="test", **settings))


@pytest.fixture
def mail_app(engine, inbox) -> Iterator[Flask]:
    """An app that sends mail to the test's SMTP server."""
    app = _app(engine, smtp_host="127.0.0.1", smtp_port=inbox[1], smtp_security="none",
               mail_from="Greenroom <noreply@greenroom.example>")
    yield app
    app.extensions["greenroom.engine"].dispose()


def _ask(client, email):
    return client.post("/password/forgot", data={"email": email})


def _emailed_link(inbox):
    message = inbox[0].wait()
    [link] = LINK.findall(message.get_content())
    return message, link


def _path(link):
    return link[link.index("/password/reset/"):]


def test_the_login_page_offers_a_reset(client, people):
    page = client.get("/login").data.decode()
    assert 'href="/password/forgot"' in page
    assert "Forgot your password?" in page
    assert client.get("/password/forgot").status_code == 200


def test_the_answer_is_the_same_whether_or_not_the_email_has_an_account(mail_app, inbox, people):
    client = mail_app.test_client()

    def answer(email):
        response = _ask(client, email)
        page = client.get(response.headers["Location"]).data.decode()
        return response.status_code, response.headers["Location"], page.replace(email, "EMAIL")

    assert answer("nobody@fans.example") == answer(people["writer"].email)
    message, _ = _emailed_link(inbox)
    assert [envelope.rcpt_tos for envelope in inbox[0].envelopes] == [[people["writer"].email]]
    assert message["From"] == "Greenroom <noreply@greenroom.example>"
    assert "a link to choose a new password is on its way" in answer("nobody@fans.example")[2]


def test_a_reset_over_smtp_sets_the_password_logs_out_everywhere_and_logs_in_here(mail_app, inbox, session, people):
    phone = mail_app.test_client()
    _log_in(phone, people["writer"].email, remember=True)
    client = mail_app.test_client()
    _ask(client, people["writer"].email)
    _, link = _emailed_link(inbox)
    assert link.startswith("http://localhost/password/reset/")
    page = client.get(_path(link))
    assert page.status_code == 200
    assert page.headers["Cache-Control"] == "no-store"
    response = client.post(_path(link), data={"password": NEW_PASSWORD, "confirm": NEW_PASSWORD})
    assert response.status_code == 302
    assert _is_in(client)
    assert not _is_in(phone)
    session.expire_all()
    assert authenticate(session, people["writer"].email, NEW_PASSWORD) is not None
    # Single use: the link is spent, even for the browser that used it.
    assert client.get(_path(link)).status_code == 404
    assert mail_app.test_client().post(_path(link), data={"password": "Another unusual phrase here",
                                                          "confirm": "Another unusual phrase here"}).status_code == 404


@pytest.mark.parametrize(("password", "confirm", "message"), [
    ("password12", "password12", "too easy to guess"),
    ("writer@fans.example", "writer@fans.example", "too easy to guess"),  # the account's own email
    ("short", "short", "between 10 and 1024 characters"),
    (NEW_PASSWORD, "Tangerine lighthouse", "The passwords differ"),
])
def test_a_weak_or_mistyped_new_password_is_refused_with_a_message(mail_app, inbox, session, people, password,
                                                                   confirm, message):
    client = mail_app.test_client()
    _ask(client, people["writer"].email)
    _, link = _emailed_link(inbox)
    response = client.post(_path(link), data={"password": password, "confirm": confirm})
    assert response.status_code == 200
    assert re.search(rf'<p class="error" id="(password|confirm)-error">[^<]*{message}', response.data.decode())
    assert client.get(_path(link)).status_code == 200  # the link still works
    assert authenticate(session, people["writer"].email, DEFAULT_PASSWORD) is not None


def test_an_expired_link_is_refused(mail_app, inbox, session, people):
    client = mail_app.test_client()
    _ask(client, people["writer"].email)
    _, link = _emailed_link(inbox)
    reset = session.exec(select(PasswordReset)).one()
    reset.expires_at = utcnow() - timedelta(seconds=1)
    session.add(reset)
    session.commit()
    page = client.get(_path(link))
    assert page.status_code == 404
    assert "Ask for a new link" in page.data.decode()
    assert client.post(_path(link), data={"password": NEW_PASSWORD, "confirm": NEW_PASSWORD}).status_code == 404
    assert authenticate(session, people["writer"].email, DEFAULT_PASSWORD) is not None


@pytest.mark.parametrize("token", ["not-a-token", "x" * 300])
def test_an_unknown_link_is_refused(client, people, token):
    assert client.get(f"/password/reset/{token}").status_code == 404


def test_links_use_the_public_base_url_when_set(engine, inbox, people):
    app = _app(engine, smtp_host="127.0.0.1", smtp_port=inbox[1], smtp_security="none",
               public_base_url="https://greenroom.example.org/")
    try:
        _ask(app.test_client(), people["writer"].email)
        _, link = _emailed_link(inbox)
    finally:
        app.extensions["greenroom.engine"].dispose()
    assert link.startswith("https://greenroom.example.org/password/reset/")


def test_without_smtp_the_link_goes_to_the_log(client, people, caplog):
    with caplog.at_level(logging.WARNING, logger="greenroom.mail"):
        _ask(client, people["writer"].email)
        for _ in range(100):  # the message is handed to a background thread
            if LINK.search(caplog.text):
                break
            time.sleep(0.05)
    [link] = LINK.findall(caplog.text)
    assert people["writer"].email in caplog.text
    response = client.post(_path(link), data={"password": NEW_PASSWORD, "confirm": NEW_PASSWORD})
    assert response.status_code == 302
    assert _is_in(client)


@pytest.mark.parametrize(("path", "data"), [
    ("/password/forgot", {"email": "writer@fans.example"}),
    ("/password/reset/some-token", {"password": NEW_PASSWORD, "confirm": NEW_PASSWORD}),
])
def test_reset_forms_need_the_csrf_token(app, client, session, people, path, data):
    app.config["WTF_CSRF_ENABLED"] = True
    assert client.post(path, data=data).status_code == 400
    assert session.exec(select(PasswordReset)).all() == []


def test_asking_for_links_is_rate_limited(engine, people):
    app = _app(engine, {"TESTING": True, "WTF_CSRF_ENABLED": False}, login_rate_limit="2 per minute")
    try:
        client = app.test_client()
        statuses = [_ask(client, "nobody@fans.example").status_code for _ in range(3)]
    finally:
        app.extensions["greenroom.engine"].dispose()
    assert statuses == [302, 302, 429]
