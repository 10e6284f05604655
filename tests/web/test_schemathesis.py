"""Schemathesis against a live server: no request, valid or not, gets a 500, and every answer matches the document.

The app runs on a free port over the PostgreSQL test database, seeded with posts in several states and an
owner's write token, and the schemathesis CLI runs every phase with `--checks all`.
"""

import os
import subprocess
import sys
import threading
from datetime import timedelta
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from sqlalchemy.engine import Engine
from sqlmodel import Session
from werkzeug.serving import make_server

from characters.core.config import Settings
from characters.core.models import Role, utcnow
from characters.posting.campaigns import CampaignInput, create_campaign
from characters.posting.posts import PostContent, create_draft
from characters.posting.scenes import SceneInput, SceneLine, create_scene
from characters.posting.workflow import approve_post, submit_post
from tests.factories import make_conversation, member
from tests.web.test_api_helpers import make_api_world

pytestmark = pytest.mark.usefixtures("fresh_checker")

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


def _seed(engine: Engine) -> str:
    """Fill the database with a workspace worth exploring; return the owner's write token."""
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
        # Conversations to explore: one waiting, one answered (the conversation endpoints have rows to read).
        make_conversation(session, world.character, text="Pip, is the river open?")
        make_conversation(session, world.character, text="Thanks Pip!", status="replied", replied_at=utcnow())
    return world.tokens["owner"]


# PostgreSQL only: it refuses NUL characters and integers beyond its columns, which SQLite would swallow.
@pytest.mark.parametrize("engine", ["postgresql"], indirect=True)
def test_the_api_matches_its_document_and_never_fails(engine, tmp_path):
    token = _seed(engine)
    from web import create_app

    settings = Settings(database_url=engine.url.render_as_string(hide_password=False),
                        secret_key="schemathesis-secret", greenroom_env="test",
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
