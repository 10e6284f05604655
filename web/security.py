"""Login wiring and security headers."""

from dataclasses import dataclass
from urllib.parse import urlsplit

from flask import Flask, Response

from characters.core.models import User
from web.database import get_session
from web.extensions import login_manager

_CONTENT_SECURITY_POLICY = (
    "default-src 'self'; img-src 'self' data: blob:; style-src 'self'; script-src 'self'; "
    "object-src 'none'; base-uri 'self'; frame-ancestors 'none'; form-action 'self'"
)


@dataclass
class LoginUser:
    """What Flask-Login needs, wrapped around a User row so the table stays free of Flask."""

    user: User

    @property
    def id(self) -> int:
        assert self.user.id is not None  # noqa: S101 - loaded rows always have an id
        return self.user.id

    @property
    def is_authenticated(self) -> bool:
        return True

    @property
    def is_active(self) -> bool:
        return self.user.is_active

    @property
    def is_anonymous(self) -> bool:
        return False

    def get_id(self) -> str:
        return str(self.user.id)


def init_login(app: Flask) -> None:
    """Configure Flask-Login: strong session protection and where to send anonymous users."""
    login_manager.init_app(app)
    login_manager.session_protection = "strong"
    login_manager.login_view = "auth.login"
    login_manager.login_message = "Please log in to continue."
    login_manager.login_message_category = "info"
    login_manager.user_loader(_load_user)


def _load_user(user_id: str) -> LoginUser | None:
    if not user_id.isdigit():
        return None
    user = get_session().get(User, int(user_id))
    return LoginUser(user) if user is not None and user.is_active else None


def init_headers(app: Flask) -> None:
    """Send security headers on every response."""

    @app.after_request
    def _add_headers(response: Response) -> Response:
        response.headers.setdefault("Content-Security-Policy", _CONTENT_SECURITY_POLICY)
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        response.headers.setdefault("X-Frame-Options", "DENY")
        return response


def is_safe_next(target: str | None) -> bool:
    """Accept only same-site paths ("/w/x"), never "//evil", "http://evil" or "\\\\evil"."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return False
    parts = urlsplit(target)
    return not parts.scheme and not parts.netloc and not any(ord(ch) < 32 for ch in target)
