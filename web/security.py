"""Login wiring, security headers, and URL ids the database can hold.

Flask-Login's "alternative tokens": a LoginUser's id is the secret of its sign-in (characters/accounts/sessions.py),
so the session and remember-me cookies carry that secret, never the user id, and stop working when the sign-in ends.
"""

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from flask import Flask, Response, current_app, request, session
from flask_login import current_user, login_user, logout_user
from flask_login.config import COOKIE_NAME
from werkzeug.routing import IntegerConverter, Map

from characters.accounts.sessions import (
    REMEMBER_LIFETIME,
    end_session,
    find_session,
    mark_seen,
    seen_is_due,
    start_session,
)
from characters.core.models import User, UserSession, require_id, utcnow
from web.api.schemas import MAX_DB_INT
from web.database import get_session, record_on_the_side, unit_of_work
from web.extensions import login_manager

_CONTENT_SECURITY_POLICY = (
    "default-src 'self'; img-src 'self' data: blob:; style-src 'self'; script-src 'self'; "
    "object-src 'none'; base-uri 'self'; frame-ancestors 'none'; form-action 'self'"
)
_STRICT_TRANSPORT_SECURITY = "max-age=31536000; includeSubDomains"


@dataclass
class LoginUser:
    """What Flask-Login needs, wrapped around a User row and its sign-in so the tables stay free of Flask."""

    user: User
    sign_in: UserSession
    secret: str  # what the cookies carry: the sign-in is found by its hash

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
        return self.secret


def init_login(app: Flask) -> None:
    """Configure Flask-Login: strong session protection and where to send anonymous users."""
    login_manager.init_app(app)
    login_manager.session_protection = "strong"
    login_manager.login_view = "auth.login"
    login_manager.login_message = "Please log in to continue."
    login_manager.login_message_category = "info"
    login_manager.user_loader(_load_user)
    # The cookie lives as long as the remembered sign-in it carries; ending the sign-in ends it sooner.
    app.config.setdefault("REMEMBER_COOKIE_DURATION", REMEMBER_LIFETIME)
    app.before_request(_load_user_first)
    app.after_request(_forget_ended_sign_in)


def sign_in_browser(user: User, *, remember: bool) -> None:
    """Start a sign-in for `user` and give this browser its cookies (a fresh session: no session fixation)."""
    with unit_of_work() as db:
        new = start_session(db, user, remember=remember, user_agent=request.user_agent.string,
                            ip_address=request.remote_addr or "")
    session.clear()
    login_user(LoginUser(user, new.sign_in, new.secret), remember=remember)


def sign_out_browser() -> None:
    """End this browser's sign-in, so a copy of its cookies no longer works either, and drop its cookies."""
    if current_user.is_authenticated:
        with unit_of_work() as db:
            end_session(db, current_user.user, require_id(current_user.sign_in))
    logout_user()
    session.clear()


def _load_user_first() -> None:
    """Look up who is signed in before any view runs, so noting their visit never commits a view's half-done work."""
    if request.endpoint != "static":
        current_user._get_current_object()  # noqa: SLF001 - werkzeug's documented way to resolve a LocalProxy


def _forget_ended_sign_in(response: Response) -> Response:
    """Delete the cookies of a sign-in that ended or expired, rather than send them back on every request.

    Runs before Flask-Login's own after_request (registered earlier, so it runs later), which clears the remember-me
    cookie on "_remember": "clear".
    """
    remember_cookie = current_app.config.get("REMEMBER_COOKIE_NAME", COOKIE_NAME)
    stale = "_user_id" in session or remember_cookie in request.cookies
    if request.endpoint != "static" and stale and not current_user.is_authenticated:
        session.pop("_user_id", None)
        session["_remember"] = "clear"
    return response


def _load_user(secret: str) -> LoginUser | None:
    found = find_session(get_session(), secret)
    if found is None:
        return None
    sign_in, user = found
    _note_seen(sign_in)
    return LoginUser(user, sign_in, secret)


def _note_seen(sign_in: UserSession) -> None:
    """Slide the sign-in's last visit, at most every few minutes, beside the request (docs/concurrency.md)."""
    now = utcnow()
    if seen_is_due(sign_in, now):
        record_on_the_side(lambda db: mark_seen(db, sign_in, now), f"a visit of sign-in {sign_in.id}")


def init_headers(app: Flask) -> None:
    """Send security headers on every response; HSTS in production, which is served over HTTPS only."""
    production = app.config["GREENROOM_ENV"] == "production"

    @app.after_request
    def _add_headers(response: Response) -> Response:
        response.headers.setdefault("Content-Security-Policy", _CONTENT_SECURITY_POLICY)
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        response.headers.setdefault("X-Frame-Options", "DENY")
        if production:
            response.headers["Strict-Transport-Security"] = _STRICT_TRANSPORT_SECURITY
        if _is_private_response(response):
            # A shared or back-button cache must not keep a member's pages, API answers or exports.
            response.headers["Cache-Control"] = "no-store"
        return response


def _is_private_response(response: Response) -> bool:
    """Return whether a response is a download, or for a logged-in user or API token with no caching rule of its own.

    Views that set Cache-Control chose it (private images, a no-cache event stream, public feeds) and keep it.
    """
    if response.headers.get("Content-Disposition", "").startswith("attachment"):
        return True
    if "Cache-Control" in response.headers:
        return False
    return "Authorization" in request.headers or bool(current_user.is_authenticated)


def digits_up_to(limit: int) -> str:
    """Return a regex matching the decimal numbers 0..limit (no leading zeros), and nothing else."""
    text = str(limit)
    choices = ["0", f"[1-9]\\d{{0,{len(text) - 2}}}"] if len(text) > 1 else ["0"]
    for position, digit in enumerate(text):
        lowest = 1 if position == 0 else 0
        if int(digit) > lowest:
            choices.append(f"{text[:position]}[{lowest}-{int(digit) - 1}]\\d{{{len(text) - position - 1}}}")
    choices.append(text)
    return "(?:" + "|".join(choices) + ")"


class BoundedIntConverter(IntegerConverter):
    """`<int:…>` that does not match (404) numbers no id column holds, which the database would fail on (500)."""

    # Ids are INTEGER columns: PostgreSQL refuses 2**31 and beyond, SQLite's driver 2**63 and beyond. The bound is
    # in the regex, not only in `max`: werkzeug answers a path whose converter refuses the value with 405 whenever
    # another method's rule has the same path, where 404 is the truth.
    regex = digits_up_to(MAX_DB_INT)

    def __init__(self, map: Map, *args: Any, **kwargs: Any) -> None:  # noqa: A002 - werkzeug's parameter name
        super().__init__(map, *args, **kwargs)
        self.max = MAX_DB_INT if self.max is None else min(self.max, MAX_DB_INT)


def init_converters(app: Flask) -> None:
    """Bound `<int:…>` in every route; call before any blueprint is registered (rules pick converters then)."""
    app.url_map.converters["int"] = BoundedIntConverter


def is_safe_next(target: str | None) -> bool:
    """Accept only same-site paths ("/w/x"), never "//evil", "http://evil" or "\\\\evil"."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return False
    parts = urlsplit(target)
    return not parts.scheme and not parts.netloc and not any(ord(ch) < 32 for ch in target)
