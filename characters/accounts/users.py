"""Users and passwords: argon2 hashes, generic failures, no Flask."""

import re
from collections.abc import Sequence
from functools import cache

from argon2 import Parameters, PasswordHasher, profiles
from argon2.exceptions import InvalidHashError, VerificationError
from pydantic import BaseModel, EmailStr, Field, field_validator
from sqlalchemy import func
from sqlmodel import Session, select
from zxcvbn import zxcvbn

from characters.core.config import get_settings
from characters.core.errors import Conflict, DomainError
from characters.core.models import User

MIN_PASSWORD_LENGTH = 10
# zxcvbn's scale is 0-4; 3 means "safely unguessable" (about 10^8 guesses or more) for an offline attack.
MIN_PASSWORD_SCORE = 3
# zxcvbn's cost grows with length; scoring the first 100 characters keeps a huge password from stalling a request.
SCORED_PASSWORD_CHARS = 100
# zxcvbn gives no suggestion for some weak passwords; this one always applies.
DEFAULT_ADVICE = "Add another word or two. Uncommon words are better."
FAILED_LOGIN_MESSAGE = "That email and password don't match an account."
ARGON2_PROFILES: dict[str, Parameters] = {
    "rfc_9106_low_memory": profiles.RFC_9106_LOW_MEMORY,
    "cheapest": profiles.CHEAPEST,
}


class UserCreate(BaseModel):
    """What it takes to create a user; validated before anything touches the database."""

    email: EmailStr
    display_name: str = Field(min_length=1, max_length=120)
    password: str = Field(min_length=MIN_PASSWORD_LENGTH, max_length=1024)
    is_admin: bool = False

    @field_validator("display_name")
    @classmethod
    def _strip(cls, value: str) -> str:
        value = value.strip()
        if not value:
            raise ValueError("a display name is required")
        return value


def normalize_email(email: str) -> str:
    """Return the form emails are stored and compared in."""
    return email.strip().lower()


def find_user_by_email(session: Session, email: str) -> User | None:
    """Return the user with this email, if any."""
    return session.exec(select(User).where(func.lower(User.email) == normalize_email(email))).first()


def check_password_strength(password: str, *, user_inputs: Sequence[str] = ()) -> None:
    """Refuse a short, common or guessable password; `user_inputs` (email, name, workspace) count as guessable."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise DomainError(f"A password needs at least {MIN_PASSWORD_LENGTH} characters.", field="password")
    result = zxcvbn(password[:SCORED_PASSWORD_CHARS], user_inputs=_guessable_words(user_inputs))
    if result["score"] < MIN_PASSWORD_SCORE:
        feedback = result["feedback"]
        advice = [text for text in [feedback["warning"], *feedback["suggestions"]] if text] or [DEFAULT_ADVICE]
        raise DomainError(" ".join(["This password is too easy to guess.", *advice]), field="password")


def register_user(*, session: Session, user_create: UserCreate, context: Sequence[str] = ()) -> User:
    """Add a person's account: the password policy first, then create_user.

    `context` names other words an attacker would try first, such as the workspace's name.
    """
    check_password_strength(user_create.password, user_inputs=_user_inputs(user_create, context))
    return create_user(session=session, user_create=user_create)


def create_user(*, session: Session, user_create: UserCreate) -> User:
    """Add a user as given (the demo seed's documented password); a person signing up goes through register_user."""
    if find_user_by_email(session, str(user_create.email)) is not None:
        raise Conflict("An account with this email already exists.", field="email")
    return _insert_user(session, user_create)


def sign_up_or_log_in(*, session: Session, user_create: UserCreate, context: Sequence[str] = ()) -> User:
    """Create the account, or return the existing one if the password is its own.

    Every failure reads the same whether or not the email has an account, and both paths run one argon2
    operation, so neither the answer nor its timing tells which emails are registered.
    """
    check_password_strength(user_create.password, user_inputs=_user_inputs(user_create, context))
    if find_user_by_email(session, str(user_create.email)) is None:
        return _insert_user(session, user_create)
    user = authenticate(session, str(user_create.email), user_create.password)
    if user is None:
        raise DomainError(FAILED_LOGIN_MESSAGE, field="password")
    return user


def authenticate(session: Session, email: str, password: str) -> User | None:
    """Return the active user for these credentials, or None without saying which part was wrong."""
    user = find_user_by_email(session, email)
    hasher = _hasher()
    if user is None:
        _verify(hasher, _dummy_hash(hasher), password)
        return None
    if not _verify(hasher, user.password_hash, password) or not user.is_active:
        return None
    if hasher.check_needs_rehash(user.password_hash):
        user.password_hash = hasher.hash(password)
        session.add(user)
    return user


def check_password(user: User, password: str) -> bool:
    """Return whether `password` is the user's (for changing it; logging in goes through authenticate)."""
    return _verify(_hasher(), user.password_hash, password)


def set_password(session: Session, user: User, password: str) -> None:
    """Replace a user's password after checking its strength."""
    check_password_strength(password, user_inputs=[user.email, user.display_name])
    user.password_hash = _hasher().hash(password)
    session.add(user)


def count_users(session: Session) -> int:
    """Return how many users exist (the first-run setup page shows only at zero)."""
    return session.exec(select(func.count()).select_from(User)).one()


def _insert_user(session: Session, user_create: UserCreate) -> User:
    user = User(
        email=normalize_email(str(user_create.email)),
        display_name=user_create.display_name,
        password_hash=_hasher().hash(user_create.password),
        is_admin=user_create.is_admin,
    )
    session.add(user)
    session.flush()
    return user


def _user_inputs(user_create: UserCreate, context: Sequence[str]) -> list[str]:
    return [str(user_create.email), user_create.display_name, *context]


def _guessable_words(user_inputs: Sequence[str]) -> list[str]:
    """Return the inputs, their words, and the words run together as a slug would (zxcvbn matches whole words)."""
    words: set[str] = set()
    for text in (text.lower() for text in user_inputs if text):
        parts = [part for part in re.split(r"[^a-z0-9]+", text) if part]
        words.update([text, "-".join(parts), "".join(parts), *(part for part in parts if len(part) >= 3)])
    return sorted(words)


def _hasher() -> PasswordHasher:
    """Return the hasher at the cost ARGON2_PROFILE names (read on use, so tests can lower it)."""
    return _hasher_for(get_settings().argon2_profile)


@cache
def _hasher_for(profile: str) -> PasswordHasher:
    return PasswordHasher.from_parameters(ARGON2_PROFILES[profile])


@cache  # keyed by the hasher's identity: one per profile
def _dummy_hash(hasher: PasswordHasher) -> str:
    """Return a hash verified when the email is unknown, so a failed login takes the same time either way."""
    return hasher.hash("greenroom-timing-equaliser")


def _verify(hasher: PasswordHasher, password_hash: str, password: str) -> bool:
    try:
        return hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False
