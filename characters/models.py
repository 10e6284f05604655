"""SQLModel tables. No `from __future__ import annotations` here: relationship resolution needs real types."""

import enum
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, Column, DateTime, LargeBinary, String, TypeDecorator, UniqueConstraint
from sqlalchemy.engine import Dialect
from sqlmodel import Field, SQLModel


def utcnow() -> datetime:
    """Return the current time, timezone-aware in UTC."""
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """Store datetimes as UTC and always hand back aware UTC datetimes, on SQLite too."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetimes are not stored; pass an aware datetime")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _now_field() -> Any:
    """Return a column that defaults to the moment the row object is created."""
    return Field(default_factory=utcnow, sa_type=UTCDateTime)


class Role(enum.StrEnum):
    """What a member may do in a workspace, from most to least powerful."""

    OWNER = "owner"
    EDITOR = "editor"
    WRITER = "writer"
    VIEWER = "viewer"


class PostStatus(enum.StrEnum):
    """Where a post is in its lifecycle."""

    DRAFT = "draft"
    IN_REVIEW = "in_review"
    APPROVED = "approved"
    PUBLISHING = "publishing"
    PUBLISHED = "published"
    FAILED = "failed"
    UNCONFIRMED = "unconfirmed"
    MISSED = "missed"
    CANCELLED = "cancelled"


class User(SQLModel, table=True):
    """A person who logs in; Flask-Login wraps it in the web layer."""

    id: int | None = Field(default=None, primary_key=True)
    email: str = Field(sa_column=Column(String(320), unique=True, nullable=False))
    display_name: str = Field(max_length=120)
    password_hash: str = Field(max_length=255)
    is_active: bool = True
    is_admin: bool = False
    created_at: datetime = _now_field()


class Workspace(SQLModel, table=True):
    """One fan community or one marketing team; everything else belongs to one."""

    id: int | None = Field(default=None, primary_key=True)
    slug: str = Field(sa_column=Column(String(64), unique=True, nullable=False))
    name: str = Field(max_length=120)
    two_person_rule: bool = True
    writers_edit_bibles: bool = False
    created_at: datetime = _now_field()


class Membership(SQLModel, table=True):
    """A user's role in a workspace."""

    __table_args__ = (UniqueConstraint("workspace_id", "user_id", name="uq_membership_workspace_user"),)

    id: int | None = Field(default=None, primary_key=True)
    workspace_id: int = Field(foreign_key="workspace.id", index=True, ondelete="CASCADE")
    user_id: int = Field(foreign_key="user.id", index=True, ondelete="CASCADE")
    role: Role = Field(sa_type=String(16))
    created_at: datetime = _now_field()


class Invite(SQLModel, table=True):
    """A link that lets someone join a workspace with a role until it expires or is used."""

    id: int | None = Field(default=None, primary_key=True)
    workspace_id: int = Field(foreign_key="workspace.id", index=True, ondelete="CASCADE")
    token_hash: str = Field(sa_column=Column(String(64), unique=True, nullable=False))
    role: Role = Field(sa_type=String(16))
    created_by_id: int = Field(foreign_key="user.id")
    created_at: datetime = _now_field()
    expires_at: datetime = Field(sa_type=UTCDateTime)
    used_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    used_by_id: int | None = Field(default=None, foreign_key="user.id")


class Character(SQLModel, table=True):
    """A persona account; its bible lives in CharacterVersion rows, newest = current."""

    __table_args__ = (UniqueConstraint("workspace_id", "slug", name="uq_character_workspace_slug"),)

    id: int | None = Field(default=None, primary_key=True)
    workspace_id: int = Field(foreign_key="workspace.id", index=True, ondelete="CASCADE")
    slug: str = Field(max_length=64)
    name: str = Field(max_length=200)
    current_version: int = 1
    avatar_png: bytes | None = Field(default=None, sa_column=Column(LargeBinary, nullable=True))
    archived_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    created_at: datetime = _now_field()
    updated_at: datetime = _now_field()


class CharacterVersion(SQLModel, table=True):
    """One saved bible: the full card data as it was at that save."""

    __table_args__ = (UniqueConstraint("character_id", "number", name="uq_character_version_number"),)

    id: int | None = Field(default=None, primary_key=True)
    character_id: int = Field(foreign_key="character.id", index=True, ondelete="CASCADE")
    number: int
    card: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    note: str = Field(default="", max_length=500)
    created_by_id: int | None = Field(default=None, foreign_key="user.id")
    created_at: datetime = _now_field()


class Post(SQLModel, table=True):
    """A post for one character, from first draft to published."""

    id: int | None = Field(default=None, primary_key=True)
    workspace_id: int = Field(foreign_key="workspace.id", index=True, ondelete="CASCADE")
    character_id: int = Field(foreign_key="character.id", index=True, ondelete="CASCADE")
    author_id: int | None = Field(default=None, foreign_key="user.id")
    text: str = ""
    status: PostStatus = Field(default=PostStatus.DRAFT, sa_type=String(16), index=True)
    version: int = 1
    bible_version: int | None = None
    created_at: datetime = _now_field()
    updated_at: datetime = _now_field()


def require_id(row: SQLModel) -> int:
    """Return a row's primary key, which exists once the row has been flushed."""
    row_id = getattr(row, "id", None)
    if not isinstance(row_id, int):
        raise ValueError(f"{type(row).__name__} has not been flushed yet")
    return row_id
