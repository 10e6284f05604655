"""Ingest on SQLite and PostgreSQL: each item stored once, signals, authors, cursors, failures, threads, overdue,
and replies settled against their conversation. The networks are fake transports shaped like their JSON."""

import threading
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import insert, select, update
from sqlmodel import col

from characters.core.models import (
    Channel,
    ChannelKind,
    Conversation,
    ConversationStatus,
    Delivery,
    DeliveryStatus,
    Membership,
    Notification,
    Post,
    Role,
    User,
    Workspace,
)
from characters.listening.ingest import (
    MAX_THREAD_POSTS,
    Incoming,
    ListenTarget,
    Poll,
    claim_channels_due,
    ingest,
    record_poll_failure,
    trim_thread,
)
from characters.listening.overdue import notify_overdue
from characters.publishing.delivery import Published, claim_and_load, settle
from scheduler.listeners.bluesky import BlueskyListener
from scheduler.listeners.cycle import Listening
from scheduler.publishers.base import PublishError
from tests.scheduler.seed import add_posts, make_world

NOW = datetime(2026, 12, 3, 12, 0, tzinfo=UTC)
CHAR_DID = "did:plc:character"


def _world(engine):
    return make_world(engine, kinds=(ChannelKind.BLUESKY, ChannelKind.MASTODON))


def _item(n: int, *, author: str = "did:plc:fan1", text: str = "hello?", reason: str = "mention", **extra):
    values = {"author_name": "Fan", "remote_ref": {"id": f"at://{author}/app.bsky.feed.post/{n}", "cid": f"cid{n}"},
              **extra}
    return Incoming(network_id=f"at://{author}/app.bsky.feed.post/{n}", reason=reason, text=text,
                    posted_at=NOW - timedelta(minutes=100 - n % 100), author_ref=author,
                    author_handle=author.rsplit(":", 1)[-1] + ".test", **values)


def _conversations(engine):
    with engine.connect() as connection:
        return connection.execute(select(Conversation).order_by(col(Conversation.id))).all()


def _channel(engine, channel_id):
    with engine.connect() as connection:
        return connection.execute(select(Channel).where(col(Channel.id) == channel_id)).one()


# --- storing ---------------------------------------------------------------------------------------------------

def test_items_are_stored_once_with_signals_and_first_time_authors(engine):
    world = _world(engine)
    channel_id = world.channels[ChannelKind.BLUESKY]
    poll = Poll(items=[_item(1, text="Where is my parcel?"), _item(2, text="This is the worst service ever 😡"),
                       _item(3, author="did:plc:fan2", text="love it")], cursor="c1", likes=3, reposts=1)
    report = ingest(engine, channel_id, poll, NOW, since_cursor=None)
    assert (report.stored, report.duplicates, report.cursor_moved) == (3, 0, True)
    first, second, third = _conversations(engine)
    assert (first.is_question, first.is_negative, first.first_time_author) == (True, False, True)
    assert (second.is_question, second.is_negative, second.first_time_author) == (False, True, False)
    assert third.first_time_author
    assert not third.is_negative
    assert first.status == ConversationStatus.OPEN
    assert first.received_at == NOW
    assert first.workspace_id == world.workspace_id
    assert first.network == "bluesky"
    channel = _channel(engine, channel_id)
    assert (channel.listen_cursor, channel.likes_received, channel.reposts_received) == ("c1", 3, 1)

    again = ingest(engine, channel_id, Poll(items=[_item(1), _item(4)], cursor="c2", likes=1), NOW,
                   since_cursor="c1")
    assert (again.stored, again.duplicates) == (1, 1)
    assert len(_conversations(engine)) == 4
    assert _conversations(engine)[-1].first_time_author is False  # fan1 came back
    assert _channel(engine, channel_id).likes_received == 4


def test_a_page_that_repeats_an_item_and_unlisted_reasons_store_nothing_extra(engine):
    world = _world(engine)
    items = [_item(1), _item(1), _item(2, reason="like"), Incoming(network_id="", reason="mention", text="x",
                                                                   posted_at=NOW)]
    assert ingest(engine, world.channels[ChannelKind.BLUESKY], Poll(items=items, cursor="c"), NOW,
                  since_cursor=None).stored == 1


