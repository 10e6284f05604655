"""Plain factory functions for test data; each flushes and returns the row."""

from typing import Any

from sqlmodel import Session

from characters.accounts.users import UserCreate, create_user
from characters.accounts.workspaces import Member, WorkspaceCreate, create_workspace, set_member_role
from characters.bibles.bible import create_character
from characters.bibles.card_data import CardData, GreenroomExtension
from characters.core.models import Character, Role, User, Workspace
from characters.publishing.secrets import generate_key

DEFAULT_PASSWORD = "correct-horse-battery"
CHANNEL_KEY = generate_key()  # the CHANNEL_SECRETS_KEY of the `channel_key` fixture (tests/web/conftest.py)


def make_user(session: Session, email: str = "writer@example.com", *, name: str | None = None,
              password: str = DEFAULT_PASSWORD, is_admin: bool = False) -> User:
    user = create_user(session=session, user_create=UserCreate(
        email=email, display_name=name or email.split("@")[0].title(), password=password, is_admin=is_admin))
    session.commit()
    return user


def make_workspace(session: Session, owner: User, slug: str = "fans", name: str | None = None) -> Workspace:
    workspace = create_workspace(session=session, owner=owner,
                                 workspace_create=WorkspaceCreate(slug=slug, name=name or slug.title()))
    session.commit()
    return workspace


def add_member(session: Session, workspace: Workspace, email: str, role: Role) -> User:
    user = make_user(session, email)
    set_member_role(session=session, workspace=workspace, user=user, role=role)
    session.commit()
    return user


def member(workspace: Workspace, user: User, role: Role) -> Member:
    return Member(workspace=workspace, user=user, role=role)


def make_card(name: str = "Walt Test", **greenroom: Any) -> CardData:
    extension = GreenroomExtension.model_validate({"schema": 1, **greenroom})
    return CardData(name=name, description=f"{name} is a test character.", personality="dry").with_greenroom(extension)


def make_character(session: Session, workspace: Workspace, owner: User, name: str = "Walt Test",
                   **greenroom: Any) -> Character:
    character = create_character(session=session, member=member(workspace, owner, Role.OWNER),
                                 card=make_card(name, **greenroom))
    session.commit()
    return character


def workspace_with_roles(session: Session, slug: str = "fans") -> dict[str, Any]:
    """Return a workspace with one user per role, keyed by role name (plus "workspace")."""
    owner = make_user(session, f"owner@{slug}.example")
    workspace = make_workspace(session, owner, slug)
    people: dict[str, Any] = {"workspace": workspace, "owner": owner}
    for role in (Role.EDITOR, Role.WRITER, Role.VIEWER):
        people[role.value] = add_member(session, workspace, f"{role.value}@{slug}.example", role)
    return people


def make_conversation(session: Session, character: Character, *, channel: Any = None, text: str = "Hello there?",
                      author_handle: str = "fan.example", author_name: str = "A Fan", received_ago_minutes: float = 5,
                      network: str = "bluesky", **fields: Any) -> Any:
    """Store an audience conversation for `character` (a Bluesky channel is made when none is given)."""
    from datetime import timedelta

    from sqlmodel import select

    from characters.core.models import Channel, ChannelKind, Conversation, require_id, utcnow

    if channel is None:
        channel = Channel(workspace_id=character.workspace_id, character_id=require_id(character),
                          kind=ChannelKind(network), label=f"{character.name} on {network}")
        session.add(channel)
        session.flush()
    received = utcnow() - timedelta(minutes=received_ago_minutes)
    count = len(session.exec(select(Conversation.id)).all())
    values: dict[str, Any] = {
        "workspace_id": character.workspace_id, "character_id": require_id(character), "channel_id": channel.id,
        "network": network, "network_id": f"at://did:plc:fan/app.bsky.feed.post/{count + 1}-{received.timestamp()}",
        "reason": "mention", "author_handle": author_handle, "author_name": author_name, "text": text,
        "url": f"https://bsky.app/profile/{author_handle}/post/{count + 1}", "posted_at": received,
        "received_at": received, **fields}
    conversation = Conversation(**values)
    session.add(conversation)
    session.commit()
    return conversation
