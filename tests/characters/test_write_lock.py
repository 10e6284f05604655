"""SQLite sessions that may write take the write lock at BEGIN, and give up with DatabaseBusy after a few tries."""

import sqlite3
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlmodel import Session

from characters.core import db


@pytest.fixture
def path(tmp_path: Path) -> Path:
    path = tmp_path / "lock.sqlite3"
    engine = db.make_engine(f"sqlite:///{path}")
    with engine.begin() as connection:
        connection.exec_driver_sql("CREATE TABLE t (x INTEGER)")
    engine.dispose()
    return path


def test_an_immediate_session_holds_the_write_lock_from_its_first_read(path):
    engine = db.make_engine(f"sqlite:///{path}")
    other = sqlite3.connect(path, timeout=0, isolation_level=None)
    with Session(db.immediate(engine)) as session:
        session.execute(text("SELECT count(*) FROM t"))
        with pytest.raises(sqlite3.OperationalError, match="locked"):
            other.execute("BEGIN IMMEDIATE")
    other.execute("BEGIN IMMEDIATE")  # free again once the session ended
    other.execute("ROLLBACK")
    other.close()
    engine.dispose()


def test_a_begin_refused_on_every_attempt_is_database_busy_after_jittered_pauses(path, monkeypatch):
    monkeypatch.setattr(db, "SQLITE_BUSY_TIMEOUT_MS", 10)
    pauses: list[float] = []
    monkeypatch.setattr(db.time, "sleep", pauses.append)
    engine = db.make_engine(f"sqlite:///{path}")
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    with Session(db.immediate(engine)) as session, pytest.raises(db.DatabaseBusy, match="try again"):
        session.execute(text("SELECT count(*) FROM t"))
    holder.execute("ROLLBACK")
    holder.close()
    low, high = db.SQLITE_RETRY_PAUSE_S
    assert len(pauses) == db.SQLITE_BEGIN_ATTEMPTS - 1
    assert all(low <= pause <= high for pause in pauses)
    with Session(db.immediate(engine)) as session:  # the connection that gave up is usable again
        assert session.execute(text("SELECT count(*) FROM t")).scalar() == 0
    engine.dispose()
