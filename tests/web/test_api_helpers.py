"""Shared set-up for the API tests: a workspace with one token per role, and a character with a rhythm.

Plain functions (not fixtures), so each API test module builds exactly the world it needs.
"""

from dataclasses import dataclass, field
from typing import Any

from sqlmodel import Session

from characters.accounts.tokens import TokenCreate, create_token
from characters.core.models import Character, Role, TokenScope, User, Workspace
from tests.factories import make_character, member, workspace_with_roles

ROLES = (Role.OWNER, Role.EDITOR, Role.WRITER, Role.VIEWER)
RHYTHM: dict[str, Any] = {"timezone": "Europe/London",
                          "rhythm": {"slots": [{"days": "daily", "time": "09:00"}, {"days": "daily", "time": "18:30"}]}}


@dataclass
class ApiWorld:
    """A workspace, its people by role, a write token per role (plus a read one) and a character."""

    workspace: Workspace
    people: dict[str, User]
    tokens: dict[str, str] = field(default_factory=dict)
    character: Character | None = None

    def headers(self, who: str) -> dict[str, str]:
        """Return the Authorization header of `who`'s token ("owner", …, or "read" for the owner's read token)."""
        return {"Authorization": f"Bearer {self.tokens[who]}"}


def make_token(session: Session, workspace: Workspace, user: User, role: Role,
               scope: TokenScope = TokenScope.WRITE, name: str = "script") -> str:
    """Create a token for `user` and return its secret."""
    secret = create_token(session=session, member=member(workspace, user, role),
                          token_create=TokenCreate(name=name, scope=scope)).secret
    session.commit()
    return secret


def make_api_world(session: Session, slug: str = "fans", *, character: str | None = "Pip the Otter") -> ApiWorld:
    """Return a workspace with one user and one write token per role, a read token, and a character."""
    people = workspace_with_roles(session, slug)
    workspace = people.pop("workspace")
    world = ApiWorld(workspace=workspace, people=people)
    for role in ROLES:
        world.tokens[role.value] = make_token(session, workspace, people[role.value], role)
    world.tokens["read"] = make_token(session, workspace, people["owner"], Role.OWNER, TokenScope.READ, "reader")
    if character:
        world.character = make_character(session, workspace, people["owner"], character, **RHYTHM)
    return world
