"""The analytics reports: totals and trend, top and bottom, by campaign and network, best hours in the character's
zone across a DST change, follower growth, and empty data; on SQLite and PostgreSQL."""

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlmodel import Session

from characters.analytics.hours import MIN_POSTS_PER_HOUR, best_hours_of
from characters.analytics.local_time import offset_pieces
from characters.analytics.reports import Filters, Report, build_report, cached_report, parse_period
from characters.bibles.bible import list_characters
from characters.core.errors import DomainError
from characters.core.models import Campaign, ChannelKind, Character, EngagementSnapshot, Post, Workspace, require_id
from characters.posting.rhythm import zones_of
from tests.characters.analytics.builders import followers, network_channel, published
from tests.factories import make_character, workspace_with_roles

NEW_YORK = ZoneInfo("America/New_York")
UTC_ZONE = ZoneInfo("UTC")
NOW = datetime(2026, 12, 3, 19, 0, tzinfo=UTC)
# US daylight time ends on Sunday 1 November 2026 at 02:00 local (06:00 UTC): 09:00 local is 13:00 UTC before it,
# 14:00 UTC after it.
AROUND_DST = ("2026-10-18", "2026-11-14")


@pytest.fixture
def world(session: Session) -> dict[str, object]:
    people = workspace_with_roles(session)
    walt = make_character(session, people["workspace"], people["owner"], "Walt Test", timezone="America/New_York")
    return {"workspace": people["workspace"], "walt": walt, "owner": people["owner"]}


def _report(session: Session, workspace: Workspace, first: str, last: str, zone: ZoneInfo = UTC_ZONE,
            **filters: object) -> Report:
    period = parse_period(None, first, last, zone, NOW)
    characters = list_characters(session, workspace, include_archived=True)
    return build_report(session, workspace, period, Filters(**filters),  # type: ignore[arg-type]
                        zones=zones_of(session, characters), display_zone=zone)


def _at(day: str, clock: str, zone: ZoneInfo) -> datetime:
    return datetime.fromisoformat(f"{day}T{clock}").replace(tzinfo=zone).astimezone(UTC)


def test_totals_and_the_daily_trend_count_only_measured_posts(session: Session, world):
    walt: Character = world["walt"]  # type: ignore[assignment]
    sky = network_channel(session, walt)
    published(session, walt, sky, _at("2026-11-02", "10:00", UTC_ZONE), likes=10, reposts=2, replies=1, quotes=1)
    published(session, walt, sky, _at("2026-11-02", "15:00", UTC_ZONE), likes=4)
    published(session, walt, sky, _at("2026-11-04", "10:00", UTC_ZONE), likes=1, replies=1)
    published(session, walt, sky, _at("2026-11-04", "11:00", UTC_ZONE), likes=99, measured=False)
    report = _report(session, world["workspace"], "2026-11-01", "2026-11-07")  # type: ignore[arg-type]
    assert (report.totals.posts, report.totals.likes, report.totals.engagement) == (3, 15, 20)
    assert report.totals.per_post == pytest.approx(20 / 3)
    assert [day for day, _ in report.days] == [date(2026, 11, d) for d in range(1, 8)]
    assert [tally.engagement for _, tally in report.days] == [0, 18, 0, 2, 0, 0, 0]
    assert report.trend == report.days  # a week is read by day
    assert not report.empty


def test_top_and_bottom_posts_never_repeat_and_carry_their_text(session: Session, world):
    walt: Character = world["walt"]  # type: ignore[assignment]
    sky = network_channel(session, walt)
    for number in range(8):
        published(session, walt, sky, _at("2026-11-02", f"{8 + number:02d}:00", UTC_ZONE), likes=number * 3,
                  text=f"Post number {number}")
    report = _report(session, world["workspace"], "2026-11-01", "2026-11-07")  # type: ignore[arg-type]
    assert [row.numbers.likes for row in report.top] == [21, 18, 15, 12, 9]
    assert [row.numbers.likes for row in report.bottom] == [0, 3, 6]  # the other three, worst first
    assert report.top[0].excerpt == "Post number 7"
    assert report.top[0].network == "bluesky"


