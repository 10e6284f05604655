"""Listening against the full local Bluesky network with its AppView: a character and two fans.

The fans mention, reply and quote; the scheduler's listen cycle stores each once (however often it polls, and with a
second scheduler polling from scratch); the character's reply, published by the worker, is read back in place
through the AppView exactly once; a reply to a post deleted meanwhile is refused with the reason.
"""

import itertools
import time
import uuid
from datetime import timedelta

import pytest
from atproto import client_utils, models
from sqlalchemy import select, update
from sqlmodel import col

from characters.core.models import Channel, ChannelKind, Conversation, ConversationStatus, Workspace, utcnow
from characters.listening.ingest import ListenTarget
from characters.publishing.secrets import SecretBox, generate_key
from scheduler.listeners.cycle import Listening, default_listeners
from scheduler.publishers.bluesky import BlueskyPublisher
from scheduler.publishers.registry import PublisherRegistry
from scheduler.worker import Worker, WorkerConfig
from tests.scheduler.seed import add_posts, deliveries, make_world

pytestmark = pytest.mark.usefixtures("private_addresses_allowed")
_runs = itertools.count(1)


def _conversations(engine):
    with engine.connect() as connection:
        return connection.execute(select(Conversation).order_by(col(Conversation.id))).all()


def _channel(engine, channel_id):
    with engine.connect() as connection:
        return connection.execute(select(Channel).where(col(Channel.id) == channel_id)).one()


def _until(check, *, timeout=60.0, what="it"):
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} did not happen within {timeout:.0f} s")
        time.sleep(0.3)


def _publish(worker, engine, post_id):
    worker.claim_cycle(max_seconds=5)
    assert worker.wait_until_idle(60)
    [delivery] = deliveries(engine, [post_id])
    return delivery


def _thread_replies(client, uri):
    thread = client.app.bsky.feed.get_post_thread(params={"uri": uri, "depth": 2}).thread
    return [reply.post for reply in thread.replies or []]


def test_fans_mention_reply_and_quote_once_each_and_the_reply_lands_in_place_once(engine, appview, monkeypatch):
    logins: list[str] = []
    log_in = BlueskyPublisher._log_in
    monkeypatch.setattr(BlueskyPublisher, "_log_in",
                        staticmethod(lambda client, account: (logins.append(account.handle), log_in(client, account))))
    run = f"{next(_runs)}{uuid.uuid4().hex[:4]}"
    character, fan1, fan2 = (appview.create_account(f"{name}{run}") for name in ("walt", "ada", "bo"))
    world = make_world(engine, kinds=(ChannelKind.BLUESKY,))
    channel_id = world.channels[ChannelKind.BLUESKY]
    box = SecretBox(generate_key())
    with engine.begin() as connection:
        connection.execute(update(Channel).where(col(Channel.id) == channel_id).values(
            settings={"service_url": appview.pds_url, "handle": character.handle},
            secret_token=box.encrypt({"app_password": character.app_password})))
        connection.execute(update(Workspace).values(listen_interval_seconds=1))
    registry = PublisherRegistry([BlueskyPublisher(allow_private_addresses=True)])
    worker = Worker(engine, registry, config=WorkerConfig(threads=1), read_secrets=box.decrypt,
                    write_secrets=box.encrypt)
    listening = Listening(engine, default_listeners(registry), read_secrets=box.decrypt,
                          session_slot=worker.session_slot)
    try:
        # The character's own post, published by the worker: replies and quotes of it are linked back to it.
        [own_id] = add_posts(engine, world, 1, utcnow() - timedelta(seconds=1), kinds=(ChannelKind.BLUESKY,),
                             parts=("The sky is clear over the dish tonight.",))
        own = _publish(worker, engine, own_id).remote_refs[0]
        own_ref = models.ComAtprotoRepoStrongRef.Main(uri=own["id"], cid=own["extra"]["cid"])

        ada, bo = appview.client(fan1), appview.client(fan2)
        reply = ada.send_post("Walt, what can you hear up there tonight?",
                              reply_to=models.AppBskyFeedPost.ReplyRef(root=own_ref, parent=own_ref))
        mention = bo.send_post(client_utils.TextBuilder().mention(f"@{character.handle}", character.did)
                               .text(" this is the worst radio show ever, so disappointed 😡"))
        quote = ada.send_post("Everyone read this 🌙", embed=models.AppBskyEmbedRecord.Main(record=own_ref))
        bo.like(own_ref.uri, own_ref.cid)
        bo.repost(own_ref.uri, own_ref.cid)

        def everything_in() -> bool:
            listening.listen_cycle()
            channel = _channel(engine, channel_id)
            return len(_conversations(engine)) >= 3 and channel.likes_received >= 1 and channel.reposts_received >= 1

        try:
            _until(everything_in, what="ingesting the mention, reply, quote, like and repost")
        except AssertionError as error:
            channel = _channel(engine, channel_id)
            raise AssertionError(f"{error}: stored {[row.reason for row in _conversations(engine)]}, likes "
                                 f"{channel.likes_received}, reposts {channel.reposts_received}, error "
                                 f"{channel.listen_error!r}") from None
        for _ in range(3):  # more polls find nothing new
            time.sleep(1.05)
            listening.listen_cycle()
        # A second scheduler polling from scratch (no cursor) stores nothing again.
        channel = _channel(engine, channel_id)
        cold = ListenTarget(id=channel_id, kind="bluesky", workspace_id=world.workspace_id,
                            character_id=world.character_id, label="", settings=channel.settings,
                            secret_token=channel.secret_token, session_token=channel.session_token, cursor=None,
                            failures=0)
        report = Listening(engine, default_listeners(registry), read_secrets=box.decrypt,
                           session_slot=worker.session_slot).poll_channel(cold)
        assert report is not None
        assert report.stored == 0

        rows = {row.network_id: row for row in _conversations(engine)}
        assert set(rows) == {reply.uri, mention.uri, quote.uri}
        channel = _channel(engine, channel_id)
        assert (channel.likes_received, channel.reposts_received, channel.listen_error) == (1, 1, None)
        assert rows[reply.uri].reason == "reply"
        assert rows[mention.uri].reason == "mention"
        assert rows[quote.uri].reason == "quote"
        assert rows[reply.uri].subject_post_id == own_id
        assert rows[quote.uri].subject_post_id == own_id
        assert rows[reply.uri].is_question
        assert rows[mention.uri].is_negative
        assert rows[mention.uri].author_handle == fan2.handle
        assert rows[reply.uri].first_time_author != rows[quote.uri].first_time_author  # Ada came back
        assert rows[reply.uri].remote_ref["root_uri"] == own["id"]
        thread = rows[reply.uri].thread
        assert [post["text"] for post in thread] == ["The sky is clear over the dish tonight.",
                                                     "Walt, what can you hear up there tonight?"]
        assert [post["is_character"] for post in thread] == [True, False]

        # An in-character reply to Ada, approved and sent by the worker: in the thread, exactly once.
        conversation = rows[reply.uri]
        [reply_post] = add_posts(engine, world, 1, utcnow() - timedelta(seconds=1), kinds=(ChannelKind.BLUESKY,),
                                 parts=("Hydrogen, Ada. Always hydrogen.",), conversation_id=conversation.id)
        sent = _publish(worker, engine, reply_post)
        assert sent.status == "published"
        answered = _until(lambda: _thread_replies(ada, reply.uri), what="the reply in the AppView")
        assert [(post.author.did, post.record.text) for post in answered] == [
            (character.did, "Hydrogen, Ada. Always hydrogen.")]
        assert answered[0].record.reply.parent.uri == reply.uri
        assert answered[0].record.reply.root.uri == own["id"]
        worker.claim_cycle(max_seconds=2)  # nothing left to send
        assert worker.wait_until_idle(30)
        assert len(_thread_replies(ada, reply.uri)) == 1
        [stored] = [row for row in _conversations(engine) if row.id == conversation.id]
        assert stored.status == ConversationStatus.REPLIED
        assert stored.replied_at == sent.published_at

        # Bo deletes the mention before the character answers it: the reply is refused, nothing is sent.
        gone = rows[mention.uri]
        bo.delete_post(mention.uri)
        [late] = add_posts(engine, world, 1, utcnow() - timedelta(seconds=1), kinds=(ChannelKind.BLUESKY,),
                           parts=("Sorry to hear that, Bo.",), conversation_id=gone.id)
        refused = _publish(worker, engine, late)
        assert refused.status == "failed"
        assert "deleted by its author" in refused.last_error
        assert all(post.value.text != "Sorry to hear that, Bo." for post in _records(appview, character))
        # Every poll, thread and publish above went through one session: the PDS allows 30 logins in 5 minutes.
        assert logins == [character.handle]
    finally:
        worker.stop(timeout=10)


