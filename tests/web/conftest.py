"""Fixtures shared by the web tests (the app, client, runner and auth ones are in tests/conftest.py)."""

from collections.abc import Iterator
from typing import Any

import pytest
from sqlmodel import Session

from characters.consistency import default_checker
from tests.factories import CHANNEL_KEY, make_character, workspace_with_roles


@pytest.fixture
def channel_key(monkeypatch: pytest.MonkeyPatch) -> str:
    """Set CHANNEL_SECRETS_KEY to CHANNEL_KEY before the app is made (the app reads it when it is created)."""
    monkeypatch.setenv("CHANNEL_SECRETS_KEY", CHANNEL_KEY)
    return CHANNEL_KEY


@pytest.fixture
def fresh_checker() -> Iterator[None]:
    """Empty the checker's cache before and after a test.

    The checker caches each character's model by id and bible version, and SQLite hands the same ids out again
    once a test has emptied the tables: without this, one test's character would be checked with another's rules.
    """
    default_checker().clear()
    yield
    default_checker().clear()


@pytest.fixture
def people(session: Session) -> dict[str, Any]:
    """One user per role in workspace "fans" and Walt Test (bans "awesome", New York time, a 09:15 slot).

    Modules that need other people define their own `people`.
    """
    people = workspace_with_roles(session)
    make_character(session, people["workspace"], people["owner"], "Walt Test",
                   vocabulary={"banned": [{"term": "awesome"}]}, timezone="America/New_York",
                   rhythm={"slots": [{"days": "daily", "time": "09:15"}]})
    return people
