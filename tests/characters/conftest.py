"""Fixtures shared by the domain tests (the database ones are in tests/conftest.py)."""

from pathlib import Path

import pytest

from characters.consistency.evaluation import EvalReport, evaluate_directory
from tests.services.llm.llama import llama_server_fixture  # noqa: F401 - provides `llama_server` (real-model tier)


@pytest.fixture(scope="session")
def dev(eval_dev_set: Path) -> EvalReport:
    """The checker's report on the labelled development set in ../shared."""
    return evaluate_directory(eval_dev_set)
