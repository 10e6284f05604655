"""The analytics roll-up: each workspace's latest numbers summed by local day and hour, and by local day, campaign,
network and answer, and each local day's best and worst posts, so a workspace's report reads a few rows a day
instead of every delivery.

Sums are kept by the collector in the transaction that stores the numbers, as deltas (new numbers minus the
delivery's previous ones) added with an upsert; the days it touched are ranked again from their deliveries in the
same transaction. A workspace's roll-up writers are serialised on its row (PostgreSQL; SQLite has one writer), and
the collector's fence already stores each reading once, so two collectors give the sums one would.

Days and hours are local to each post's character, in the zone recorded in `RollupZone`; a character whose zone has
changed is bucketed again (its posts taken out of the old buckets and put in the new) the next time the collector
stores one of its numbers, and reports read deliveries until then. A workspace is only read from the roll-up once
`rebuild` has built it (RollupZone's character 0): until then, and for numbers written around the collector,
reports scan deliveries as before. The metrics job builds one unbuilt workspace per run; `greenroom analytics
rebuild` does it on demand.
"""

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import case, delete, func, insert, select, update
from sqlalchemy.dialects import postgresql as pg_dialect
from sqlalchemy.dialects import sqlite as sqlite_dialect
from sqlalchemy.engine import Connection, Engine
from sqlmodel import col

from characters.analytics.local_time import HOUR_SECONDS, local_seconds
from characters.bibles.card_data import GREENROOM_EXTENSION_KEY
from characters.core.db import write_transaction
from characters.core.models import (
    Channel,
    Character,
    CharacterVersion,
    Delivery,
    EngagementDay,
    EngagementHour,
    EngagementRank,
    Post,
    RollupZone,
    Workspace,
)
from characters.publishing.sql import in_ids, is_postgresql

# RollupZone's character 0: the workspace's roll-up is built.
BUILT = 0
# The best and the worst posts shown.
TOP = 5
UTC_ZONE = ZoneInfo("UTC")
NUMBERS = ("posts", "likes", "reposts", "replies", "quotes")
Numbers = tuple[int, int, int, int, int]
HourKey = tuple[int, int, int]  # workspace, local day, hour
DayKey = tuple[int, int, int, str, bool]  # workspace, local day, campaign (0: none), network, answer


def zone_key(name: object) -> str:
    """Return the IANA zone a character's bible names, or UTC when it names none or an unknown one."""
    try:
        return ZoneInfo(str(name)).key if name else "UTC"
    except (ZoneInfoNotFoundError, ValueError):
        return "UTC"


def current_zones(connection: Connection, character_ids: Iterable[int]) -> dict[int, str]:
    """Return each character's zone now, from its current bible, in one statement."""
    ids = sorted(set(character_ids))
    if not ids:
        return {}
    card = CharacterVersion.__table__.c.card  # type: ignore[attr-defined]
    rows = connection.execute(
        select(col(Character.id), card[("extensions", GREENROOM_EXTENSION_KEY, "timezone")])
        .join(CharacterVersion, (col(CharacterVersion.character_id) == col(Character.id))
              & (col(CharacterVersion.number) == col(Character.current_version)))
        .where(in_ids(col(Character.id), is_postgresql(connection))), {"b_ids": ids})
    return {int(character_id): zone_key(name) for character_id, name in rows}


@dataclass
class Sums:
    """Roll-up deltas gathered before they are written: hour rows and day rows, by key."""

    hours: dict[HourKey, list[int]]
    days: dict[DayKey, list[int]]

    @classmethod
    def empty(cls) -> "Sums":
        """Return no deltas."""
        return cls(defaultdict(lambda: [0] * 5), defaultdict(lambda: [0] * 5))

    def add(self, workspace_id: int, local_hour: int, campaign_id: int | None, network: str | None, answer: bool,
            numbers: Iterable[int]) -> None:
        """Add numbers to the workspace's rows (hours only count broadcasts)."""
        day, hour = divmod(local_hour, 24)
        values = list(numbers)
        if not answer:
            _add(self.hours[(workspace_id, day, hour)], values)
        _add(self.days[(workspace_id, day, campaign_id or 0, network or "", answer)], values)


def _add(target: list[int], values: list[int]) -> None:
    for n, value in enumerate(values):
        target[n] += value