def test_few_posts_are_all_in_the_top_list_and_none_in_the_bottom(session: Session, world):
    walt: Character = world["walt"]  # type: ignore[assignment]
    sky = network_channel(session, walt)
    for number in range(3):
        published(session, walt, sky, _at("2026-11-02", f"{8 + number:02d}:00", UTC_ZONE), likes=number)
    report = _report(session, world["workspace"], "2026-11-01", "2026-11-07")  # type: ignore[arg-type]
    assert [row.numbers.likes for row in report.top] == [2, 1, 0]
    assert report.bottom == []


def test_numbers_by_campaign_and_by_network_and_the_filters(session: Session, world):
    walt: Character = world["walt"]  # type: ignore[assignment]
    workspace: Workspace = world["workspace"]  # type: ignore[assignment]
    sky = network_channel(session, walt)
    toot = network_channel(session, walt, ChannelKind.MASTODON)
    launch = Campaign(workspace_id=require_id(workspace), name="Launch")
    session.add(launch)
    session.flush()
    both = published(session, walt, sky, _at("2026-11-02", "10:00", UTC_ZONE), likes=10, campaign_id=launch.id)
    # The same post on Mastodon too: one post on each network.
    published(session, walt, toot, _at("2026-11-02", "10:00", UTC_ZONE), likes=3, reposts=1,
              post=session.get(Post, both.post_id))
    published(session, walt, toot, _at("2026-11-03", "10:00", UTC_ZONE), likes=2)
    report = _report(session, workspace, "2026-11-01", "2026-11-07")
    assert {campaign: tally.engagement for campaign, tally in report.by_campaign} == {launch.id: 14, None: 2}
    assert {network: (tally.posts, tally.engagement) for network, tally in report.by_network} == {
        "bluesky": (1, 10), "mastodon": (2, 6)}
    assert _report(session, workspace, "2026-11-01", "2026-11-07", network="mastodon").totals.engagement == 6
    assert _report(session, workspace, "2026-11-01", "2026-11-07", campaign_id=launch.id).totals.posts == 2
    assert _report(session, workspace, "2026-11-01", "2026-11-07",
                   character_id=require_id(walt)).totals.posts == 3


def test_weekday_and_hour_are_local_to_the_character_across_a_dst_change(session: Session, world):
    walt: Character = world["walt"]  # type: ignore[assignment]
    sky = network_channel(session, walt)
    # 09:00 in New York every day from 25 October to 7 November: 13:00 UTC before the change, 14:00 UTC after it.
    for n in range(14):
        day = (date(2026, 10, 25) + timedelta(days=n)).isoformat()
        published(session, walt, sky, _at(day, "09:00", NEW_YORK), likes=20)
        published(session, walt, sky, _at(day, "20:00", NEW_YORK), likes=2)
    # 23:30 on Saturday 31 October in New York is already Sunday in UTC.
    published(session, walt, sky, _at("2026-10-31", "23:30", NEW_YORK), likes=1)
    report = _report(session, world["workspace"], *AROUND_DST, zone=NEW_YORK)  # type: ignore[arg-type]
    assert report.by_hour[9].posts == 14
    assert report.by_hour[20].posts == 14
    assert report.by_hour[13].posts == report.by_hour[14].posts == 0
    assert report.by_hour[23].posts == 1
    assert report.by_weekday[5].posts == 2 * 2 + 1  # two Saturdays, and the late one
    assert report.by_weekday[6].posts == 2 * 2
    assert report.best.hours == (9,)  # 20:00 does worse than the average post
    assert "09:00" in report.best.describe()
    assert dict(report.days)[date(2026, 10, 31)].posts == 3
    assert dict(report.days)[date(2026, 11, 1)].posts == 2
    # The queue's view over the last 180 days agrees.
    best = best_hours_of(session, {require_id(walt): NEW_YORK}, datetime(2026, 11, 14, tzinfo=UTC))
    assert best[require_id(walt)].hours == (9,)


def test_the_zone_pieces_change_at_the_transition():
    pieces = offset_pieces(NEW_YORK, datetime(2026, 10, 18, tzinfo=UTC), datetime(2026, 11, 14, tzinfo=UTC))
    assert pieces == [(datetime(2026, 11, 1, 6, 0, tzinfo=UTC), -4 * 3600), (None, -5 * 3600)]
    assert offset_pieces(UTC_ZONE, datetime(2026, 1, 1, tzinfo=UTC), datetime(2027, 1, 1, tzinfo=UTC)) == [(None, 0)]


