"""Shared fixtures in the style of Flask's tutorial: app, client, runner, auth — on SQLite and PostgreSQL."""

import gc
import os
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import psycopg
import pytest
from click.testing import CliRunner
from flask import Flask, has_request_context
from flask.testing import FlaskClient
from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlmodel import Session, SQLModel

from characters.core.config import Settings
from characters.core.db import make_engine
from characters.core.migrations import upgrade_database

if TYPE_CHECKING:
    from tests.services.appview import AppviewNetwork

PG_ADMIN_DSN = os.environ.get("GREENROOM_TEST_PG", "postgresql://postgres@127.0.0.1:5432/postgres")
BACKENDS = ("sqlite", "postgresql")
SHARED_DIR = Path(__file__).resolve().parents[1].parent / "shared"
EVAL_DEV_SET = SHARED_DIR / "eval" / "consistency-dev"
# The shared app's config; a test that needs CSRF sets app.config["WTF_CSRF_ENABLED"] (put back after the test).
TEST_CONFIG = {"TESTING": True, "WTF_CSRF_ENABLED": False, "RATELIMIT_ENABLED": False}

# The slow tiers `make quick` leaves out (`make test` runs them): marked here by module or test, or by the service
# a test starts, so a new test that uses the real model or the PDS is marked too.
SLOW_TESTS = {
    "scheduler/test_chaos.py": "chaos",
    # Real scheduler processes, started and killed: about 50 s, most of the quick run's scheduler time.
    "scheduler/test_process.py::test_a_real_process_publishes_due_posts_and_stops_on_sigterm": "chaos",
    "scheduler/test_process.py::test_a_sigkill_mid_publish_never_sends_twice": "chaos",
    "web/test_schemathesis.py": "schemathesis",
}
SLOW_FIXTURES = {"llama_server": "real_model", "pds": "pds", "appview": "pds"}

# Hashing at the production cost is most of what a login costs; one test checks the production default.
# Set before anything reads settings, and inherited by the processes tests start (CLI, scheduler, servers).
os.environ["ARGON2_PROFILE"] = "cheapest"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark the slow tiers (see SLOW_TESTS and SLOW_FIXTURES)."""
    for item in items:
        module = f"{item.path.parent.name}/{item.path.name}"
        test = f"{module}::{getattr(item, 'originalname', item.name)}"
        for name in (module, test):
            if name in SLOW_TESTS:
                item.add_marker(SLOW_TESTS[name])
        for fixture in getattr(item, "fixturenames", ()):
            if fixture in SLOW_FIXTURES:
                item.add_marker(SLOW_FIXTURES[fixture])


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """Create a throwaway PostgreSQL database for this test run and drop it afterwards."""
    name = f"greenroom_test_{uuid.uuid4().hex[:12]}"
    try:
        admin = psycopg.connect(PG_ADMIN_DSN, autocommit=True)
    except psycopg.OperationalError as error:
        pytest.fail(f"PostgreSQL is not reachable at {PG_ADMIN_DSN} ({error}); `.ci/run` starts it.")
    admin.execute(f'CREATE DATABASE "{name}"')
    base = PG_ADMIN_DSN.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://")
    try:
        yield f"{base}/{name}"
    finally:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()


@pytest.fixture(scope="session")
def appview() -> Iterator["AppviewNetwork"]:
    """The full local Bluesky network with its AppView, started once per run (its own PostgreSQL database)."""
    from tests.services.appview import running_appview  # imported here: the atproto SDK is slow to import

    with running_appview() as network:
        yield network


@pytest.fixture(scope="session")
def sqlite_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    """Return the URL of a SQLite file database for this test run."""
    return f"sqlite:///{tmp_path_factory.mktemp('db') / 'greenroom.sqlite3'}"


@pytest.fixture(scope="session")
def migrated_engines() -> Iterator[dict[str, Engine]]:
    """Migrate each backend's database once per run (so every run also tests the migrations)."""
    engines: dict[str, Engine] = {}
    yield engines
    for engine in engines.values():
        engine.dispose()


