"""The post state machine: roles, the two-person rule, the check gate and the scheduler contract."""

import threading
from datetime import timedelta

import pytest
from sqlmodel import Session, col, select

from characters.core.errors import Conflict, DomainError, PermissionDenied
from characters.core.models import (
    AuditEvent,
    Channel,
    ChannelKind,
    Comment,
    DeliveryStatus,
    Post,
    PostRevision,
    PostStatus,
    Role,
    utcnow,
)
from characters.posting.posts import PostContent, create_draft, deliveries_of, parts_of
from characters.posting.workflow import (
    CheckFailed,
    StaleVersion,
    allowed_actions,
    approve_post,
    cancel_post,
    reject_post,
    reschedule_post,
    save_post,
    submit_post,
)
from tests.factories import make_character, member, workspace_with_roles

GOOD = "A fine morning for a walk."


@pytest.fixture
def crew(session):
    people = workspace_with_roles(session)
    ws = people["workspace"]
    people["character"] = make_character(session, ws, people["owner"], "Walt Test",
                                         vocabulary={"banned": [{"term": "awesome"}]})
    people["as"] = {role: member(ws, people[role.value] if role is not Role.OWNER else people["owner"], role)
                    for role in Role}
    return people


def draft(session: Session, crew, text: str = GOOD, **content) -> Post:
    post = create_draft(session=session, member=crew["as"][Role.WRITER], character=crew["character"],
                        content=PostContent.of_texts([text] if isinstance(text, str) else text, **content))
    session.commit()
    return post


def submitted(session: Session, crew, text: str = GOOD, **content) -> Post:
    post = draft(session, crew, text, **content)
    submit_post(session=session, member=crew["as"][Role.WRITER], post=post, expected_version=post.version)
    session.commit()
    return post


def approved(session: Session, crew, text: str = GOOD, hours: int = 2) -> Post:
    post = submitted(session, crew, text)
    approve_post(session=session, member=crew["as"][Role.EDITOR], post=post, expected_version=post.version,
                 due_at=utcnow() + timedelta(hours=hours))
    session.commit()
    return post


def test_draft_submit_approve_schedules_every_target(session, crew):
    post = approved(session, crew)
    assert post.status == PostStatus.APPROVED
    assert post.due_at is not None
    assert post.bible_version == crew["character"].current_version
    assert post.check_verdict == "pass"
    assert post.check_score is not None
    assert post.approved_by_id == crew["editor"].id
    assert post.submitted_by_id == crew["writer"].id
    [target] = deliveries_of(session, post)
    assert target.status == DeliveryStatus.PENDING
    assert target.due_at == post.due_at
    assert target.idempotency_key == f"gr-{post.id}-v{post.version}-c{target.channel_id}"
    events = select(AuditEvent).where(AuditEvent.post_id == post.id).order_by(col(AuditEvent.id))
    actions = [e.action for e in session.exec(events)]
    assert actions == ["submit", "approve"]


def test_targets_stay_pending_and_off_the_clock_until_approval(session, crew):
    post = submitted(session, crew)
    [target] = deliveries_of(session, post)
    assert target.status == DeliveryStatus.PENDING
    assert target.due_at is None
    assert target.idempotency_key is None


def test_writer_and_viewer_cannot_approve_and_viewer_cannot_submit(session, crew):
    post = submitted(session, crew)
    for role in (Role.WRITER, Role.VIEWER):
        with pytest.raises(PermissionDenied):
            approve_post(session=session, member=crew["as"][role], post=post, expected_version=post.version,
                         due_at=utcnow() + timedelta(hours=1))
    other = draft(session, crew)
    with pytest.raises(PermissionDenied):
        submit_post(session=session, member=crew["as"][Role.VIEWER], post=other, expected_version=other.version)
    session.rollback()
    assert session.get(Post, post.id).status == PostStatus.IN_REVIEW


def test_two_person_rule_stops_self_approval_unless_turned_off(session, crew):
    editor = crew["as"][Role.EDITOR]
    post = create_draft(session=session, member=editor, character=crew["character"],
                        content=PostContent.of_texts([GOOD]))
    submit_post(session=session, member=editor, post=post, expected_version=1)
    session.commit()
    with pytest.raises(PermissionDenied, match="two-person rule"):
        approve_post(session=session, member=editor, post=post, expected_version=1,
                     due_at=utcnow() + timedelta(hours=1))
    assert not allowed_actions(editor, post)["approve"]
    crew["workspace"].two_person_rule = False
    approve_post(session=session, member=editor, post=post, expected_version=1, due_at=utcnow() + timedelta(hours=1))
    assert post.status == PostStatus.APPROVED


