"""Scenes: one unit of review; approval schedules every line at start + cumulative delays, as replies."""

from datetime import timedelta

import pytest
from sqlmodel import select

from characters.core.errors import DomainError, PermissionDenied
from characters.core.models import Delivery, DeliveryStatus, PostStatus, Role, utcnow
from characters.posting.scenes import (
    SceneInput,
    approve_scene,
    cancel_scene,
    create_scene,
    reject_scene,
    save_scene,
    scene_lines,
    submit_scene,
)
from characters.posting.workflow import CheckFailed, StaleVersion, reschedule_post
from tests.factories import make_character, member, workspace_with_roles


@pytest.fixture
def crew(session):
    people = workspace_with_roles(session, "sc")
    ws = people["workspace"]
    people["a"] = make_character(session, ws, people["owner"], "Ada", vocabulary={"banned": [{"term": "awesome"}]})
    people["b"] = make_character(session, ws, people["owner"], "Bo")
    people["writer_m"] = member(ws, people["writer"], Role.WRITER)
    people["editor_m"] = member(ws, people["editor"], Role.EDITOR)
    return people


def _scene(session, crew, texts=("Morning, Bo.", "Morning, Ada.", "Tea?"), delays=(0, 5, 10)):
    ids = [crew["a"].id, crew["b"].id, crew["a"].id]
    data = SceneInput(title="Tea time", lines=[{"character_id": ids[n % 3], "text": text, "delay_minutes": delays[n]}
                                               for n, text in enumerate(texts)])
    scene = create_scene(session=session, member=crew["writer_m"], data=data)
    session.commit()
    return scene


def test_scene_lines_reply_to_each_other_and_approve_as_one(session, crew):
    scene = _scene(session, crew)
    lines = scene_lines(session, scene)
    assert [line.post.reply_to_post_id for line in lines] == [None, lines[0].post.id, lines[1].post.id]
    assert [line.offset_minutes for line in lines] == [0, 5, 15]
    submit_scene(session=session, member=crew["writer_m"], scene=scene, expected_version=1)
    start = utcnow() + timedelta(hours=1)
    posts = approve_scene(session=session, member=crew["editor_m"], scene=scene, expected_version=1,
                          starts_at=start)
    session.commit()
    assert scene.status == PostStatus.APPROVED
    assert [p.due_at - start for p in posts] == [timedelta(0), timedelta(minutes=5), timedelta(minutes=15)]
    targets = session.exec(select(Delivery).order_by(Delivery.post_id)).all()
    assert [t.due_at for t in targets] == [p.due_at for p in posts]
    assert all(t.idempotency_key and t.status == DeliveryStatus.PENDING for t in targets)


def test_scene_author_cannot_approve_and_failing_line_needs_a_reason(session, crew):
    scene = _scene(session, crew, texts=("An awesome day.", "Indeed.", "Quite."))
    submit_scene(session=session, member=crew["writer_m"], scene=scene, expected_version=1)
    session.commit()
    with pytest.raises(PermissionDenied):
        approve_scene(session=session, member=crew["writer_m"], scene=scene, expected_version=1,
                      starts_at=utcnow() + timedelta(hours=1))
    with pytest.raises(CheckFailed):
        approve_scene(session=session, member=crew["editor_m"], scene=scene, expected_version=1,
                      starts_at=utcnow() + timedelta(hours=1))
    session.rollback()
    approve_scene(session=session, member=crew["editor_m"], scene=scene, expected_version=1,
                  starts_at=utcnow() + timedelta(hours=1), override_reason="Ada is being ironic.")
    assert scene_lines(session, scene)[0].post.override_reason == "Ada is being ironic."


def test_editing_an_approved_scene_sends_it_back_and_unschedules_every_line(session, crew):
    scene = _scene(session, crew)
    submit_scene(session=session, member=crew["writer_m"], scene=scene, expected_version=1)
    approve_scene(session=session, member=crew["editor_m"], scene=scene, expected_version=1,
                  starts_at=utcnow() + timedelta(hours=1))
    session.commit()
    data = SceneInput(title="Tea time", lines=[{"character_id": crew["b"].id, "text": "Hello.", "delay_minutes": 0},
                                               {"character_id": crew["a"].id, "text": "Hi.", "delay_minutes": 3}])
    save_scene(session=session, member=crew["writer_m"], scene=scene, expected_version=1, data=data)
    session.commit()
    lines = scene_lines(session, scene)
    assert scene.status == PostStatus.IN_REVIEW
    assert scene.version == 2
    assert len(lines) == 2
    assert {line.post.status for line in lines} == {PostStatus.IN_REVIEW}
    assert all(t.due_at is None for t in session.exec(select(Delivery)))
    with pytest.raises(StaleVersion):
        save_scene(session=session, member=crew["writer_m"], scene=scene, expected_version=1, data=data)


def test_reject_cancel_and_moving_a_scene_line_moves_the_scene(session, crew):
    scene = _scene(session, crew)
    submit_scene(session=session, member=crew["writer_m"], scene=scene, expected_version=1)
    with pytest.raises(DomainError):
        reject_scene(session=session, member=crew["editor_m"], scene=scene, expected_version=1, comment="")
    reject_scene(session=session, member=crew["editor_m"], scene=scene, expected_version=1, comment="Shorter.")
    assert {line.post.status for line in scene_lines(session, scene)} == {PostStatus.DRAFT}
    submit_scene(session=session, member=crew["writer_m"], scene=scene, expected_version=1)
    start = utcnow() + timedelta(hours=2)
    posts = approve_scene(session=session, member=crew["editor_m"], scene=scene, expected_version=1, starts_at=start)
    session.commit()
    moved = reschedule_post(session=session, member=crew["editor_m"], post=posts[1], expected_version=posts[1].version,
                            due_at=posts[1].due_at + timedelta(days=1))
    assert len(moved) == 3
    assert scene.starts_at == start + timedelta(days=1)
    assert [p.due_at - start for p in moved] == [timedelta(days=1), timedelta(days=1, minutes=5),
                                                 timedelta(days=1, minutes=15)]
    cancel_scene(session=session, member=crew["editor_m"], scene=scene, expected_version=scene.version)
    session.commit()
    assert {t.status for t in session.exec(select(Delivery))} == {DeliveryStatus.CANCELLED}


def test_scene_needs_workspace_characters(session, crew):
    with pytest.raises(DomainError, match="Line 1"):
        create_scene(session=session, member=crew["writer_m"],
                     data=SceneInput(title="X", lines=[{"character_id": 9999, "text": "hi"}]))
