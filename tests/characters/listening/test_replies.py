"""Replies in character: a post for the conversation's channel only, that fits the network, reviewed by a second
person unless the owners let editors send their own; the setting is the owners' and audited.
"""

from datetime import timedelta

import pytest
from sqlmodel import Session, select

from characters.core.errors import DomainError, PermissionDenied
from characters.core.models import AuditEvent, Channel, ChannelKind, Delivery, PostStatus, Role, utcnow
from characters.listening.inbox import post_label
from characters.listening.replies import (
    approve_reply,
    create_reply,
    disabled_note,
    reply_context,
    reply_limit,
    send_own_reply,
    set_editors_send_replies,
    subject_of,
    thread_of,
)
from characters.posting.planning import suggested_time, suggested_times
from characters.posting.posts import PostContent
from characters.posting.workflow import save_post, submit_post
from tests.characters.listening.inbox_world import fresh_checker_fixture, world_fixture  # noqa: F401 - fixtures
from tests.factories import make_conversation, member

REPLY = "The river is open from nine, friend. Bring a jacket."


def _actions(session: Session) -> list[tuple[str, int | None]]:
    events = session.exec(select(AuditEvent).order_by(AuditEvent.id)).all()
    return [(event.action, event.actor_id) for event in events
            if event.action in ("reply_draft", "submit", "approve", "reply_sent_own", "settings_change")]


def test_a_reply_is_a_draft_for_the_conversations_channel_only(session: Session, world):
    writer = member(world["workspace"], world["writer"], Role.WRITER)
    conversation = world["conversation"]
    # Another channel of the same character must not get the reply.
    session.add(Channel(workspace_id=world["workspace"].id, character_id=world["character"].id,
                        kind=ChannelKind.MASTODON, label="Walt on Mastodon"))
    session.flush()
    post = create_reply(session, writer, conversation, REPLY)
    session.commit()
    assert post.conversation_id == conversation.id
    assert post.character_id == conversation.character_id
    assert post.status == PostStatus.DRAFT
    deliveries = session.exec(select(Delivery).where(Delivery.post_id == post.id)).all()
    assert [delivery.channel_id for delivery in deliveries] == [conversation.channel_id]
    # Starting a reply takes the open conversation.
    assert (conversation.status, conversation.assignee_id) == ("assigned", world["writer"].id)
    with pytest.raises(DomainError, match="already on its way"):
        create_reply(session, writer, conversation, "Another one")


def test_the_reply_must_fit_the_network_and_say_something(session: Session, world):
    writer = member(world["workspace"], world["writer"], Role.WRITER)
    conversation = world["conversation"]
    assert reply_limit(conversation) == 300
    with pytest.raises(DomainError, match="Write the reply"):
        create_reply(session, writer, conversation, "   \n ")
    with pytest.raises(DomainError, match="at most 300"):
        create_reply(session, writer, conversation, "a" * 301)
    with pytest.raises(DomainError, match="100,000 characters"):
        create_reply(session, writer, conversation, "a" * 100_000)
    # Bluesky counts graphemes: 300 family emoji are 300 characters, though many more code points.
    family = "👨‍👩‍👧"
    post = create_reply(session, writer, conversation, family * 300)
    assert post.id is not None
    toot = make_conversation(session, world["character"], network="mastodon")
    assert reply_limit(toot) == 500


def test_no_reply_to_a_gone_or_dismissed_conversation_or_without_its_channel(session: Session, world):
    writer = member(world["workspace"], world["writer"], Role.WRITER)
    gone = make_conversation(session, world["character"], gone_at=utcnow())
    with pytest.raises(DomainError, match="deleted"):
        create_reply(session, writer, gone, REPLY)
    dismissed = make_conversation(session, world["character"], status="dismissed")
    with pytest.raises(DomainError, match="reopen"):
        create_reply(session, writer, dismissed, REPLY)
    orphan = make_conversation(session, world["character"])
    orphan.channel_id = None
    session.add(orphan)
    session.flush()
    with pytest.raises(DomainError, match="removed"):
        create_reply(session, writer, orphan, REPLY)
    viewer = member(world["workspace"], world["viewer"], Role.VIEWER)
    with pytest.raises(PermissionDenied):
        create_reply(session, viewer, world["conversation"], REPLY)


