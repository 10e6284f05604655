"""Users and passwords: argon2 hashes, generic failures, no Flask."""

from functools import cache

from argon2 import Parameters, PasswordHasher, profiles
from argon2.exceptions import InvalidHashError, VerificationError
from pydantic import BaseModel, EmailStr, Field, field_validator
from sqlalchemy import func
from sqlmodel import Session, select

from characters.core.config import get_settings
from characters.core.errors import Conflict
from characters.core.models import User

MIN_PASSWORD_LENGTH = 10
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


def create_user(*, session: Session, user_create: UserCreate) -> User:
    """Add a user; refuses a duplicate email with a clear message."""
    email = normalize_email(str(user_create.email))
    if find_user_by_email(session, email) is not None:
        raise Conflict("An account with this email already exists.", field="email")
    user = User(
        email=email,
        display_name=user_create.display_name,
        password_hash=_hasher().hash(user_create.password),
        is_admin=user_create.is_admin,
    )
    session.add(user)
    session.flush()
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


def set_password(session: Session, user: User, password: str) -> None:
    """Replace a user's password after checking its length."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise ValueError(f"A password needs at least {MIN_PASSWORD_LENGTH} characters.")
    user.password_hash = _hasher().hash(password)
    session.add(user)


def count_users(session: Session) -> int:
    """Return how many users exist (the first-run setup page shows only at zero)."""
    return session.exec(select(func.count()).select_from(User)).one()


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