def _upsert(connection: Connection, model: Any, keys: tuple[str, ...], sums: Mapping[Any, list[int]]) -> None:
    """Add the sums to their rows (created at zero when missing), in key order so writers never deadlock."""
    rows = [dict(zip(keys, key, strict=True)) | dict(zip(NUMBERS, values, strict=True))
            for key, values in sorted(sums.items()) if any(values)]
    if not rows:
        return
    dialect = pg_dialect if is_postgresql(connection) else sqlite_dialect
    statement = dialect.insert(model)
    connection.execute(statement.on_conflict_do_update(
        index_elements=list(keys),
        set_={name: getattr(model, name) + getattr(statement.excluded, name) for name in NUMBERS}), rows)


HOUR_KEYS = ("workspace_id", "day", "hour")
DAY_KEYS = ("workspace_id", "day", "campaign_id", "network", "answer")


def write(connection: Connection, sums: Sums) -> None:
    """Add gathered deltas to the roll-up."""
    _upsert(connection, EngagementHour, HOUR_KEYS, sums.hours)
    _upsert(connection, EngagementDay, DAY_KEYS, sums.days)


def _contributions(connection: Connection, workspace_id: int, zones: Mapping[int, str],
                   character_id: int | None = None) -> Sums:
    """Return what the workspace's (or one character's) measured deliveries add to the roll-up, bucketed in `zones`
    (character id to zone key), computed by the database from the deliveries themselves."""
    conditions = [col(Post.workspace_id) == workspace_id, col(Delivery.metrics_at).is_not(None),
                  col(Delivery.published_at).is_not(None)]
    if character_id is not None:
        conditions.append(col(Post.character_id) == character_id)
    joined = select().select_from(Delivery).join(Post, col(Post.id) == col(Delivery.post_id)).where(*conditions)
    first, last = connection.execute(joined.add_columns(func.min(col(Delivery.published_at)),
                                                        func.max(col(Delivery.published_at)))).one()
    sums = Sums.empty()
    if first is None:
        return sums
    local = local_seconds(col(Delivery.published_at), col(Post.character_id),
                          {character: ZoneInfo(zone) for character, zone in zones.items()},
                          first, last + timedelta(seconds=1), connection.dialect.name)
    answer = case((col(Post.conversation_id).is_not(None), 1), else_=0)
    local_hour = local // HOUR_SECONDS
    rows = connection.execute(
        joined.outerjoin(Channel, col(Channel.id) == col(Delivery.channel_id))
        .add_columns(local_hour, col(Post.campaign_id), col(Channel.kind), answer,
                     func.count(), func.sum(col(Delivery.likes)), func.sum(col(Delivery.reposts)),
                     func.sum(col(Delivery.replies)), func.sum(col(Delivery.quotes)))
        .group_by(local_hour, col(Post.campaign_id), col(Channel.kind), answer))
    for hour, campaign_id, kind, is_answer, *numbers in rows:
        sums.add(workspace_id, int(hour), campaign_id, kind, bool(is_answer), (int(value or 0) for value in numbers))
    return sums


def _negated(sums: Sums) -> Sums:
    for table in (sums.hours, sums.days):
        for values in table.values():
            values[:] = [-value for value in values]
    return sums


def _lock_workspaces(connection: Connection, ids: list[int]) -> None:
    """Serialise roll-up writers of these workspaces (PostgreSQL; SQLite has one writer): a rebuild reads the
    deliveries while no collector can add a delta it would count twice or miss. FOR NO KEY UPDATE leaves rows that
    point at the workspace free to be written."""
    if is_postgresql(connection) and ids:
        connection.execute(select(col(Workspace.id)).where(in_ids(col(Workspace.id), True))
                           .order_by(col(Workspace.id)).with_for_update(key_share=True), {"b_ids": ids})


def _zones_recorded(connection: Connection, workspace_ids: list[int]) -> dict[int, dict[int, str]]:
    """Return, for each built workspace, the zone each character's rows were bucketed in."""
    recorded: dict[int, dict[int, str]] = {}
    rows = list(connection.execute(
        select(col(RollupZone.workspace_id), col(RollupZone.character_id), col(RollupZone.zone))
        .where(in_ids(col(RollupZone.workspace_id), is_postgresql(connection))), {"b_ids": workspace_ids}))
    built = {workspace_id for workspace_id, character_id, _ in rows if character_id == BUILT}
    for workspace_id, character_id, zone in rows:
        if workspace_id in built:
            recorded.setdefault(workspace_id, {})[character_id] = zone
    return recorded


