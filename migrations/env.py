"""Alembic environment: migrations run against the URL or connection the caller provides."""

from alembic import context
from sqlmodel import SQLModel

import characters.core.models  # noqa: F401  - registers every table on SQLModel.metadata
from characters.core.config import get_settings
from characters.core.db import make_engine

target_metadata = SQLModel.metadata


def run_migrations() -> None:
    """Run migrations on the given connection, else on DATABASE_URL."""
    connection = context.config.attributes.get("connection")
    if connection is not None:
        _run_on(connection)
        return
    url = context.config.get_main_option("sqlalchemy.url") or get_settings().database_url
    engine = make_engine(url)
    with engine.connect() as new_connection:
        _run_on(new_connection)
    engine.dispose()


def _run_on(connection) -> None:  # type: ignore[no-untyped-def]
    # Batch mode lets SQLite ALTER tables by copying them.
    context.configure(connection=connection, target_metadata=target_metadata, render_as_batch=True,
                      compare_type=True)
    with context.begin_transaction():
        context.run_migrations()


run_migrations()
