"""The two-person rule means two different people: whoever wrote or changed the text cannot approve it."""

from datetime import timedelta

import pytest
from sqlalchemy import event

from characters.core.errors import PermissionDenied
from characters.core.models import Post, PostStatus, Role, Scene, utcnow
from characters.posting.posts import PostContent, create_draft
from characters.posting.scenes import (
    SceneInput,
    approve_scene,
    create_scene,
    save_scene,
    scene_actions,
    scene_posts,
    submit_scene,
)
from characters.posting.workflow import allowed_actions, approve_post, edited_posts, save_post, submit_post
from tests.factories import add_member, make_character, member, workspace_with_roles

CHANGED = "You changed this post's text, and this workspace has the two-person rule: another editor must approve it."


@pytest.fixture
def crew(session):
    people = workspace_with_roles(session, "two")
    ws = people["workspace"]
    people["pip"] = make_character(session, ws, people["owner"], "Pip")
    people["bo"] = make_character(session, ws, people["owner"], "Bo")
    people["second"] = add_member(session, ws, "second@two.example", Role.EDITOR)
    people["as"] = {role: member(ws, people[role.value] if role is not Role.OWNER else people["owner"], role)
                    for role in Role}
    people["as"]["second"] = member(ws, people["second"], Role.EDITOR)
    return people


def _in_review(session, crew, text="A fine morning."):
    writer = crew["as"][Role.WRITER]
    post = create_draft(session=session, member=writer, character=crew["pip"], content=PostContent.of_texts([text]))
    submit_post(session=session, member=writer, post=post, expected_version=post.version)
    session.commit()
    return post


def _edited_by_editor(session, crew):
    post = _in_review(session, crew)
    save_post(session=session, member=crew["as"][Role.EDITOR], post=post, expected_version=post.version,
              content=PostContent.of_texts(["A finer morning."]))
    session.commit()
    return post


def _approve(session, who, post):
    approve_post(session=session, member=who, post=post, expected_version=post.version,
                 due_at=utcnow() + timedelta(hours=2))


def test_an_editor_who_changed_a_post_in_review_cannot_approve_it(session, crew):
    post = _edited_by_editor(session, crew)
    editor = crew["as"][Role.EDITOR]
    assert post.status == PostStatus.IN_REVIEW  # the edit keeps it in review
    with pytest.raises(PermissionDenied) as refused:
        _approve(session, editor, post)
    assert refused.value.message == CHANGED
    session.rollback()
    assert session.get(Post, post.id).status == PostStatus.IN_REVIEW
    actions = allowed_actions(editor, post)
    assert (actions["approve"], actions["own"], actions["reject"]) == (False, True, True)


def test_another_editor_approves_the_changed_post(session, crew):
    post = _edited_by_editor(session, crew)
    assert allowed_actions(crew["as"]["second"], post)["approve"]
    _approve(session, crew["as"]["second"], post)
    assert post.status == PostStatus.APPROVED


def test_an_edit_before_the_last_submission_still_counts(session, crew):
    """Every revision shaped the text that is there now, so an edit while in draft counts too."""
    writer, editor = crew["as"][Role.WRITER], crew["as"][Role.EDITOR]
    post = create_draft(session=session, member=writer, character=crew["pip"],
                        content=PostContent.of_texts(["Draft."]))
    save_post(session=session, member=editor, post=post, expected_version=post.version,
              content=PostContent.of_texts(["Draft, tidied."]))
    save_post(session=session, member=writer, post=post, expected_version=post.version,
              content=PostContent.of_texts(["Draft, tidied and finished."]))
    submit_post(session=session, member=writer, post=post, expected_version=post.version)
    with pytest.raises(PermissionDenied, match="You changed this post's text"):
        _approve(session, editor, post)


def test_with_the_rule_off_the_editor_who_changed_it_approves(session, crew):
    post = _edited_by_editor(session, crew)
    crew["workspace"].two_person_rule = False
    editor = crew["as"][Role.EDITOR]
    assert allowed_actions(editor, post)["approve"]
    _approve(session, editor, post)
    assert post.status == PostStatus.APPROVED


def test_the_author_still_cannot_approve_their_own_post(session, crew):
    editor = crew["as"][Role.EDITOR]
    post = create_draft(session=session, member=editor, character=crew["pip"], content=PostContent.of_texts(["Mine."]))
    submit_post(session=session, member=editor, post=post, expected_version=post.version)
    with pytest.raises(PermissionDenied, match="You wrote or submitted this"):
        _approve(session, editor, post)
    assert not allowed_actions(editor, post)["approve"]


def test_an_editor_who_changed_a_scene_line_cannot_approve_the_scene(session, crew):
    writer, editor, second = crew["as"][Role.WRITER], crew["as"][Role.EDITOR], crew["as"]["second"]
    lines = [{"character_id": crew["bo"].id, "text": "Morning, Pip."},
             {"character_id": crew["pip"].id, "text": "Morning, Bo.", "delay_minutes": 5}]
    scene = create_scene(session=session, member=writer, data=SceneInput(title="Hello", lines=lines))
    submit_scene(session=session, member=writer, scene=scene, expected_version=scene.version)
    lines[1]["text"] = "Morning, Bo. Tea?"
    save_scene(session=session, member=editor, scene=scene, expected_version=scene.version,
               data=SceneInput(title="Hello", lines=lines))
    session.commit()
    assert scene.status == PostStatus.IN_REVIEW
    posts = scene_posts(session, scene)
    assert not scene_actions(editor, scene, posts)["approve"]
    assert scene_actions(second, scene, posts)["approve"]
    with pytest.raises(PermissionDenied, match="You changed this scene's text"):
        approve_scene(session=session, member=editor, scene=scene, expected_version=scene.version,
                      starts_at=utcnow() + timedelta(hours=2))
    session.rollback()
    assert session.get(Scene, scene.id).status == PostStatus.IN_REVIEW
    approve_scene(session=session, member=second, scene=scene, expected_version=scene.version,
                  starts_at=utcnow() + timedelta(hours=2))
    assert scene.status == PostStatus.APPROVED


@pytest.fixture
def queries(session):
    """The SQL statements run while the test runs (the listener is removed afterwards)."""
    seen = []

    def record(conn, cursor, statement, *args):
        seen.append(statement)

    engine = session.get_bind()
    event.listen(engine, "before_cursor_execute", record)
    yield seen
    event.remove(engine, "before_cursor_execute", record)


def test_one_query_per_check_and_one_for_a_whole_list(session, crew, queries):
    posts = [_in_review(session, crew, f"Post {n}.") for n in range(5)]
    editor = crew["as"][Role.EDITOR]
    save_post(session=session, member=editor, post=posts[2], expected_version=posts[2].version,
              content=PostContent.of_texts(["Changed."]))
    session.commit()
    for post in posts:
        session.refresh(post)
    queries.clear()
    assert allowed_actions(editor, posts[0])["approve"]
    assert len(queries) == 1
    edited = edited_posts(session, editor, posts)
    assert edited == {posts[2].id}
    assert len(queries) == 2
    assert [allowed_actions(editor, post, edited=edited)["approve"] for post in posts] == [True, True, False, True,
                                                                                            True]
    assert len(queries) == 2
