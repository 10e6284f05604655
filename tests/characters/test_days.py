"""One weekday parser for the bible editor (strict) and the scheduler's rhythm and recurring rules (lenient)."""

import pytest

from characters.bibles.card_data import GreenroomExtension
from characters.bibles.editing import SlotRow, describe_days, format_days, parse_days
from characters.posting.rhythm import rhythm_of

WEEKDAYS = frozenset(range(5))
WEEKEND = frozenset({5, 6})


@pytest.mark.parametrize(("spec", "days"), [
    # What the bible editor accepted.
    ("mon-fri", WEEKDAYS), ("sat,sun", WEEKEND), ("mon wed fri", {0, 2, 4}), ("weekends", WEEKEND),
    ("Monday-Friday", WEEKDAYS), ("tu", {1}), ("thurs", {3}), ("weekdays, sat", WEEKDAYS | {5}),
    # What the rhythm accepted.
    ("daily", set(range(7))), ("everyday", set(range(7))), ("weekend", WEEKEND), ("fri-mon", {4, 5, 6, 0}),
    ("Weekends", WEEKEND), ("tue", {1}), ("tues", {1}), ("weds", {2}), ("mon-sun", set(range(7))),
])
def test_both_callers_read_the_same_days(spec, days):
    assert parse_days(spec) == days
    assert parse_days(spec, strict=True) == days


@pytest.mark.parametrize(("spec", "days"), [
    ("funday", set()), ("", set()), ("mon-xyz,wed", {2}), ("mon-tue-wed", set()), ("mon - fri", {0, 4}),
])
def test_stored_cards_skip_what_cannot_be_read(spec, days):
    assert parse_days(spec) == days
    with pytest.raises(ValueError, match="not a day|Say which days"):
        parse_days(spec, strict=True)


def test_the_editor_names_the_unreadable_day_and_normalises_the_rest():
    with pytest.raises(ValueError, match="“someday” is not a day"):
        parse_days("mon,someday", strict=True)
    assert SlotRow(days="Monday-Friday", time="09:00").days == "mon-fri"
    assert format_days(parse_days("sat sun mon")) == "mon,sat-sun"
    assert describe_days("weekends") == "Saturday and Sunday"
    assert describe_days("someday") == "someday"


def test_the_rhythm_drops_slots_whose_days_cannot_be_read():
    greenroom = GreenroomExtension.model_validate(
        {"rhythm": {"slots": [{"days": "funday", "time": "09:00"}, {"days": "tues", "time": "10:00"}]}})
    assert [slot.weekdays for slot in rhythm_of(greenroom).slots] == [frozenset({1})]
