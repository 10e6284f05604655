"""Collecting engagement: which published deliveries are due for a refresh, and recording what the networks said.

Each published delivery is refreshed on a decaying schedule (SCHEDULE, counted from its publication). The first due
time is computed here, lazily, for deliveries published with `metrics_step = 0` and no `metrics_due_at`, so the
publishing code needs no change. A claim pushes `metrics_due_at` a lease ahead, so other schedulers pass the rows
by; every write afterwards is fenced on the step claimed, so two schedulers never store the same step twice.
"""

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, bindparam, func, insert, or_, select, text, update
from sqlalchemy.engine import Connection, Engine
from sqlmodel import col

from characters.analytics.rollup import Reading, apply_readings, rerank
from characters.core.db import write_transaction
from characters.core.models import (
    SOCIAL_NETWORKS,
    Channel,
    Delivery,
    DeliveryStatus,
    EngagementSnapshot,
    FollowerSnapshot,
)
from characters.publishing.sql import in_ids, is_postgresql

# After publishing: 10 minutes, 1 hour, 6 hours, 1 day, 7 days, 30 days.
SCHEDULE: tuple[timedelta, ...] = (timedelta(minutes=10), timedelta(hours=1), timedelta(hours=6),
                                   timedelta(days=1), timedelta(days=7), timedelta(days=30))
DONE = len(SCHEDULE)
# How long a claimed delivery is left to the scheduler that claimed it before another may take it.
CLAIM_LEASE = timedelta(minutes=5)
# Follower counts are read at most this often per channel.
FOLLOWERS_EVERY = timedelta(hours=1)
# Networks Greenroom reads numbers from; deliveries to other channels (webhooks, feeds) have none.
METERED_KINDS = SOCIAL_NETWORKS
PUBLISHED = DeliveryStatus.PUBLISHED.value


@dataclass(frozen=True)
class Counts:
    """A post's numbers as the network reports them."""

    likes: int = 0
    reposts: int = 0
    replies: int = 0
    quotes: int = 0


@dataclass(frozen=True)
class DueDelivery:
    """A published delivery claimed for a refresh: which step, and where the post lives on the network."""

    id: int
    channel_id: int
    kind: str
    step: int
    published_at: datetime
    remote_id: str


@dataclass(frozen=True)
class Measured:
    """The network's numbers for a claimed delivery."""

    delivery: DueDelivery
    counts: Counts


@dataclass(frozen=True)
class Gone:
    """The post was deleted on the network: the schedule stops, the last numbers stay."""

    delivery: DueDelivery


@dataclass(frozen=True)
class Deferred:
    """Not read this time (rate limited, network down, not indexed yet): due again at `until`, same step."""

    delivery: DueDelivery
    until: datetime


Outcome = Measured | Gone | Deferred


@dataclass(frozen=True)
class ChannelAccess:
    """What a reader needs to reach a channel's account: settings, and the encrypted credentials and session."""

    id: int
    kind: str
    settings: dict[str, Any]
    secret_token: str | None
    session_token: str | None
    disabled: bool = False


@dataclass(frozen=True)
class Claim:
    """A round: the deliveries claimed for a refresh, and how many others ended their schedule without one."""

    deliveries: list[DueDelivery]
    ended: int = 0


@dataclass(frozen=True)
class Recorded:
    """What `record` wrote: snapshots stored, schedules ended by a deletion, refreshes put off, stale ones dropped."""

    snapshots: int = 0
    gone: int = 0
    deferred: int = 0
    stale: int = 0


def next_due(published_at: datetime, now: datetime) -> tuple[int, datetime | None]:
    """Return the step of the next refresh after `now` and when it is due (None once the schedule is over).

    Schedule points already past (a scheduler that was down) are skipped: one refresh covers them all.
    """
    for step, offset in enumerate(SCHEDULE):
        if published_at + offset > now:
            return step, published_at + offset
    return DONE, None