def test_the_two_person_rule_holds_for_replies(session: Session, world):
    editor = member(world["workspace"], world["editor"], Role.EDITOR)
    owner = member(world["workspace"], world["owner"], Role.OWNER)
    post = create_reply(session, editor, world["conversation"], REPLY)
    submit_post(session=session, member=editor, post=post, expected_version=post.version)
    with pytest.raises(PermissionDenied, match="two-person rule"):
        approve_reply(session, editor, post, expected_version=post.version)
    with pytest.raises(PermissionDenied, match="second person"):
        send_own_reply(session, editor, post, expected_version=post.version)
    before = utcnow()
    approve_reply(session, owner, post, expected_version=post.version)
    # Approved: it goes out at once (a moment from now), on the conversation's channel.
    assert post.status == PostStatus.APPROVED
    assert post.due_at is not None
    assert post.due_at - before < timedelta(minutes=1)
    delivery = session.exec(select(Delivery).where(Delivery.post_id == post.id)).one()
    assert delivery.due_at == post.due_at
    assert delivery.idempotency_key


def test_a_scheduled_approval_waits_for_its_time(session: Session, world):
    writer = member(world["workspace"], world["writer"], Role.WRITER)
    editor = member(world["workspace"], world["editor"], Role.EDITOR)
    post = create_reply(session, writer, world["conversation"], REPLY)
    submit_post(session=session, member=writer, post=post, expected_version=post.version)
    later = utcnow() + timedelta(hours=3)
    approve_reply(session, editor, post, expected_version=post.version, due_at=later)
    assert post.due_at == later
    with pytest.raises(DomainError, match="approved cannot be approved"):
        approve_reply(session, editor, post, expected_version=post.version)


def test_editors_may_send_their_own_replies_when_an_owner_allows_it(session: Session, world):
    owner = member(world["workspace"], world["owner"], Role.OWNER)
    editor = member(world["workspace"], world["editor"], Role.EDITOR)
    writer = member(world["workspace"], world["writer"], Role.WRITER)
    with pytest.raises(PermissionDenied, match="Only owners"):
        set_editors_send_replies(session, editor, True)
    assert set_editors_send_replies(session, owner, True)
    assert not set_editors_send_replies(session, owner, True)  # no change, no second audit row
    post = create_reply(session, editor, world["conversation"], REPLY)
    send_own_reply(session, editor, post, expected_version=post.version)
    assert post.status == PostStatus.APPROVED
    assert post.approved_by_id == world["editor"].id
    # Writers still need an editor, whatever the setting.
    other = make_conversation(session, world["character"])
    draft = create_reply(session, writer, other, REPLY)
    with pytest.raises(PermissionDenied):
        send_own_reply(session, writer, draft, expected_version=draft.version)
    session.commit()
    actions = _actions(session)
    assert actions[0] == ("settings_change", world["owner"].id)
    assert ("reply_sent_own", world["editor"].id) in actions
    assert [a for a, _ in actions].count("settings_change") == 1
    change = session.exec(select(AuditEvent).where(AuditEvent.action == "settings_change")).one()
    assert change.details == {"editors_send_replies": "False → True"}


def test_the_thread_ends_with_the_conversation_and_the_drafting_context_names_who_said_what(session, world):
    character = world["character"]
    conversation = make_conversation(session, character, text="Is it open?", author_handle="fan.example",
                                     author_name="مريم", thread=[
                                         {"author_handle": "walt.example", "author_name": "Walt Test",
                                          "text": "Fresh water today.", "url": "https://x/1", "is_character": True},
                                         {"author_handle": "fan.example", "author_name": "مريم",
                                          "text": "Is it open?", "url": "https://x/2"}])
    conversation.url = "https://x/2"
    items = thread_of(conversation)
    assert [(item.is_character, item.is_this) for item in items] == [(True, False), (False, True)]
    context = reply_context(conversation, character.name)
    assert context == "Walt Test (you): Fresh water today.\n@fan.example (مريم): Is it open?"
    # A thread longer than the drafting help takes keeps the post answered and the latest before it.
    long = [{"author_handle": f"fan{n}", "text": f"message {n} " + "x" * 80} for n in range(150)]
    conversation.thread = long
    context = reply_context(conversation, character.name)
    assert len(context) <= 3_500
    assert context.startswith("…\n")
    assert context.endswith("@fan.example (مريم): Is it open?")