def test_each_character_is_read_in_its_own_zone(session: Session, world):
    walt: Character = world["walt"]  # type: ignore[assignment]
    workspace: Workspace = world["workspace"]  # type: ignore[assignment]
    tokyo = make_character(session, workspace, world["owner"], "Kiko Test", timezone="Asia/Tokyo")  # type: ignore[arg-type]
    moment = datetime(2026, 11, 2, 12, 0, tzinfo=UTC)  # 07:00 in New York, 21:00 in Tokyo
    published(session, walt, network_channel(session, walt), moment, likes=1)
    published(session, tokyo, network_channel(session, tokyo), moment, likes=1)
    report = _report(session, workspace, "2026-11-01", "2026-11-07")
    assert [hour for hour, tally in enumerate(report.by_hour) if tally.posts] == [7, 21]


def test_thin_data_says_so_instead_of_naming_best_hours(session: Session, world):
    walt: Character = world["walt"]  # type: ignore[assignment]
    sky = network_channel(session, walt)
    for n in range(MIN_POSTS_PER_HOUR):
        published(session, walt, sky, _at(f"2026-11-0{n + 1}", "09:00", NEW_YORK), likes=5)
    published(session, walt, sky, _at("2026-11-02", "18:00", NEW_YORK), likes=50)
    report = _report(session, world["workspace"], "2026-11-01", "2026-11-07", zone=NEW_YORK)  # type: ignore[arg-type]
    assert not report.best.enough
    assert report.best.describe().startswith("Not enough data for best hours yet: 6 measured posts, 1 hours")


def test_follower_growth_over_the_period(session: Session, world):
    walt: Character = world["walt"]  # type: ignore[assignment]
    sky = network_channel(session, walt)
    toot = network_channel(session, walt, ChannelKind.MASTODON)
    followers(session, sky, datetime(2026, 10, 30, 12, tzinfo=UTC), 100)
    followers(session, sky, datetime(2026, 11, 3, 12, tzinfo=UTC), 120)
    followers(session, sky, datetime(2026, 11, 6, 12, tzinfo=UTC), 150)
    followers(session, sky, datetime(2026, 11, 9, 12, tzinfo=UTC), 999)  # after the period
    followers(session, toot, datetime(2026, 11, 4, 12, tzinfo=UTC), 40)  # first read inside the period
    followers(session, toot, datetime(2026, 11, 5, 12, tzinfo=UTC), 45)
    report = _report(session, world["workspace"], "2026-11-01", "2026-11-07")  # type: ignore[arg-type]
    growth = {account.network: (account.start, account.end, account.change) for account in report.accounts}
    assert growth == {"bluesky": (100, 150, 50), "mastodon": (40, 45, 5)}
    assert report.follower_change == 55
    assert report.followers == [(date(2026, 11, 1), 100), (date(2026, 11, 2), 100), (date(2026, 11, 3), 120),
                                (date(2026, 11, 4), 160), (date(2026, 11, 5), 165), (date(2026, 11, 6), 195),
                                (date(2026, 11, 7), 195)]
    assert not report.empty  # followers alone are something to show


def test_an_empty_workspace_has_an_empty_report(session: Session, world):
    report = _report(session, world["workspace"], "2026-11-01", "2026-11-07")  # type: ignore[arg-type]
    assert report.empty
    assert report.totals.posts == 0
    assert report.top == []
    assert report.by_campaign == []
    assert report.accounts == []
    assert [tally.posts for _, tally in report.days] == [0] * 7
    assert not report.best.enough


def test_a_long_period_reads_weekly(session: Session, world):
    report = _report(session, world["workspace"], "2026-01-01", "2026-12-31")  # type: ignore[arg-type]
    assert report.period.weekly
    assert report.trend == report.weeks
    assert report.weeks[0][0] == date(2025, 12, 29)