def _claim_columns() -> Any:
    return select(col(Delivery.id), col(Delivery.channel_id), col(Delivery.metrics_step),
                  col(Delivery.published_at), col(Delivery.remote_refs), col(Channel.kind)
                  ).outerjoin(Channel, col(Channel.id) == col(Delivery.channel_id))


def _locked(statement: Any, postgresql: bool) -> Any:
    # Other schedulers skip the rows one is claiming instead of waiting for them (PostgreSQL; SQLite has one writer).
    return statement.with_for_update(of=Delivery, skip_locked=True) if postgresql else statement


# Due refreshes in due order, from the metrics_due_at index (ordering by channel here made SQLite scan the whole
# table in channel order instead).
_SCHEDULED = _claim_columns().where(
    col(Delivery.metrics_due_at) <= bindparam("b_now")).order_by(col(Delivery.metrics_due_at)).limit(
    bindparam("b_limit"))
# Published and never refreshed: the first refresh is due SCHEDULE[0] after publishing. In channel order, which
# ix_delivery_metrics_first gives without sorting: a backlog (a first deployment) is then read in full batches.
_FIRST = _claim_columns().where(
    col(Delivery.status) == PUBLISHED, col(Delivery.metrics_step) == 0, col(Delivery.metrics_due_at).is_(None),
    col(Delivery.published_at) <= bindparam("b_first")).order_by(
    col(Delivery.channel_id), col(Delivery.id)).limit(bindparam("b_limit"))


def claim_due(engine: Engine, now: datetime, limit: int) -> Claim:
    """Claim up to `limit` deliveries due for a refresh (their due time moves a lease ahead) and return them.

    Deliveries that can have no numbers (channel removed, a webhook or feed, nothing on the network) end their
    schedule here instead.
    """
    with write_transaction(engine) as connection:
        postgresql = is_postgresql(connection)
        rows = list(connection.execute(_locked(_SCHEDULED, postgresql), {"b_now": now, "b_limit": limit}))
        if len(rows) < limit:
            rows += connection.execute(_locked(_FIRST, postgresql),
                                       {"b_first": now - SCHEDULE[0], "b_limit": limit - len(rows)})
        claimed: list[DueDelivery] = []
        finished: list[int] = []
        for delivery_id, channel_id, step, published_at, refs, kind in rows:
            remote_id = str((refs or [{}])[0].get("id") or "")
            if channel_id is None or kind not in METERED_KINDS or not remote_id or published_at is None:
                finished.append(delivery_id)
                continue
            claimed.append(DueDelivery(id=delivery_id, channel_id=channel_id, kind=str(kind), step=step,
                                       published_at=published_at, remote_id=remote_id))
        if claimed:
            connection.execute(update(Delivery).where(in_ids(col(Delivery.id), postgresql))
                               .values(metrics_due_at=now + CLAIM_LEASE),
                               {"b_ids": [delivery.id for delivery in claimed]})
        if finished:
            connection.execute(update(Delivery).where(in_ids(col(Delivery.id), postgresql))
                               .values(metrics_due_at=None, metrics_step=DONE), {"b_ids": finished})
    return Claim(claimed, ended=len(finished))


def _current_steps(connection: Connection, ids: list[int]) -> dict[int, int]:
    """Return the deliveries' steps now, locking their rows (PostgreSQL) until the transaction ends."""
    postgresql = is_postgresql(connection)
    statement = select(col(Delivery.id), col(Delivery.metrics_step)).where(in_ids(col(Delivery.id), postgresql))
    if postgresql:
        statement = statement.with_for_update()
    return {int(row[0] or 0): row[1] for row in connection.execute(statement, {"b_ids": ids})}


_INSERT_SNAPSHOT = insert(EngagementSnapshot)
_UPDATE_MEASURED = update(Delivery).where(col(Delivery.id) == bindparam("b_id")).values(
    likes=bindparam("b_likes"), reposts=bindparam("b_reposts"), replies=bindparam("b_replies"),
    quotes=bindparam("b_quotes"), metrics_at=bindparam("b_now"), metrics_step=bindparam("b_step"),
    metrics_due_at=bindparam("b_due"))