def test_a_reply_approved_from_the_review_inbox_defaults_to_now_not_the_next_slot(session: Session, world):
    writer = member(world["workspace"], world["writer"], Role.WRITER)
    post = create_reply(session, writer, world["conversation"], REPLY)
    now = utcnow()
    # The character's rhythm has a free slot later today; the audience should not wait for it.
    assert suggested_time(session, post, world["character"], now) == now
    assert suggested_times(session, [(post, world["character"])], {world["character"].id: now + timedelta(hours=5)},
                           now) == {post.id: now}
    planned = now + timedelta(minutes=30)
    post.due_at = planned
    assert suggested_time(session, post, world["character"], now) == planned


def test_editing_a_reply_in_the_post_editor_keeps_it_on_the_conversations_channel(session: Session, world):
    writer = member(world["workspace"], world["writer"], Role.WRITER)
    conversation = world["conversation"]
    other = Channel(workspace_id=world["workspace"].id, character_id=world["character"].id,
                    kind=ChannelKind.MASTODON, label="Walt on Mastodon")
    session.add(other)
    session.flush()
    post = create_reply(session, writer, conversation, REPLY)
    for channel_ids in ([other.id], []):  # another channel picked, or none (which means the feed for a post)
        save_post(session=session, member=writer, post=post, expected_version=post.version,
                  content=PostContent.of_texts(["Edited: " + REPLY], channel_ids=channel_ids))
        deliveries = session.exec(select(Delivery).where(Delivery.post_id == post.id)).all()
        assert [delivery.channel_id for delivery in deliveries] == [conversation.channel_id]


def test_a_disabled_channel_takes_a_reply_through_review_as_it_takes_posts(session: Session, world):
    writer = member(world["workspace"], world["writer"], Role.WRITER)
    editor = member(world["workspace"], world["editor"], Role.EDITOR)
    conversation = world["conversation"]
    channel = session.get(Channel, conversation.channel_id)
    assert disabled_note(channel) is None
    channel.disabled_at = utcnow()
    session.add(channel)
    session.flush()
    note = disabled_note(channel)
    assert note is not None
    assert "is disabled" in note
    assert "nothing was sent" in note
    # Written, submitted and approved like any post; its one delivery is the disabled channel, on the clock (the
    # scheduler fails it with "nothing was sent" if the channel is still disabled when it is due).
    post = create_reply(session, writer, conversation, REPLY)
    submit_post(session=session, member=writer, post=post, expected_version=post.version)
    approve_reply(session, editor, post, expected_version=post.version)
    assert post.status == PostStatus.APPROVED
    delivery = session.exec(select(Delivery).where(Delivery.post_id == post.id)).one()
    assert (delivery.channel_id, delivery.due_at) == (channel.id, post.due_at)
    assert [event.action for event in session.exec(select(AuditEvent).where(AuditEvent.post_id == post.id)
                                                   .order_by(AuditEvent.id))] == ["reply_draft", "submit", "approve"]


def test_the_page_names_the_post_answered_and_labels_the_conversations_post_by_state(session: Session, world):
    writer = member(world["workspace"], world["writer"], Role.WRITER)
    conversation = world["conversation"]
    assert subject_of(session, conversation) is None
    own = create_reply(session, writer, make_conversation(session, world["character"]), "Fresh water today, friends.")
    conversation.subject_post_id = own.id
    subject = subject_of(session, conversation)
    assert subject is not None
    assert (subject.post_id, subject.text) == (own.id, "Fresh water today, friends.")
    labels = {}
    for status, gone in (("open", None), ("assigned", None), ("replied", None), ("dismissed", None),
                         ("open", utcnow())):
        conversation.status, conversation.gone_at = status, gone
        labels[(status, gone is not None)] = post_label(conversation)
    assert labels == {("open", False): "to answer", ("assigned", False): "to answer",
                      ("replied", False): "answered", ("dismissed", False): "dismissed",
                      ("open", True): "deleted by its author"}