def _set_zone(connection: Connection, workspace_id: int, character_id: int, zone: str, known: bool) -> None:
    if known:
        connection.execute(update(RollupZone).where(col(RollupZone.workspace_id) == workspace_id,
                                                   col(RollupZone.character_id) == character_id).values(zone=zone))
    else:
        connection.execute(insert(RollupZone),
                           [{"workspace_id": workspace_id, "character_id": character_id, "zone": zone}])


@dataclass(frozen=True)
class Reading:
    """A delivery's new numbers, as the collector is about to store them."""

    delivery_id: int
    likes: int
    reposts: int
    replies: int
    quotes: int


def apply_readings(connection: Connection, readings: list[Reading]) -> dict[int, set[int]]:
    """Add what the readings change to the roll-up of built workspaces; call before the deliveries are updated, and
    `rerank` with the local days this returns (by workspace) after.

    Runs in the collector's transaction, after its fence locked the deliveries, so the previous numbers read here
    are the ones the update replaces.
    """
    if not readings:
        return {}
    postgresql = is_postgresql(connection)
    rows = list(connection.execute(
        select(col(Delivery.id), col(Post.workspace_id), col(Post.character_id), col(Post.campaign_id),
               col(Post.conversation_id).is_not(None), col(Channel.kind), col(Delivery.published_at),
               col(Delivery.metrics_at), col(Delivery.likes), col(Delivery.reposts), col(Delivery.replies),
               col(Delivery.quotes))
        .select_from(Delivery).join(Post, col(Post.id) == col(Delivery.post_id))
        .outerjoin(Channel, col(Channel.id) == col(Delivery.channel_id))
        .where(in_ids(col(Delivery.id), postgresql)), {"b_ids": [reading.delivery_id for reading in readings]}))
    workspace_ids = sorted({int(row[1]) for row in rows})
    _lock_workspaces(connection, workspace_ids)
    recorded = _zones_recorded(connection, workspace_ids)
    rows = [row for row in rows if row[1] in recorded and row[6] is not None]
    zones = current_zones(connection, {int(row[2]) for row in rows})
    sums = Sums.empty()
    touched: dict[int, set[int]] = {}
    for workspace_id, character_id in sorted({(int(row[1]), int(row[2])) for row in rows}):
        before, now = recorded[workspace_id].get(character_id), zones.get(character_id, "UTC")
        if before != now:
            if before is not None:  # bucketed in another zone: take its rows out, put them back in the new one
                moved = [_negated(_contributions(connection, workspace_id, {character_id: before}, character_id)),
                         _contributions(connection, workspace_id, {character_id: now}, character_id)]
                for part in moved:
                    write(connection, part)
                    touched.setdefault(workspace_id, set()).update(key[1] for key in part.days)
            _set_zone(connection, workspace_id, character_id, now, before is not None)
    new = {reading.delivery_id: reading for reading in readings}
    for (delivery_id, workspace_id, character_id, campaign_id, answer, kind, published_at, measured_at,
         *previous) in rows:
        reading = new[int(delivery_id or 0)]
        change = [1 - (measured_at is not None), reading.likes, reading.reposts, reading.replies, reading.quotes]
        if measured_at is not None:
            change[1:] = [value - int(old or 0) for value, old in zip(change[1:], previous, strict=True)]
        zone = ZoneInfo(zones.get(int(character_id), "UTC"))
        hour = local_hour(published_at, zone)  # type: ignore[arg-type]
        sums.add(int(workspace_id), hour, campaign_id, kind, bool(answer), change)
        if not answer:
            touched.setdefault(int(workspace_id), set()).add(hour // 24)
    write(connection, sums)
    return touched


def local_hour(moment: datetime, zone: ZoneInfo) -> int:
    """Return the local hours since the epoch of `moment` in `zone`, as `local_time.local_seconds` buckets it."""
    offset = moment.astimezone(zone).utcoffset()
    return (int(moment.timestamp()) + int(offset.total_seconds() if offset else 0)) // HOUR_SECONDS


def rebuild(engine: Engine, workspace_id: int) -> int:
    """Build the workspace's roll-up afresh from its deliveries (in one transaction); return the rows written."""
    with write_transaction(engine) as connection:
        _lock_workspaces(connection, [workspace_id])
        for model in (EngagementHour, EngagementDay, EngagementRank, RollupZone):
            connection.execute(delete(model).where(col(model.workspace_id) == workspace_id))
        characters = [int(row[0] or 0) for row in connection.execute(
            select(col(Character.id)).where(col(Character.workspace_id) == workspace_id))]
        zones = current_zones(connection, characters)
        sums = _contributions(connection, workspace_id, zones)
        write(connection, sums)
        connection.execute(insert(RollupZone), [
            {"workspace_id": workspace_id, "character_id": character, "zone": zone}
            for character, zone in sorted({**zones, BUILT: ""}.items())])
        rerank(connection, {workspace_id: {key[1] for key in sums.hours}})
        return len(sums.hours) + len(sums.days)


# Zone offsets run from -12 to +14 hours: a local day's posts were published within these of its UTC day.
EARLIEST, LATEST = timedelta(hours=14), timedelta(hours=12)


def _runs(days: set[int]) -> list[tuple[int, int]]:
    """Return the days as runs of consecutive days (first, last), so nearby days are read in one statement."""
    runs: list[tuple[int, int]] = []
    for day in sorted(days):
        if runs and day <= runs[-1][1] + 2:
            runs[-1] = (runs[-1][0], day)
        else:
            runs.append((day, day))
    return runs


def rerank(connection: Connection, touched: Mapping[int, set[int]]) -> None:
    """Rank the local days again (each workspace's TOP best and worst broadcasts a day) from the deliveries."""
    engagement = col(Delivery.likes) + col(Delivery.reposts) + col(Delivery.replies) + col(Delivery.quotes)
    postgresql = is_postgresql(connection)
    for workspace_id, days in sorted(touched.items()):
        zones = {character: ZoneInfo(zone) for character, zone in connection.execute(
            select(col(RollupZone.character_id), col(RollupZone.zone))
            .where(col(RollupZone.workspace_id) == workspace_id, col(RollupZone.character_id) != BUILT))}
        by_day: dict[int, list[tuple[int, int]]] = {day: [] for day in days}
        for first, last in _runs(days):
            # Two plain statements instead of a join: the deliveries of the window from the published time's index
            # alone, then their posts by primary key. Joined, PostgreSQL without fresh statistics chose plans that
            # took seconds a round.
            window = list(connection.execute(
                select(col(Delivery.id), col(Delivery.post_id), engagement, col(Delivery.published_at))
                .where(col(Delivery.metrics_at).is_not(None),
                       col(Delivery.published_at) >= datetime.fromtimestamp(first * 86_400, UTC) - EARLIEST,
                       col(Delivery.published_at) < datetime.fromtimestamp((last + 1) * 86_400, UTC) + LATEST)))
            authors = dict(connection.execute(
                select(col(Post.id), col(Post.character_id))
                .where(in_ids(col(Post.id), postgresql), col(Post.workspace_id) == workspace_id,
                       col(Post.conversation_id).is_(None)),
                {"b_ids": sorted({int(row[1]) for row in window})}).all()) if window else {}
            for delivery_id, post_id, value, published_at in window:
                if post_id not in authors:
                    continue
                day = local_hour(published_at, zones.get(authors[post_id], UTC_ZONE)) // 24  # type: ignore[arg-type]
                if day in by_day:
                    by_day[day].append((int(value), int(delivery_id or 0)))
        connection.execute(delete(EngagementRank).where(col(EngagementRank.workspace_id) == workspace_id,
                                                        col(EngagementRank.day).in_(sorted(days))))
        ranks = [{"workspace_id": workspace_id, "day": day, "top": top, "delivery_id": delivery_id,
                  "engagement": value}
                 for day, posts in sorted(by_day.items())
                 for top, chosen in ((True, sorted(posts, key=lambda post: (-post[0], -post[1]))[:TOP]),
                                     (False, sorted(posts)[:TOP]))
                 for value, delivery_id in chosen]
        if ranks:
            connection.execute(insert(EngagementRank), ranks)


def unbuilt_workspaces(engine: Engine, limit: int = 1) -> list[int]:
    """Return workspaces whose roll-up was never built (an older database, a new workspace), oldest first."""
    built = select(col(RollupZone.workspace_id)).where(col(RollupZone.character_id) == BUILT)
    with engine.connect() as connection:
        return [int(row[0] or 0) for row in connection.execute(
            select(col(Workspace.id)).where(col(Workspace.id).not_in(built)).order_by(col(Workspace.id)).limit(limit))]
