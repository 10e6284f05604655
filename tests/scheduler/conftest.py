"""Fixtures shared by the scheduler tests."""

from collections.abc import Iterator

import pytest

from characters.core.config import get_settings


@pytest.fixture
def private_addresses_allowed(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Let publishers made without an explicit choice reach the test servers on 127.0.0.1, as an operator would."""
    monkeypatch.setenv("OUTBOUND_ALLOW_PRIVATE_ADDRESSES", "true")
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()
