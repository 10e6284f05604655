import contextlib
import ipaddress
import logging
import secrets
import smtplib
import socket
import ssl
import threading
import time
from datetime import UTC, datetime, timedelta
from email import message_from_bytes
from email.policy import default as email_policy

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult
from argon2 import PasswordHasher
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from pydantic import ValidationError
from sqlmodel import select

from characters.accounts.mail import LogMailer, SmtpMailer, compose, mailer_from_settings, send_later
from characters.accounts.passwords import (
    MAX_RESETS_PER_LIFETIME,
    RESET_LIFETIME,
    change_password,
    find_reset,
    request_password_reset,
    reset_message,
    reset_password,
)
from characters.accounts.sessions import find_session, start_session
from characters.accounts.tokens import hash_token
from characters.accounts.users import (
    FAILED_LOGIN_MESSAGE,
    UserCreate,
    authenticate,
    check_password_strength,
    create_user,
    register_user,
    set_password,
    sign_up_or_log_in,
)
from characters.core.config import Settings
from characters.core.errors import Conflict, DomainError, NotFound
from characters.core.models import PasswordReset, User, utcnow
from tests.factories import DEFAULT_PASSWORD, make_user


def test_password_is_hashed_with_argon2(session):
    user = make_user(session)
    assert user.password_hash.startswith("$argon2")
    assert DEFAULT_PASSWORD not in user.password_hash


def test_authenticate_accepts_right_password_any_email_case(session):
    make_user(session, "Ada@Example.com")
    assert authenticate(session, "  ada@EXAMPLE.com ", DEFAULT_PASSWORD) is not None


@pytest.mark.parametrize(("email", "password"), [("writer@example.com", "wrong-password"),
                                             ("nobody@example.com", DEFAULT_PASSWORD), ("", "")])
def test_authenticate_refuses_without_saying_why(session, email, password):
    make_user(session)
    assert authenticate(session, email, password) is None


def test_inactive_users_cannot_log_in(session):
    user = make_user(session)
    user.is_active = False
    session.add(user)
    session.commit()
    assert authenticate(session, user.email, DEFAULT_PASSWORD) is None


def test_duplicate_email_is_a_clear_conflict(session):
    make_user(session, "ada@example.com")
    with pytest.raises(Conflict, match="already exists") as caught:
        create_user(session=session, user_create=UserCreate(email="ADA@example.com", display_name="Ada",
                                                            password=DEFAULT_PASSWORD))
    assert caught.value.field == "email"


@pytest.mark.parametrize("fields", [
    {"email": "not-an-email", "display_name": "A", "password": DEFAULT_PASSWORD},
    {"email": "a@example.com", "display_name": "   ", "password": DEFAULT_PASSWORD},
    {"email": "a@example.com", "display_name": "A", "password": "short"},
    {"email": "a@example.com", "display_name": "A" * 500, "password": DEFAULT_PASSWORD},
])
def test_bad_user_input_is_refused_before_the_database(fields):
    with pytest.raises(ValidationError):
        UserCreate(**fields)


def test_unicode_names_are_kept(session):
    user = make_user(session, "zoe@example.com", name="Zoë Ōtsuka 🎭")
    assert user.display_name == "Zoë Ōtsuka 🎭"


def test_the_tests_default_password_passes_the_policy():
    check_password_strength(DEFAULT_PASSWORD, user_inputs=["writer@example.com", "Writer", "Fans", "fans"])


@pytest.mark.parametrize("password", ["password12", "qwertyuiop", "1234567890", "iloveyou2026", "Password123!"])
def test_common_passwords_are_refused_with_advice(password):
    with pytest.raises(DomainError, match="too easy to guess") as caught:
        check_password_strength(password)
    assert caught.value.field == "password"
    assert len(caught.value.message) > len("This password is too easy to guess.")


def test_a_short_password_is_refused_on_the_password_field():
    with pytest.raises(DomainError, match="at least 10 characters") as caught:
        check_password_strength("Zq8#vLp2")
    assert caught.value.field == "password"


def test_a_password_made_of_the_workspace_name_is_refused_only_where_it_is_guessable():
    check_password_strength("riverside-players2026", user_inputs=["ada@example.com", "Ada"])
    with pytest.raises(DomainError, match="too easy to guess"):
        check_password_strength("riverside-players2026",
                                user_inputs=["ada@example.com", "Ada", "Riverside Players", "riverside-players"])


