"""Rhythm slots across DST, the next free slot and the gaps report."""

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from characters.bibles.card_data import GreenroomExtension
from characters.core.models import Post, PostStatus
from characters.posting.rhythm import (
    Rhythm,
    Slot,
    describe_days,
    find_gaps,
    local_to_utc,
    next_free_slot,
    parse_days,
    parse_time,
    rhythm_of,
    slot_instants,
)
from tests.factories import make_character, make_user, make_workspace

NY = ZoneInfo("America/New_York")


@pytest.mark.parametrize(("spec", "days"), [
    ("mon-fri", {0, 1, 2, 3, 4}), ("sat,sun", {5, 6}), ("daily", set(range(7))), ("fri-mon", {4, 5, 6, 0}),
    ("Weekends", {5, 6}), ("tue", {1}), ("funday", set()), ("", set()), ("mon-xyz,wed", {2}),
])
def test_parse_days(spec, days):
    assert parse_days(spec) == days


@pytest.mark.parametrize(("text", "expected"), [("09:15", time(9, 15)), ("7:05", time(7, 5)), ("24:00", None),
                                            ("9am", None), ("", None)])
def test_parse_time(text, expected):
    assert parse_time(text) == expected


def test_gap_time_is_shifted_forward_and_fold_takes_the_first_occurrence():
    # 2026-03-08 02:30 does not exist in New York: it becomes 03:30 EDT (07:30 UTC).
    assert local_to_utc(date(2026, 3, 8), time(2, 30), NY) == datetime(2026, 3, 8, 7, 30, tzinfo=UTC)
    # 2026-11-01 01:30 happens twice: the first one (EDT, UTC-4) counts.
    assert local_to_utc(date(2026, 11, 1), time(1, 30), NY) == datetime(2026, 11, 1, 5, 30, tzinfo=UTC)


def test_daily_slot_fires_once_per_day_through_both_transitions():
    rhythm = Rhythm((Slot(frozenset(range(7)), time(1, 30)), Slot(frozenset(range(7)), time(2, 30))), NY)
    for start in (datetime(2026, 3, 6, tzinfo=UTC), datetime(2026, 10, 30, tzinfo=UTC)):
        instants = slot_instants(rhythm, start, start + timedelta(days=4))
        assert len(instants) == len(set(instants))
        local_days = [instant.astimezone(NY).date() for instant in instants]
        for day in set(local_days):
            assert local_days.count(day) == 2, day  # no skip, no duplicate
    fall = slot_instants(Rhythm((Slot(frozenset(range(7)), time(1, 30)),), NY),
                         datetime(2026, 11, 1, 4, tzinfo=UTC), datetime(2026, 11, 1, 8, tzinfo=UTC))
    assert fall == [datetime(2026, 11, 1, 5, 30, tzinfo=UTC)]


def test_local_wall_clock_time_holds_across_dst():
    rhythm = rhythm_of(GreenroomExtension.model_validate(
        {"timezone": "America/New_York", "rhythm": {"slots": [{"days": "daily", "time": "09:15"}]}}))
    instants = slot_instants(rhythm, datetime(2026, 3, 6, tzinfo=UTC), datetime(2026, 3, 11, tzinfo=UTC))
    assert {i.astimezone(NY).time() for i in instants} == {time(9, 15)}
    assert {i.utcoffset() for i in instants} == {timedelta(0)}
    assert {i.hour for i in instants} == {13, 14}


def test_unknown_zone_and_bad_slots_fall_back_safely():
    rhythm = rhythm_of(GreenroomExtension.model_validate(
        {"timezone": "Mars/Olympus", "rhythm": {"slots": [{"days": "someday", "time": "09:00"},
                                                          {"days": "mon", "time": "25:00"}]}}))
    assert rhythm.empty
    assert str(rhythm.zone) == "UTC"


@pytest.fixture
def pip(session):
    owner = make_user(session, "owner@q.example")
    workspace = make_workspace(session, owner, "q")
    character = make_character(session, workspace, owner, "Pip", timezone="America/New_York",
                               rhythm={"slots": [{"days": "mon-fri", "time": "09:15"}]})
    return workspace, character


def _queue(session, workspace, character, due):
    session.add(Post(workspace_id=workspace.id, character_id=character.id, status=PostStatus.APPROVED, due_at=due))
    session.commit()


def test_next_free_slot_skips_taken_slots_and_weekends(session, pip):
    workspace, character = pip
    friday_morning = datetime(2026, 12, 4, 12, tzinfo=UTC)  # Fri 07:00 in New York
    first = next_free_slot(session, character, friday_morning)
    assert first == datetime(2026, 12, 4, 14, 15, tzinfo=UTC)
    _queue(session, workspace, character, first)
    assert next_free_slot(session, character, friday_morning) == datetime(2026, 12, 7, 14, 15, tzinfo=UTC)


def test_no_rhythm_means_no_slot(session):
    owner = make_user(session, "o@r.example")
    workspace = make_workspace(session, owner, "r")
    character = make_character(session, workspace, owner, "Drifter")
    assert next_free_slot(session, character, datetime(2026, 1, 1, tzinfo=UTC)) is None
    gaps, without = find_gaps(session, workspace, datetime(2026, 1, 1, tzinfo=UTC), 7)
    assert gaps == []
    assert [c.name for c in without] == ["Drifter"]


def test_gaps_report_runs_of_empty_rhythm_days(session, pip):
    workspace, character = pip
    _queue(session, workspace, character, datetime(2026, 12, 2, 14, 15, tzinfo=UTC))  # Wed 2 Dec
    gaps, _ = find_gaps(session, workspace, datetime(2026, 11, 30, 5, tzinfo=UTC), 7)  # Mon 30 Nov .. Sun 6 Dec
    assert [g.describe() for g in gaps] == ["Nothing queued for Pip on Mon 30 Nov – Tue 1 Dec",
                                            "Nothing queued for Pip on Thu 3 – Fri 4 Dec"]


def test_describe_days():
    assert describe_days(date(2026, 12, 3), date(2026, 12, 3)) == "Thu 3 Dec"
    assert describe_days(date(2026, 12, 3), date(2026, 12, 5)) == "Thu 3 – Sat 5 Dec"
