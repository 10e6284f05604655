"""The analytics roll-up: after any sequence of readings it equals a rebuild from the deliveries and gives the report
the deliveries give; two collectors at once, a character's zone changing, and a workspace never built; on SQLite and
PostgreSQL."""

import itertools
import threading
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select, update
from sqlalchemy.engine import Engine
from sqlmodel import Session, col

from characters.analytics import reports
from characters.analytics.collect import Counts, DueDelivery, Measured, record
from characters.analytics.reports import Filters, build_report, parse_period
from characters.analytics.rollup import BUILT, rebuild, unbuilt_workspaces
from characters.bibles.bible import list_characters
from characters.core.models import (
    Campaign,
    ChannelKind,
    Character,
    CharacterVersion,
    Delivery,
    EngagementDay,
    EngagementHour,
    EngagementRank,
    RollupZone,
    Workspace,
    require_id,
)
from characters.posting.rhythm import zones_of
from scheduler.metrics.collector import MetricsCollector
from tests.characters.analytics.builders import network_channel, published
from tests.factories import make_character, make_conversation, make_user, make_workspace

NOW = datetime(2026, 12, 3, 19, 0, tzinfo=UTC)
# A DST zone, a :45 zone and a zone whose DST moves by half an hour.
ZONES = ("America/New_York", "Asia/Kathmandu", "Australia/Lord_Howe")
_slugs = itertools.count()


def _world(session: Session) -> dict[str, object]:
    slug = f"roll{next(_slugs)}"
    owner = make_user(session, f"owner@{slug}.example")
    workspace = make_workspace(session, owner, slug)
    characters = [make_character(session, workspace, owner, f"Char {n} {slug}", timezone=zone)
                  for n, zone in enumerate(ZONES)]
    channels = [[network_channel(session, character, kind) for kind in (ChannelKind.BLUESKY, ChannelKind.MASTODON)]
                for character in characters]
    campaign = Campaign(workspace_id=require_id(workspace), name="Launch")
    session.add(campaign)
    session.commit()
    return {"workspace": workspace, "characters": characters, "channels": channels, "campaign": campaign,
            "owner": owner}


def _read(engine: Engine, session: Session, delivery_id: int, numbers: tuple[int, int, int, int]) -> None:
    """Store a reading through the collector's own `record`, at the delivery's current step."""
    session.expire_all()
    delivery = session.get(Delivery, delivery_id)
    assert delivery is not None
    assert delivery.published_at is not None
    due = DueDelivery(id=delivery_id, channel_id=delivery.channel_id or 0, kind="bluesky", step=delivery.metrics_step,
                      published_at=delivery.published_at, remote_id="x")
    session.commit()
    record(engine, [Measured(due, Counts(*numbers))], NOW)


def _rows(session: Session, workspace_id: int) -> tuple[dict[object, tuple[int, ...]], ...]:
    """Return the workspace's roll-up rows (sums without the all-zero ones, and ranks)."""
    session.expire_all()
    hours = {(row.day, row.hour): (row.posts, row.likes, row.reposts, row.replies, row.quotes)
             for row in session.exec(select(EngagementHour).where(col(EngagementHour.workspace_id) == workspace_id))
             .scalars()}
    days = {(row.day, row.campaign_id, row.network, row.answer): (row.posts, row.likes, row.reposts, row.replies,
                                                                   row.quotes)
            for row in session.exec(select(EngagementDay).where(col(EngagementDay.workspace_id) == workspace_id))
            .scalars()}
    ranks = {(row.day, row.top, row.delivery_id): (row.engagement,)
             for row in session.exec(select(EngagementRank).where(col(EngagementRank.workspace_id) == workspace_id))
             .scalars()}
    session.commit()
    return ({key: value for key, value in hours.items() if any(value)},
            {key: value for key, value in days.items() if any(value)}, ranks)


def _assert_equals_rebuild(engine: Engine, session: Session, workspace_id: int) -> None:
    kept = _rows(session, workspace_id)
    rebuild(engine, workspace_id)
    assert kept == _rows(session, workspace_id)


