import contextlib

import pytest
from argon2 import PasswordHasher
from pydantic import ValidationError

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
from characters.core.errors import Conflict, DomainError
from characters.core.models import User
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
