"""Engine and session factory shared by the web app, the scheduler and the CLI."""

import random
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from weakref import WeakKeyDictionary

from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine, make_url
from sqlalchemy.exc import OperationalError
from sqlmodel import Session, create_engine

SQLITE_BUSY_TIMEOUT_MS = 10_000
# A BEGIN IMMEDIATE still refused after the busy timeout is tried this often in all, a jittered pause apart,
# before giving up with DatabaseBusy: a few more chances, yet a bounded wait for the person behind the request.
SQLITE_BEGIN_ATTEMPTS = 3
SQLITE_RETRY_PAUSE_S = (0.05, 0.25)
_RETRY_RNG = random.Random()  # noqa: S311 - jitter, not security
# Execution option read by the "begin" hook: which kind of BEGIN a SQLite connection issues.
SQLITE_BEGIN_OPTION = "greenroom_sqlite_begin"
_SQLITE_BEGIN_STATEMENTS = {"DEFERRED": "BEGIN", "IMMEDIATE": "BEGIN IMMEDIATE"}
_sqlite_write_locks: "WeakKeyDictionary[Engine, threading.Lock]" = WeakKeyDictionary()
_sqlite_write_locks_guard = threading.Lock()


def _configure_sqlite(dbapi_connection: Any, _record: Any) -> None:
    """Turn on WAL, a busy timeout and foreign keys for every new SQLite connection."""
    # pysqlite's own transaction handling would defer BEGIN; we issue BEGIN ourselves (see _begin).
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


class DatabaseBusy(Exception):
    """Other writers held SQLite's write lock through every attempt; nothing was written, so trying again is safe."""

    def __init__(self, message: str = "The database is busy; try again in a moment. Nothing was saved.") -> None:
        super().__init__(message)


def is_busy(error: BaseException) -> bool:
    """Return whether `error` is SQLite refusing a lock ("database is locked", SQLITE_BUSY)."""
    return isinstance(error, OperationalError) and "database is locked" in str(error.orig)


def _begin_sqlite(connection: Any) -> None:
    """Start every SQLite transaction explicitly (one snapshot); a refused BEGIN IMMEDIATE is retried, then busy."""
    statement = _SQLITE_BEGIN_STATEMENTS[connection.get_execution_options().get(SQLITE_BEGIN_OPTION, "DEFERRED")]
    for attempt in range(1, SQLITE_BEGIN_ATTEMPTS + 1):
        try:
            connection.exec_driver_sql(statement)
            return
        except OperationalError as error:
            if not is_busy(error):
                raise
            if attempt == SQLITE_BEGIN_ATTEMPTS:
                raise DatabaseBusy from error
        # Jitter, so writers refused together do not all come back at the same instant.
        time.sleep(_RETRY_RNG.uniform(*SQLITE_RETRY_PAUSE_S))


def make_engine(database_url: str, **engine_options: Any) -> Engine:
    """Create an engine with the right per-dialect settings; creates the SQLite folder if needed."""
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite":
        engine = create_engine(
            url, connect_args={"check_same_thread": False, "timeout": SQLITE_BUSY_TIMEOUT_MS / 1000},
            **engine_options,
        )
        if url.database and url.database != ":memory:":
            folder = Path(url.database).parent
            event.listen(engine, "do_connect", lambda *_: folder.mkdir(parents=True, exist_ok=True))
        event.listen(engine, "connect", _configure_sqlite)
        event.listen(engine, "begin", _begin_sqlite)
        return engine
    engine_options.setdefault("pool_pre_ping", True)
    return create_engine(url, **engine_options)


@contextmanager
def committing(session: Session) -> Iterator[Session]:
    """Commit the session if the block succeeds; roll everything back if it raises."""
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise


@contextmanager
def session_scope(engine: Engine) -> Iterator[Session]:
    """Yield a session that commits on success and rolls back on any error (for jobs and CLI)."""
    with Session(engine, expire_on_commit=False) as session, committing(session):
        yield session


def immediate(engine: Engine) -> Engine:
    """Return `engine` with SQLite transactions that take the write lock at BEGIN (BEGIN IMMEDIATE).

    For transactions that may write after reading: a deferred one cannot upgrade its read snapshot once another
    connection has committed (SQLITE_BUSY_SNAPSHOT, which the busy timeout cannot wait out). PostgreSQL ignores it.
    """
    return engine.execution_options(**{SQLITE_BEGIN_OPTION: "IMMEDIATE"})


def _sqlite_write_lock(engine: Engine) -> threading.Lock:
    """Return the process-wide lock that queues this engine's SQLite writers."""
    with _sqlite_write_locks_guard:
        return _sqlite_write_locks.setdefault(engine, threading.Lock())


@contextmanager
def write_transaction(engine: Engine) -> Iterator[Connection]:
    """Yield a connection in a transaction that holds the database's write lock from its first statement.

    On SQLite this is `BEGIN IMMEDIATE`: a deferred transaction that reads and then writes can fail with
    SQLITE_BUSY when another writer got in between, and the busy handler cannot retry that. Writers of one
    process also queue on a lock first, so they wait on each other without the busy handler's sleeps.
    PostgreSQL needs nothing special: callers lock rows themselves (FOR UPDATE ... SKIP LOCKED).
    """
    if engine.dialect.name != "sqlite":
        with engine.begin() as connection:
            yield connection
        return
    with _sqlite_write_lock(engine), immediate(engine).begin() as connection:
        yield connection