def _reports(session: Session, workspace: Workspace, monkeypatch: pytest.MonkeyPatch,
             periods: list[tuple[str | None, str | None, str | None]]) -> None:
    """Assert the report from the roll-up equals the report from the deliveries, for each period."""
    zones = zones_of(session, list_characters(session, workspace, include_archived=True))
    for choice, first, last in periods:
        period = parse_period(choice, first, last, ZoneInfo("UTC"), NOW)
        split = reports._split(period, zones)
        with_rollup = build_report(session, workspace, period, Filters(), zones=zones, display_zone=ZoneInfo("UTC"))
        assert reports._rollup_ready(session, workspace, Filters(), zones)
        with monkeypatch.context() as patched:
            patched.setattr(reports, "_rollup_ready", lambda *_: False)
            direct = build_report(session, workspace, period, Filters(), zones=zones, display_zone=ZoneInfo("UTC"))
        assert with_rollup == direct, (choice, first, last, split)


READING = st.tuples(*[st.integers(0, 40)] * 4)
POST = st.tuples(st.integers(0, 2), st.integers(0, 1), st.integers(0, 400 * 24), st.booleans(),
                 st.sampled_from(["broadcast", "broadcast", "answer"]), st.lists(READING, min_size=0, max_size=3))


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(posts=st.lists(POST, min_size=1, max_size=14))
def test_after_any_readings_the_rollup_equals_a_rebuild_and_the_report_the_deliveries_give(
        engine, session, monkeypatch, posts):
    world = _world(session)
    workspace: Workspace = world["workspace"]  # type: ignore[assignment]
    rebuild(engine, require_id(workspace))  # built while empty: every reading below goes through the collector
    deliveries = []
    for character_n, network_n, hours_ago, in_campaign, kind, readings in posts:
        character: Character = world["characters"][character_n]  # type: ignore[index]
        conversation = make_conversation(session, character).id if kind == "answer" else None
        delivery = published(session, character, world["channels"][character_n][network_n],  # type: ignore[index]
                             NOW - timedelta(hours=hours_ago, minutes=hours_ago % 60), measured=False,
                             campaign_id=world["campaign"].id if in_campaign else None,  # type: ignore[attr-defined]
                             conversation_id=conversation)
        session.commit()
        deliveries.append((require_id(delivery), readings))
    # Readings interleaved across posts, as rounds of the collector would store them.
    for round_n in range(3):
        for delivery_id, readings in deliveries:
            if round_n < len(readings):
                _read(engine, session, delivery_id, readings[round_n])
    _reports(session, workspace, monkeypatch, [("7d", None, None), ("30d", None, None), ("90d", None, None),
                                               ("365d", None, None), (None, "2026-03-08", "2026-11-02")])
    _assert_equals_rebuild(engine, session, require_id(workspace))


def test_a_character_whose_zone_changed_is_bucketed_again_by_the_next_reading(engine, session, monkeypatch):
    world = _world(session)
    workspace: Workspace = world["workspace"]  # type: ignore[assignment]
    walt: Character = world["characters"][0]  # type: ignore[index]
    sky = world["channels"][0][0]  # type: ignore[index]
    rebuild(engine, require_id(workspace))
    first = published(session, walt, sky, NOW - timedelta(days=3, hours=2), measured=False)
    second = published(session, walt, sky, NOW - timedelta(days=20, hours=23), measured=False)
    session.commit()
    _read(engine, session, require_id(first), (5, 1, 0, 0))
    _read(engine, session, require_id(second), (2, 0, 0, 0))
    # The bible now says Tokyo: until the collector stores one of its numbers, reports read deliveries.
    card = CharacterVersion.__table__.c.card  # type: ignore[attr-defined]
    version = session.exec(select(CharacterVersion).where(col(CharacterVersion.character_id) == walt.id)
                           ).scalars().one()
    session.execute(update(CharacterVersion).where(col(CharacterVersion.id) == version.id).values(
        {card: {**version.card, "extensions": {**version.card.get("extensions", {}), "greenroom": {
            **version.card["extensions"]["greenroom"], "timezone": "Asia/Tokyo"}}}}))
    session.commit()
    zones = zones_of(session, list_characters(session, workspace, include_archived=True))
    assert zones[require_id(walt)].key == "Asia/Tokyo"
    assert not reports._rollup_ready(session, workspace, Filters(), zones)
    _read(engine, session, require_id(first), (9, 2, 1, 0))
    assert reports._rollup_ready(session, workspace, Filters(), zones)
    _reports(session, workspace, monkeypatch, [("30d", None, None), ("7d", None, None)])
    _assert_equals_rebuild(engine, session, require_id(workspace))


