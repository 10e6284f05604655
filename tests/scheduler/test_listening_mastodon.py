"""Listening on Mastodon against mastodon-mock: mentions through its notifications API, favourites and boosts
counted, threads from the status context, and the character's reply sent with in_reply_to_id."""

import time
from datetime import timedelta

import httpx
import pytest
from sqlalchemy import select, update
from sqlmodel import col

from characters.core.models import Channel, ChannelKind, Conversation, ConversationStatus, Workspace, utcnow
from characters.publishing.secrets import SecretBox, generate_key
from scheduler.listeners.cycle import Listening, default_listeners
from scheduler.publishers.mastodon import MastodonPublisher
from scheduler.publishers.registry import PublisherRegistry
from scheduler.worker import Worker, WorkerConfig
from tests.scheduler.seed import add_posts, deliveries, make_world
from tests.services.mastodon import SEEDED_TOKEN, running_mastodon

pytestmark = pytest.mark.usefixtures("private_addresses_allowed")


@pytest.fixture(scope="session")
def listening_mastodon(tmp_path_factory):
    with running_mastodon(tmp_path_factory.mktemp("mastodon-listening")) as server:
        yield server


@pytest.fixture
def server(listening_mastodon):
    listening_mastodon.reset()
    return listening_mastodon


def _fan(server, name):
    answer = httpx.post(f"{server.url}/api/v1/_mock/dev_user", json={"username": name, "display_name": f"{name} 🌙"},
                        timeout=10)
    answer.raise_for_status()
    return server.client(answer.json()["access_token"])


def _conversations(engine):
    with engine.connect() as connection:
        return connection.execute(select(Conversation).order_by(col(Conversation.id))).all()


def _channel(engine, channel_id):
    with engine.connect() as connection:
        return connection.execute(select(Channel).where(col(Channel.id) == channel_id)).one()


def test_mentions_are_stored_once_and_the_reply_goes_out_in_the_thread(engine, server):
    character = server.client()
    me = character.account_verify_credentials()
    world = make_world(engine, kinds=(ChannelKind.MASTODON,))
    channel_id = world.channels[ChannelKind.MASTODON]
    box = SecretBox(generate_key())
    with engine.begin() as connection:
        connection.execute(update(Channel).where(col(Channel.id) == channel_id).values(
            settings={"api_base_url": server.url}, secret_token=box.encrypt({"access_token": SEEDED_TOKEN})))
        connection.execute(update(Workspace).values(listen_interval_seconds=1))
    registry = PublisherRegistry([MastodonPublisher(allow_private_addresses=True)])
    worker = Worker(engine, registry, config=WorkerConfig(threads=1), read_secrets=box.decrypt)
    listening = Listening(engine, default_listeners(registry), read_secrets=box.decrypt)
    try:
        own = character.status_post("Tonight's broadcast starts at nine.")
        ada, bo = _fan(server, "ada"), _fan(server, "bo")
        question = ada.status_post(f"@{me['acct']} what frequency are you on tonight?", in_reply_to_id=own["id"])
        complaint = bo.status_post(f"@{me['acct']} the worst reception ever, terrible 😡")
        ada.status_favourite(own["id"])
        bo.status_reblog(own["id"])

        listening.listen_cycle()
        rows = {row.network_id: row for row in _conversations(engine)}
        assert set(rows) == {str(question["id"]), str(complaint["id"])}
        asked = rows[str(question["id"])]
        assert (asked.reason, asked.is_question, asked.author_handle) == ("reply", True, "ada")
        assert asked.author_name == "ada 🌙"
        assert rows[str(complaint["id"])].is_negative
        assert asked.remote_ref["instance"] == server.url
        assert [post["is_character"] for post in asked.thread] == [True, False]
        assert asked.thread[0]["text"] == "Tonight's broadcast starts at nine."
        channel = _channel(engine, channel_id)
        assert (channel.likes_received, channel.reposts_received, channel.listen_error) == (1, 1, None)

        # Later polls resume after the cursor: only the new mention comes in.
        time.sleep(1.05)
        late = ada.status_post(f"@{me['acct']} also, hello!")
        listening.listen_cycle()
        time.sleep(1.05)
        listening.listen_cycle()
        assert [row.network_id for row in _conversations(engine)].count(str(late["id"])) == 1
        assert len(_conversations(engine)) == 3

        [reply_id] = add_posts(engine, world, 1, utcnow() - timedelta(seconds=1), kinds=(ChannelKind.MASTODON,),
                               parts=("Ninety-one point five, Ada.",), conversation_id=asked.id)
        worker.claim_cycle(max_seconds=5)
        assert worker.wait_until_idle(30)
        [delivery] = deliveries(engine, [reply_id])
        assert delivery.status == "published"
        sent = character.status(delivery.remote_refs[0]["id"])
        assert str(sent["in_reply_to_id"]) == str(question["id"])
        context = ada.status_context(question["id"])
        assert [str(status["id"]) for status in context["descendants"]] == [str(sent["id"])]
        [stored] = [row for row in _conversations(engine) if row.id == asked.id]
        assert stored.status == ConversationStatus.REPLIED
        assert stored.replied_at == delivery.published_at
    finally:
        worker.stop(timeout=10)


def test_a_bad_token_shows_on_the_channel_and_keeps_the_cursor(engine, server):
    world = make_world(engine, kinds=(ChannelKind.MASTODON,))
    channel_id = world.channels[ChannelKind.MASTODON]
    box = SecretBox(generate_key())
    with engine.begin() as connection:
        connection.execute(update(Channel).where(col(Channel.id) == channel_id).values(
            settings={"api_base_url": server.url}, secret_token=box.encrypt({"access_token": "revoked"}),
            listen_cursor="41"))
    registry = PublisherRegistry([MastodonPublisher(allow_private_addresses=True)])
    Listening(engine, default_listeners(registry), read_secrets=box.decrypt).listen_cycle()
    channel = _channel(engine, channel_id)
    assert "HTTP 401" in channel.listen_error
    assert (channel.listen_cursor, channel.listen_failures) == ("41", 1)
