"""The numbers of a workspace or a character over a period: totals, trend, top and bottom posts, by campaign, by
network, by weekday and hour in each character's zone, best hours and follower growth.

Everything is aggregated in SQL over each delivery's latest numbers (a published post on one network counts as one
post), in a fixed number of statements whatever the data: local days and hours come from `local_time`, so only
buckets reach Python. Only deliveries whose numbers have been read count (a post published a minute ago has none
yet, and would read as a flop). Replies to audience conversations (listening) are answers, not broadcasts: they are
left out of every number, ranking and best hour and counted on their own (`Report.answers`), so a quick "thank you!"
is never a bottom post nor drags an hour's average down. A whole workspace's report reads the period's whole local
days from the roll-up the collector keeps (`rollup`) and only the deliveries at the period's two edges.
"""

import threading
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from time import monotonic
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, Integer, String, and_, case, cast, func, literal, or_, select, union_all
from sqlmodel import Session, col

from characters.analytics.hours import BestHours, best_hours, measured_in
from characters.analytics.local_time import (
    DAY_SECONDS,
    HOUR_SECONDS,
    day_of,
    local_seconds,
    local_to_utc,
    offset_pieces,
    weekday_of,
)
from characters.analytics.rollup import BUILT, NUMBERS, TOP
from characters.analytics.tally import Tally, tally_of
from characters.core.errors import DomainError
from characters.core.models import (
    SOCIAL_NETWORKS,
    Channel,
    Delivery,
    EngagementDay,
    EngagementHour,
    EngagementRank,
    EngagementSnapshot,
    FollowerSnapshot,
    Post,
    PostPart,
    RollupZone,
    UTCDateTime,
    Workspace,
    require_id,
)

PERIODS = {"7d": 7, "30d": 30, "90d": 90, "365d": 365}
DEFAULT_PERIOD = "30d"
MAX_DAYS = 366
EXCERPT_CHARS = 140
# Longer periods chart weeks instead of days (and follower counts at each week's end).
DAILY_UP_TO = 92
# Follower counts are read at most this many times a period (each is one index lookup per account).
FOLLOWER_POINTS = 16
# Followers over time are charted for up to this many accounts (a character's, a small workspace's).
SERIES_ACCOUNTS = 24
NETWORKS = SOCIAL_NETWORKS
EMPTY_MESSAGE = "No numbers yet: they arrive 10 minutes after a post is published on Bluesky or Mastodon."
WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


@dataclass(frozen=True)
class Period:
    """[start, end) in UTC, the local dates it covers, and the choice it came from (a preset or "custom")."""

    start: datetime
    end: datetime
    first: date
    last: date
    choice: str

    @property
    def days(self) -> int:
        """Return how many local dates the period touches."""
        return (self.last - self.first).days + 1

    @property
    def weekly(self) -> bool:
        """Return True when the trend is better read by week."""
        return self.days > DAILY_UP_TO

    def describe(self) -> str:
        """Return e.g. "the last 30 days" or "1 Nov 2026 – 30 Nov 2026"."""
        if self.choice in PERIODS:
            return f"the last {PERIODS[self.choice]} days"
        return f"{self.first:%-d %b %Y} – {self.last:%-d %b %Y}"


def _date(text: str, field_name: str) -> date:
    try:
        return date.fromisoformat(text.strip()[:10])
    except ValueError:
        raise DomainError(f"“{text[:40]}” is not a date: use YYYY-MM-DD.", field=field_name) from None


def parse_period(choice: str | None, first: str | None, last: str | None, zone: ZoneInfo, now: datetime) -> Period:
    """Return the period a person chose: a preset ("30d") or their own dates, local to `zone`; refuse bad input."""
    if first or last:
        if not (first and last):
            raise DomainError("Give both the first and the last day of the period (YYYY-MM-DD).",
                              field="from" if not first else "to")
        first_day, last_day = _date(first, "from"), _date(last, "to")
        if last_day < first_day:
            raise DomainError("The period's last day is before its first day.", field="to")
        if (last_day - first_day).days + 1 > MAX_DAYS:
            raise DomainError(f"A period is at most {MAX_DAYS} days long.", field="to")
        return Period(local_to_utc(first_day, time(0), zone), local_to_utc(last_day + timedelta(days=1), time(0), zone),
                      first_day, last_day, "custom")
    choice = choice or DEFAULT_PERIOD
    if choice not in PERIODS:
        raise DomainError("Choose a period of 7, 30, 90 or 365 days, or give the first and last day.",
                          field="period")
    start = now - timedelta(days=PERIODS[choice])
    return Period(start, now, start.astimezone(zone).date(), now.astimezone(zone).date(), choice)


