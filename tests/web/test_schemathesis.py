"""Schemathesis against a live server: no request, valid or not, gets a 500, and every answer matches the document.

The app runs on a free port over a throwaway PostgreSQL database (the stricter backend: it refuses NUL
characters and integers beyond its columns, which SQLite would swallow), seeded with posts in several states
and an owner's write token, and the schemathesis CLI runs every phase with `--checks all`.
"""

import os
import subprocess
import sys
import threading
import uuid
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import psycopg
import pytest
from cryptography.fernet import Fernet
from sqlmodel import Session
from werkzeug.serving import make_server

from characters.campaigns import CampaignInput, create_campaign
from characters.config import Settings
from characters.db import make_engine
from characters.migrations import upgrade_database
from characters.models import Role, utcnow
from characters.posts import PostContent, create_draft
from characters.scenes import SceneInput, SceneLine, create_scene
from characters.workflow import approve_post, submit_post
from tests.conftest import PG_ADMIN_DSN
from tests.factories import member
from tests.web.test_api_helpers import make_api_world

# Business rules no schema can state (a due time in the future, a draft's text before submitting, the version
# a write was based on) answer schema-valid requests with 422 or 428; every other check keeps its defaults.
CONFIG = """
[generation]
# PostgreSQL text cannot hold NUL; the API refuses it with a 422 (tests/web/test_api_input.py).
allow-x00 = false

[checks.positive_data_acceptance]
expected-statuses = ["2xx", "401", "403", "404", "409", "422", "428", "429"]

# A body past MAX_CONTENT_LENGTH is refused before it is read, with 413.
[checks.negative_data_rejection]
expected-statuses = ["400", "401", "403", "404", "405", "406", "409", "413", "415", "422", "428", "429"]
"""
MAX_EXAMPLES = 12


@pytest.fixture
def database_url() -> Iterator[str]:
    """Create a PostgreSQL database of its own (the shared test database is emptied between tests)."""
    name = f"greenroom_st_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(PG_ADMIN_DSN, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    base = PG_ADMIN_DSN.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://")
    try:
        yield f"{base}/{name}"
    finally:
        with psycopg.connect(PG_ADMIN_DSN, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _seed(url: str) -> str:
    """Fill the database with a workspace worth exploring; return the owner's write token."""
    engine = make_engine(url)
    upgrade_database(engine)
    with Session(engine, expire_on_commit=False) as session:
        world = make_api_world(session)
        assert world.character is not None
        owner = member(world.workspace, world.people["owner"], Role.OWNER)
        writer = member(world.workspace, world.people["writer"], Role.WRITER)
        editor = member(world.workspace, world.people["editor"], Role.EDITOR)
        create_campaign(session=session, member=owner, data=CampaignInput(name="Launch week"))
        create_draft(session=session, member=owner, character=world.character,
                     content=PostContent.of_texts(["Splash! A draft of the owner's."]))
        for number in range(3):
            post = create_draft(session=session, member=writer, character=world.character,
                                content=PostContent.of_texts([f"Splash number {number}!"]))
            if number:
                submit_post(session=session, member=writer, post=post, expected_version=1)
            if number == 2:
                approve_post(session=session, member=editor, post=post, expected_version=1,
                             due_at=utcnow() + timedelta(days=3), override_reason="Seeded for the fuzzer.")
        create_scene(session=session, member=writer, data=SceneInput(title="River chat", lines=[
            SceneLine(character_id=world.character.id or 0, text="Who's for a swim?")]))
        session.commit()
    engine.dispose()
    return world.tokens["owner"]


def test_the_api_matches_its_document_and_never_fails(database_url, tmp_path):
    token = _seed(database_url)
    from web import create_app

    settings = Settings(database_url=database_url, secret_key="schemathesis-secret", greenroom_env="test",
                        channel_secrets_key=Fernet.generate_key().decode(), api_rate_limit="100000 per minute")
    app = create_app({"TESTING": False}, settings=settings)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    config = tmp_path / "schemathesis.toml"
    config.write_text(CONFIG)
    base = f"http://127.0.0.1:{server.server_port}"
    try:
        result = subprocess.run(
            [str(Path(sys.executable).with_name("schemathesis")), "--config-file", str(config), "run",
             f"{base}/api/v1/openapi.json", "--url", base, "--checks", "all",
             "--header", f"Authorization: Bearer {token}", "--max-examples", str(MAX_EXAMPLES), "--seed", "1",
             "--workers", "1", "--no-color", "--generation-database", "none", "--request-timeout", "30"],
            capture_output=True, text=True, timeout=600, env={**os.environ, "NO_COLOR": "1"}, cwd=tmp_path,
            check=False)
    finally:
        server.shutdown()
        app.extensions["greenroom.engine"].dispose()
    report = result.stdout[-20000:] + result.stderr[-5000:]
    assert result.returncode == 0, report
    assert "No issues found" in result.stdout or "passed" in result.stdout, report
