"""The audience inbox: filters and search, overdue, the header counts, and state changes with who and when."""

from datetime import timedelta

import pytest
from sqlalchemy import event
from sqlmodel import Session, select

from characters.core.errors import Conflict, DomainError, NotFound, PermissionDenied
from characters.core.models import AuditEvent, ConversationStatus, PostStatus, Role, utcnow
from characters.listening.inbox import (
    PAGE_SIZE,
    InboxFilters,
    View,
    assign_conversation,
    available_actions,
    change_state,
    dismiss_conversation,
    get_conversation,
    inbox_counts,
    is_overdue,
    list_conversations,
    mark_replied,
    reopen_conversation,
    unassign_conversation,
)
from characters.listening.replies import create_reply
from characters.posting.workflow import submit_post
from tests.characters.listening.inbox_world import fresh_checker_fixture, world_fixture  # noqa: F401 - fixtures
from tests.factories import make_character, make_conversation, make_user, make_workspace, member


def _ids(page):
    return [row.conversation.id for row in page.rows]


def test_waiting_conversations_come_oldest_first_and_others_newest_first(session: Session, world):
    owner = member(world["workspace"], world["owner"], Role.OWNER)
    older = make_conversation(session, world["character"], text="older", received_ago_minutes=90)
    done = make_conversation(session, world["character"], text="done", received_ago_minutes=30,
                             status=ConversationStatus.REPLIED, replied_at=utcnow())
    waiting = list_conversations(session, owner, InboxFilters())
    assert _ids(waiting) == [older.id, world["conversation"].id]
    assert waiting.rows[0].overdue
    assert not waiting.rows[1].overdue
    everything = list_conversations(session, owner, InboxFilters(view=View.ALL))
    assert _ids(everything) == [world["conversation"].id, done.id, older.id]
    assert _ids(list_conversations(session, owner, InboxFilters(view=View.OVERDUE))) == [older.id]
    assert _ids(list_conversations(session, owner, InboxFilters(view=View.REPLIED))) == [done.id]


def test_filters_by_character_network_assignee_and_search(session: Session, world):
    owner = member(world["workspace"], world["owner"], Role.OWNER)
    other = make_character(session, world["workspace"], world["owner"], "Otter Mascot")
    toot = make_conversation(session, other, network="mastodon", text="Otters rule 100% of rivers",
                             author_handle="kayak@social.example", author_name="Kayak Club")
    rtl = make_conversation(session, world["character"], author_name="مريم 🌊", author_handle="maryam.example",
                            text="שלום Walt!")
    assign_conversation(session, owner, rtl, expected=ConversationStatus.OPEN, assignee_id=world["writer"].id)
    session.commit()

    def ids(**filters):
        return set(_ids(list_conversations(session, owner, InboxFilters(**filters))))

    assert ids(character_id=other.id) == {toot.id}
    assert ids(network="mastodon") == {toot.id}
    assert ids(assignee=world["writer"].id) == {rtl.id}
    assert ids(assignee="none") == {toot.id, world["conversation"].id}
    assert ids(query="100%") == {toot.id}
    assert ids(query="100_") == set()  # LIKE's wildcards are searched for literally
    assert ids(query="KAYAK") == {toot.id}
    assert ids(query="مريم") == {rtl.id}
    assert ids(query="🌊") == {rtl.id}
    assert ids(query="שלום") == {rtl.id}
    writer = member(world["workspace"], world["writer"], Role.WRITER)
    assert set(_ids(list_conversations(session, writer, InboxFilters(assignee="me")))) == {rtl.id}


def test_a_page_costs_three_statements_whatever_it_holds(session: Session, world):
    owner = member(world["workspace"], world["owner"], Role.OWNER)
    for number in range(PAGE_SIZE + 5):
        make_conversation(session, world["character"], text=f"number {number}", received_ago_minutes=number)
    statements: list[str] = []
    engine = session.get_bind()
    listener = lambda *args: statements.append(args[2])  # noqa: E731
    event.listen(engine, "before_cursor_execute", listener)
    try:
        first = list_conversations(session, owner, InboxFilters(query="number"))
        second = list_conversations(session, owner, InboxFilters(query="number", page=2))
    finally:
        event.remove(engine, "before_cursor_execute", listener)
    # per page: the count, the rows, and the replies under way
    assert len([s for s in statements if s.lstrip().upper().startswith("SELECT")]) == 6
    assert (first.total, first.pages, len(first.rows), len(second.rows)) == (PAGE_SIZE + 5, 2, PAGE_SIZE, 5)
    assert list_conversations(session, owner, InboxFilters(page=99)).page == 2  # past the end: the last page


def test_each_row_says_whether_a_reply_is_under_way(session: Session, world):
    writer = member(world["workspace"], world["writer"], Role.WRITER)
    answered = world["conversation"]
    untouched = make_conversation(session, world["character"], text="Any news from the ferry, Walt?")
    reply = create_reply(session, writer, answered, "The ferry runs at nine, friend. Bring a coat.")
    submit_post(session=session, member=writer, post=reply, expected_version=reply.version)
    rows = {row.conversation.id: row for row in list_conversations(session, writer, InboxFilters()).rows}
    assert rows[answered.id].reply_status is PostStatus.IN_REVIEW
    assert rows[untouched.id].reply_status is None