@dataclass(frozen=True)
class Filters:
    """What the numbers are narrowed to: one character, one campaign, one network (None: all)."""

    character_id: int | None = None
    campaign_id: int | None = None
    network: str | None = None


@dataclass(frozen=True)
class Ranked:
    """One published post on one network, with its latest numbers."""

    delivery_id: int
    post_id: int
    character_id: int
    network: str
    published_at: datetime
    url: str | None
    numbers: Tally
    excerpt: str = ""


@dataclass(frozen=True)
class Account:
    """One network account's followers at the period's start and end (None: no count read by then)."""

    channel_id: int
    character_id: int
    network: str
    label: str
    start: int | None
    end: int | None

    @property
    def change(self) -> int | None:
        """Return the growth over the period (None when either end is unknown)."""
        return None if self.start is None or self.end is None else self.end - self.start


@dataclass(frozen=True)
class Report:
    """Every number of the analytics page, for one period and filter."""

    period: Period
    filters: Filters
    totals: Tally
    days: list[tuple[date, Tally]]
    weeks: list[tuple[date, Tally]]
    by_weekday: list[Tally]
    by_hour: list[Tally]
    best: BestHours
    by_campaign: list[tuple[int | None, Tally]]
    by_network: list[tuple[str, Tally]]
    top: list[Ranked]
    bottom: list[Ranked]
    accounts: list[Account]
    followers: list[tuple[date, int | None]]
    # Replies to audience conversations in the period, kept out of every other number.
    answers: Tally = field(default_factory=Tally)
    names: dict[int, str] = field(default_factory=dict)

    @property
    def trend(self) -> list[tuple[date, Tally]]:
        """Return the trend's points: per day, or per week (starting Monday) for long periods."""
        return self.weeks if self.period.weekly else self.days

    @property
    def empty(self) -> bool:
        """Return True when there is nothing measured to show at all."""
        return (self.totals.posts == 0 and self.answers.posts == 0
                and not any(account.end is not None for account in self.accounts))

    @property
    def follower_change(self) -> int | None:
        """Return the growth of every account with both counts known (None: none has)."""
        changes = [account.change for account in self.accounts if account.change is not None]
        return sum(changes) if changes else None


def _scope(workspace: Workspace, period: Period, filters: Filters, dialect: str,
           split: "Split | None" = None) -> list[ColumnElement[bool]]:
    # On SQLite the workspace is compared through coalesce() so no index on it is used: the period's range on the
    # deliveries' index is what narrows the rows (its sampled statistics preferred every post of the workspace).
    # PostgreSQL's own statistics find that plan; hiding the column from it made it read every post instead.
    workspace_id = col(Post.workspace_id) if dialect == "postgresql" else func.coalesce(col(Post.workspace_id), 0)
    # With a split, only its edges: two ranges of the published time's index, not the whole period.
    measured = measured_in(period.start, period.end) if split is None else [or_(
        and_(*measured_in(period.start, split.head_end)), and_(*measured_in(split.tail_start, period.end)))]
    conditions = [workspace_id == require_id(workspace), *measured]
    if filters.character_id is not None:
        conditions.append(col(Post.character_id) == filters.character_id)
    if filters.campaign_id is not None:
        conditions.append(col(Post.campaign_id) == filters.campaign_id)
    if filters.network is not None:
        conditions.append(col(Channel.kind) == filters.network)
    return conditions


def _from_deliveries(query: Any, conditions: list[ColumnElement[bool]]) -> Any:
    return (query.select_from(Delivery).join(Post, col(Post.id) == col(Delivery.post_id))
            .outerjoin(Channel, col(Channel.id) == col(Delivery.channel_id)).where(*conditions))


