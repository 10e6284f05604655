"""Response times: median and p90 per character and per ISO week (the character's zone), share answered, CSV."""

import csv
import io
from datetime import UTC, datetime, timedelta

from sqlmodel import Session

from characters.core.models import ConversationStatus
from characters.listening.metrics import metrics_csv, overall, percentile, response_metrics
from tests.characters.listening.inbox_world import fresh_checker_fixture, world_fixture  # noqa: F401 - fixtures
from tests.factories import make_character, make_conversation

# A Wednesday noon in New York (ISO week 2026-W49), and the Wednesday before (W48).
NOW = datetime(2026, 12, 2, 17, 0, tzinfo=UTC)


def _answered(session, character, received, minutes):
    return make_conversation(session, character, received_at=received, posted_at=received,
                             replied_at=received + timedelta(minutes=minutes), status=ConversationStatus.REPLIED)


def test_nearest_rank_percentiles():
    values = [float(n) for n in range(1, 11)]
    assert percentile(values, 0.9) == 9.0
    assert percentile(values, 0.5) == 5.0
    assert percentile([7.0], 0.9) == 7.0


def test_median_p90_and_share_answered_per_character_and_week(session: Session, world):
    walt = world["character"]  # America/New_York
    session.delete(world["conversation"])
    session.commit()
    this_week = NOW - timedelta(hours=2)
    for minutes in (1, 2, 3, 4, 5, 6, 7, 8, 9, 100):
        _answered(session, walt, this_week, minutes)
    make_conversation(session, walt, received_at=this_week, posted_at=this_week)  # still waiting
    make_conversation(session, walt, received_at=this_week, posted_at=this_week, status=ConversationStatus.DISMISSED)
    last_week = NOW - timedelta(days=7)
    _answered(session, walt, last_week, 30)
    _answered(session, walt, last_week, 50)
    # Sunday 23:30 in New York is Monday 04:30 UTC: it belongs to the character's week W48, not UTC's W49.
    sunday_night = datetime(2026, 11, 30, 4, 30, tzinfo=UTC)
    _answered(session, walt, sunday_night, 10)
    otter = make_character(session, world["workspace"], world["owner"], "Otter Mascot")
    make_conversation(session, otter, received_at=this_week, posted_at=this_week)
    too_old = NOW - timedelta(weeks=20)
    _answered(session, walt, too_old, 1)

    stats = response_metrics(session, world["workspace"], now=NOW)
    rows = {(row.character, row.week): row for row in stats}
    w49 = rows[("Walt Test", "2026-W49")]
    assert (w49.received, w49.answered, w49.dismissed) == (12, 10, 1)
    assert (w49.median_minutes, w49.p90_minutes) == (5.5, 9.0)
    assert w49.share_answered == 10 / 11
    w48 = rows[("Walt Test", "2026-W48")]
    assert (w48.received, w48.answered, w48.median_minutes, w48.p90_minutes) == (3, 3, 30.0, 50.0)
    assert w48.week_starts.isoformat() == "2026-11-23"
    whole = rows[("Walt Test", None)]
    assert (whole.received, whole.answered) == (15, 13)
    otter_row = rows[("Otter Mascot", None)]
    assert (otter_row.answered, otter_row.median_minutes, otter_row.share_answered) == (0, None, 0.0)
    assert [row.character for row in overall(stats)] == ["Otter Mascot", "Walt Test"]


def test_the_csv_has_a_row_per_character_and_week(session: Session, world):
    walt = world["character"]
    world["conversation"].received_at = NOW - timedelta(hours=2)  # waiting, in the same week
    session.add(world["conversation"])
    _answered(session, walt, NOW - timedelta(hours=1), 12)
    evil = make_character(session, world["workspace"], world["owner"], "=HYPERLINK Evil")
    make_conversation(session, evil, received_at=NOW - timedelta(hours=1), posted_at=NOW)
    rows = list(csv.DictReader(io.StringIO(metrics_csv(response_metrics(session, world["workspace"], now=NOW)))))
    assert rows[0]["character"] == "'=HYPERLINK Evil"  # not a formula in a spreadsheet
    walt_rows = [row for row in rows if row["character"] == "Walt Test"]
    assert [row["week"] for row in walt_rows] == ["all", "2026-W49"]
    assert walt_rows[1] == {"character": "Walt Test", "week": "2026-W49", "week_starts": "2026-11-30",
                            "received": "2", "answered": "1", "dismissed": "0", "share_answered": "0.500",
                            "median_minutes": "12.0", "p90_minutes": "12.0"}