def test_register_user_applies_the_policy_with_the_context(session):
    user_create = UserCreate(email="ada@example.com", display_name="Ada Lovelace", password="riverside-players2026")
    with pytest.raises(DomainError, match="too easy to guess"):
        register_user(session=session, user_create=user_create, context=["Riverside Players"])
    with pytest.raises(DomainError, match="too easy to guess"):  # the person's own name is as guessable
        register_user(session=session, user_create=user_create.model_copy(update={"password": "ada-lovelace-2026"}))


def test_set_password_applies_the_policy(session):
    user = make_user(session, "ada@example.com")
    with pytest.raises(DomainError, match="too easy to guess"):
        set_password(session, user, "password12")
    set_password(session, user, "Tangerine lighthouse oboe")
    assert authenticate(session, "ada@example.com", "Tangerine lighthouse oboe") is not None


def test_an_existing_weak_password_still_logs_in(session):
    # Accounts from before the policy keep working; the policy applies only when a password is set.
    session.add(User(email="old@example.com", display_name="Old", password_hash=PasswordHasher().hash("password12")))
    session.commit()
    assert authenticate(session, "old@example.com", "password12") is not None


def test_sign_up_or_log_in_creates_a_new_account_or_logs_in_an_existing_one(session):
    existing = make_user(session, "ada@example.com")
    fields = {"display_name": "Anyone", "password": DEFAULT_PASSWORD}
    assert sign_up_or_log_in(session=session, user_create=UserCreate(email="ADA@example.com", **fields)) == existing
    created = sign_up_or_log_in(session=session, user_create=UserCreate(email="bo@example.com", **fields))
    assert created.id != existing.id
    assert created.display_name == "Anyone"


def test_sign_up_or_log_in_refuses_a_wrong_password_like_a_failed_login(session):
    make_user(session, "ada@example.com")
    with pytest.raises(DomainError) as caught:
        sign_up_or_log_in(session=session, user_create=UserCreate(
            email="ada@example.com", display_name="Ada", password="Tangerine lighthouse oboe"))
    assert (caught.value.message, caught.value.field) == (FAILED_LOGIN_MESSAGE, "password")


def _counting(calls, name):
    original = getattr(PasswordHasher, name)

    def counted(self, *args):
        calls.append(name)
        return original(self, *args)
    return counted


@pytest.mark.parametrize(("email", "operation"), [("ada@example.com", "verify"), ("bo@example.com", "hash")])
def test_sign_up_or_log_in_does_one_argon2_operation_either_way(session, monkeypatch, email, operation):
    # Timing: an existing account costs one verify, a new one one hash; argon2 makes both take about as long.
    make_user(session, "ada@example.com")
    calls = []
    for name in ("hash", "verify"):
        monkeypatch.setattr(PasswordHasher, name, _counting(calls, name))
    with contextlib.suppress(DomainError):
        sign_up_or_log_in(session=session, user_create=UserCreate(
            email=email, display_name="Ada", password="Tangerine lighthouse oboe"))
    assert calls == [operation]


# Changing and resetting a password (characters/accounts/passwords.py), and mail (characters/accounts/mail.py).

STRONG = "Tangerine lighthouse oboe"


def _signed_in(session, user, count=1):
    secrets = [start_session(session, user, remember=False).secret for _ in range(count)]
    session.commit()
    return secrets


def test_changing_a_password_needs_the_current_one_and_ends_every_sign_in(session):
    user = make_user(session)
    secrets = _signed_in(session, user, 2)
    with pytest.raises(DomainError, match="not your current password") as caught:
        change_password(session, user, current_password="wrong-password-1", new_password=STRONG)
    assert caught.value.field == "current_password"
    assert change_password(session, user, current_password=DEFAULT_PASSWORD, new_password=STRONG) == 2
    session.commit()
    assert authenticate(session, user.email, STRONG) is not None
    assert [find_session(session, secret) for secret in secrets] == [None, None]


@pytest.mark.parametrize(("new_password", "message"), [
    ("password12", "too easy to guess"), (DEFAULT_PASSWORD, "your current password"),
    ("writer@example.com", "too easy to guess")])
def test_a_new_password_must_pass_the_policy_and_differ(session, new_password, message):
    user = make_user(session)
    [secret] = _signed_in(session, user)
    with pytest.raises(DomainError, match=message) as caught:
        change_password(session, user, current_password=DEFAULT_PASSWORD, new_password=new_password)
    session.rollback()
    assert caught.value.field == "password"
    assert find_session(session, secret) is not None