def test_emoji_right_to_left_names_and_empty_text_are_stored_as_written(engine):
    world = _world(engine)
    items = [_item(1, text="", author_name="‏مريم‎ 🌙"), _item(2, text="👩‍👩‍👧🔥🔥", author_name="Zoë 👾"),
             _item(3, text="שלום? מה שלומך", author_name="דָּנִי")]
    ingest(engine, world.channels[ChannelKind.BLUESKY], Poll(items=items, cursor="c"), NOW, since_cursor=None)
    rows = _conversations(engine)
    assert [row.author_name for row in rows] == ["‏مريم‎ 🌙", "Zoë 👾", "דָּנִי"]
    assert [row.text for row in rows] == ["", "👩‍👩‍👧🔥🔥", "שלום? מה שלומך"]
    assert [row.is_question for row in rows] == [False, False, True]


def test_five_thousand_notifications_in_one_poll(engine):
    world = _world(engine)
    items = [_item(n, author=f"did:plc:fan{n % 700}") for n in range(5_000)]
    report = ingest(engine, world.channels[ChannelKind.BLUESKY], Poll(items=items, cursor="c", likes=250), NOW,
                    since_cursor=None)
    assert report.stored == 5_000
    rows = _conversations(engine)
    assert len(rows) == 5_000
    assert len({row.network_id for row in rows}) == 5_000
    assert sum(row.first_time_author for row in rows) == 700


