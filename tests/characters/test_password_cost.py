"""The argon2 cost comes from ARGON2_PROFILE: production keeps the strong default, tests hash cheaply."""

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from argon2 import extract_parameters, profiles

from characters.accounts.users import authenticate
from characters.core.config import get_settings, load_settings
from tests.factories import DEFAULT_PASSWORD, make_user


@pytest.fixture
def production_cost(monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[[], None]]:
    """Return a switch that drops the tests' cheap ARGON2_PROFILE, as a production environment has none."""

    def switch() -> None:
        monkeypatch.delenv("ARGON2_PROFILE")
        get_settings.cache_clear()

    yield switch
    get_settings.cache_clear()  # the next test reads the cheap test cost again


def test_the_default_is_argon2s_strong_rfc_9106_cost(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("ARGON2_PROFILE")
    assert load_settings(env_file=tmp_path / "missing.env").argon2_profile == "rfc_9106_low_memory"
    strong = profiles.RFC_9106_LOW_MEMORY
    assert (strong.time_cost, strong.memory_cost, strong.parallelism) == (3, 64 * 1024, 4)


def test_tests_hash_cheaply(session) -> None:
    assert extract_parameters(make_user(session).password_hash) == profiles.CHEAPEST


def test_users_are_hashed_at_the_strong_cost_by_default(session, production_cost) -> None:
    production_cost()
    assert extract_parameters(make_user(session).password_hash) == profiles.RFC_9106_LOW_MEMORY


def test_a_cheap_hash_still_verifies_and_is_rehashed_at_the_strong_cost(session, production_cost) -> None:
    user = make_user(session)
    production_cost()
    assert authenticate(session, user.email, DEFAULT_PASSWORD) is user
    session.commit()
    assert extract_parameters(user.password_hash) == profiles.RFC_9106_LOW_MEMORY
    assert authenticate(session, user.email, DEFAULT_PASSWORD) is user
