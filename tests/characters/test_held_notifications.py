"""A delivery held for a person (unconfirmed, missed) tells every editor and owner, and the author, once per post."""

from datetime import UTC, datetime, timedelta

from sqlalchemy import insert, select
from sqlmodel import col

from characters.core.models import ChannelKind, Membership, Notification, Role, User
from characters.publishing.delivery import (
    Failure,
    Unconfirmed,
    claim_due_deliveries,
    settle,
    start_sending,
    sweep_missed,
)
from tests.scheduler.seed import add_posts, make_world

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)


def add_members(engine, world, roles):
    """Add one user per (name, role) to the world's workspace (the author as a writer); return ids by name."""
    ids = {"author": world.author_id}
    with engine.begin() as connection:
        for name, _ in roles:
            if name != "author":
                ids[name] = connection.execute(insert(User).returning(col(User.id)), {
                    "email": f"{name}@held.example", "display_name": name.title(), "password_hash": "x",
                    "is_active": True, "is_admin": False, "created_at": NOW}).scalar_one()
        connection.execute(insert(Membership), [{"workspace_id": world.workspace_id, "user_id": ids[name],
                                                  "role": role.value, "created_at": NOW} for name, role in roles])
    return ids


ROLES = [("owner", Role.OWNER), ("editor", Role.EDITOR), ("editor2", Role.EDITOR), ("author", Role.WRITER),
         ("writer", Role.WRITER), ("viewer", Role.VIEWER)]


def notified(engine):
    with engine.connect() as connection:
        return sorted(connection.execute(select(col(Notification.user_id), col(Notification.post_id),
                                                col(Notification.message))).all())


def claim_and_start(engine):
    claimed = claim_due_deliveries(engine, "w1", NOW, 100, 60)
    start_sending(engine, "w1", [delivery.id for delivery in claimed], NOW)
    return claimed


def test_an_unconfirmed_post_tells_every_editor_owner_and_the_author_once(engine):
    world = make_world(engine, "held")
    ids = add_members(engine, world, ROLES)
    # Two channels held in one batch: still one notification per person for the post.
    [post_id] = add_posts(engine, world, 1, NOW - timedelta(minutes=1), kinds=(ChannelKind.FEED, ChannelKind.WEBHOOK))
    claimed = claim_and_start(engine)
    assert len(claimed) == 2

    settle(engine, "w1", [Unconfirmed(delivery.id, "The network did not answer.") for delivery in claimed], NOW)

    rows = notified(engine)
    assert sorted(user_id for user_id, _, _ in rows) == sorted(ids[name] for name in ("owner", "editor", "editor2",
                                                                                      "author"))
    assert {post for _, post, _ in rows} == {post_id}
    assert all(f"Post #{post_id} (Walt) may or may not have reached" in message for _, _, message in rows)


def test_the_author_who_is_an_editor_is_told_once(engine):
    world = make_world(engine, "held")
    ids = add_members(engine, world, [("owner", Role.OWNER), ("author", Role.EDITOR)])
    add_posts(engine, world, 1, NOW - timedelta(minutes=1))
    settle(engine, "w1", [Unconfirmed(delivery.id, "No answer.") for delivery in claim_and_start(engine)], NOW)
    assert sorted(user_id for user_id, _, _ in notified(engine)) == sorted([ids["owner"], ids["author"]])


def test_a_missed_post_tells_the_editors_and_a_failure_only_the_author(engine):
    world = make_world(engine, "held")
    ids = add_members(engine, world, ROLES)
    [missed] = add_posts(engine, world, 1, NOW - timedelta(hours=1))
    sweep_missed(engine, "sweeper", NOW)
    assert {user_id for user_id, post, _ in notified(engine) if post == missed} == {
        ids[name] for name in ("owner", "editor", "editor2", "author")}
    assert "(Walt) was not published to" in notified(engine)[0][2]

    [failed] = add_posts(engine, world, 1, NOW - timedelta(minutes=1))
    settle(engine, "w1", [Failure(delivery.id, "Refused.") for delivery in claim_and_start(engine)], NOW)
    assert [user_id for user_id, post, _ in notified(engine) if post == failed] == [world.author_id]
