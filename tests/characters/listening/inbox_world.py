"""Fixtures of the inbox, reply and metrics tests (imported by them): people, a character, a conversation."""

from collections.abc import Iterator
from typing import Any

import pytest
from sqlmodel import Session

from characters.consistency import default_checker
from tests.factories import make_character, make_conversation, workspace_with_roles


@pytest.fixture(autouse=True, name="fresh_checker")
def fresh_checker_fixture() -> Iterator[None]:
    """Empty the checker's cache: SQLite hands out a deleted character's id again in the next test."""
    default_checker().clear()
    yield
    default_checker().clear()


@pytest.fixture(name="world")
def world_fixture(session: Session) -> dict[str, Any]:
    """One user per role in "fans", the character Walt Test, and an open Bluesky conversation with him."""
    people = workspace_with_roles(session)
    character = make_character(session, people["workspace"], people["owner"], "Walt Test",
                               timezone="America/New_York")
    people["character"] = character
    people["conversation"] = make_conversation(session, character, text="Walt, is the river open today?")
    return people