_UPDATE_DUE = update(Delivery).where(col(Delivery.id) == bindparam("b_id")).values(
    metrics_step=bindparam("b_step"), metrics_due_at=bindparam("b_due"))
# PostgreSQL: one statement over arrays each. executemany ran one statement per row there, which was most of a
# round's time; SQLite runs executemany in-process and needs nothing else.
_PG_INSERT_SNAPSHOTS = text(
    "INSERT INTO engagementsnapshot (delivery_id, taken_at, likes, reposts, replies, quotes) "
    "SELECT v.id, :now, v.likes, v.reposts, v.replies, v.quotes FROM unnest("
    "CAST(:ids AS integer[]), CAST(:likes AS integer[]), CAST(:reposts AS integer[]), "
    "CAST(:replies AS integer[]), CAST(:quotes AS integer[])) AS v(id, likes, reposts, replies, quotes)")
_PG_UPDATE_MEASURED = text(
    "UPDATE delivery SET likes = v.likes, reposts = v.reposts, replies = v.replies, quotes = v.quotes, "
    "metrics_at = :now, metrics_step = v.step, metrics_due_at = v.due "
    "FROM unnest("
    "CAST(:ids AS integer[]), CAST(:likes AS integer[]), CAST(:reposts AS integer[]), "
    "CAST(:replies AS integer[]), CAST(:quotes AS integer[]), CAST(:steps AS integer[]), "
    "CAST(:dues AS timestamptz[])) AS v(id, likes, reposts, replies, quotes, step, due) WHERE delivery.id = v.id")


def _write_measured(connection: Connection, measured: list[Measured], now: datetime) -> None:
    """Insert the snapshots and copy their numbers, next step and due time onto the deliveries."""
    schedules = [next_due(outcome.delivery.published_at, now) for outcome in measured]
    if is_postgresql(connection):
        columns: dict[str, Any] = {
            "ids": [outcome.delivery.id for outcome in measured],
            "likes": [outcome.counts.likes for outcome in measured],
            "reposts": [outcome.counts.reposts for outcome in measured],
            "replies": [outcome.counts.replies for outcome in measured],
            "quotes": [outcome.counts.quotes for outcome in measured], "now": now}
        connection.execute(_PG_INSERT_SNAPSHOTS, columns)
        connection.execute(_PG_UPDATE_MEASURED, {**columns, "steps": [step for step, _ in schedules],
                                                 "dues": [due for _, due in schedules]})
        return
    connection.execute(_INSERT_SNAPSHOT, [
        {"delivery_id": outcome.delivery.id, "taken_at": now, "likes": outcome.counts.likes,
         "reposts": outcome.counts.reposts, "replies": outcome.counts.replies, "quotes": outcome.counts.quotes}
        for outcome in measured])
    connection.execute(_UPDATE_MEASURED, [
        {"b_id": outcome.delivery.id, "b_likes": outcome.counts.likes, "b_reposts": outcome.counts.reposts,
         "b_replies": outcome.counts.replies, "b_quotes": outcome.counts.quotes, "b_now": now, "b_step": step,
         "b_due": due} for outcome, (step, due) in zip(measured, schedules, strict=True)])


