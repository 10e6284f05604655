"""`greenroom analytics rebuild`: builds every workspace's roll-up, or one; an unknown workspace is one clear line."""

from datetime import UTC, datetime, timedelta

from sqlmodel import col, select

from characters.analytics.rollup import BUILT
from characters.core.models import EngagementHour, RollupZone
from tests.characters.analytics.builders import network_channel, published
from tests.factories import make_character, workspace_with_roles
from web.cli import main


def test_rebuild_builds_each_workspace_and_refuses_an_unknown_one(runner, session):
    people = workspace_with_roles(session)
    walt = make_character(session, people["workspace"], people["owner"], "Walt Test", timezone="Asia/Tokyo")
    published(session, walt, network_channel(session, walt), datetime.now(UTC) - timedelta(days=2), likes=3)
    session.commit()

    result = runner.invoke(main, ["analytics", "rebuild", "--workspace", "fans"])
    assert result.exit_code == 0, result.output
    assert "fans:" in result.output
    session.rollback()
    assert session.exec(select(RollupZone.character_id).where(col(RollupZone.character_id) == BUILT)).all() == [BUILT]
    assert [row.likes for row in session.exec(select(EngagementHour)).all()] == [3]

    again = runner.invoke(main, ["analytics", "rebuild"])
    assert again.exit_code == 0, again.output
    unknown = runner.invoke(main, ["analytics", "rebuild", "--workspace", "nope"])
    assert unknown.exit_code == 1
    assert "Traceback" not in unknown.output
