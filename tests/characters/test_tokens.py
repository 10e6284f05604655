"""Personal access tokens: shown once, stored hashed, scoped, bound to one member's current role."""

from datetime import timedelta

import pytest
from pydantic import ValidationError
from sqlmodel import select

from characters.accounts.tokens import (
    LAST_USED_RESOLUTION,
    MAX_ACTIVE_TOKENS,
    TOKEN_PREFIX,
    TokenCreate,
    authenticate_token,
    create_token,
    hash_token,
    mark_used,
    revoke_token,
    tokens_for,
)
from characters.accounts.workspaces import remove_member, set_member_role
from characters.core.errors import DomainError, NotFound
from characters.core.models import ApiToken, Role, TokenScope, utcnow
from tests.factories import make_user, make_workspace, member, workspace_with_roles


@pytest.fixture
def people(session):
    return workspace_with_roles(session)


def _new(session, people, role="writer", scope=TokenScope.WRITE, name="script"):
    created = create_token(session=session, member=member(people["workspace"], people[role], Role(role)),
                           token_create=TokenCreate(name=name, scope=scope))
    session.commit()
    return created


def test_the_secret_is_recognisable_long_and_only_its_hash_is_stored(session, people):
    created = _new(session, people)
    assert created.secret.startswith(TOKEN_PREFIX)
    assert len(created.secret) > 40
    row = session.exec(select(ApiToken)).one()
    assert row.token_hash == hash_token(created.secret)
    assert created.secret not in row.token_hash
    assert row.prefix == created.secret[:12]
    assert row.scope == TokenScope.WRITE
    assert _new(session, people).secret != created.secret


def test_a_write_token_acts_with_its_users_current_role(session, people):
    secret = _new(session, people, "editor").secret
    access = authenticate_token(session, secret)
    assert access is not None
    assert access.member.role is Role.EDITOR
    assert access.member.user.id == people["editor"].id
    set_member_role(session=session, workspace=people["workspace"], user=people["editor"], role=Role.WRITER)
    session.commit()
    assert authenticate_token(session, secret).member.role is Role.WRITER


def test_a_read_token_acts_as_a_viewer_whatever_the_role(session, people):
    access = authenticate_token(session, _new(session, people, "owner", TokenScope.READ).secret)
    assert access.scope is TokenScope.READ
    assert access.member.role is Role.VIEWER


@pytest.mark.parametrize("secret", ["", "grn_", "grn_nope", "ghp_" + "x" * 43, "grn_" + "x" * 300])
def test_unknown_tokens_authenticate_nobody(session, people, secret):
    _new(session, people)
    assert authenticate_token(session, secret) is None


def test_revoked_tokens_and_removed_or_inactive_members_stop_working(session, people):
    revoked, removed, inactive = (_new(session, people, role) for role in ("writer", "viewer", "editor"))
    revoke_token(session=session, member=member(people["workspace"], people["writer"], Role.WRITER),
                 token_id=revoked.token.id)
    remove_member(session=session, workspace=people["workspace"], user=people["viewer"])
    people["editor"].is_active = False
    session.add(people["editor"])
    session.commit()
    assert [authenticate_token(session, t.secret) for t in (revoked, removed, inactive)] == [None, None, None]


def test_removing_a_member_revokes_their_tokens_so_re_adding_them_does_not_revive_them(session, people):
    writer_token, owner_token = _new(session, people, "writer"), _new(session, people, "owner")
    remove_member(session=session, workspace=people["workspace"], user=people["writer"])
    set_member_role(session=session, workspace=people["workspace"], user=people["writer"], role=Role.WRITER)
    session.commit()
    assert authenticate_token(session, writer_token.secret) is None
    assert session.get(ApiToken, writer_token.token.id).revoked_at is not None
    assert authenticate_token(session, owner_token.secret) is not None  # nobody else's


def test_removal_revokes_only_the_tokens_of_that_workspace(session, people):
    elsewhere = make_workspace(session, people["owner"], "elsewhere")
    set_member_role(session=session, workspace=elsewhere, user=people["writer"], role=Role.WRITER)
    other = create_token(session=session, member=member(elsewhere, people["writer"], Role.WRITER),
                         token_create=TokenCreate(name="other"))
    session.commit()
    remove_member(session=session, workspace=people["workspace"], user=people["writer"])
    session.commit()
    assert authenticate_token(session, other.secret) is not None


def test_members_see_their_own_tokens_and_owners_see_everyones(session, people):
    _new(session, people, "writer", name="mine")
    _new(session, people, "editor", name="theirs")
    writer = member(people["workspace"], people["writer"], Role.WRITER)
    owner = member(people["workspace"], people["owner"], Role.OWNER)
    assert [token.name for token, _ in tokens_for(session, writer)] == ["mine"]
    assert {token.name for token, _ in tokens_for(session, owner)} == {"mine", "theirs"}


def test_only_the_creator_or_an_owner_may_revoke(session, people):
    created = _new(session, people, "editor")
    with pytest.raises(NotFound):
        revoke_token(session=session, member=member(people["workspace"], people["writer"], Role.WRITER),
                     token_id=created.token.id)
    owner = member(people["workspace"], people["owner"], Role.OWNER)
    first = revoke_token(session=session, member=owner, token_id=created.token.id).revoked_at
    assert first is not None
    assert revoke_token(session=session, member=owner, token_id=created.token.id).revoked_at == first


def test_a_token_of_another_workspace_cannot_be_revoked_from_here(session, people):
    created = _new(session, people, "owner")
    stranger = make_user(session, "stranger@elsewhere.example")
    elsewhere = make_workspace(session, stranger, "elsewhere")
    with pytest.raises(NotFound):
        revoke_token(session=session, member=member(elsewhere, stranger, Role.OWNER), token_id=created.token.id)


def test_names_are_required_and_active_tokens_are_limited(session, people):
    with pytest.raises(ValidationError):
        TokenCreate(name="   ", scope=TokenScope.READ)
    for number in range(MAX_ACTIVE_TOKENS):
        _new(session, people, name=f"t{number}")
    with pytest.raises(DomainError, match="revoke one"):
        _new(session, people)


def test_use_is_recorded_at_most_once_a_minute(session, people):
    token = _new(session, people).token
    now = utcnow()
    assert mark_used(session, token, now) is True
    assert mark_used(session, token, now + LAST_USED_RESOLUTION - timedelta(seconds=1)) is False
    assert mark_used(session, token, now + LAST_USED_RESOLUTION) is True
    assert token.last_used_at == now + LAST_USED_RESOLUTION
