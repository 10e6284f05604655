"""Sign-ins: one UserSession row per signed-in browser, found by the hash of the random secret its cookies carry.

The session cookie and the remember-me cookie both hold that secret, never the user id, so ending the row (log out,
"log out everywhere", a password change or reset) ends the sign-in for every copy of either cookie. A row also ends
by itself: a plain sign-in after IDLE_TIMEOUT without a request or SESSION_LIFETIME after it began, a remembered
one REMEMBER_LIFETIME after it began.
"""

import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import CursorResult, delete, or_, update
from sqlmodel import Session, col, select

from characters.accounts.tokens import hash_token
from characters.core.errors import NotFound
from characters.core.models import User, UserSession, require_id, utcnow

IDLE_TIMEOUT = timedelta(hours=12)
SESSION_LIFETIME = timedelta(days=7)
REMEMBER_LIFETIME = timedelta(days=30)
# `last_seen_at` is rewritten at most this often, so a page view seldom writes (and the idle timeout is this coarse).
LAST_SEEN_RESOLUTION = timedelta(minutes=5)
SECRET_BYTES = 32  # like an API token's: far beyond guessing, so hash_token's plain SHA-256 is a safe way to store it
MAX_SECRET_CHARS = 100
MAX_USER_AGENT_CHARS = 300
MAX_IP_CHARS = 64
_BROWSERS = [("Edge", r"Edg(e|A|iOS)?/"), ("Opera", r"OPR/|Opera"), ("Samsung Internet", r"SamsungBrowser/"),
             ("Firefox", r"Firefox/|FxiOS/"), ("Chrome", r"Chrome/|CriOS/"), ("Safari", r"Version/[\d.]+.*Safari/")]
_SYSTEMS = [("Android", r"Android"), ("iPhone", r"iPhone"), ("iPad", r"iPad"), ("Windows", r"Windows"),
            ("ChromeOS", r"CrOS"), ("macOS", r"Macintosh|Mac OS X"), ("Linux", r"Linux|X11")]


@dataclass(frozen=True)
class NewSignIn:
    """A sign-in just started, with the secret its cookies carry: given to the browser, never stored."""

    sign_in: UserSession
    secret: str


def start_session(session: Session, user: User, *, remember: bool, user_agent: str = "", ip_address: str = "",
                  now: datetime | None = None) -> NewSignIn:
    """Record a new sign-in for `user` (and forget the user's ended and expired ones)."""
    moment = now or utcnow()
    session.execute(delete(UserSession).where(col(UserSession.user_id) == user.id, _over(moment)))
    secret = secrets.token_urlsafe(SECRET_BYTES)
    sign_in = UserSession(user_id=require_id(user), token_hash=hash_token(secret), remember=remember,
                          created_at=moment, last_seen_at=moment,
                          expires_at=moment + (REMEMBER_LIFETIME if remember else SESSION_LIFETIME),
                          user_agent=user_agent[:MAX_USER_AGENT_CHARS], ip_address=ip_address[:MAX_IP_CHARS])
    session.add(sign_in)
    session.flush()
    return NewSignIn(sign_in=sign_in, secret=secret)


def expires_at(sign_in: UserSession) -> datetime:
    """Return when the sign-in ends unless it is used (or ended) before: its lifetime, or for a plain one its idling."""
    if sign_in.remember:
        return sign_in.expires_at
    return min(sign_in.expires_at, sign_in.last_seen_at + IDLE_TIMEOUT)


def is_live(sign_in: UserSession, now: datetime | None = None) -> bool:
    """Return whether the sign-in still lets its browser in."""
    return sign_in.ended_at is None and (now or utcnow()) < expires_at(sign_in)


def find_session(session: Session, secret: str, now: datetime | None = None) -> tuple[UserSession, User] | None:
    """Return the live sign-in these cookies carry and its active user, or None (unknown, ended, expired)."""
    if not secret or len(secret) > MAX_SECRET_CHARS:
        return None
    row = session.exec(select(UserSession, User).join(User, col(User.id) == col(UserSession.user_id))
                       .where(UserSession.token_hash == hash_token(secret))).first()
    if row is None:
        return None
    sign_in, user = row
    return (sign_in, user) if user.is_active and is_live(sign_in, now) else None


def seen_is_due(sign_in: UserSession, now: datetime) -> bool:
    """Return whether a request at `now` is to be recorded: the last recorded one is LAST_SEEN_RESOLUTION old."""
    return now - sign_in.last_seen_at >= LAST_SEEN_RESOLUTION


def mark_seen(session: Session, sign_in: UserSession, now: datetime | None = None) -> bool:
    """Slide the sign-in's last request to `now`, at most once per LAST_SEEN_RESOLUTION; return whether it wrote.

    One conditional UPDATE by id, so `sign_in` may come from another session and of two racing requests only the
    first writes; an ended sign-in stays ended.
    """
    moment = now or utcnow()
    if not seen_is_due(sign_in, moment):
        return False
    result = cast(CursorResult[Any], session.execute(
        update(UserSession).where(col(UserSession.id) == sign_in.id, col(UserSession.ended_at).is_(None),
                                  col(UserSession.last_seen_at) <= moment - LAST_SEEN_RESOLUTION)
        .values(last_seen_at=moment)))
    return result.rowcount == 1


def live_sessions(session: Session, user: User, now: datetime | None = None) -> list[UserSession]:
    """Return the user's live sign-ins, the most recently used first."""
    moment = now or utcnow()
    rows = session.exec(select(UserSession).where(UserSession.user_id == user.id, col(UserSession.ended_at).is_(None))
                        .order_by(col(UserSession.last_seen_at).desc(), col(UserSession.id).desc())).all()
    return [sign_in for sign_in in rows if is_live(sign_in, moment)]


def end_session(session: Session, user: User, sign_in_id: int, now: datetime | None = None) -> UserSession:
    """End one of the user's sign-ins (ending one twice changes nothing); another user's is not found."""
    sign_in = session.get(UserSession, sign_in_id)
    if sign_in is None or sign_in.user_id != user.id:
        raise NotFound("No such sign-in.")
    if sign_in.ended_at is None:
        sign_in.ended_at = now or utcnow()
        session.add(sign_in)
        session.flush()
    return sign_in


def end_sessions(session: Session, user: User, *, keep: UserSession | None = None,
                 now: datetime | None = None) -> int:
    """End every live sign-in of the user but `keep`; return how many ended."""
    query = update(UserSession).where(col(UserSession.user_id) == user.id, col(UserSession.ended_at).is_(None))
    if keep is not None:
        query = query.where(col(UserSession.id) != keep.id)
    result = cast(CursorResult[Any], session.execute(query.values(ended_at=now or utcnow())))
    return result.rowcount


def describe_user_agent(user_agent: str) -> str:
    """Name a browser in plain words from its User-Agent, e.g. "Firefox on Linux" (best effort)."""
    browser = next((name for name, pattern in _BROWSERS if re.search(pattern, user_agent)), None)
    system = next((name for name, pattern in _SYSTEMS if re.search(pattern, user_agent)), None)
    if browser and system:
        return f"{browser} on {system}"
    return browser or (f"A browser on {system}" if system else "Unknown browser")


def _over(now: datetime) -> Any:
    """Return the condition for rows that no longer let anyone in (ended, past their lifetime, or idle too long)."""
    idle = (~col(UserSession.remember)) & (col(UserSession.last_seen_at) <= now - IDLE_TIMEOUT)
    return or_(col(UserSession.ended_at).is_not(None), col(UserSession.expires_at) <= now, idle)