@pytest.mark.parametrize(("choice", "first", "last", "message"), [
    ("12d", None, None, "Choose a period of 7, 30, 90 or 365 days"),
    (None, "2026-11-01", None, "Give both the first and the last day"),
    (None, "yesterday", "2026-11-01", "“yesterday” is not a date"),
    (None, "2026-11-05", "2026-11-01", "last day is before its first day"),
    (None, "2025-01-01", "2026-11-01", "at most 366 days"),
])
def test_bad_periods_are_refused_with_a_sentence(choice, first, last, message):
    with pytest.raises(DomainError, match=message):
        parse_period(choice, first, last, UTC_ZONE, NOW)


def test_a_preset_period_ends_now():
    period = parse_period("7d", None, None, NEW_YORK, NOW)
    assert (period.start, period.end) == (NOW - timedelta(days=7), NOW)
    assert period.describe() == "the last 7 days"
    assert parse_period(None, None, None, NEW_YORK, NOW).choice == "30d"


def test_a_report_is_reused_until_a_number_changes(session: Session, world):
    walt: Character = world["walt"]  # type: ignore[assignment]
    workspace: Workspace = world["workspace"]  # type: ignore[assignment]
    sky = network_channel(session, walt)
    delivery = published(session, walt, sky, _at("2026-11-02", "10:00", UTC_ZONE), likes=4)
    period = parse_period(None, "2026-11-01", "2026-11-07", UTC_ZONE, NOW)
    zones = {require_id(walt): NEW_YORK}

    def report() -> Report:
        return cached_report(session, workspace, period, Filters(), zones=zones, display_zone=UTC_ZONE)

    first = report()
    assert report() is first  # nothing changed
    assert cached_report(session, workspace, period, Filters(network="mastodon"), zones=zones,
                         display_zone=UTC_ZONE) is not first  # another question
    delivery.likes = 9  # the collector stores a reading: a snapshot, and the latest numbers
    session.add(EngagementSnapshot(delivery_id=require_id(delivery), taken_at=NOW, likes=9))
    session.flush()
    again = report()
    assert again is not first
    assert again.totals.likes == 9
    published(session, walt, sky, _at("2026-11-03", "10:00", UTC_ZONE), likes=1)  # a new delivery
    assert report().totals.posts == 2


def test_replies_to_the_audience_are_counted_apart_from_the_posts(session: Session, world):
    walt: Character = world["walt"]  # type: ignore[assignment]
    workspace: Workspace = world["workspace"]  # type: ignore[assignment]
    sky = network_channel(session, walt)
    for n in range(12):  # broadcasts at 09:00 and 18:00, the evening ones doing better
        clock = "09:00" if n % 2 else "18:00"
        published(session, walt, sky, _at(f"2026-11-{2 + n // 2:02d}", clock, NEW_YORK), likes=10 if n % 2 else 20,
                  text=f"Broadcast {n}")
    for n in range(6):  # quick answers at 03:00 with next to no engagement: never a post's ranking or hour
        published(session, walt, sky, _at(f"2026-11-{8 + n:02d}", "03:00", NEW_YORK), likes=n % 2,
                  text=f"Thanks! {n}", conversation_id=1000 + n)
    report = _report(session, workspace, "2026-11-01", "2026-11-14", zone=NEW_YORK)
    assert report.totals.posts == 12
    assert report.totals.engagement == 6 * 10 + 6 * 20
    assert (report.answers.posts, report.answers.engagement) == (6, 3)
    assert not any(row.excerpt.startswith("Thanks!") for row in report.top + report.bottom)
    assert [row.excerpt for row in report.bottom][:1] == ["Broadcast 1"]
    assert report.by_hour[3].posts == 0
    assert sum(tally.posts for tally in report.by_weekday) == 12
    assert sum(tally.posts for _, tally in report.by_network) == 12
    assert sum(tally.posts for _, tally in report.by_campaign) == 12
    assert sum(tally.posts for _, tally in report.days) == 12
    assert report.best.hours == (18,)
    assert best_hours_of(session, {require_id(walt): NEW_YORK}, NOW)[require_id(walt)].hours == (18,)
    # Only answers in the period: the page still has something to say.
    only_answers = _report(session, workspace, "2026-11-10", "2026-11-10", zone=NEW_YORK)
    assert (only_answers.totals.posts, only_answers.answers.posts) == (0, 1)
    assert not only_answers.empty
