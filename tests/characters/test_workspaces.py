from datetime import timedelta

import pytest
from pydantic import ValidationError

from characters.accounts.workspaces import (
    Action,
    WorkspaceCreate,
    accept_invite,
    create_invite,
    create_workspace,
    find_invite,
    membership_for,
    remove_member,
    set_member_role,
    update_settings,
    workspaces_for,
)
from characters.core.errors import Conflict, NotFound, PermissionDenied
from characters.core.models import Role
from tests.factories import make_user, make_workspace, member, workspace_with_roles


@pytest.mark.parametrize(("role", "allowed", "refused"), [
    (Role.VIEWER, {Action.VIEW}, {Action.DRAFT, Action.SUBMIT, Action.APPROVE, Action.EDIT_BIBLE}),
    (Role.WRITER, {Action.VIEW, Action.DRAFT, Action.SUBMIT}, {Action.APPROVE, Action.EDIT_BIBLE,
                                                               Action.MANAGE_MEMBERS}),
    (Role.EDITOR, {Action.APPROVE, Action.SCHEDULE, Action.EDIT_BIBLE}, {Action.MANAGE_MEMBERS,
                                                                        Action.MANAGE_CHANNELS}),
    (Role.OWNER, set(Action), set()),
])
def test_roles_decide_actions(session, role, allowed, refused):
    people = workspace_with_roles(session)
    user = people["owner"] if role is Role.OWNER else people[role.value]
    standing = member(people["workspace"], user, role)
    assert all(standing.can(action) for action in allowed)
    assert not any(standing.can(action) for action in refused)
    for action in refused:
        with pytest.raises(PermissionDenied):
            standing.require(action)


def test_writers_may_edit_bibles_when_the_workspace_allows(session):
    people = workspace_with_roles(session)
    writer = member(people["workspace"], people["writer"], Role.WRITER)
    assert not writer.can(Action.EDIT_BIBLE)
    people["workspace"].writers_edit_bibles = True
    assert writer.can(Action.EDIT_BIBLE)


def test_duplicate_slug_is_a_clear_conflict(session):
    owner = make_user(session)
    make_workspace(session, owner, "fans")
    with pytest.raises(Conflict, match="taken"):
        create_workspace(session=session, owner=owner, workspace_create=WorkspaceCreate(slug="fans", name="Again"))


@pytest.mark.parametrize("slug", ["", "Has Space", "-edge", "edge-", "ünï", "a" * 65, "semi;colon"])
def test_bad_slugs_are_refused(slug):
    with pytest.raises(ValidationError):
        WorkspaceCreate(slug=slug, name="X")


def test_non_members_get_not_found(session):
    people = workspace_with_roles(session)
    stranger = make_user(session, "stranger@example.com")
    with pytest.raises(NotFound):
        membership_for(session, stranger, people["workspace"].slug)
    assert membership_for(session, people["writer"], "fans").role is Role.WRITER


def test_last_owner_cannot_leave_or_be_demoted(session):
    people = workspace_with_roles(session)
    with pytest.raises(Conflict, match="at least one owner"):
        set_member_role(session=session, workspace=people["workspace"], user=people["owner"], role=Role.WRITER)
    with pytest.raises(Conflict):
        remove_member(session=session, workspace=people["workspace"], user=people["owner"])
    set_member_role(session=session, workspace=people["workspace"], user=people["editor"], role=Role.OWNER)
    remove_member(session=session, workspace=people["workspace"], user=people["owner"])
    assert [w.slug for w, _ in workspaces_for(session, people["owner"])] == []


def test_invite_joins_with_its_role_once(session):
    people = workspace_with_roles(session)
    owner = member(people["workspace"], people["owner"], Role.OWNER)
    token = create_invite(session=session, member=owner, role=Role.EDITOR)
    newcomer = make_user(session, "new@example.com")
    accept_invite(session=session, token=token, user=newcomer)
    assert membership_for(session, newcomer, "fans").role is Role.EDITOR
    with pytest.raises(NotFound, match="already been used"):
        find_invite(session, token)


def test_expired_and_bogus_invites_are_refused(session):
    people = workspace_with_roles(session)
    owner = member(people["workspace"], people["owner"], Role.OWNER)
    token = create_invite(session=session, member=owner, role=Role.WRITER, lifetime=timedelta(seconds=-1))
    with pytest.raises(NotFound, match="expired"):
        find_invite(session, token)
    with pytest.raises(NotFound, match="not valid"):
        find_invite(session, "nonsense")


def test_only_owners_invite_and_change_settings(session):
    people = workspace_with_roles(session)
    editor = member(people["workspace"], people["editor"], Role.EDITOR)
    with pytest.raises(PermissionDenied):
        create_invite(session=session, member=editor, role=Role.OWNER)
    with pytest.raises(PermissionDenied):
        update_settings(session=session, member=editor, name="X", two_person_rule=False, writers_edit_bibles=True)