def test_past_due_time_is_refused_and_post_unchanged(session, crew):
    post = submitted(session, crew)
    with pytest.raises(DomainError, match="future"):
        approve_post(session=session, member=crew["as"][Role.EDITOR], post=post, expected_version=post.version,
                     due_at=utcnow() - timedelta(minutes=1))
    session.rollback()
    assert session.get(Post, post.id).status == PostStatus.IN_REVIEW


def test_failing_check_blocks_approval_until_an_editor_writes_a_reason(session, crew):
    post = submitted(session, crew, "An awesome morning.")
    assert post.check_verdict == "fail"
    editor = crew["as"][Role.EDITOR]
    with pytest.raises(CheckFailed) as caught:
        approve_post(session=session, member=editor, post=post, expected_version=post.version,
                     due_at=utcnow() + timedelta(hours=1), override_reason="  ")
    assert any(f["check"] == "vocabulary.banned" for f in caught.value.check.findings)
    approve_post(session=session, member=editor, post=post, expected_version=post.version,
                 due_at=utcnow() + timedelta(hours=1), override_reason="Ironic use, agreed with the showrunner.")
    session.commit()
    assert post.status == PostStatus.APPROVED
    assert post.override_reason.startswith("Ironic")
    override = session.exec(select(AuditEvent).where(AuditEvent.action == "override")).one()
    assert override.reason.startswith("Ironic")
    assert override.actor_id == crew["editor"].id


def test_every_part_and_every_network_length_is_checked(session, crew):
    bluesky = Channel(workspace_id=crew["workspace"].id, character_id=crew["character"].id,
                      kind=ChannelKind.BLUESKY, label="bsky")
    session.add(bluesky)
    session.commit()
    post = submitted(session, crew, [GOOD, "y" * 301], channel_ids=[bluesky.id])
    assert post.check_verdict == "fail"
    [length] = [f for f in post.check_findings if f["check"] == "format.length"]
    assert length["part"] == 2
    assert length["platform"] == "bluesky"
    assert length["start"] == 300


def test_editing_an_approved_post_bumps_version_and_takes_it_off_the_clock(session, crew):
    post = approved(session, crew)
    save_post(session=session, member=crew["as"][Role.WRITER], post=post, expected_version=post.version,
              content=PostContent.of_texts(["A finer morning."]))
    session.commit()
    assert post.status == PostStatus.IN_REVIEW
    assert post.version == 2
    assert post.due_at is None
    [target] = deliveries_of(session, post)
    assert target.status == DeliveryStatus.PENDING
    assert target.due_at is None
    assert [r.version for r in session.exec(select(PostRevision).where(PostRevision.post_id == post.id))] == [1, 2]
    approve_post(session=session, member=crew["as"][Role.EDITOR], post=post, expected_version=2,
                 due_at=utcnow() + timedelta(hours=3))
    assert deliveries_of(session, post)[0].idempotency_key.startswith(f"gr-{post.id}-v2-")


def test_editing_a_post_in_review_refreshes_its_check(session, crew):
    post = submitted(session, crew)
    assert post.check_verdict == "pass"
    save_post(session=session, member=crew["as"][Role.WRITER], post=post, expected_version=1,
              content=PostContent.of_texts(["An awesome morning."]))
    assert post.status == PostStatus.IN_REVIEW
    assert post.check_verdict == "fail"


def test_stale_save_is_refused_and_keeps_the_newer_text(session, crew, engine):
    post = draft(session, crew)
    with Session(engine, expire_on_commit=False) as other:
        theirs = other.get(Post, post.id)
        save_post(session=other, member=crew["as"][Role.EDITOR], post=theirs, expected_version=1,
                  content=PostContent.of_texts(["Their words."]))
        other.commit()
    with pytest.raises(StaleVersion) as caught:
        save_post(session=session, member=crew["as"][Role.WRITER], post=post, expected_version=1,
                  content=PostContent.of_texts(["My words."]))
    session.rollback()
    assert caught.value.post.version == 2
    assert [p.text for p in parts_of(session, post)] == ["Their words."]


def test_cancel_cancels_pending_targets(session, crew):
    post = approved(session, crew)
    cancel_post(session=session, member=crew["as"][Role.EDITOR], post=post, expected_version=post.version,
                reason="Off-message after the news.")
    session.commit()
    assert post.status == PostStatus.CANCELLED
    assert post.due_at is None
    assert [t.status for t in deliveries_of(session, post)] == [DeliveryStatus.CANCELLED]