def test_a_reset_link_is_made_only_for_an_active_account(session):
    user = make_user(session, "ada@example.com")
    assert request_password_reset(session, "nobody@example.com") is None
    reset = request_password_reset(session, " ADA@example.com ")
    assert reset is not None
    assert reset.user == user
    stored = session.exec(select(PasswordReset)).one()
    assert stored.token_hash == hash_token(reset.secret)
    assert stored.expires_at - stored.created_at == RESET_LIFETIME
    user.is_active = False
    assert request_password_reset(session, "ada@example.com") is None


def test_one_account_gets_a_few_links_an_hour_at_most(session):
    make_user(session, "ada@example.com")
    start = utcnow()
    made = [request_password_reset(session, "ada@example.com", now=start) for _ in range(MAX_RESETS_PER_LIFETIME + 1)]
    assert [reset is not None for reset in made] == [True] * MAX_RESETS_PER_LIFETIME + [False]
    assert request_password_reset(session, "ada@example.com", now=start + RESET_LIFETIME) is not None


def test_a_reset_sets_the_password_once_ends_every_sign_in_and_uses_up_every_link(session):
    user = make_user(session)
    secrets = _signed_in(session, user, 2)
    first, second = (request_password_reset(session, user.email) for _ in range(2))
    session.commit()
    assert reset_password(session, second.secret, STRONG) == user
    session.commit()
    assert authenticate(session, user.email, STRONG) is not None
    assert [find_session(session, secret) for secret in secrets] == [None, None]
    for used in (first, second):
        with pytest.raises(NotFound, match="not valid"):
            reset_password(session, used.secret, "Another quite unusual phrase")


def test_a_weak_password_is_refused_and_the_link_still_works(session):
    user = make_user(session)
    reset = request_password_reset(session, user.email)
    session.commit()
    with pytest.raises(DomainError, match="too easy to guess"):
        reset_password(session, reset.secret, "password12")
    session.rollback()
    assert find_reset(session, reset.secret)[1] == user


@pytest.mark.parametrize("secret", ["", "unknown", "x" * 500])
def test_an_unknown_reset_link_is_not_found(session, secret):
    make_user(session)
    with pytest.raises(NotFound, match="not valid"):
        find_reset(session, secret)


def test_an_expired_reset_link_is_refused(session):
    user = make_user(session)
    start = utcnow() - RESET_LIFETIME
    reset = request_password_reset(session, user.email, now=start)
    session.commit()
    assert find_reset(session, reset.secret, now=start + RESET_LIFETIME - timedelta(seconds=1))
    with pytest.raises(NotFound):
        reset_password(session, reset.secret, STRONG)


def test_the_reset_email_carries_the_link_and_says_how_long_it_works(session):
    user = make_user(session, name="Ada")
    message = reset_message(sender="Greenroom <noreply@greenroom.example>", user=user,
                            link="https://greenroom.example/password/reset/abc")
    assert (message["To"], message["From"]) == (user.email, "Greenroom <noreply@greenroom.example>")
    assert message["Message-ID"].endswith("@greenroom.example>")
    body = message.get_content()
    assert "https://greenroom.example/password/reset/abc" in body
    assert "60 minutes" in body
    assert "Hello Ada" in body


class Inbox:
    """An aiosmtpd handler that keeps what it receives."""

    def __init__(self):
        self.envelopes = []
        self.arrived = threading.Event()

    async def handle_DATA(self, server, smtp_session, envelope):  # noqa: N802 - aiosmtpd's hook name
        self.envelopes.append(envelope)
        self.arrived.set()
        return "250 Message accepted for delivery"

    def wait(self, timeout=10.0):
        """Return the first message received, waiting for it up to `timeout` seconds."""
        assert self.arrived.wait(timeout), "no message arrived at the SMTP server"
        return message_from_bytes(self.envelopes[0].original_content, policy=email_policy)


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextlib.contextmanager
def smtp_server(**options):
    """Run a real SMTP server (aiosmtpd) on 127.0.0.1 and a free port; yield its inbox and port."""
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port(), **options)
    controller.start()
    try:
        yield inbox, controller.port
    finally:
        controller.stop()


def _accept_ada(server, smtp_session, envelope, mechanism, auth_data):
    # handled=False: aiosmtpd then answers a refusal itself (535) instead of leaving the client waiting.
    return AuthResult(success=(auth_data.login, auth_data.password) == (b"ada", b"s3cret"), handled=False)


