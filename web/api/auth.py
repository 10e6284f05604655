"""Bearer-token authentication, scope enforcement and per-token rate limits for the API.

The API knows no cookies: every request carries `Authorization: Bearer grn_…`, so cross-site forgery has no
session to ride on (the blueprint is exempt from CSRF) and every request acts as exactly one member.
"""

from flask import Blueprint, current_app, g, request
from flask_limiter.util import get_remote_address

from characters.accounts.tokens import TokenAccess, authenticate_token, mark_used, use_is_due
from characters.accounts.workspaces import Member
from characters.core.models import TokenScope, utcnow
from web.api.errors import ApiError
from web.database import SAFE_METHODS, get_session, record_on_the_side
from web.extensions import limiter

# The document, its docs page and their assets are public: they describe the API, they reveal no data.
PUBLIC_ENDPOINTS = frozenset({"api.openapi", "api.docs", "api.static"})
_NOT_LOOKED_UP = object()


def presented_token() -> str | None:
    """Return the bearer token of this request, if it sent one."""
    scheme, _, value = request.headers.get("Authorization", "").partition(" ")
    value = value.strip()
    return value if scheme.lower() == "bearer" and value else None


def token_access() -> TokenAccess | None:
    """Return who this request's token acts as (looked up once per request), or None."""
    access = g.get("api_access", _NOT_LOOKED_UP)
    if access is _NOT_LOOKED_UP:
        secret = presented_token()
        access = authenticate_token(get_session(), secret) if secret else None
        g.api_access = access
    return access if isinstance(access, TokenAccess) else None


def current_access() -> TokenAccess:
    """Return the authenticated token (the blueprint refused the request before any view if there is none)."""
    access = token_access()
    if access is None:
        raise ApiError(401, "Send a valid access token.")
    return access


def api_member() -> Member:
    """Return the member the authenticated token acts as."""
    return current_access().member


def rate_limit_key() -> str:
    """Count requests per token (the token's id); requests without a valid token count per address."""
    access = token_access()
    return f"api-token:{access.token.id}" if access is not None else f"api-address:{get_remote_address()}"


def rate_limit_value() -> str:
    """Return the configured per-token limit (API_RATE_LIMIT)."""
    limit: str = current_app.extensions["greenroom.settings"].api_rate_limit
    return limit


def _is_public() -> bool:
    return request.endpoint in PUBLIC_ENDPOINTS


def _authenticate() -> None:
    """Refuse requests without a valid token, and writes with a read-only one; note the token's use."""
    if _is_public():
        return
    access = token_access()
    if access is None:
        raise ApiError(401, "Send a valid access token: Authorization: Bearer grn_…",
                       headers={"WWW-Authenticate": 'Bearer realm="greenroom"'})
    if request.method not in SAFE_METHODS and access.scope is TokenScope.READ:
        raise ApiError(403, "This token is read-only; create a write token to change things.",
                       code="read_only_token")
    _note_use(access)


def _note_use(access: TokenAccess) -> None:
    """Record the token's use, at most once a minute, beside the request (docs/concurrency.md)."""
    now = utcnow()
    if use_is_due(access.token, now):
        record_on_the_side(lambda session: mark_used(session, access.token, now), f"the use of token {access.token.id}")


def register(bp: Blueprint) -> None:
    """Authenticate every API request and rate-limit it per token before any view runs."""
    limiter.shared_limit(rate_limit_value, scope="api", key_func=rate_limit_key, exempt_when=_is_public)(bp)
    bp.before_request(_authenticate)