def _records(appview, account):
    client = appview.client()
    return client.com.atproto.repo.list_records(models.ComAtprotoRepoListRecords.Params(
        repo=account.did, collection="app.bsky.feed.post", limit=100)).records


def test_an_expired_app_password_shows_on_the_channel_and_loses_nothing(engine, appview):
    run = f"{next(_runs)}{uuid.uuid4().hex[:4]}"
    character, fan = appview.create_account(f"dez{run}"), appview.create_account(f"cy{run}")
    world = make_world(engine, kinds=(ChannelKind.BLUESKY,))
    channel_id = world.channels[ChannelKind.BLUESKY]
    box = SecretBox(generate_key())
    with engine.begin() as connection:
        connection.execute(update(Channel).where(col(Channel.id) == channel_id).values(
            settings={"service_url": appview.pds_url, "handle": character.handle},
            secret_token=box.encrypt({"app_password": "revoked-app-password"})))
        connection.execute(update(Workspace).values(listen_interval_seconds=1))
    registry = PublisherRegistry([BlueskyPublisher(allow_private_addresses=True)])
    listening = Listening(engine, default_listeners(registry), read_secrets=box.decrypt)
    appview.client(fan).send_post(client_utils.TextBuilder().mention(f"@{character.handle}", character.did)
                                  .text(" are you on air tonight?"))
    listening.listen_cycle()
    channel = _channel(engine, channel_id)
    assert "log in to Bluesky" in channel.listen_error
    assert channel.listen_failures == 1
    assert channel.listen_retry_at > utcnow()
    assert _conversations(engine) == []

    # The owner puts in a working app password; after the backoff the mention arrives.
    with engine.begin() as connection:
        connection.execute(update(Channel).where(col(Channel.id) == channel_id).values(
            secret_token=box.encrypt({"app_password": character.app_password}), listen_retry_at=None))

    def arrived() -> bool:
        listening.listen_cycle()
        return len(_conversations(engine)) == 1

    _until(arrived, what="the mention after the new app password")
    channel = _channel(engine, channel_id)
    assert (channel.listen_error, channel.listen_failures) == (None, 0)
