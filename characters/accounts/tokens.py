"""Personal access tokens for the JSON API: one user in one workspace, scoped, shown once, stored as a SHA-256.

A token acts as the member who created it, with that member's role as it is *now*: a demoted member's tokens
lose the rights at once, a deactivated member's tokens stop working, and a removed member's are revoked (so
re-adding the person does not bring them back). A read-scoped token acts
with at most the viewer's rights, so every domain function refuses its writes the way it refuses a viewer's.
"""

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from pydantic import BaseModel, Field, field_validator
from sqlalchemy import CursorResult, or_, update
from sqlmodel import Session, col, func, select

from characters.accounts.workspaces import Action, Member
from characters.core.errors import DomainError, NotFound
from characters.core.models import ApiToken, Membership, Role, TokenScope, User, Workspace, require_id, utcnow

TOKEN_PREFIX = "grn_"  # noqa: S105 - a public marker that makes leaked tokens recognisable, not a secret
# 32 random bytes: far beyond guessing, so a plain SHA-256 (no salt, no slow hash) is a safe way to store it.
TOKEN_BYTES = 32
SHOWN_PREFIX_CHARS = 12
MAX_TOKEN_CHARS = 200
MAX_ACTIVE_TOKENS = 25
# `last_used_at` is rewritten at most this often per token, so busy scripts do not write on every request.
LAST_USED_RESOLUTION = timedelta(minutes=1)


class TokenCreate(BaseModel):
    """A new token's name and scope, validated before anything is stored."""

    name: str = Field(min_length=1, max_length=120)
    scope: TokenScope = TokenScope.READ

    @field_validator("name")
    @classmethod
    def _strip_name(cls, value: str) -> str:
        value = value.strip()
        if not value:
            raise ValueError("give the token a name, e.g. the script that will use it")
        return value


@dataclass(frozen=True)
class NewToken:
    """A token just created, with its secret: shown to its owner once, never stored."""

    token: ApiToken
    secret: str


@dataclass(frozen=True)
class TokenAccess:
    """An authenticated request: the token and the member it acts as (role already capped by the scope)."""

    token: ApiToken
    member: Member

    @property
    def scope(self) -> TokenScope:
        """Return the token's scope."""
        return TokenScope(self.token.scope)


def hash_token(secret: str) -> str:
    """Return the stored form of a token."""
    return hashlib.sha256(secret.encode()).hexdigest()


def effective_role(role: Role, scope: TokenScope) -> Role:
    """Return the role a token acts with: its user's role, or viewer for a read-only token."""
    return role if scope is TokenScope.WRITE else Role.VIEWER


def create_token(*, session: Session, member: Member, token_create: TokenCreate) -> NewToken:
    """Create a token for the member in their workspace; the secret is returned once."""
    member.require(Action.VIEW)
    active = session.exec(select(func.count()).select_from(ApiToken).where(
        ApiToken.workspace_id == member.workspace.id, ApiToken.user_id == member.user.id,
        col(ApiToken.revoked_at).is_(None))).one()
    if active >= MAX_ACTIVE_TOKENS:
        raise DomainError(f"You already have {MAX_ACTIVE_TOKENS} tokens here; revoke one you no longer use.",
                          field="name")
    secret = TOKEN_PREFIX + secrets.token_urlsafe(TOKEN_BYTES)
    token = ApiToken(workspace_id=require_id(member.workspace), user_id=require_id(member.user),
                     name=token_create.name, scope=token_create.scope, token_hash=hash_token(secret),
                     prefix=secret[:SHOWN_PREFIX_CHARS])
    session.add(token)
    session.flush()
    return NewToken(token=token, secret=secret)


def tokens_for(session: Session, member: Member) -> list[tuple[ApiToken, User]]:
    """Return the tokens the member may see, newest first: their own, or everyone's for owners."""
    query = (select(ApiToken, User).join(User, col(User.id) == col(ApiToken.user_id))
             .where(ApiToken.workspace_id == member.workspace.id))
    if not member.can(Action.MANAGE_MEMBERS):
        query = query.where(ApiToken.user_id == member.user.id)
    rows = session.exec(query.order_by(col(ApiToken.created_at).desc(), col(ApiToken.id).desc())).all()
    return [(token, user) for token, user in rows]


def revoke_token(*, session: Session, member: Member, token_id: int) -> ApiToken:
    """Revoke one of the member's tokens (owners may revoke anyone's); revoking twice changes nothing."""
    token = session.get(ApiToken, token_id)
    if token is None or token.workspace_id != member.workspace.id:
        raise NotFound("No such token.")
    if token.user_id != member.user.id and not member.can(Action.MANAGE_MEMBERS):
        raise NotFound("No such token.")
    if token.revoked_at is None:
        token.revoked_at = utcnow()
        session.add(token)
        session.flush()
    return token


def authenticate_token(session: Session, secret: str) -> TokenAccess | None:
    """Return who a presented token acts as, or None when it is unknown, revoked or its member is gone."""
    if not secret.startswith(TOKEN_PREFIX) or len(secret) > MAX_TOKEN_CHARS:
        return None
    row = session.exec(
        select(ApiToken, User, Workspace, Membership.role)
        .join(User, col(User.id) == col(ApiToken.user_id))
        .join(Workspace, col(Workspace.id) == col(ApiToken.workspace_id))
        .join(Membership, (col(Membership.workspace_id) == col(ApiToken.workspace_id))
              & (col(Membership.user_id) == col(ApiToken.user_id)))
        .where(ApiToken.token_hash == hash_token(secret), col(ApiToken.revoked_at).is_(None))
    ).first()
    if row is None:
        return None
    token, user, workspace, role = row
    if not user.is_active:
        return None
    member = Member(workspace=workspace, user=user, role=effective_role(Role(role), TokenScope(token.scope)))
    return TokenAccess(token=token, member=member)


def use_is_due(token: ApiToken, now: datetime) -> bool:
    """Return whether a use at `now` is to be recorded: the last recorded one is LAST_USED_RESOLUTION old or more."""
    return token.last_used_at is None or now - token.last_used_at >= LAST_USED_RESOLUTION


def mark_used(session: Session, token: ApiToken, now: datetime | None = None) -> bool:
    """Record that the token was used, at most once per LAST_USED_RESOLUTION; return whether it wrote.

    One conditional UPDATE by id: `token` may belong to another session (the caller may note the use in a short
    transaction of its own), and of two requests racing with one token only the first writes.
    """
    moment = now or utcnow()
    if not use_is_due(token, moment):
        return False
    stale = or_(col(ApiToken.last_used_at).is_(None), col(ApiToken.last_used_at) <= moment - LAST_USED_RESOLUTION)
    result = cast(CursorResult[Any], session.execute(
        update(ApiToken).where(col(ApiToken.id) == token.id, stale).values(last_used_at=moment)))
    return result.rowcount == 1
