"""The queue's next free slot prefers the character's best hours when the workspace turns that on."""

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import event
from sqlmodel import Session

from characters.core.models import Workspace
from characters.posting.rhythm import next_free_slot
from tests.characters.analytics.builders import network_channel, published
from tests.factories import make_character, workspace_with_roles

NEW_YORK = ZoneInfo("America/New_York")
# Wednesday 2 December 2026, 08:00 in New York: the 09:00 slot comes first, the 20:00 one later that day.
NOW = datetime(2026, 12, 2, 13, 0, tzinfo=UTC)


def _walt_with_history(session: Session, evening_likes: int):  # type: ignore[no-untyped-def]
    people = workspace_with_roles(session)
    walt = make_character(session, people["workspace"], people["owner"], "Walt Test", timezone="America/New_York",
                          rhythm={"slots": [{"days": "daily", "time": "09:00"}, {"days": "daily", "time": "20:00"}]})
    sky = network_channel(session, walt)
    for n in range(10):  # ten days of posts at both hours, before and after the DST change on 1 November
        day = date(2026, 10, 27) + timedelta(days=n)
        for clock, likes in (("09:00", 3), ("20:00", evening_likes)):
            moment = datetime.fromisoformat(f"{day}T{clock}").replace(tzinfo=NEW_YORK).astimezone(UTC)
            published(session, walt, sky, moment, likes=likes)
    session.commit()
    return people["workspace"], walt


def _local(moment: datetime | None) -> str:
    assert moment is not None
    return moment.astimezone(NEW_YORK).strftime("%Y-%m-%d %H:%M")


def test_the_best_hour_comes_first_when_the_workspace_prefers_it(session: Session):
    workspace, walt = _walt_with_history(session, evening_likes=30)
    assert _local(next_free_slot(session, walt, NOW)) == "2026-12-02 09:00"  # off by default: the first free slot
    workspace.prefer_best_hours = True
    session.add(workspace)
    session.flush()
    assert _local(next_free_slot(session, walt, NOW)) == "2026-12-02 20:00"


def test_without_a_better_hour_the_first_free_slot_stays(session: Session):
    workspace, walt = _walt_with_history(session, evening_likes=1)
    workspace.prefer_best_hours = True
    session.add(workspace)
    session.flush()
    assert _local(next_free_slot(session, walt, NOW)) == "2026-12-02 09:00"  # 09:00 is the better hour anyway


def test_the_setting_off_costs_no_statement(session: Session):
    workspace, walt = _walt_with_history(session, evening_likes=30)
    session.get(Workspace, workspace.id)
    statements: list[str] = []
    engine = session.get_bind()
    listener = lambda *args: statements.append(args[2])  # noqa: E731
    event.listen(engine, "before_cursor_execute", listener)
    try:
        next_free_slot(session, walt, NOW)
    finally:
        event.remove(engine, "before_cursor_execute", listener)
    assert not any("delivery" in statement.lower() for statement in statements)
