import pytest
from pydantic import ValidationError

from characters.accounts.users import UserCreate, authenticate, create_user
from characters.core.errors import Conflict
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