def test_overdue_is_waiting_longer_than_the_workspaces_target(session: Session, world):
    workspace = world["workspace"]
    conversation = world["conversation"]  # received 5 minutes ago
    now = utcnow()
    assert not is_overdue(conversation, workspace, now)
    workspace.response_target_minutes = 3
    assert is_overdue(conversation, workspace, now)
    assert inbox_counts(session, workspace, now).overdue == 1
    conversation.gone_at = now  # deleted by its author: nothing to answer, not overdue
    assert not is_overdue(conversation, workspace, now)


def test_the_header_counts_waiting_and_overdue_in_one_statement(session: Session, world):
    make_conversation(session, world["character"], received_ago_minutes=120)
    make_conversation(session, world["character"], received_ago_minutes=200, status=ConversationStatus.DISMISSED)
    make_conversation(session, world["character"], received_ago_minutes=300, gone_at=utcnow())
    counts = inbox_counts(session, world["workspace"])
    assert (counts.waiting, counts.overdue) == (2, 1)


def test_state_changes_record_who_and_when(session: Session, world):
    writer = member(world["workspace"], world["writer"], Role.WRITER)
    editor = member(world["workspace"], world["editor"], Role.EDITOR)
    conversation = world["conversation"]
    assign_conversation(session, writer, conversation, expected="open")
    assert (conversation.status, conversation.assignee_id) == ("assigned", world["writer"].id)
    assert conversation.status_changed_by_id == world["writer"].id
    assert conversation.status_changed_at is not None
    unassign_conversation(session, writer, conversation, expected="assigned")
    assign_conversation(session, editor, conversation, expected="open", assignee_id=world["writer"].id)
    dismiss_conversation(session, editor, conversation, expected="assigned", reason="Spam")
    reopen_conversation(session, writer, conversation, expected="dismissed")
    mark_replied(session, writer, conversation, expected="open")
    assert conversation.status == "replied"
    assert conversation.replied_at is not None
    session.commit()
    events = session.exec(select(AuditEvent).where(AuditEvent.action.startswith("conversation_"))
                          .order_by(AuditEvent.id)).all()
    rows = [(e.action, e.from_status, e.to_status, e.actor_id) for e in events]
    assert rows == [
        ("conversation_assigned", "open", "assigned", world["writer"].id),
        ("conversation_unassigned", "assigned", "open", world["writer"].id),
        ("conversation_assigned", "open", "assigned", world["editor"].id),
        ("conversation_dismissed", "assigned", "dismissed", world["editor"].id),
        ("conversation_reopened", "dismissed", "open", world["writer"].id),
        ("conversation_marked_replied", "open", "replied", world["writer"].id),
    ]
    assert all(e.details["conversation_id"] == conversation.id for e in events)
    assert events[3].reason == "Spam"
    assert events[2].details["assignee"] == world["writer"].display_name


def test_a_stale_status_is_refused_and_nothing_changes(session: Session, world):
    writer = member(world["workspace"], world["writer"], Role.WRITER)
    editor = member(world["workspace"], world["editor"], Role.EDITOR)
    conversation = world["conversation"]
    dismiss_conversation(session, editor, conversation, expected="open")
    session.commit()
    # The writer's page still showed it open: taking it now must not silently undo the editor's decision.
    stale = get_conversation(session, world["workspace"], conversation.id)
    with pytest.raises(Conflict, match="now dismissed"):
        assign_conversation(session, writer, stale, expected="open")
    session.rollback()
    assert get_conversation(session, world["workspace"], conversation.id).status == "dismissed"
    assert len(session.exec(select(AuditEvent).where(AuditEvent.action.startswith("conversation_"))).all()) == 1


def test_who_may_do_what(session: Session, world):
    writer = member(world["workspace"], world["writer"], Role.WRITER)
    viewer = member(world["workspace"], world["viewer"], Role.VIEWER)
    conversation = world["conversation"]
    with pytest.raises(PermissionDenied):
        dismiss_conversation(session, viewer, conversation, expected="open")
    with pytest.raises(PermissionDenied, match="editors assign"):
        assign_conversation(session, writer, conversation, expected="open", assignee_id=world["editor"].id)
    with pytest.raises(DomainError, match="member of this workspace"):
        assign_conversation(session, member(world["workspace"], world["editor"], Role.EDITOR), conversation,
                            expected="open", assignee_id=world["viewer"].id)
    with pytest.raises(DomainError, match="cannot be reopened"):
        reopen_conversation(session, writer, conversation, expected="open")
    with pytest.raises(DomainError, match="Unknown action"):
        change_state(session, writer, conversation, "explode", expected="open")
    assert available_actions(viewer, conversation) == dict.fromkeys(available_actions(viewer, conversation), False)
    assert available_actions(writer, conversation)["take"]


def test_a_gone_conversation_cannot_be_taken_but_can_be_dismissed(session: Session, world):
    writer = member(world["workspace"], world["writer"], Role.WRITER)
    conversation = make_conversation(session, world["character"], gone_at=utcnow() - timedelta(minutes=1))
    with pytest.raises(DomainError, match="deleted"):
        assign_conversation(session, writer, conversation, expected="open")
    dismiss_conversation(session, writer, conversation, expected="open")
    assert conversation.status == "dismissed"


def test_another_workspaces_conversation_is_not_found(session: Session, world):
    stranger = make_user(session, "stranger@else.example")
    elsewhere = make_workspace(session, stranger, "elsewhere")
    theirs = make_conversation(session, make_character(session, elsewhere, stranger, "Their Character"))
    with pytest.raises(NotFound):
        get_conversation(session, world["workspace"], theirs.id)
    owner = member(world["workspace"], world["owner"], Role.OWNER)
    assert theirs.id not in _ids(list_conversations(session, owner, InboxFilters(view=View.ALL)))
