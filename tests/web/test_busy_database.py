"""A SQLite database another process keeps locked: writes answer 503 "try again", never 500; reads still work.

The busy timeout and the retry pauses are shortened here so that giving up takes milliseconds, not seconds.
"""

import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from flask import Flask
from sqlmodel import Session, select

from characters.core import db
from characters.core.config import Settings
from characters.core.migrations import upgrade_database
from characters.core.models import ApiToken
from tests.factories import DEFAULT_PASSWORD
from tests.web.test_api_helpers import ApiWorld, make_api_world
from web.database import IMMEDIATE_WRITES

POST = {"character": "pip-the-otter", "parts": [{"text": "Splash!"}]}


@dataclass
class BusyWorld:
    """An app on its own SQLite file, the world in it, and the file's path (to lock it from outside)."""

    app: Flask
    world: ApiWorld
    path: Path


@pytest.fixture
def busy(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[BusyWorld]:
    from web import create_app

    monkeypatch.setattr(db, "SQLITE_BUSY_TIMEOUT_MS", 20)
    monkeypatch.setattr(db, "SQLITE_RETRY_PAUSE_S", (0.001, 0.005))
    path = tmp_path / "busy.sqlite3"
    url = f"sqlite:///{path}"
    engine = db.make_engine(url)
    upgrade_database(engine)
    with Session(engine, expire_on_commit=False) as session:
        world = make_api_world(session)
    app = create_app({"TESTING": True, "WTF_CSRF_ENABLED": False, "RATELIMIT_ENABLED": False},
                     settings=Settings(database_url=url, secret_key="test-secret", greenroom_env="test"))
    yield BusyWorld(app=app, world=world, path=path)
    app.extensions["greenroom.engine"].dispose()
    engine.dispose()


def _hold_write_lock(path: Path) -> sqlite3.Connection:
    """Take the database's write lock from another connection, as a long writer elsewhere would."""
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    return holder


def test_an_api_write_is_a_503_to_retry_while_the_database_stays_locked(busy):
    client, headers = busy.app.test_client(), busy.world.headers("writer")
    assert client.get("/api/v1/me", headers=headers).status_code == 200  # its use is recorded before the lock
    holder = _hold_write_lock(busy.path)
    refused = client.post("/api/v1/posts", headers=headers, json=POST)
    holder.execute("ROLLBACK")
    holder.close()
    assert refused.status_code == 503
    assert refused.json["error"]["code"] == "database_busy"
    assert refused.headers["Retry-After"] == "1"
    assert client.post("/api/v1/posts", headers=headers, json=POST).status_code == 201


def test_a_form_write_is_a_503_page_while_the_database_stays_locked(busy):
    client = busy.app.test_client()
    client.post("/login", data={"email": "writer@fans.example", "password": DEFAULT_PASSWORD})
    holder = _hold_write_lock(busy.path)
    refused = client.post("/w/fans/posts/new", data={"character": "pip-the-otter", "parts-0-text": "Splash!"})
    holder.execute("ROLLBACK")
    holder.close()
    assert refused.status_code == 503
    assert b"The database is busy" in refused.data


def test_a_read_with_a_token_works_while_the_database_is_locked_and_skips_recording_its_use(busy):
    holder = _hold_write_lock(busy.path)
    response = busy.app.test_client().get("/api/v1/me", headers=busy.world.headers("editor"))
    holder.execute("ROLLBACK")
    holder.close()
    assert response.status_code == 200
    with Session(busy.app.extensions["greenroom.engine"]) as session:
        used = session.exec(select(ApiToken.last_used_at).where(ApiToken.user_id == busy.world.people["editor"].id))
        assert used.one() is None


def test_the_busy_page_still_shows_who_is_signed_in_after_the_request_had_loaded_them(busy):
    busy.app.config[IMMEDIATE_WRITES] = False  # a deferred transaction meets the lock at its first write
    client = busy.app.test_client()
    client.post("/login", data={"email": "writer@fans.example", "password": DEFAULT_PASSWORD})
    created = client.post("/w/fans/posts/new", data={"character": "pip-the-otter", "parts-0-text": "Splash!"})
    holder = _hold_write_lock(busy.path)
    refused = client.post(f"{created.headers['Location']}/submit", data={"version": "1"})
    holder.execute("ROLLBACK")
    holder.close()
    assert refused.status_code == 503
    assert b"writer@fans.example" in refused.data or b"Writer" in refused.data


def test_the_live_check_answers_while_another_writer_holds_the_lock(busy):
    client = busy.app.test_client()
    client.post("/login", data={"email": "writer@fans.example", "password": DEFAULT_PASSWORD})
    api, headers = busy.app.test_client(), busy.world.headers("writer")
    holder = _hold_write_lock(busy.path)
    web_check = client.post("/w/fans/posts/check", json={"character": "pip-the-otter", "parts": ["Splash!"]})
    api_check = api.post("/api/v1/characters/pip-the-otter/check", headers=headers, json={"text": "Splash!"})
    holder.execute("ROLLBACK")
    holder.close()
    assert web_check.status_code == 200, web_check.data
    assert "verdict" in web_check.json
    assert api_check.status_code == 200, api_check.data
