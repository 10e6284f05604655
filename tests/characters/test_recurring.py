"""Recurring rules: validation, review, occurrences across DST, and idempotent materialization."""

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from pydantic import ValidationError
from sqlmodel import Session, func, select

from characters.core.errors import DomainError, PermissionDenied
from characters.core.models import Delivery, DeliveryStatus, Post, PostStatus, RecurringRule, Role
from characters.posting.recurring import (
    RuleInput,
    approve_rule,
    create_rule,
    materialize_recurring,
    occurrences,
    stop_rule,
    submit_rule,
)
from tests.factories import make_character, member, workspace_with_roles

NY = ZoneInfo("America/New_York")
START = datetime(2026, 3, 2, 5, tzinfo=UTC)  # a Monday, before the March DST change


@pytest.fixture
def crew(session):
    people = workspace_with_roles(session, "rr")
    people["character"] = make_character(session, people["workspace"], people["owner"], "Evergreen",
                                         vocabulary={"banned": [{"term": "awesome"}]})
    people["writer_m"] = member(people["workspace"], people["writer"], Role.WRITER)
    people["editor_m"] = member(people["workspace"], people["editor"], Role.EDITOR)
    return people


def _rule(session: Session, crew, **changes) -> RecurringRule:
    values = {"character_id": crew["character"].id, "parts": ["Tip of the week: drink water."], "kind": "weekly",
              "weekdays": "mon,thu", "local_time": "09:00", "timezone": "America/New_York", "starts_at": START,
              "max_count": 6, **changes}
    rule = create_rule(session=session, member=crew["writer_m"], data=RuleInput.model_validate(values))
    session.commit()
    return rule


def _approved(session: Session, crew, **changes) -> RecurringRule:
    rule = _rule(session, crew, **changes)
    submit_rule(session=session, member=crew["writer_m"], rule=rule, expected_version=rule.version)
    approve_rule(session=session, member=crew["editor_m"], rule=rule, expected_version=rule.version)
    session.commit()
    return rule


@pytest.mark.parametrize(("changes", "message"), [
    ({"max_count": None}, "end date or a number"),
    ({"weekdays": "someday"}, "weekdays"),
    ({"kind": "interval"}, "interval"),
    ({"kind": "interval", "interval_minutes": 5}, "greater than or equal to 60"),
    ({"timezone": "Mars/Base"}, "unknown time zone"),
    ({"parts": ["  "]}, "empty"),
    ({"ends_at": START - timedelta(days=1)}, "after the start"),
    ({"starts_at": datetime(2026, 3, 2)}, "time zone"),
])
def test_bad_rules_are_refused(crew, changes, message):
    values = {"character_id": 1, "parts": ["x"], "weekdays": "mon", "starts_at": START, "max_count": 3, **changes}
    with pytest.raises(ValidationError, match=message):
        RuleInput.model_validate(values)


def test_weekly_occurrences_keep_local_time_across_dst_and_stop_at_the_count(session, crew):
    rule = _rule(session, crew)
    moments = occurrences(rule, START, START + timedelta(days=60))
    assert len(moments) == 6
    assert {m.astimezone(NY).strftime("%a %H:%M") for m in moments} == {"Mon 09:00", "Thu 09:00"}
    assert moments[3].hour == 13  # Thu 12 March: EDT after the 8 March change
    later = occurrences(rule, moments[4], START + timedelta(days=60))
    assert later == moments[4:]  # counting starts at the rule's start, not at the window


def test_interval_rule_with_end_date(session, crew):
    rule = _rule(session, crew, kind="interval", interval_minutes=24 * 60, max_count=None,
                 ends_at=START + timedelta(days=3, hours=1))
    assert occurrences(rule, START, START + timedelta(days=30)) == [START + timedelta(days=n) for n in range(4)]


def test_only_approved_rules_materialize_and_twice_is_harmless(session, crew):
    draft = _rule(session, crew)
    assert materialize_recurring(session, START, timedelta(days=14)) == []
    rule = _approved(session, crew)
    created = materialize_recurring(session, START, timedelta(days=14))
    session.commit()
    assert len(created) == 4
    assert all(p.status == PostStatus.APPROVED for p in created)
    assert all(p.recurring_rule_id == rule.id and p.approved_by_id == crew["editor"].id for p in created)
    assert materialize_recurring(session, START, timedelta(days=14)) == []
    assert materialize_recurring(session, START + timedelta(days=7), timedelta(days=14)) != []
    session.commit()
    total = session.exec(select(func.count()).select_from(Post).where(Post.recurring_rule_id == rule.id)).one()
    assert total == 6  # max_count holds however often it runs
    targets = session.exec(select(Delivery)).all()
    assert all(t.status == DeliveryStatus.PENDING and t.due_at is not None and t.idempotency_key for t in targets)
    assert draft.status == PostStatus.DRAFT


def test_occurrence_that_now_fails_the_check_waits_in_review(session, crew):
    rule = _approved(session, crew)
    rule.parts = ["An awesome tip."]  # as if the bible had changed since approval
    session.add(rule)
    [first, *_] = materialize_recurring(session, START, timedelta(days=4))
    assert first.status == PostStatus.IN_REVIEW
    assert first.due_at is None


def test_rule_review_rules(session, crew):
    rule = _rule(session, crew)
    with pytest.raises(PermissionDenied):
        approve_rule(session=session, member=crew["writer_m"], rule=rule, expected_version=rule.version)
    submit_rule(session=session, member=crew["writer_m"], rule=rule, expected_version=rule.version)
    with pytest.raises(DomainError, match="changed"):
        approve_rule(session=session, member=crew["editor_m"], rule=rule, expected_version=1)
    bad = _rule(session, crew, parts=["So awesome."])
    submit_rule(session=session, member=crew["writer_m"], rule=bad, expected_version=bad.version)
    with pytest.raises(DomainError, match="in-character"):
        approve_rule(session=session, member=crew["editor_m"], rule=bad, expected_version=bad.version)


def test_stopping_a_rule_cancels_its_upcoming_posts(session, crew):
    rule = _approved(session, crew)
    materialize_recurring(session, START, timedelta(days=14))
    session.commit()
    assert stop_rule(session=session, member=crew["editor_m"], rule=rule, expected_version=rule.version) == 4
    session.commit()
    assert {p.status for p in session.exec(select(Post))} == {PostStatus.CANCELLED}
    assert {t.status for t in session.exec(select(Delivery))} == {DeliveryStatus.CANCELLED}
    assert materialize_recurring(session, START + timedelta(days=7), timedelta(days=14)) == []
