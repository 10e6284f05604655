"""One database session per request, closed when the request ends.

A request that may write (any method but GET, HEAD and OPTIONS) gets a session whose SQLite transactions take
the write lock at BEGIN (BEGIN IMMEDIATE): it then waits its turn behind other writers instead of failing when one
of them commits between its reads and its first write. Reads keep SQLite's deferred transactions, which never wait.
"""

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TypeVar

from flask import Flask, current_app, g, has_request_context, request
from sqlalchemy.engine import Engine
from sqlmodel import Session

from characters.core.db import DatabaseBusy, committing, immediate, make_engine, write_transaction

_ENGINE_KEY = "greenroom.engine"
_WRITER_ENGINE_KEY = "greenroom.writer_engine"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
# app.config key: False gives writing requests deferred transactions again (the benchmark's "before" run).
IMMEDIATE_WRITES = "GREENROOM_IMMEDIATE_WRITES"
View = TypeVar("View", bound=Callable[..., object])


def reads_only(view: View) -> View:
    """Mark a POST view that never writes (a live check): it reads without queueing behind the writers."""
    view.greenroom_reads_only = True  # type: ignore[attr-defined]
    return view


def init_database(app: Flask) -> None:
    """Create the engine lazily-configured from the app's DATABASE_URL and register teardown."""
    engine = make_engine(app.config["DATABASE_URL"])
    app.extensions[_ENGINE_KEY] = engine
    app.extensions[_WRITER_ENGINE_KEY] = immediate(engine)
    app.teardown_appcontext(_close_session)


def get_engine() -> Engine:
    """Return the app's engine."""
    engine: Engine = current_app.extensions[_ENGINE_KEY]
    return engine


def _request_engine() -> Engine:
    """Return the engine for this request's session: the writer's one unless the request only reads."""
    if has_request_context() and request.method not in SAFE_METHODS and current_app.config.get(IMMEDIATE_WRITES, True):
        view = current_app.view_functions.get(request.endpoint or "")
        if not getattr(view, "greenroom_reads_only", False):
            writer: Engine = current_app.extensions[_WRITER_ENGINE_KEY]
            return writer
    return get_engine()


def get_session() -> Session:
    """Return this request's session, opening it on first use."""
    if "db_session" not in g:
        g.db_session = Session(_request_engine(), expire_on_commit=False)
    session: Session = g.db_session
    return session


def read_only_session() -> None:
    """Let the rest of this request only read (deferred BEGIN, never waits), e.g. to render an error page."""
    session = get_session()
    session.rollback()
    # Same session, so what the request loaded (and the rollback expired) still loads again, now without a lock.
    session.bind = get_engine()


def _close_session(error: BaseException | None) -> None:
    session = g.pop("db_session", None)
    if session is not None:
        if error is not None:
            session.rollback()
        session.close()


@contextmanager
def unit_of_work() -> Iterator[Session]:
    """Yield the request's session; commit if the block succeeds, roll everything back if it raises."""
    with committing(get_session()) as session:
        yield session


def record_on_the_side(write: Callable[[Session], object], what: str) -> None:
    """Write bookkeeping (a last use, a last visit) in a short transaction of its own, best effort.

    Never in the request's transaction: a reading request's one cannot write once another writer committed
    (SQLite), and a request must not fail over bookkeeping. A busy database skips it; a later request records it.
    """
    # A writing request's transaction holds SQLite's write lock from its first read; the write below would wait
    # for it, so end it first (nothing was written yet; the view starts its own).
    get_session().commit()
    try:
        with write_transaction(get_engine()) as connection, Session(bind=connection) as session:
            write(session)
    except DatabaseBusy:
        current_app.logger.info("Skipped recording %s: the database is busy.", what)