def test_a_workspace_never_built_reads_deliveries_until_the_metrics_job_builds_it(engine, session, monkeypatch):
    world = _world(session)
    workspace: Workspace = world["workspace"]  # type: ignore[assignment]
    walt: Character = world["characters"][1]  # type: ignore[index]
    published(session, walt, world["channels"][1][1], NOW - timedelta(days=4), likes=7)  # type: ignore[index]
    session.commit()
    zones = zones_of(session, list_characters(session, workspace, include_archived=True))
    assert not reports._rollup_ready(session, workspace, Filters(), zones)
    assert require_id(workspace) in unbuilt_workspaces(engine, limit=1000)
    rebuild(engine, require_id(workspace))
    assert require_id(workspace) not in unbuilt_workspaces(engine, limit=1000)
    session.commit()  # a new transaction: SQLite keeps showing an open one its first snapshot
    assert session.exec(select(RollupZone.zone).where(col(RollupZone.workspace_id) == workspace.id,
                                                      col(RollupZone.character_id) == BUILT)).scalar_one() == ""
    _reports(session, workspace, monkeypatch, [("30d", None, None)])


def test_the_metrics_job_builds_a_workspace_never_built(engine, session, monkeypatch):
    world = _world(session)
    workspace: Workspace = world["workspace"]  # type: ignore[assignment]
    walt: Character = world["characters"][2]  # type: ignore[index]
    published(session, walt, world["channels"][2][0], NOW - timedelta(days=9), likes=4, replies=1)  # type: ignore[index]
    session.commit()
    collector = MetricsCollector(engine, [], read_secrets=dict, clock=lambda: NOW)

    assert collector.cycle().rebuilt > 0
    assert unbuilt_workspaces(engine) == []
    _reports(session, workspace, monkeypatch, [("30d", None, None), ("90d", None, None)])


def test_two_collectors_and_a_rebuild_at_once_leave_the_sums_a_rebuild_gives(engine, session):
    world = _world(session)
    workspace: Workspace = world["workspace"]  # type: ignore[assignment]
    rebuild(engine, require_id(workspace))
    ids = []
    for n in range(40):  # all on a few local days, so both collectors add to the same rows
        character_n = n % 3
        channel = world["channels"][character_n][n % 2]  # type: ignore[index]
        delivery = published(session, world["characters"][character_n], channel,  # type: ignore[index]
                             NOW - timedelta(days=2, minutes=7 * n), measured=False)
        ids.append(require_id(delivery))
    session.commit()
    start = threading.Barrier(3)
    errors: list[BaseException] = []

    def collect(mine: list[int], seed: int) -> None:
        start.wait()
        try:
            with Session(engine) as own:
                for step, delivery_id in enumerate(mine):
                    _read(engine, own, delivery_id, (seed + step, 1, 0, step % 2))
        except BaseException as error:  # noqa: BLE001 - reported by the assertion below
            errors.append(error)

    def rebuilding() -> None:
        start.wait()
        try:
            rebuild(engine, require_id(workspace))
        except BaseException as error:  # noqa: BLE001
            errors.append(error)

    threads = [threading.Thread(target=collect, args=(ids[0::2], 3)),
               threading.Thread(target=collect, args=(ids[1::2], 5)), threading.Thread(target=rebuilding)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not errors
    _assert_equals_rebuild(engine, session, require_id(workspace))
    hours, _, _ = _rows(session, require_id(workspace))
    assert sum(value[0] for value in hours.values()) == 40