@pytest.fixture(scope="module")
def certificate(tmp_path_factory):
    """A self-signed certificate for 127.0.0.1: its server context, and a client context that trusts it."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.now(UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - timedelta(minutes=1))
            .not_valid_after(now + timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                           critical=False)
            .sign(key, hashes.SHA256()))
    folder = tmp_path_factory.mktemp("tls")
    (folder / "cert.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (folder / "key.pem").write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                                       serialization.NoEncryption()))
    server = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server.load_cert_chain(folder / "cert.pem", folder / "key.pem")
    return server, ssl.create_default_context(cafile=str(folder / "cert.pem"))


def _message():
    return compose(sender="Greenroom <noreply@greenroom.example>", to="ada@example.com", subject="Hello",
                   body="Open https://greenroom.example/password/reset/abc — ünïcode too.")


def test_the_smtp_mailer_logs_in_and_delivers():
    with smtp_server(authenticator=_accept_ada, auth_require_tls=False) as (inbox, port):
        SmtpMailer(host="127.0.0.1", port=port, security="none", username="ada", password="s3cret").send(_message())
        received = inbox.wait()
    assert inbox.envelopes[0].rcpt_tos == ["ada@example.com"]
    assert received["Subject"] == "Hello"
    assert "https://greenroom.example/password/reset/abc — ünïcode too." in received.get_content()


def test_the_smtp_mailer_refuses_a_wrong_login():
    with smtp_server(authenticator=_accept_ada, auth_require_tls=False) as (inbox, port), \
            pytest.raises(smtplib.SMTPAuthenticationError):
        SmtpMailer(host="127.0.0.1", port=port, security="none", username="ada", password="wrong").send(_message())
    assert inbox.envelopes == []


def test_the_smtp_mailer_uses_starttls_and_checks_the_certificate(certificate):
    server_context, client_context = certificate
    with smtp_server(tls_context=server_context, require_starttls=True, authenticator=_accept_ada) as (inbox, port):
        SmtpMailer(host="127.0.0.1", port=port, security="starttls", username="ada", password="s3cret",
                   ssl_context=client_context).send(_message())
        assert inbox.wait()["To"] == "ada@example.com"
        with pytest.raises(ssl.SSLCertVerificationError):  # the system's certificates do not know this server
            SmtpMailer(host="127.0.0.1", port=port, security="starttls").send(_message())


def test_the_smtp_mailer_speaks_implicit_tls(certificate):
    server_context, client_context = certificate
    with smtp_server(ssl_context=server_context) as (inbox, port):
        SmtpMailer(host="127.0.0.1", port=port, security="ssl", ssl_context=client_context).send(_message())
        assert inbox.wait()["Subject"] == "Hello"


def test_without_smtp_the_log_gets_the_message_and_in_production_only_that_it_was_not_sent(caplog):
    assert mailer_from_settings(Settings(greenroom_env="development")) == LogMailer(include_body=True)
    production = mailer_from_settings(Settings(greenroom_env="production", secret_key=secrets.token_urlsafe(32)))
    assert production == LogMailer(include_body=False)
    with caplog.at_level(logging.WARNING, logger="greenroom.mail"):
        LogMailer().send(_message())
        production.send(_message())
    development_log, production_log = caplog.messages
    assert "https://greenroom.example/password/reset/abc" in development_log
    assert "ada@example.com" in development_log
    assert "reset/abc" not in production_log
    assert "Not sent" in production_log


def test_smtp_settings_make_an_smtp_mailer():
    mailer = mailer_from_settings(Settings(smtp_host="mail.example.org", smtp_port=465, smtp_security="ssl",
                                           smtp_username="ada", smtp_password="s3cret"))
    assert mailer == SmtpMailer(host="mail.example.org", port=465, security="ssl", username="ada", password="s3cret")
    assert "s3cret" not in repr(mailer)


def test_a_message_sent_later_that_fails_is_logged_not_raised(caplog):
    with caplog.at_level(logging.ERROR, logger="greenroom.mail"):
        future = send_later(SmtpMailer(host="127.0.0.1", port=free_port(), security="none", timeout=2), _message())
        assert future.exception(timeout=10) is not None
        time.sleep(0.1)  # the callback that logs runs just after the future completes
    assert "Could not send an email" in caplog.text
