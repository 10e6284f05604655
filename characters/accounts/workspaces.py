"""Workspaces, memberships, roles and invite links; every lookup is scoped to one workspace."""

import enum
import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from pydantic import BaseModel, Field, field_validator
from sqlalchemy import update
from sqlmodel import Session, col, select

from characters.core.errors import Conflict, DomainError, NotFound, PermissionDenied
from characters.core.models import ApiToken, Invite, Membership, Role, User, Workspace, require_id, utcnow

SLUG_PATTERN = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?$")
DEFAULT_INVITE_LIFETIME = timedelta(days=7)
MAX_LATE_GRACE_MINUTES = 1440  # a day: a post found later than that is stale for any audience


class Action(enum.StrEnum):
    """Things a member may try to do; `allowed` decides by role."""

    VIEW = "view"
    DRAFT = "draft"
    SUBMIT = "submit"
    EDIT_BIBLE = "edit_bible"
    APPROVE = "approve"
    SCHEDULE = "schedule"
    MANAGE_MEMBERS = "manage_members"
    MANAGE_CHANNELS = "manage_channels"
    MANAGE_SETTINGS = "manage_settings"


_ROLE_ACTIONS: dict[Role, frozenset[Action]] = {
    Role.VIEWER: frozenset({Action.VIEW}),
    Role.WRITER: frozenset({Action.VIEW, Action.DRAFT, Action.SUBMIT}),
    Role.EDITOR: frozenset({Action.VIEW, Action.DRAFT, Action.SUBMIT, Action.EDIT_BIBLE, Action.APPROVE,
                            Action.SCHEDULE}),
    Role.OWNER: frozenset(Action),
}


class WorkspaceCreate(BaseModel):
    """A new workspace's slug and name."""

    slug: str = Field(min_length=1, max_length=64)
    name: str = Field(min_length=1, max_length=120)

    @field_validator("slug")
    @classmethod
    def _check_slug(cls, value: str) -> str:
        value = value.strip().lower()
        if not SLUG_PATTERN.fullmatch(value):
            raise ValueError("use lowercase letters, digits and hyphens (not at the ends)")
        return value

    @field_validator("name")
    @classmethod
    def _strip_name(cls, value: str) -> str:
        value = value.strip()
        if not value:
            raise ValueError("a name is required")
        return value


@dataclass(frozen=True)
class Member:
    """The current user's standing in the current workspace, as views and services see it."""

    workspace: Workspace
    user: User
    role: Role

    def can(self, action: Action) -> bool:
        """Return whether this member may perform `action`."""
        if action is Action.EDIT_BIBLE and self.role is Role.WRITER:
            return self.workspace.writers_edit_bibles
        return action in _ROLE_ACTIONS[self.role]

    def require(self, action: Action) -> None:
        """Raise PermissionDenied unless this member may perform `action`."""
        if not self.can(action):
            raise PermissionDenied(f"Your role ({self.role.value}) does not allow this.")


def create_workspace(*, session: Session, workspace_create: WorkspaceCreate, owner: User) -> Workspace:
    """Create a workspace with `owner` as its first owner."""
    if session.exec(select(Workspace).where(Workspace.slug == workspace_create.slug)).first():
        raise Conflict(f"The address “{workspace_create.slug}” is taken; pick another.", field="slug")
    workspace = Workspace(slug=workspace_create.slug, name=workspace_create.name)
    session.add(workspace)
    session.flush()
    session.add(Membership(workspace_id=require_id(workspace), user_id=require_id(owner), role=Role.OWNER))
    session.flush()
    return workspace


def get_workspace_by_slug(session: Session, slug: str) -> Workspace:
    """Return a workspace or raise NotFound."""
    workspace = session.exec(select(Workspace).where(Workspace.slug == slug)).first()
    if workspace is None:
        raise NotFound("No such workspace.")
    return workspace


def membership_for(session: Session, user: User, slug: str) -> Member:
    """Return the user's membership in the workspace `slug`; NotFound if they are not a member."""
    row = session.exec(
        select(Workspace, Membership)
        .join(Membership, col(Membership.workspace_id) == col(Workspace.id))
        .where(Workspace.slug == slug, Membership.user_id == user.id)
    ).first()
    if row is None:
        raise NotFound("No such workspace.")
    workspace, membership = row
    return Member(workspace=workspace, user=user, role=Role(membership.role))


def workspaces_for(session: Session, user: User) -> list[tuple[Workspace, Role]]:
    """Return the workspaces a user belongs to, with their role, by name."""
    rows = session.exec(
        select(Workspace, Membership.role)
        .join(Membership, col(Membership.workspace_id) == col(Workspace.id))
        .where(Membership.user_id == user.id)
        .order_by(col(Workspace.name))
    ).all()
    return [(workspace, Role(role)) for workspace, role in rows]


def members_of(session: Session, workspace: Workspace) -> list[tuple[User, Role]]:
    """Return a workspace's members with their roles, by name."""
    rows = session.exec(
        select(User, Membership.role)
        .join(Membership, col(Membership.user_id) == col(User.id))
        .where(Membership.workspace_id == workspace.id)
        .order_by(col(User.display_name))
    ).all()
    return [(user, Role(role)) for user, role in rows]


def set_member_role(*, session: Session, workspace: Workspace, user: User, role: Role) -> None:
    """Add `user` to the workspace with `role`, or change their role; keeps at least one owner."""
    membership = _membership_row(session, workspace, user)
    if membership is None:
        session.add(Membership(workspace_id=require_id(workspace), user_id=require_id(user), role=role))
    else:
        if membership.role == Role.OWNER and role != Role.OWNER:
            _ensure_another_owner(session, workspace, user)
        membership.role = role
        session.add(membership)
    session.flush()


