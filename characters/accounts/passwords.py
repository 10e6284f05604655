"""Changing a password, and resetting a forgotten one by email; either ends the user's sign-ins everywhere.

A reset link carries a random secret stored hashed (like an API token), lives RESET_LIFETIME and works once. Asking
for one says nothing about whether the email has an account: the caller answers alike either way.
"""

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.message import EmailMessage
from typing import Any, cast

from sqlalchemy import CursorResult, update
from sqlmodel import Session, col, func, select

from characters.accounts.mail import compose
from characters.accounts.sessions import MAX_SECRET_CHARS, SECRET_BYTES, end_sessions
from characters.accounts.tokens import hash_token
from characters.accounts.users import check_password, find_user_by_email, set_password
from characters.core.errors import DomainError, NotFound
from characters.core.models import PasswordReset, User, require_id, utcnow

RESET_LIFETIME = timedelta(hours=1)
# Links one account may be sent per RESET_LIFETIME, whatever the addresses asking (the web limit is per address).
MAX_RESETS_PER_LIFETIME = 3
INVALID_RESET_MESSAGE = "This reset link is not valid: it was used already, has expired, or was mistyped."


@dataclass(frozen=True)
class ResetRequest:
    """A reset link to send: the account and the secret for the link (shown only in the email, never stored)."""

    user: User
    secret: str


def change_password(session: Session, user: User, *, current_password: str, new_password: str,
                    now: datetime | None = None) -> int:
    """Replace a password known to its user (policy applies); end all their sign-ins and return how many."""
    if not check_password(user, current_password):
        raise DomainError("That is not your current password.", field="current_password")
    if check_password(user, new_password):
        raise DomainError("That is your current password; choose a new one.", field="password")
    set_password(session, user, new_password)
    return end_sessions(session, user, now=now)


def request_password_reset(session: Session, email: str, now: datetime | None = None) -> ResetRequest | None:
    """Make a reset link for the active account with this email, or None (unknown, inactive, too many asked)."""
    moment = now or utcnow()
    user = find_user_by_email(session, email)
    if user is None or not user.is_active:
        return None
    recent = session.exec(select(func.count()).select_from(PasswordReset).where(
        PasswordReset.user_id == user.id, col(PasswordReset.created_at) > moment - RESET_LIFETIME)).one()
    if recent >= MAX_RESETS_PER_LIFETIME:
        return None
    secret = secrets.token_urlsafe(SECRET_BYTES)
    session.add(PasswordReset(user_id=require_id(user), token_hash=hash_token(secret), created_at=moment,
                              expires_at=moment + RESET_LIFETIME))
    session.flush()
    return ResetRequest(user=user, secret=secret)


def reset_message(*, sender: str, user: User, link: str) -> EmailMessage:
    """Return the email that carries a reset link."""
    minutes = int(RESET_LIFETIME.total_seconds() // 60)
    body = (f"Hello {user.display_name},\n\n"
            f"someone (hopefully you) asked to reset the password of your Greenroom account. To choose a new one,\n"
            f"open this link within {minutes} minutes; it works once:\n\n{link}\n\n"
            "Setting a new password logs you out on every device.\n"
            "If you did not ask for this, ignore this email: your password stays as it is.\n")
    return compose(sender=sender, to=user.email, subject="Reset your Greenroom password", body=body)


def find_reset(session: Session, secret: str, now: datetime | None = None) -> tuple[PasswordReset, User]:
    """Return the unused, unexpired reset this secret opens and its active user; NotFound otherwise."""
    moment = now or utcnow()
    row = None
    if secret and len(secret) <= MAX_SECRET_CHARS:
        row = session.exec(select(PasswordReset, User).join(User, col(User.id) == col(PasswordReset.user_id))
                           .where(PasswordReset.token_hash == hash_token(secret))).first()
    if row is None or row[0].used_at is not None or row[0].expires_at <= moment or not row[1].is_active:
        raise NotFound(INVALID_RESET_MESSAGE)
    return row


def reset_password(session: Session, secret: str, new_password: str, now: datetime | None = None) -> User:
    """Set a new password through a reset link (policy applies), use up the user's links, end all their sign-ins."""
    moment = now or utcnow()
    reset, user = find_reset(session, secret, moment)
    set_password(session, user, new_password)
    # Conditional, so of two requests racing with one link only one gets through.
    used = cast(CursorResult[Any], session.execute(
        update(PasswordReset).where(col(PasswordReset.id) == reset.id, col(PasswordReset.used_at).is_(None))
        .values(used_at=moment)))
    if used.rowcount != 1:
        raise NotFound(INVALID_RESET_MESSAGE)
    session.execute(update(PasswordReset).where(col(PasswordReset.user_id) == user.id,
                                                col(PasswordReset.used_at).is_(None)).values(used_at=moment))
    end_sessions(session, user, now=moment)
    return user