def _engagement() -> ColumnElement[int]:
    return col(Delivery.likes) + col(Delivery.reposts) + col(Delivery.replies) + col(Delivery.quotes)


def build_report(session: Session, workspace: Workspace, period: Period, filters: Filters, *,
                 zones: Mapping[int, ZoneInfo], display_zone: ZoneInfo) -> Report:
    """Return the report of the workspace's (or one character's) measured posts in `period`.

    `zones` maps the characters in scope to their zones (archived ones too: their posts count); days and hours are
    local to each post's character, follower counts are read at the end of each day in `display_zone`.
    """
    split = _split(period, zones) if _rollup_ready(session, workspace, filters, zones) else None
    grid, groups, top, bottom = _scan(session, workspace, period, filters, zones, split)
    # Summed as plain lists (a year of hours is thousands of rows), made into tallies once.
    by_day: dict[int, list[int]] = {}
    weekdays, hours_of_day = [[0] * 5 for _ in range(7)], [[0] * 5 for _ in range(24)]
    for day, hour, sums in grid:  # a local hour's sums (from deliveries), or a day's or an hour of day's (roll-up)
        targets = [] if day is None else [by_day.setdefault(day, [0] * 5), weekdays[weekday_of(day)]]
        for target in targets + ([] if hour is None else [hours_of_day[hour]]):
            for n, value in enumerate(sums):
                target[n] += value
    by_weekday, by_hour = [Tally(*sums) for sums in weekdays], [Tally(*sums) for sums in hours_of_day]
    days = _every_day(period, {day_of(number): Tally(*sums) for number, sums in by_day.items()})
    totals = sum((tally for _, tally in days), Tally())
    campaigns: dict[int | None, Tally] = {}
    networks: dict[str, Tally] = {}
    answers = Tally()
    for campaign_id, kind, is_answer, tally in groups:
        if is_answer:
            answers += tally
            continue
        campaigns[campaign_id] = campaigns.get(campaign_id, Tally()) + tally
        networks[kind or "deleted channel"] = networks.get(kind or "deleted channel", Tally()) + tally
    # With few posts the top list already shows them all; the bottom list takes only the others (both lists come
    # from one total order, so the first posts - TOP of the bottom are never on top).
    top, bottom = _with_texts(session, top, bottom[:max(0, min(TOP, totals.posts - TOP))])
    accounts = _accounts(session, workspace, period, filters)
    # Over many accounts the sum over time costs a lookup per account and point: a character's few are charted.
    followers = (_follower_series(session, workspace, period, filters, display_zone)
                 if 0 < len(accounts) <= SERIES_ACCOUNTS else [])
    return Report(period=period, filters=filters, totals=totals, days=days, weeks=_weeks(days),
                  by_weekday=by_weekday, by_hour=by_hour, best=best_hours(by_hour),
                  by_campaign=sorted(campaigns.items(), key=lambda item: (-item[1].engagement, item[0] or 0)),
                  by_network=sorted(networks.items(), key=lambda item: (-item[1].engagement, item[0])),
                  top=top, bottom=bottom, accounts=accounts, followers=followers, answers=answers)


def _every_day(period: Period, tallies: dict[date, Tally]) -> list[tuple[date, Tally]]:
    """Return a point for every date of the period (and any a character's zone put just outside it)."""
    first = min([period.first, *tallies])
    last = max([period.last, *tallies])
    return [(first + timedelta(days=n), tallies.get(first + timedelta(days=n), Tally()))
            for n in range((last - first).days + 1)]


def _weeks(days: Sequence[tuple[date, Tally]]) -> list[tuple[date, Tally]]:
    weeks: dict[date, Tally] = {}
    for day, tally in days:
        monday = day - timedelta(days=day.weekday())
        weeks[monday] = weeks.get(monday, Tally()) + tally
    return sorted(weeks.items())


@dataclass(frozen=True)
class Split:
    """A period cut for the roll-up: local days first_day..last_day are inside the period in every zone in scope,
    and read from the roll-up; deliveries published before head_end or from tail_start are read one by one (those
    on other local days count)."""

    first_day: int
    last_day: int
    head_end: datetime
    tail_start: datetime