def remove_member(*, session: Session, workspace: Workspace, user: User) -> None:
    """Remove a member and revoke their API tokens here; the last owner cannot be removed."""
    membership = _membership_row(session, workspace, user)
    if membership is None:
        raise NotFound("That person is not a member of this workspace.")
    if membership.role == Role.OWNER:
        _ensure_another_owner(session, workspace, user)
    session.delete(membership)
    # A token acts as its member: without this, re-adding the person would bring their old tokens back to life.
    session.execute(update(ApiToken).where(
        col(ApiToken.workspace_id) == workspace.id, col(ApiToken.user_id) == user.id,
        col(ApiToken.revoked_at).is_(None)).values(revoked_at=utcnow()))
    session.flush()


def create_invite(*, session: Session, member: Member, role: Role,
                  lifetime: timedelta = DEFAULT_INVITE_LIFETIME) -> str:
    """Create an invite link token (returned once, stored hashed)."""
    member.require(Action.MANAGE_MEMBERS)
    token = secrets.token_urlsafe(24)
    session.add(Invite(
        workspace_id=require_id(member.workspace), token_hash=_hash_token(token), role=role,
        created_by_id=require_id(member.user), expires_at=utcnow() + lifetime,
    ))
    session.flush()
    return token


def open_invites(session: Session, workspace: Workspace, now: datetime | None = None) -> list[Invite]:
    """Return the workspace's unused, unexpired invites, newest first."""
    moment = now or utcnow()
    return list(session.exec(
        select(Invite).where(Invite.workspace_id == workspace.id, col(Invite.used_at).is_(None),
                             Invite.expires_at > moment)
        .order_by(col(Invite.created_at).desc())
    ).all())


def find_invite(session: Session, token: str, now: datetime | None = None) -> tuple[Invite, Workspace]:
    """Return a usable invite and its workspace, or raise NotFound with why it cannot be used."""
    invite = session.exec(select(Invite).where(Invite.token_hash == _hash_token(token))).first()
    if invite is None:
        raise NotFound("This invite link is not valid.")
    if invite.used_at is not None:
        raise NotFound("This invite link has already been used.")
    if invite.expires_at <= (now or utcnow()):
        raise NotFound("This invite link has expired; ask for a new one.")
    workspace = session.get(Workspace, invite.workspace_id)
    if workspace is None:
        raise NotFound("This invite link is not valid.")
    return invite, workspace


def accept_invite(*, session: Session, token: str, user: User) -> Workspace:
    """Join the invite's workspace with its role (keeping a higher role if already a member)."""
    invite, workspace = find_invite(session, token)
    existing = _membership_row(session, workspace, user)
    if existing is None:
        session.add(Membership(workspace_id=require_id(workspace), user_id=require_id(user), role=invite.role))
    invite.used_at = utcnow()
    invite.used_by_id = user.id
    session.add(invite)
    session.flush()
    return workspace


def revoke_invite(*, session: Session, member: Member, invite_id: int) -> None:
    """Delete an unused invite of the member's workspace."""
    member.require(Action.MANAGE_MEMBERS)
    invite = session.get(Invite, invite_id)
    if invite is None or invite.workspace_id != member.workspace.id:
        raise NotFound("No such invite.")
    session.delete(invite)
    session.flush()


def _ensure_another_owner(session: Session, workspace: Workspace, user: User) -> None:
    owners = session.exec(
        select(Membership).where(Membership.workspace_id == workspace.id, Membership.role == Role.OWNER,
                                 Membership.user_id != user.id)
    ).first()
    if owners is None:
        raise Conflict("A workspace needs at least one owner; make someone else owner first.")


def _hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()



def update_settings(*, session: Session, member: Member, name: str, two_person_rule: bool,
                    writers_edit_bibles: bool, store_prompts: bool | None = None,
                    late_grace_minutes: int | None = None) -> Workspace:
    """Change the workspace's name and rules (owners only)."""
    member.require(Action.MANAGE_SETTINGS)
    if late_grace_minutes is not None:
        update_workspace_settings(session=session, workspace=member.workspace, late_grace_minutes=late_grace_minutes)
    name = name.strip()
    if not name or len(name) > 120:
        raise DomainError("A workspace name needs 1 to 120 characters.", field="name")
    workspace = member.workspace
    workspace.name = name
    workspace.two_person_rule = two_person_rule
    workspace.writers_edit_bibles = writers_edit_bibles
    if store_prompts is not None:
        workspace.store_prompts = store_prompts
    session.add(workspace)
    session.flush()
    return workspace


def update_workspace_settings(*, session: Session, workspace: Workspace, late_grace_minutes: int) -> Workspace:
    """Set how late the scheduler may still publish a post (callers check who may; the CLI is the operator)."""
    if not 0 <= late_grace_minutes <= MAX_LATE_GRACE_MINUTES:
        raise DomainError(f"The late-post grace period must be 0 to {MAX_LATE_GRACE_MINUTES} minutes "
                          f"(got {late_grace_minutes}).", field="late_grace_minutes")
    workspace.late_grace_minutes = late_grace_minutes
    session.add(workspace)
    session.flush()
    return workspace


def _membership_row(session: Session, workspace: Workspace, user: User) -> Membership | None:
    """Return the user's membership row in the workspace, if any."""
    return session.exec(
        select(Membership).where(Membership.workspace_id == workspace.id, Membership.user_id == user.id)
    ).first()
