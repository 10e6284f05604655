"""One database session per request, closed when the request ends."""

from collections.abc import Iterator
from contextlib import contextmanager

from flask import Flask, current_app, g
from sqlalchemy.engine import Engine
from sqlmodel import Session

from characters.core.db import committing, make_engine

_ENGINE_KEY = "greenroom.engine"


def init_database(app: Flask) -> None:
    """Create the engine lazily-configured from the app's DATABASE_URL and register teardown."""
    app.extensions[_ENGINE_KEY] = make_engine(app.config["DATABASE_URL"])
    app.teardown_appcontext(_close_session)


def get_engine() -> Engine:
    """Return the app's engine."""
    engine: Engine = current_app.extensions[_ENGINE_KEY]
    return engine


def get_session() -> Session:
    """Return this request's session, opening it on first use."""
    if "db_session" not in g:
        g.db_session = Session(get_engine(), expire_on_commit=False)
    session: Session = g.db_session
    return session


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