def _split(period: Period, zones: Mapping[int, ZoneInfo]) -> Split | None:
    """Return the period's whole local days in every zone in scope (None: not one, read every delivery)."""
    # Offsets over two more days each side: a post on one of these local days is within a day of the period.
    margin = timedelta(days=2)
    offsets = [offset for zone in {zone.key: zone for zone in zones.values()}.values()
               for _, offset in offset_pieces(zone, period.start - margin, period.end + margin)] or [0]
    low, high = min(offsets), max(offsets)
    start, end = -int(-period.start.timestamp() // 1), int(period.end.timestamp() // 1)
    first_day, last_day = -(-(start + high) // DAY_SECONDS), (end + low) // DAY_SECONDS - 1
    if first_day > last_day:
        return None
    return Split(first_day, last_day, datetime.fromtimestamp(first_day * DAY_SECONDS - low, UTC),
                 datetime.fromtimestamp((last_day + 1) * DAY_SECONDS - high, UTC))


def _rollup_ready(session: Session, workspace: Workspace, filters: Filters, zones: Mapping[int, ZoneInfo]) -> bool:
    """Return whether the whole workspace is shown and its roll-up is built and bucketed in the characters' zones.

    Filters read deliveries: a character's are found through its own posts (as many as it published, not the
    workspace's), and a campaign's or network's hours are not rolled up.
    """
    if filters != Filters():
        return False
    recorded = dict(session.execute(select(col(RollupZone.character_id), col(RollupZone.zone))
                                    .where(col(RollupZone.workspace_id) == require_id(workspace))).all())
    return BUILT in recorded and all(recorded.get(character_id, zone.key) == zone.key
                                         for character_id, zone in zones.items())


def _rollup_parts(workspace: Workspace, split: Split) -> list[Any]:
    """Return the roll-up's rows for the split's whole days, in `_scan`'s columns: sums by local day, by hour of day
    and by campaign and network, and the best and worst of the days' ranked posts."""
    def scope(model: Any) -> list[ColumnElement[bool]]:
        return [model.workspace_id == require_id(workspace), model.day >= split.first_day,
                model.day <= split.last_day]

    empty_int, empty_text, no_time = literal(None, Integer), literal(None, String), literal(None, UTCDateTime)
    days = [func.sum(getattr(EngagementDay, name)) for name in NUMBERS]
    hours = [func.sum(getattr(EngagementHour, name)) for name in NUMBERS]
    parts = [
        select(literal("day"), col(EngagementDay.day), empty_int, empty_int, empty_text, no_time, *days)
        .where(*scope(EngagementDay), col(EngagementDay.answer).is_(False))
        .group_by(col(EngagementDay.day)).having(days[0] != 0),
        select(literal("clock"), col(EngagementHour.hour), empty_int, empty_int, empty_text, no_time, *hours)
        .where(*scope(EngagementHour)).group_by(col(EngagementHour.hour)).having(hours[0] != 0),
        # Back to the deliveries' own keys: no campaign and a removed channel are NULL there.
        select(literal("group"), func.nullif(col(EngagementDay.campaign_id), 0),
               cast(col(EngagementDay.answer), Integer), empty_int, func.nullif(col(EngagementDay.network), ""),
               no_time, *days)
        .where(*scope(EngagementDay))
        .group_by(col(EngagementDay.campaign_id), col(EngagementDay.network), col(EngagementDay.answer))
        .having(days[0] != 0)]
    for part, top in (("top", True), ("bottom", False)):
        engagement = col(EngagementRank.engagement)
        order = ([engagement.desc(), col(EngagementRank.delivery_id).desc()] if top
                 else [engagement.asc(), col(EngagementRank.delivery_id).asc()])
        best = (select(col(EngagementRank.delivery_id)).where(
            col(EngagementRank.workspace_id) == require_id(workspace), col(EngagementRank.top).is_(top),
            col(EngagementRank.day) >= split.first_day, col(EngagementRank.day) <= split.last_day)
            .order_by(*order).limit(TOP).subquery())
        parts.append(select(literal(part), col(Delivery.id), col(Delivery.post_id), col(Post.character_id),
                            col(Channel.kind), col(Delivery.published_at), literal(1, Integer), col(Delivery.likes),
                            col(Delivery.reposts), col(Delivery.replies), col(Delivery.quotes))
                     .select_from(best).join(Delivery, col(Delivery.id) == best.c.delivery_id)
                     .join(Post, col(Post.id) == col(Delivery.post_id))
                     .outerjoin(Channel, col(Channel.id) == col(Delivery.channel_id)))
    return parts


def _scan(session: Session, workspace: Workspace, period: Period, filters: Filters, zones: Mapping[int, ZoneInfo],
          split: Split | None = None
          ) -> tuple[list[tuple[int | None, int | None, list[int]]], list[tuple[int | None, str | None, bool, Tally]],
                     list[Ranked], list[Ranked]]:
    """Return, in one statement, the period's numbers by local hour, by campaign and network (replies to
    conversations apart), and its TOP best and worst posts (replies to conversations left out).

    The period's deliveries are read once into a common table expression (used four times, so SQLite and PostgreSQL
    both materialise it) and the four answers are taken from it: one pass over the index and the posts instead of
    four. With a `split`, deliveries are only read on the local days the roll-up leaves out, and the roll-up's rows
    come in the same statement (sums by day, by hour of day, by campaign and network, and the days' ranked posts).
    """
    dialect = session.get_bind().dialect.name
    conditions = _scope(workspace, period, filters, dialect, split)
    local = local_seconds(col(Delivery.published_at), col(Post.character_id), zones, period.start, period.end, dialect)
    engagement = _engagement()
    scoped = _from_deliveries(select(
        # One grouping key, the local hour since the epoch: each row's local time is worked out once.
        (local // HOUR_SECONDS).label("local_hour"), col(Delivery.id).label("id"),
        col(Delivery.post_id).label("post_id"), col(Post.character_id).label("character_id"),
        col(Post.campaign_id).label("campaign_id"), col(Channel.kind).label("kind"),
        case((col(Post.conversation_id).is_not(None), 1), else_=0).label("answer"),
        col(Delivery.published_at).label("published_at"), col(Delivery.likes).label("likes"),
        col(Delivery.reposts).label("reposts"), col(Delivery.replies).label("replies"),
        col(Delivery.quotes).label("quotes"), engagement.label("engagement")),
        conditions).cte("scoped")
    sums = [func.count(), func.sum(scoped.c.likes), func.sum(scoped.c.reposts), func.sum(scoped.c.replies),
            func.sum(scoped.c.quotes)]
    empty_int, empty_text = literal(None, Integer), literal(None, String)

    outside = (literal(True) if split is None else
               or_(scoped.c.local_hour < split.first_day * 24, scoped.c.local_hour >= (split.last_day + 1) * 24))

    def ranked(part: str, order: list[Any]) -> Any:
        best = (select(scoped.c.id, scoped.c.post_id, scoped.c.character_id, scoped.c.kind, scoped.c.published_at,
                       scoped.c.likes, scoped.c.reposts, scoped.c.replies, scoped.c.quotes)
                .where(scoped.c.answer == 0, outside).order_by(*order).limit(TOP).subquery())
        return select(literal(part).label("part"), best.c.id, best.c.post_id, best.c.character_id, best.c.kind,
                      best.c.published_at, literal(1, Integer), best.c.likes, best.c.reposts, best.c.replies,
                      best.c.quotes)

    ranks = [ranked("top", [scoped.c.engagement.desc(), scoped.c.id.desc()]),
             ranked("bottom", [scoped.c.engagement.asc(), scoped.c.id.asc()])]
    statement = union_all(
        *ranks, *([] if split is None else _rollup_parts(workspace, split)),
        select(literal("hour"), scoped.c.local_hour, empty_int, empty_int, empty_text,
               literal(None, UTCDateTime), *sums).where(scoped.c.answer == 0, outside)
        .group_by(scoped.c.local_hour),
        # The answers' sums come out as their own groups (answer = 1), in the same pass.
        select(literal("group"), scoped.c.campaign_id, scoped.c.answer, empty_int, scoped.c.kind,
               literal(None, UTCDateTime), *sums).where(outside)
        .group_by(scoped.c.campaign_id, scoped.c.kind, scoped.c.answer))
    grid: list[tuple[int | None, int | None, list[int]]] = []
    groups: list[tuple[int | None, str | None, bool, Tally]] = []
    top: list[Ranked] = []
    bottom: list[Ranked] = []
    for part, key, post_id, character_id, kind, published_at, *numbers in session.execute(statement).all():
        if part == "hour":
            grid.append((*divmod(int(key), 24), [int(value or 0) for value in numbers]))
        elif part == "day":
            grid.append((int(key), None, [int(value or 0) for value in numbers]))
        elif part == "clock":
            grid.append((None, int(key), [int(value or 0) for value in numbers]))
        elif part == "group":
            groups.append((key, kind, bool(post_id), tally_of(*numbers)))
        else:
            (top if part == "top" else bottom).append(Ranked(
                delivery_id=key, post_id=post_id, character_id=character_id, network=kind or "deleted channel",
                published_at=_as_utc(published_at), url=None, numbers=tally_of(*numbers)))
    order = {"top": lambda row: (-row.numbers.engagement, -row.delivery_id),
             "bottom": lambda row: (row.numbers.engagement, row.delivery_id)}
    # With a split, the best of the edges and of the roll-up's days are ranked together.
    return grid, groups, sorted(top, key=order["top"])[:TOP], sorted(bottom, key=order["bottom"])


def _with_texts(session: Session, top: list[Ranked], bottom: list[Ranked]) -> tuple[list[Ranked], list[Ranked]]:
    """Return the ranked rows with the first words of each post and its address, read in one query."""
    ids = [row.delivery_id for row in top + bottom]
    if not ids:
        return top, bottom
    found = {delivery_id: (url, text) for delivery_id, url, text in session.execute(
        select(col(Delivery.id), col(Delivery.remote_url), func.substr(col(PostPart.text), 1, EXCERPT_CHARS))
        .outerjoin(PostPart, (col(PostPart.post_id) == col(Delivery.post_id)) & (col(PostPart.position) == 0))
        .where(col(Delivery.id).in_(ids))).all()}

    def filled(rows: list[Ranked]) -> list[Ranked]:
        return [Ranked(**{**row.__dict__, "url": found.get(row.delivery_id, (None, ""))[0],
                          "excerpt": found.get(row.delivery_id, (None, ""))[1] or ""}) for row in rows]

    return filled(top), filled(bottom)


def _channels(workspace: Workspace, filters: Filters) -> list[ColumnElement[bool]]:
    conditions = [col(Channel.workspace_id) == require_id(workspace)]
    if filters.character_id is not None:
        conditions.append(col(Channel.character_id) == filters.character_id)
    if filters.network is not None:
        conditions.append(col(Channel.kind) == filters.network)
    return conditions


def _followers_at(moment: Any, *, last_before: bool = True) -> Any:
    """Return a correlated subquery: the channel's follower count last read before `moment` (or first from it)."""
    query = select(col(FollowerSnapshot.followers)).where(col(FollowerSnapshot.channel_id) == col(Channel.id))
    if last_before:
        query = query.where(col(FollowerSnapshot.taken_at) < moment).order_by(col(FollowerSnapshot.taken_at).desc())
    else:
        query = query.where(col(FollowerSnapshot.taken_at) >= moment).order_by(col(FollowerSnapshot.taken_at))
    return query.limit(1).scalar_subquery()


def _accounts(session: Session, workspace: Workspace, period: Period, filters: Filters) -> list[Account]:
    """Return each account in scope that has follower counts, with its followers at the period's start (or its
    first count in the period) and end."""
    rows = session.execute(select(col(Channel.id), col(Channel.character_id), col(Channel.kind), col(Channel.label),
                               _followers_at(period.start), _followers_at(period.start, last_before=False),
                               _followers_at(period.end))
                        .where(*_channels(workspace, filters)).order_by(col(Channel.id))).all()
    accounts = []
    for channel_id, character_id, kind, label, before, first, end in rows:
        if before is None and first is None:
            continue  # never counted (a webhook, or an account whose first count is still to come)
        start = before if before is not None else (first if end is not None else None)
        accounts.append(Account(channel_id, character_id, kind, label, start, end))
    return accounts


def _follower_series(session: Session, workspace: Workspace, period: Period, filters: Filters,
                     zone: ZoneInfo) -> list[tuple[date, int | None]]:
    """Return the followers of every account in scope at the end of each day (every few days from 17 days on, each
    week for long periods)."""
    points: dict[date, datetime] = {}
    step = 7 if period.weekly else -(-period.days // FOLLOWER_POINTS)  # every day up to 16 days, then every few
    for n in range(period.days):
        day = period.first + timedelta(days=n)
        if (day.weekday() != 6 if period.weekly else (period.last - day).days % step) and day != period.last:
            continue
        points[day] = min(local_to_utc(day + timedelta(days=1), time(0), zone), period.end)
    moments = union_all(*(select(literal(at, UTCDateTime).label("at")) for at in points.values())).subquery()
    per_channel = (select(moments.c.at, _followers_at(moments.c.at).label("followers"))
                   .select_from(moments).join(Channel, literal(True)).where(*_channels(workspace, filters))
                   .subquery())
    totals = dict(session.execute(select(per_channel.c.at, func.sum(per_channel.c.followers))
                               .group_by(per_channel.c.at)).all())
    by_moment = {_as_utc(at): value for at, value in totals.items()}
    return [(day, _int_or_none(by_moment.get(at))) for day, at in points.items()]


def _as_utc(value: Any) -> Any:
    """Return a moment read back from a VALUES-like subquery as an aware UTC datetime (SQLite gives text)."""
    processed = UTCDateTime().process_result_value(
        datetime.fromisoformat(value) if isinstance(value, str) else value, None)  # type: ignore[arg-type]
    return processed


def _int_or_none(value: Any) -> int | None:
    return None if value is None else int(value)


# Reports already built, by what they answer and the newest ids when they were built: numbers only change when the
# collector stores a reading (every reading is a snapshot row) or a post is scheduled (a delivery row), so an
# unchanged stamp means an unchanged report. Entries also expire after CACHE_SECONDS, which bounds what else can go
# stale (a post moved to another campaign, a preset period's end moving with the clock).
CACHE_SECONDS = 120
CACHE_ENTRIES = 256
_REPORTS: "OrderedDict[tuple[Any, ...], tuple[float, tuple[int, int, int], Report]]" = OrderedDict()
_REPORTS_LOCK = threading.Lock()


def numbers_stamp(session: Session) -> tuple[int, int, int]:
    """Return the newest delivery, engagement snapshot and follower snapshot ids (each a read of the primary key's
    last entry): they change whenever a post is scheduled or a number is stored."""
    row = session.execute(select(select(func.max(col(Delivery.id))).scalar_subquery(),
                                 select(func.max(col(EngagementSnapshot.id))).scalar_subquery(),
                                 select(func.max(col(FollowerSnapshot.id))).scalar_subquery())).one()
    return int(row[0] or 0), int(row[1] or 0), int(row[2] or 0)


def cached_report(session: Session, workspace: Workspace, period: Period, filters: Filters, *,
                  zones: Mapping[int, ZoneInfo], display_zone: ZoneInfo) -> Report:
    """Return `build_report`'s answer, reusing one built in the last CACHE_SECONDS while no number has changed."""
    # The workspace's creation time tells a workspace from an earlier one whose id SQLite handed out again.
    custom = period.choice == "custom"
    key = (require_id(workspace), workspace.created_at, period.choice, period.first if custom else None,
           period.last if custom else None, filters, display_zone.key,
           tuple(sorted((character_id, zone.key) for character_id, zone in zones.items())))
    stamp = numbers_stamp(session)
    now = monotonic()
    with _REPORTS_LOCK:
        hit = _REPORTS.get(key)
        if hit is not None and hit[1] == stamp and now - hit[0] < CACHE_SECONDS:
            _REPORTS.move_to_end(key)
            return hit[2]
    report = build_report(session, workspace, period, filters, zones=zones, display_zone=display_zone)
    with _REPORTS_LOCK:
        _REPORTS[key] = (now, stamp, report)
        _REPORTS.move_to_end(key)
        while len(_REPORTS) > CACHE_ENTRIES:
            _REPORTS.popitem(last=False)
    return report


def forget_reports() -> None:
    """Drop every cached report (tests that count what building one costs)."""
    with _REPORTS_LOCK:
        _REPORTS.clear()