def test_writer_cannot_cancel_an_approved_post(session, crew):
    post = approved(session, crew)
    with pytest.raises(PermissionDenied):
        cancel_post(session=session, member=crew["as"][Role.WRITER], post=post, expected_version=post.version)


def test_reschedule_moves_pending_targets(session, crew):
    post = approved(session, crew)
    new_due = utcnow() + timedelta(days=2)
    reschedule_post(session=session, member=crew["as"][Role.EDITOR], post=post, expected_version=post.version,
                    due_at=new_due)
    session.commit()
    assert post.due_at == new_due
    assert deliveries_of(session, post)[0].due_at == new_due


def test_reject_returns_to_draft_with_a_comment(session, crew):
    post = submitted(session, crew)
    with pytest.raises(DomainError, match="Write"):
        reject_post(session=session, member=crew["as"][Role.EDITOR], post=post, expected_version=1, comment=" ")
    reject_post(session=session, member=crew["as"][Role.EDITOR], post=post, expected_version=1,
                comment="Too cheerful for Walt.")
    session.commit()
    assert post.status == PostStatus.DRAFT
    assert session.exec(select(Comment).where(Comment.post_id == post.id)).one().body == "Too cheerful for Walt."


@pytest.mark.parametrize("status", [PostStatus.PUBLISHING, PostStatus.PUBLISHED, PostStatus.UNCONFIRMED])
def test_posts_out_of_our_hands_cannot_be_edited_rescheduled_or_cancelled(session, crew, status):
    post = approved(session, crew)
    post.status = status
    session.add(post)
    session.commit()
    editor = crew["as"][Role.EDITOR]
    attempts = [
        lambda: save_post(session=session, member=editor, post=post, expected_version=post.version,
                          content=PostContent.of_texts(["x"])),
        lambda: reschedule_post(session=session, member=editor, post=post, expected_version=post.version,
                                due_at=utcnow() + timedelta(days=1)),
        lambda: cancel_post(session=session, member=editor, post=post, expected_version=post.version),
        lambda: approve_post(session=session, member=editor, post=post, expected_version=post.version,
                             due_at=utcnow() + timedelta(days=1)),
    ]
    for attempt in attempts:
        with pytest.raises(DomainError, match="already|cannot"):
            attempt()
        session.rollback()
    assert session.get(Post, post.id).status == status
    assert [p.text for p in parts_of(session, post)] == [GOOD]


def test_edit_refused_when_the_scheduler_already_claimed_a_target(session, crew):
    post = approved(session, crew)
    [target] = deliveries_of(session, post)
    target.status = DeliveryStatus.PUBLISHING
    session.add(target)
    session.commit()
    with pytest.raises(Conflict, match="already started publishing"):
        save_post(session=session, member=crew["as"][Role.WRITER], post=post, expected_version=post.version,
                  content=PostContent.of_texts(["Late change."]))
    session.rollback()
    fresh = session.get(Post, post.id)
    session.refresh(fresh)
    assert fresh.status == PostStatus.APPROVED
    assert fresh.version == 1


def test_alt_text_is_required_with_an_image():
    with pytest.raises(ValueError, match="alt text"):
        PostContent.model_validate({"parts": [{"text": "hi", "image": b"x", "image_mime": "image/png"}]})


def test_two_concurrent_approvals_cannot_both_win(session, crew, engine):
    post = submitted(session, crew)
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def approve_in_own_session(hours: int) -> None:
        with Session(engine, expire_on_commit=False) as own:
            mine = own.get(Post, post.id)
            assert mine.version == 1
            barrier.wait()  # both have read version 1 before either writes
            try:
                approve_post(session=own, member=crew["as"][Role.EDITOR], post=mine, expected_version=1,
                             due_at=utcnow() + timedelta(hours=hours))
                own.commit()
                outcomes.append("won")
            except DomainError:  # PostgreSQL re-checks the version; SQLite refuses the stale writer outright
                own.rollback()
                outcomes.append("refused")

    threads = [threading.Thread(target=approve_in_own_session, args=(hours,)) for hours in (2, 3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["refused", "won"]
    session.rollback()
    session.expire_all()
    events = session.exec(select(AuditEvent).where(AuditEvent.post_id == post.id,
                                                   AuditEvent.action == "approve")).all()
    [target] = deliveries_of(session, post)
    assert len(events) == 1
    assert target.due_at == session.get(Post, post.id).due_at
