from collections import Counter
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from sqlmodel import col, select

from characters.accounts.users import authenticate
from characters.analytics.collect import SCHEDULE
from characters.analytics.hours import best_hours_of
from characters.bibles.bible import current_card, list_characters
from characters.core.models import (
    AuditEvent,
    Channel,
    ChannelKind,
    Conversation,
    ConversationStatus,
    Delivery,
    DeliveryStatus,
    EngagementSnapshot,
    FollowerSnapshot,
    Notification,
    Post,
    PostStatus,
    Workspace,
)
from characters.demo.activity import DEMO_MARK, seed_demo_activity
from characters.demo.seed import DEMO_LOGINS, DEMO_PASSWORD, load_demo_cards, seed_demo
from characters.listening.inbox import InboxCounts, inbox_counts
from characters.listening.replies import replies_of


def test_demo_cards_are_complete_original_personas():
    cards = load_demo_cards()
    assert len(cards) == 3
    for card in cards:
        greenroom = card.greenroom
        assert card.description
        assert card.personality
        assert card.scenario
        assert card.first_mes
        assert card.mes_example
        assert card.character_book is not None
        assert len(card.character_book.entries) >= 4
        assert len(greenroom.canon_posts) >= 10
        assert greenroom.timezone
        assert greenroom.voice.pov != "any"
        assert greenroom.rhythm.slots
        assert greenroom.vocabulary.banned


def test_seed_demo_twice_creates_everything_once(session):
    first = seed_demo(session)
    session.commit()
    second = seed_demo(session)
    session.commit()
    assert first.id == second.id
    characters = list_characters(session, first)
    assert sorted(c.name for c in characters) == ["Dez Okafor", "Pip the Otter", "Professor Elinor Marsh"]
    assert all(current_card(session, c).greenroom.canon_posts for c in characters)
    assert len(session.exec(select(Post)).all()) == 3
    for login in DEMO_LOGINS:
        assert authenticate(session, login.email, DEMO_PASSWORD) is not None


NOW = datetime(2026, 12, 3, 18, 30, tzinfo=UTC)


def _seeded(session) -> Workspace:
    workspace = seed_demo(session)
    session.commit()
    assert seed_demo_activity(session, workspace.slug, now=NOW)
    return workspace


def _row_counts(session) -> dict[str, int]:
    return {model.__name__: len(session.exec(select(model)).all())
            for model in (Channel, Post, Delivery, Conversation, EngagementSnapshot, FollowerSnapshot, AuditEvent,
                          Notification)}


def test_demo_activity_fills_the_inbox(session):
    workspace = _seeded(session)
    conversations = session.exec(select(Conversation).order_by(col(Conversation.received_at))).all()
    assert 12 <= len(conversations) <= 20
    statuses = Counter(conversation.status for conversation in conversations)
    assert statuses[ConversationStatus.REPLIED] >= 3
    assert statuses[ConversationStatus.DISMISSED] == 1
    assert statuses[ConversationStatus.ASSIGNED] == 2
    assert inbox_counts(session, workspace, NOW) == InboxCounts(waiting=9, overdue=1)
    assert {conversation.reason for conversation in conversations} == {"mention", "reply", "quote"}
    assert {conversation.network for conversation in conversations} == {"bluesky", "mastodon"}
    assert sum(conversation.is_question for conversation in conversations) >= 3
    assert sum(conversation.is_negative for conversation in conversations) == 2
    returning = [conversation for conversation in conversations if not conversation.first_time_author]
    assert {conversation.author_handle for conversation in returning} == {"marisol.demo.invalid",
                                                                        "taxitam.demo.invalid"}
    assert any("🦦" in conversation.author_name for conversation in conversations)
    assert any("מרים" in conversation.author_name for conversation in conversations)
    assert min(conversation.received_at for conversation in conversations) < NOW - timedelta(days=5)
    for conversation in conversations:
        assert conversation.received_at.tzinfo is not None
        assert conversation.received_at <= NOW
        assert conversation.thread_fetched_at is not None
        assert conversation.thread
        assert conversation.thread[-1]["uri"] == conversation.network_id
        if conversation.reason != "mention":  # a reply or quote answers one of the character's published posts
            subject = session.get(Post, conversation.subject_post_id)
            assert subject is not None
            assert subject.status == PostStatus.PUBLISHED
            assert subject.character_id == conversation.character_id
            assert conversation.thread[0]["is_character"] is True
            assert subject.published_at is not None
            assert subject.published_at < conversation.posted_at
        if conversation.status == ConversationStatus.REPLIED:
            assert conversation.replied_at is not None
            assert conversation.replied_at > conversation.received_at