def _engine_for(backend: str, request: pytest.FixtureRequest, engines: dict[str, Engine]) -> Engine:
    if backend not in engines:
        url = request.getfixturevalue("sqlite_url" if backend == "sqlite" else "postgres_url")
        engine = make_engine(url)
        upgrade_database(engine)
        engines[backend] = engine
    return engines[backend]


@pytest.fixture(params=BACKENDS)
def engine(request: pytest.FixtureRequest, migrated_engines: dict[str, Engine]) -> Iterator[Engine]:
    """A migrated engine on each backend; every table is emptied after the test."""
    engine = _engine_for(request.param, request, migrated_engines)
    yield engine
    with engine.begin() as connection:
        for table in reversed(SQLModel.metadata.sorted_tables):
            connection.execute(text(f'DELETE FROM "{table.name}"'))


@pytest.fixture
def session(engine: Engine) -> Iterator[Session]:
    """A session for arranging and checking data directly."""
    with Session(engine, expire_on_commit=False) as session:
        yield session


@pytest.fixture(scope="session")
def apps() -> Iterator[dict[str, Flask]]:
    """The apps built so far in this run, keyed by their settings (so one per backend, see `app`)."""
    built: dict[str, Flask] = {}
    yield built
    for app in built.values():
        app.extensions["greenroom.engine"].dispose()


@pytest.fixture
def app(engine: Engine, apps: dict[str, Flask]) -> Iterator[Flask]:
    """The app on the test database, with CSRF and rate limits off, built once per backend for the whole run.

    The settings are read again for each test, and an app is built for each new set of them, so a test whose
    fixture sets the environment (CHANNEL_SECRETS_KEY, say) still gets an app made from it. Whatever a test
    changes in app.config or app.extensions is put back afterwards. Tests that need rate limits build their own
    app with create_app.
    """
    from web import create_app
    from web.extensions import limiter

    settings = Settings(database_url=engine.url.render_as_string(hide_password=False), secret_key="test-secret",
                        greenroom_env="test")
    key = settings.model_dump_json()
    if key not in apps:
        apps[key] = create_app(TEST_CONFIG, settings=settings)
    app = apps[key]
    # Every app shares the one Limiter, and an app a test built with rate limits on leaves it switched on.
    limiter.enabled = False
    config, extensions = dict(app.config), dict(app.extensions)
    yield app
    if has_request_context():
        _release_a_failed_tests_stream()
    app.config.clear()
    app.config.update(config)
    app.extensions.clear()
    app.extensions.update(extensions)


def _release_a_failed_tests_stream() -> None:
    """Free a failed test's locals now, so an unread streamed response closes and pops its request context.

    A response made with stream_with_context keeps its context pushed until it is closed. pytest keeps a failure's
    traceback (and with it the test's locals) in sys.last_*, so the response would close at some later moment,
    inside another test or pytest's own reporting, and break it.
    """
    sys.last_type = sys.last_value = sys.last_traceback = None
    gc.collect()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def runner(engine: Engine) -> CliRunner:
    """A CLI runner whose commands use the test database."""
    return CliRunner(env={"DATABASE_URL": engine.url.render_as_string(hide_password=False)})


class AuthActions:
    """Log in and out through the real forms."""

    def __init__(self, client: FlaskClient) -> None:
        self._client = client

    def login(self, email: str, password: str = "correct-horse-battery"):  # type: ignore[no-untyped-def]
        return self._client.post("/login", data={"email": email, "password": password})

    def logout(self):  # type: ignore[no-untyped-def]
        return self._client.post("/logout")


@pytest.fixture
def auth(client: FlaskClient) -> AuthActions:
    return AuthActions(client)


@pytest.fixture(scope="session")
def eval_dev_set() -> Path:
    """The labelled eval set in ../shared; fails (never skips) with one line saying where it must be."""
    if not EVAL_DEV_SET.is_dir():
        pytest.fail(f"the labelled eval set must be at {EVAL_DEV_SET} (../shared/eval/consistency-dev beside "
                    "the repository, from the product brief's shared folder); the consistency regression tests "
                    "need it", pytrace=False)
    return EVAL_DEV_SET


@pytest.fixture(scope="session")
def shared_dir(eval_dev_set: Path) -> Path:
    """The shared/ folder beside the repository (docs and the labelled eval set, which must be there)."""
    return SHARED_DIR
