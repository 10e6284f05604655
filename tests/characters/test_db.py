from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from characters.core.db import make_engine
from characters.core.models import Membership, Role
from tests.factories import make_user, make_workspace


def test_datetimes_come_back_aware_utc(session):
    user = make_user(session)
    session.expire_all()
    assert session.get(type(user), user.id).created_at.tzinfo is not None
    assert session.get(type(user), user.id).created_at.utcoffset() == timedelta(0)


def test_naive_datetimes_are_refused(session):
    user = make_user(session)
    user.created_at = datetime(2026, 1, 1)
    session.add(user)
    with pytest.raises(Exception, match="naive"):
        session.commit()
    session.rollback()


def test_other_zones_are_stored_as_utc(session):
    user = make_user(session)
    user.created_at = datetime(2026, 3, 8, 9, 0, tzinfo=timezone(timedelta(hours=-5)))
    session.add(user)
    session.commit()
    session.expire_all()
    assert session.get(type(user), user.id).created_at == datetime(2026, 3, 8, 14, 0, tzinfo=UTC)


def test_foreign_keys_are_enforced(session):
    session.add(Membership(workspace_id=9999, user_id=9999, role=Role.WRITER))
    with pytest.raises(IntegrityError):
        session.commit()
    session.rollback()


def test_sqlite_runs_in_wal_with_busy_timeout(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'new-folder' / 'db.sqlite3'}")
    with engine.connect() as connection:
        assert connection.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert connection.execute(text("PRAGMA busy_timeout")).scalar() >= 5000
        assert connection.execute(text("PRAGMA foreign_keys")).scalar() == 1
    engine.dispose()


def test_duplicate_membership_is_refused_by_the_database(session):
    owner = make_user(session)
    workspace = make_workspace(session, owner)
    session.add(Membership(workspace_id=workspace.id, user_id=owner.id, role=Role.WRITER))
    with pytest.raises(IntegrityError):
        session.commit()
    session.rollback()