def record(engine: Engine, outcomes: Sequence[Outcome], now: datetime) -> Recorded:
    """Store the outcomes of one round in one transaction: a batched insert of snapshots, then the schedules.

    An outcome whose delivery has moved past the step claimed (another scheduler stored it first) is dropped.
    """
    if not outcomes:
        return Recorded()
    with write_transaction(engine) as connection:
        steps = _current_steps(connection, sorted({outcome.delivery.id for outcome in outcomes}))
        fresh = [outcome for outcome in outcomes if steps.get(outcome.delivery.id) == outcome.delivery.step]
        measured = [outcome for outcome in fresh if isinstance(outcome, Measured)]
        if measured:
            touched = apply_readings(connection, [Reading(
                outcome.delivery.id, outcome.counts.likes, outcome.counts.reposts, outcome.counts.replies,
                outcome.counts.quotes) for outcome in measured])
            _write_measured(connection, measured, now)
            rerank(connection, touched)
        others = [{"b_id": outcome.delivery.id,
                   "b_step": DONE if isinstance(outcome, Gone) else outcome.delivery.step,
                   "b_due": outcome.until if isinstance(outcome, Deferred) else None}
                  for outcome in fresh if not isinstance(outcome, Measured)]
        if others:
            connection.execute(_UPDATE_DUE, others)
    return Recorded(snapshots=len(measured), gone=sum(isinstance(outcome, Gone) for outcome in fresh),
                    deferred=sum(isinstance(outcome, Deferred) for outcome in fresh),
                    stale=len(outcomes) - len(fresh))


def load_channels(engine: Engine, channel_ids: Iterable[int]) -> dict[int, ChannelAccess]:
    """Return the channels (by id) the claimed deliveries were published to."""
    ids = sorted(set(channel_ids))
    if not ids:
        return {}
    with engine.connect() as connection:
        rows = connection.execute(
            select(col(Channel.id), col(Channel.kind), col(Channel.settings), col(Channel.secret_token),
                   col(Channel.session_token), col(Channel.disabled_at))
            .where(in_ids(col(Channel.id), is_postgresql(connection))), {"b_ids": ids})
        return {row[0]: ChannelAccess(id=row[0], kind=str(row[1]), settings=dict(row[2] or {}),
                                      secret_token=row[3], session_token=row[4], disabled=row[5] is not None)
                for row in rows}


def _latest_follower_snapshots() -> Any:
    return (select(col(FollowerSnapshot.channel_id), func.max(col(FollowerSnapshot.taken_at)).label("taken_at"))
            .group_by(col(FollowerSnapshot.channel_id)).subquery())


def channels_due_for_followers(engine: Engine, now: datetime) -> list[ChannelAccess]:
    """Return the enabled Bluesky and Mastodon channels whose follower count is older than FOLLOWERS_EVERY."""
    latest = _latest_follower_snapshots()
    statement = (select(col(Channel.id), col(Channel.kind), col(Channel.settings), col(Channel.secret_token),
                        col(Channel.session_token))
                 .outerjoin(latest, latest.c.channel_id == col(Channel.id))
                 .where(col(Channel.disabled_at).is_(None), col(Channel.kind).in_(METERED_KINDS),
                        or_(latest.c.taken_at.is_(None), latest.c.taken_at <= now - FOLLOWERS_EVERY))
                 .order_by(col(Channel.id)))
    with engine.connect() as connection:
        return [ChannelAccess(id=row[0], kind=str(row[1]), settings=dict(row[2] or {}), secret_token=row[3],
                              session_token=row[4]) for row in connection.execute(statement)]


def record_followers(engine: Engine, followers: dict[int, int], now: datetime) -> int:
    """Store follower counts (channel id → count) in one insert; a channel counted within the hour is skipped."""
    if not followers:
        return 0
    ids = sorted(followers)
    with write_transaction(engine) as connection:
        postgresql = is_postgresql(connection)
        lock = select(col(Channel.id)).where(in_ids(col(Channel.id), postgresql))
        present = {row[0] for row in connection.execute(lock.with_for_update() if postgresql else lock,
                                                               {"b_ids": ids})}
        recent = {int(row[0]) for row in connection.execute(
            select(col(FollowerSnapshot.channel_id)).where(
                and_(in_ids(col(FollowerSnapshot.channel_id), postgresql),
                     col(FollowerSnapshot.taken_at) > now - FOLLOWERS_EVERY)).distinct(), {"b_ids": ids})}
        rows = [{"channel_id": channel_id, "taken_at": now, "followers": followers[channel_id]}
                for channel_id in ids if channel_id in present and channel_id not in recent]
        if rows:
            connection.execute(insert(FollowerSnapshot), rows)
    return len(rows)