def test_two_pollers_storing_the_same_page_at_once_store_and_count_it_once(engine):
    world = _world(engine)
    channel_id = world.channels[ChannelKind.BLUESKY]
    poll = Poll(items=[_item(n) for n in range(300)], cursor="next", likes=7, reposts=2)
    start = threading.Barrier(2)
    reports = []

    def poller() -> None:
        start.wait()
        reports.append(ingest(engine, channel_id, poll, NOW, since_cursor=None))

    threads = [threading.Thread(target=poller) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(report.stored for report in reports) == [0, 300]
    assert sorted(report.cursor_moved for report in reports) == [False, True]
    assert len(_conversations(engine)) == 300
    channel = _channel(engine, channel_id)
    assert (channel.likes_received, channel.reposts_received, channel.listen_cursor) == (7, 2, "next")


def test_a_reply_to_the_characters_published_post_is_linked_to_it(engine):
    world = _world(engine)
    channel_id = world.channels[ChannelKind.BLUESKY]
    [post_id] = add_posts(engine, world, 1, NOW, kinds=(ChannelKind.BLUESKY,))
    uri = f"at://{CHAR_DID}/app.bsky.feed.post/own"
    with engine.begin() as connection:
        connection.execute(update(Delivery).where(col(Delivery.post_id) == post_id).values(
            status=DeliveryStatus.PUBLISHED.value, remote_refs=[{"id": uri, "url": None, "extra": {"cid": "x"}}]))
    items = [_item(1, reason="reply", subject_refs=("at://elsewhere/app.bsky.feed.post/9", uri)),
             _item(2, reason="mention")]
    ingest(engine, channel_id, Poll(items=items, cursor="c"), NOW, since_cursor=None)
    reply, mention = _conversations(engine)
    assert reply.subject_post_id == post_id
    assert mention.subject_post_id is None


def test_a_blocked_author_is_kept_for_the_record_but_gone(engine):
    world = _world(engine)
    ingest(engine, world.channels[ChannelKind.BLUESKY], Poll(items=[_item(1, gone=True)], cursor="c"), NOW,
           since_cursor=None)
    assert _conversations(engine)[0].gone_at == NOW


# --- polling, failures and backoff -------------------------------------------------------------------------------

def test_channels_are_due_by_their_workspace_interval_and_taken_by_one_poller(engine):
    world = _world(engine)
    first = claim_channels_due(engine, NOW)
    assert {target.id for target in first} == set(world.channels.values())
    assert claim_channels_due(engine, NOW) == []  # taken: the second scheduler gets nothing
    assert claim_channels_due(engine, NOW + timedelta(seconds=59)) == []
    assert len(claim_channels_due(engine, NOW + timedelta(seconds=60))) == 2
    with engine.begin() as connection:
        connection.execute(update(Workspace).values(listen_interval_seconds=600))
    assert claim_channels_due(engine, NOW + timedelta(seconds=300)) == []


def test_a_failed_poll_shows_on_the_channel_backs_off_and_keeps_the_cursor(engine):
    world = _world(engine)
    channel_id = world.channels[ChannelKind.BLUESKY]
    ingest(engine, channel_id, Poll(items=[_item(1)], cursor="kept"), NOW, since_cursor=None)
    retry = record_poll_failure(engine, channel_id, "Could not log in: Invalid app password (HTTP 401)", NOW)
    assert retry == NOW + timedelta(seconds=30)
    later = record_poll_failure(engine, channel_id, "rate limited", NOW, retry_after=600)
    assert later == NOW + timedelta(seconds=600)  # Retry-After wins over the 60 s backoff
    channel = _channel(engine, channel_id)
    assert (channel.listen_cursor, channel.listen_failures, channel.listen_error) == ("kept", 2, "rate limited")
    assert channel.listen_retry_at == later
    assert channel_id not in {target.id for target in claim_channels_due(engine, NOW + timedelta(seconds=599))}
    assert channel_id in {target.id for target in claim_channels_due(engine, later)}
    ingest(engine, channel_id, Poll(items=[_item(2)], cursor="newer"), later, since_cursor="kept")
    channel = _channel(engine, channel_id)
    assert (channel.listen_cursor, channel.listen_failures, channel.listen_error) == ("newer", 0, None)


class FakeBluesky:
    """listNotifications and getPostThread as the AppView answers them, from an in-memory list (newest first)."""

    def __init__(self, notes=(), threads=None, fail: PublishError | None = None):
        self.notes = list(notes)
        self.threads = threads or {}
        self.fail = fail
        self.pages = 0

    def me(self) -> str:
        return CHAR_DID

    def list_notifications(self, cursor, limit):
        if self.fail is not None:
            raise self.fail
        self.pages += 1
        start = int(cursor or 0)
        page = self.notes[start:start + limit]
        more = start + limit < len(self.notes)
        return {"notifications": page, **({"cursor": str(start + limit)} if more else {})}

    def get_post_thread(self, uri, depth, parent_height):
        return self.threads.get(uri)


def note(n: int, reason: str = "mention", *, at: datetime, author: str = "did:plc:fan1", text: str = "hi?"):
    uri = f"at://{author}/app.bsky.feed.post/{n}"
    return {"uri": uri, "cid": f"cid{n}", "reason": reason, "indexedAt": at.isoformat().replace("+00:00", "Z"),
            "author": {"did": author, "handle": "fan1.test", "displayName": "Fan One"},
            "record": {"text": text, "createdAt": at.isoformat()}}


def _listening(engine, transport):
    return Listening(engine, [BlueskyListener(lambda target, secrets, slot: transport)], read_secrets=lambda t: {},
                     clock=lambda: NOW)


def test_the_listen_cycle_reads_back_to_the_cursor_counts_likes_and_resumes_after_an_outage(engine):
    _world(engine)
    notes = [note(n, "like" if n % 3 == 0 else "mention", at=NOW - timedelta(seconds=n)) for n in range(250)]
    transport = FakeBluesky(notes)
    listening = _listening(engine, transport)
    assert listening.listen_cycle() == len([n for n in range(250) if n % 3])
    assert transport.pages == 3
    bluesky = next(row for row in _listening_channels(engine) if row.kind == "bluesky")
    assert bluesky.likes_received == 84
    assert bluesky.listen_cursor.startswith("2026-12-03T12:00:00")

    transport.fail = PublishError("Could not read Bluesky notifications: Bad Gateway (HTTP 502)", retryable=True)
    listening.clock = lambda: NOW + timedelta(minutes=2)
    assert listening.listen_cycle() == 0
    bluesky = next(row for row in _listening_channels(engine) if row.kind == "bluesky")
    assert "Bad Gateway" in bluesky.listen_error
    assert bluesky.listen_cursor.startswith("2026-12-03T12:00:00")

    # Back up: the new items (newer than the cursor) are stored, the old ones are not read again.
    transport.fail = None
    transport.notes = [note(1000 + n, at=NOW + timedelta(minutes=1, seconds=n)) for n in range(3)] + notes
    transport.pages = 0
    listening.clock = lambda: NOW + timedelta(minutes=10)
    assert listening.listen_cycle() == 3
    assert transport.pages == 2  # back to two minutes before the cursor (late arrivals), not further
    bluesky = next(row for row in _listening_channels(engine) if row.kind == "bluesky")
    assert bluesky.listen_error is None
    assert bluesky.likes_received == 84


def _listening_channels(engine):
    with engine.connect() as connection:
        return connection.execute(select(Channel)).all()


def test_threads_are_fetched_once_trimmed_and_a_deleted_post_is_marked_gone(engine):
    _world(engine)
    notes = [note(1, "reply", at=NOW), note(2, "mention", at=NOW - timedelta(seconds=1))]
    root = {"post": {"uri": "at://c/p/root", "author": {"did": CHAR_DID, "handle": "char.test"},
                     "record": {"text": "root", "createdAt": "2026-12-01T00:00:00Z"}}}
    chain = root
    for n in range(150):  # a thread of 150 ancestors
        chain = {"post": {"uri": f"at://f/p/{n}", "author": {"did": "did:plc:x", "handle": "x.test"},
                          "record": {"text": f"step {n}", "createdAt": "2026-12-02T00:00:00Z"}}, "parent": chain}
    thread = {"thread": {"post": {"uri": notes[0]["uri"], "author": notes[0]["author"], "record": notes[0]["record"]},
                         "parent": chain, "replies": []}}
    transport = FakeBluesky(notes, threads={notes[0]["uri"]: thread})  # the mention's post is not found: deleted
    listening = _listening(engine, transport)
    listening.listen_cycle()
    by_reason = {row.reason: row for row in _conversations(engine)}  # stored oldest first
    reply, mention = by_reason["reply"], by_reason["mention"]
    assert mention.gone_at == NOW
    assert len(reply.thread) == MAX_THREAD_POSTS
    assert reply.thread[0]["text"] == "root"
    assert reply.thread[0]["is_character"] is True
    assert reply.thread[-1]["uri"] == reply.network_id
    assert reply.thread[1]["omitted_before"] == 151 + 1 - MAX_THREAD_POSTS  # 150 steps, the root, the reply
    transport.threads = {}
    listening.clock = lambda: NOW + timedelta(minutes=5)
    listening.listen_cycle()
    cached = next(row for row in _conversations(engine) if row.reason == "reply")
    assert len(cached.thread) == MAX_THREAD_POSTS  # cached: not fetched (nor lost) again


def test_trim_thread_keeps_short_threads_whole():
    ancestors = [{"text": str(n)} for n in range(3)]
    thread = trim_thread(ancestors, {"text": "me"}, [{"text": "r"}])
    assert [post["text"] for post in thread] == ["0", "1", "2", "me", "r"]


# --- overdue ----------------------------------------------------------------------------------------------------

def _people(engine, world):
    with engine.begin() as connection:
        users = {role: connection.execute(insert(User).returning(col(User.id)), {
            "email": f"{role}@o.example", "display_name": role, "password_hash": "x", "is_active": True,
            "is_admin": False, "created_at": NOW}).scalar_one() for role in ("owner", "editor", "writer")}
        connection.execute(insert(Membership), [{"workspace_id": world.workspace_id, "user_id": user_id,
                                                 "role": role, "created_at": NOW} for role, user_id in users.items()])
    return users


def test_editors_hear_once_when_a_conversation_goes_overdue(engine):
    world = _world(engine)
    people = _people(engine, world)
    channel_id = world.channels[ChannelKind.BLUESKY]
    ingest(engine, channel_id, Poll(items=[_item(1), _item(2), _item(3)], cursor="c"), NOW, since_cursor=None)
    first, second, third = _conversations(engine)
    with engine.begin() as connection:
        connection.execute(update(Conversation).where(col(Conversation.id) == second.id)
                           .values(status=ConversationStatus.REPLIED.value, replied_at=NOW))
        connection.execute(update(Conversation).where(col(Conversation.id) == third.id)
                           .values(status=ConversationStatus.ASSIGNED.value, assignee_id=people["writer"]))
    assert notify_overdue(engine, NOW + timedelta(minutes=59)) == 0
    assert notify_overdue(engine, NOW + timedelta(minutes=61)) == 2
    assert notify_overdue(engine, NOW + timedelta(minutes=120)) == 0  # once
    with engine.connect() as connection:
        notes = connection.execute(select(Notification).order_by(col(Notification.id))).all()
    told = {(row.conversation_id, row.user_id) for row in notes}
    assert told == {(first.id, people["owner"]), (first.id, people["editor"]), (third.id, people["owner"]),
                    (third.id, people["editor"]), (third.id, people["writer"])}
    assert "waited more than 60 minutes for Walt" in notes[0].message


# --- replies -----------------------------------------------------------------------------------------------------

def _reply_post(engine, world, conversation, kind=ChannelKind.BLUESKY):
    [post_id] = add_posts(engine, world, 1, NOW - timedelta(seconds=1), kinds=(kind,),
                          conversation_id=conversation.id)
    return post_id


def test_a_reply_goes_to_the_conversation_and_marks_it_replied_exactly_once(engine):
    world = _world(engine)
    channel_id = world.channels[ChannelKind.BLUESKY]
    item = _item(1, remote_ref={"id": "at://fan/p/1", "url": "https://bsky.app/x", "cid": "cid1",
                                "root_uri": "at://c/p/root", "root_cid": "rootcid"})
    ingest(engine, channel_id, Poll(items=[item], cursor="c"), NOW, since_cursor=None)
    [conversation] = _conversations(engine)
    post_id = _reply_post(engine, world, conversation)
    [loaded] = claim_and_load(engine, "w1", NOW, 10, 60)
    assert loaded.reply_to == {"id": "at://fan/p/1", "url": "https://bsky.app/x",
                               "extra": {"cid": "cid1", "root_uri": "at://c/p/root", "root_cid": "rootcid"}}
    published = Published(loaded.claimed.id, refs=[{"id": "at://c/p/reply", "url": "u", "extra": {}}], url="u")
    assert settle(engine, "w1", [published], NOW + timedelta(minutes=3)) == {loaded.claimed.id}
    assert settle(engine, "w1", [published], NOW + timedelta(minutes=9)) == set()  # the fence: once
    [conversation] = _conversations(engine)
    assert conversation.status == ConversationStatus.REPLIED
    assert conversation.replied_at == NOW + timedelta(minutes=3)
    second = _reply_post(engine, world, conversation)
    [again] = claim_and_load(engine, "w1", NOW + timedelta(minutes=20), 10, 60)
    settle(engine, "w1", [Published(again.claimed.id, refs=[], url=None)], NOW + timedelta(minutes=20))
    assert _conversations(engine)[0].replied_at == NOW + timedelta(minutes=3)  # the first reply's time stays
    assert post_id != second


def test_a_reply_to_a_deleted_post_fails_with_the_reason_and_sends_nothing(engine):
    world = _world(engine)
    ingest(engine, world.channels[ChannelKind.BLUESKY], Poll(items=[_item(1)], cursor="c"), NOW, since_cursor=None)
    [conversation] = _conversations(engine)
    with engine.begin() as connection:
        connection.execute(update(Conversation).values(gone_at=NOW))
    post_id = _reply_post(engine, world, conversation)
    assert claim_and_load(engine, "w1", NOW, 10, 60) == []
    with engine.connect() as connection:
        delivery = connection.execute(select(Delivery).where(col(Delivery.post_id) == post_id)).one()
        post = connection.execute(select(Post).where(col(Post.id) == post_id)).one()
    assert delivery.status == DeliveryStatus.FAILED
    assert "deleted by @fan1.test" in delivery.last_error
    assert "nothing was sent" in delivery.last_error
    assert post.status == "failed"
    assert _conversations(engine)[0].replied_at is None


def test_a_reply_cannot_cross_networks(engine):
    world = _world(engine)
    ingest(engine, world.channels[ChannelKind.BLUESKY], Poll(items=[_item(1)], cursor="c"), NOW, since_cursor=None)
    [conversation] = _conversations(engine)
    _reply_post(engine, world, conversation, kind=ChannelKind.MASTODON)
    assert claim_and_load(engine, "w1", NOW, 10, 60) == []
    with engine.connect() as connection:
        delivery = connection.execute(select(Delivery)).one()
    assert "can only go to that network" in delivery.last_error


@pytest.mark.parametrize("reason", ["reply", "quote", "mention"])
def test_every_listed_reason_is_stored(engine, reason):
    world = _world(engine)
    ingest(engine, world.channels[ChannelKind.BLUESKY], Poll(items=[_item(1, reason=reason)], cursor="c"), NOW,
           since_cursor=None)
    assert _conversations(engine)[0].reason == reason
    assert Role.EDITOR  # the roles notified elsewhere exist


def test_a_poll_reads_at_most_5000_and_a_first_poll_only_the_latest_500(engine):
    notes = [note(n, at=NOW - timedelta(seconds=n), author=f"did:plc:fan{n % 97}") for n in range(6_000)]
    listener = BlueskyListener(lambda target, secrets, slot: FakeBluesky(notes))
    _world(engine)
    first = listener.poll(_target_from(engine, cursor=None), {}, None)
    assert len(first.items) == 500
    target = _target_from(engine, cursor=(NOW - timedelta(hours=5)).isoformat())
    busy = listener.poll(target, {}, None)
    assert len(busy.items) == 5_000
    assert busy.cursor == NOW.isoformat()
    report = ingest(engine, target.id, busy, NOW, since_cursor=target.cursor)
    assert report.stored == 5_000
    assert ingest(engine, target.id, busy, NOW, since_cursor=busy.cursor).stored == 0


def _target_from(engine, cursor):
    with engine.connect() as connection:
        channel = connection.execute(select(Channel).where(col(Channel.kind) == "bluesky")).one()
    return ListenTarget(id=channel.id, kind="bluesky", workspace_id=channel.workspace_id,
                        character_id=channel.character_id, label="", settings={}, secret_token=None,
                        session_token=None, cursor=cursor, failures=0)


def test_an_author_who_blocks_the_character_is_stored_gone_and_a_blocked_thread_marks_it_gone(engine):
    _world(engine)
    blocker = note(1, at=NOW)
    blocker["author"]["viewer"] = {"blockedBy": True}
    hidden = note(2, at=NOW - timedelta(seconds=1), author="did:plc:fan2")
    blocked_thread = {"thread": {"$type": "app.bsky.feed.defs#blockedPost", "uri": hidden["uri"], "blocked": True,
                                 "author": {"did": "did:plc:fan2"}}}
    transport = FakeBluesky([blocker, hidden], threads={hidden["uri"]: blocked_thread})
    _listening(engine, transport).listen_cycle()
    rows = {row.network_id: row for row in _conversations(engine)}
    assert rows[blocker["uri"]].gone_at == NOW
    assert rows[hidden["uri"]].gone_at == NOW
    assert rows[hidden["uri"]].thread == []


class FakeMastodon:
    """Mastodon's notifications (newest first, numeric ids) with max_id/min_id paging, and status contexts."""

    instance = "https://masto.example"

    def __init__(self, count: int):
        self.notes = [{"id": str(n), "type": "favourite" if n % 10 == 0 else "mention",
                       "status": {"id": f"s{n}", "url": f"https://masto.example/@fan/s{n}",
                                  "content": f"<p>hi {n}?</p>",
                                  "created_at": NOW - timedelta(seconds=count - n),
                                  "account": {"id": "7", "acct": "fan@elsewhere.example", "display_name": "Fan"}}}
                      for n in range(1, count + 1)]

    def me(self) -> str:
        return "1"

    def notifications(self, *, min_id, max_id, limit):
        newest_first = sorted(self.notes, key=lambda note: -int(note["id"]))
        if min_id is not None:  # the page just after min_id
            return sorted([n for n in newest_first if int(n["id"]) > int(min_id)], key=lambda n: int(n["id"]))[
                :limit][::-1]
        return [n for n in newest_first if max_id is None or int(n["id"]) < int(max_id)][:limit]

    def status_context(self, status_id):
        return None


def test_mastodon_pages_back_on_the_first_poll_then_forward_from_the_cursor(engine):
    from scheduler.listeners.mastodon import MastodonListener

    world = _world(engine)
    transport = FakeMastodon(130)
    listening = Listening(engine, [MastodonListener(lambda target, secrets, slot: transport)],
                          read_secrets=lambda token: {}, clock=lambda: NOW)
    listening.listen_cycle()
    channel = _channel(engine, world.channels[ChannelKind.MASTODON])
    assert (channel.listen_cursor, channel.likes_received) == ("130", 13)
    assert len(_conversations(engine)) == 117
    assert _conversations(engine)[0].text == "hi 1?"
    assert all(row.gone_at == NOW for row in _conversations(engine)[:25])  # threads read: the statuses are gone
    transport.notes += FakeMastodon(200).notes[130:]
    listening.clock = lambda: NOW + timedelta(minutes=5)
    listening.listen_cycle()
    channel = _channel(engine, world.channels[ChannelKind.MASTODON])
    assert (channel.listen_cursor, channel.likes_received) == ("200", 20)
    assert len({row.network_id for row in _conversations(engine)}) == len(_conversations(engine)) == 180
