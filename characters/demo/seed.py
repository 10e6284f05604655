"""The demo workspace: three original characters, a user per role, a few drafts. Safe to run twice."""

import json
from dataclasses import dataclass
from pathlib import Path

from sqlmodel import Session

from characters.accounts.users import UserCreate, create_user, find_user_by_email
from characters.accounts.workspaces import (
    Member,
    WorkspaceCreate,
    create_workspace,
    get_workspace_by_slug,
    set_member_role,
)
from characters.bibles.bible import create_character, list_characters
from characters.bibles.card_data import CardData
from characters.core.errors import NotFound
from characters.core.models import Role, User, Workspace
from characters.posting.posts import PostDraft, create_draft

DEMO_CARDS_DIR = Path(__file__).parent / "cards"
DEMO_WORKSPACE_SLUG = "riverside-players"
DEMO_PASSWORD = "greenroom-demo"  # noqa: S105 - printed by `make run`, only for the local demo


@dataclass(frozen=True)
class DemoLogin:
    """A demo account to print for the person running `make run`."""

    email: str
    role: Role


DEMO_LOGINS = (
    DemoLogin("owner@demo.greenroom.example", Role.OWNER),
    DemoLogin("editor@demo.greenroom.example", Role.EDITOR),
    DemoLogin("writer@demo.greenroom.example", Role.WRITER),
)

_DEMO_DRAFTS = {
    "Pip the Otter": (
        "Saturday forecast: sunny with a 100% chance of splashing. Who's paddling with me? 🦦 #PaddleWithPip"
    ),
    "Professor Elinor Marsh": (
        "The receiver hummed all evening and the sky said nothing of interest. I wrote it down anyway."
    ),
    "Dez Okafor": (
        "3:40 a.m. and the taxi drivers have started a debate about the best pie in town. I'm staying neutral."
    ),
}


def load_demo_cards() -> list[CardData]:
    """Read the bundled demo persona cards."""
    cards = []
    for path in sorted(DEMO_CARDS_DIR.glob("*.json")):
        cards.append(CardData.model_validate(json.loads(path.read_text(encoding="utf-8"))["data"]))
    return cards


def seed_demo(session: Session) -> Workspace:
    """Create the demo workspace, users, characters and drafts unless they already exist."""
    users = {login.role: _demo_user(session, login) for login in DEMO_LOGINS}
    try:
        return get_workspace_by_slug(session, DEMO_WORKSPACE_SLUG)
    except NotFound:
        pass
    workspace = create_workspace(
        session=session, workspace_create=WorkspaceCreate(slug=DEMO_WORKSPACE_SLUG, name="Riverside Players"),
        owner=users[Role.OWNER],
    )
    for role in (Role.EDITOR, Role.WRITER):
        set_member_role(session=session, workspace=workspace, user=users[role], role=role)
    owner = Member(workspace=workspace, user=users[Role.OWNER], role=Role.OWNER)
    writer = Member(workspace=workspace, user=users[Role.WRITER], role=Role.WRITER)
    for card in load_demo_cards():
        create_character(session=session, member=owner, card=card, note="Demo character")
    for character in list_characters(session, workspace):
        text = _DEMO_DRAFTS.get(character.name)
        if text:
            create_draft(session=session, member=writer, character=character, draft=PostDraft(parts=[text]))
    return workspace


def _demo_user(session: Session, login: DemoLogin) -> User:
    existing = find_user_by_email(session, login.email)
    if existing is not None:
        return existing
    name = f"Demo {login.role.value}"
    return create_user(session=session, user_create=UserCreate(email=login.email, display_name=name,
                                                               password=DEMO_PASSWORD))
