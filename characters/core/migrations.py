"""Run Alembic migrations from code, so `greenroom db upgrade` needs no alembic.ini."""

from alembic import command
from alembic.config import Config
from sqlalchemy.engine import Engine

from characters.core.config import PROJECT_ROOT


def alembic_config(database_url: str | None = None) -> Config:
    """Return an Alembic config pointing at the project's migrations folder."""
    config = Config()
    config.set_main_option("script_location", str(PROJECT_ROOT / "migrations"))
    if database_url:
        config.set_main_option("sqlalchemy.url", database_url.replace("%", "%%"))
    return config


def upgrade_database(engine: Engine, revision: str = "head") -> None:
    """Bring the database behind `engine` up to `revision`."""
    config = alembic_config()
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, revision)


def make_revision(database_url: str, message: str, revision_id: str | None = None) -> None:
    """Autogenerate a new migration by comparing the models with the database."""
    command.revision(alembic_config(database_url), message=message, autogenerate=True, rev_id=revision_id)