def test_one_demo_conversation_shows_its_sent_reply(session):
    _seeded(session)
    replies = session.exec(select(Post).where(col(Post.conversation_id).is_not(None))).all()
    assert len(replies) == 1
    conversation = session.get(Conversation, replies[0].conversation_id)
    assert conversation is not None
    assert conversation.status == ConversationStatus.REPLIED
    (post, text, delivery), = replies_of(session, conversation)
    assert post.status == PostStatus.PUBLISHED
    assert "Kenji" in text
    assert delivery is not None
    assert delivery.channel_id == conversation.channel_id
    assert delivery.status == DeliveryStatus.PUBLISHED
    assert delivery.remote_url


def test_demo_channels_are_marked_disabled_and_cannot_reach_a_network(session):
    _seeded(session)
    channels = [channel for channel in session.exec(select(Channel)).all() if channel.kind != ChannelKind.FEED]
    assert {channel.kind for channel in channels} == {ChannelKind.BLUESKY, ChannelKind.MASTODON}
    for channel in channels:
        assert channel.disabled_at is not None
        assert channel.secret_token is None
        assert channel.session_token is None
        assert channel.settings[DEMO_MARK] is True
        assert "demo" in channel.label
        address = channel.settings.get("service_url") or channel.settings.get("api_base_url")
        assert urlsplit(address).hostname.endswith(".invalid")
    # Every delivery to them is already published: the publisher has nothing to send there.
    deliveries = session.exec(select(Delivery).where(col(Delivery.channel_id).in_([c.id for c in channels]))).all()
    assert deliveries
    assert {delivery.status for delivery in deliveries} == {DeliveryStatus.PUBLISHED}


def test_demo_posts_have_numbers_over_their_schedule(session):
    workspace = _seeded(session)
    deliveries = session.exec(select(Delivery).where(Delivery.status == DeliveryStatus.PUBLISHED)).all()
    assert len(deliveries) >= 20
    for delivery in deliveries:
        snapshots = session.exec(select(EngagementSnapshot).where(EngagementSnapshot.delivery_id == delivery.id)
                                 .order_by(col(EngagementSnapshot.taken_at))).all()
        assert snapshots, delivery.id
        assert [s.likes for s in snapshots] == sorted(s.likes for s in snapshots)  # numbers grow, then settle
        assert snapshots[-1].likes == delivery.likes
        assert delivery.metrics_at == snapshots[-1].taken_at
        assert delivery.published_at is not None
        for snapshot in snapshots:
            assert snapshot.taken_at - delivery.published_at in SCHEDULE
        # The next refresh is ahead of the seed's now: nothing was due and left behind.
        assert delivery.metrics_due_at is None or delivery.metrics_due_at > NOW
    assert len({len(session.exec(select(EngagementSnapshot).where(EngagementSnapshot.delivery_id == d.id)).all())
                for d in deliveries}) >= 3  # young posts have fewer readings than old ones
    followers = session.exec(select(FollowerSnapshot).order_by(col(FollowerSnapshot.taken_at))).all()
    assert len(followers) == 31 * 4
    assert NOW - followers[0].taken_at > timedelta(days=29)
    by_channel: dict[int, list[int]] = {}
    for snapshot in followers:
        by_channel.setdefault(snapshot.channel_id, []).append(snapshot.followers)
    assert all(counts[-1] > counts[0] for counts in by_channel.values())
    pip = next(c for c in list_characters(session, workspace) if c.slug == "pip-the-otter")
    best = best_hours_of(session, {pip.id: ZoneInfo("America/Denver")}, NOW)[pip.id]
    assert best.enough
    assert best.hours[0] == 18


def test_demo_activity_twice_changes_nothing(session):
    workspace = _seeded(session)
    session.commit()
    before = _row_counts(session)
    assert seed_demo(session).id == workspace.id
    assert seed_demo_activity(session, workspace.slug, now=NOW + timedelta(hours=5)) is False
    session.commit()
    assert _row_counts(session) == before
