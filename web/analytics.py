"""Analytics pages: a workspace's and a character's numbers over a period, charts drawn as SVG on the server, each
with its table, and every table as CSV."""

from dataclasses import dataclass, replace
from datetime import date
from typing import Any
from zoneinfo import ZoneInfo

from flask import Response, render_template, request
from sqlalchemy import select
from sqlmodel import col
from werkzeug.exceptions import NotFound

from characters.analytics.export import TABLES, Names, campaign_name, table_csv
from characters.analytics.reports import (
    EMPTY_MESSAGE,
    NETWORKS,
    PERIODS,
    WEEKDAYS,
    Filters,
    Period,
    Report,
    cached_report,
    parse_period,
)
from characters.analytics.tally import Tally
from characters.bibles.bible import list_characters
from characters.core.errors import DomainError
from characters.core.models import Character, Delivery, EngagementSnapshot, Post, require_id, utcnow
from characters.posting.campaigns import list_campaigns
from characters.posting.rhythm import zones_of
from web.context import current_member, workspace_blueprint
from web.database import get_session
from web.posts.present import int_arg, viewer_zone

bp = workspace_blueprint("analytics", __name__, "/analytics")

CHART_WIDTH, CHART_HEIGHT = 640, 220
MARGIN_LEFT, MARGIN_RIGHT, MARGIN_BOTTOM, MARGIN_TOP = 64, 8, 34, 14
# Axis text sizes in SVG units (analytics.css): the chart scales with its box, so on a phone (~360 px wide, about
# half the drawing) the text is drawn larger and fewer x labels are printed, each shortened to fit its room.
WIDE_FONT, NARROW_FONT = 14, 24
CHAR_WIDTH = 0.6  # of the font size, for digits and most letters
# The followers table lists the largest accounts; the CSV has every one.
SHOWN_ACCOUNTS = 12


@dataclass(frozen=True)
class Bar:
    """One bar of a chart: where it is drawn (SVG coordinates, already written out), and what it says."""

    x: str
    y: str
    width: str
    height: str
    middle: str
    label: str
    value: float
    text: str
    tick: bool
    # The x label on narrow screens (None: none under this bar), and where both labels are anchored so the first and
    # last stay inside the drawing.
    narrow: str | None = None
    anchor: str = "middle"
    anchor_x: str = ""


@dataclass(frozen=True)
class Chart:
    """A bar (or line) chart's geometry: bars, the y axis's top value, and the polyline for a line chart."""

    id: str
    title: str
    description: str
    bars: list[Bar]
    top: float
    line: str = ""

    width: int = CHART_WIDTH
    height: int = CHART_HEIGHT

    @property
    def plot_left(self) -> int:
        """Return the x of the plot's left edge (the y labels are right-aligned just before it)."""
        return MARGIN_LEFT

    @property
    def plot_right(self) -> int:
        """Return the x of the plot's right edge."""
        return self.width - MARGIN_RIGHT

    @property
    def baseline(self) -> int:
        """Return the y of the x axis."""
        return self.height - MARGIN_BOTTOM

    @property
    def gridlines(self) -> list[tuple[str, str, str]]:
        """Return (y, the label's y, label) of the horizontal gridlines: zero, half and the top."""
        plot = self.baseline - MARGIN_TOP
        return [(f"{self.baseline - plot * share:.1f}", f"{self.baseline - plot * share + 4:.1f}",
                 _axis_number(self.top * share)) for share in (0, 0.5, 1)]


def _number(value: float) -> str:
    return f"{value:,.0f}" if value == int(value) or value >= 100 else f"{value:,.1f}"


def _axis_number(value: float) -> str:
    """Return an axis label short enough for a phone: 2,500 is "2.5k", 1,000,000 "1M"."""
    for size, suffix in ((1_000_000, "M"), (1_000, "k")):
        if value >= size:
            return f"{value / size:.2f}".rstrip("0").rstrip(".") + suffix
    return _number(value)


def _fits(label: str, room: float, font: int) -> str:
    """Return `label` shortened with an ellipsis to fit `room` SVG units at `font` (at least 4 characters)."""
    most = max(4, int(room / (font * CHAR_WIDTH)))
    return label if len(label) <= most else label[:most - 1].rstrip() + "…"


def _nice_top(value: float) -> float:
    """Return a round number at or above `value`, so the axis reads easily."""
    if value <= 0:
        return 1.0
    step = 10 ** (len(str(int(value))) - 1)
    for factor in (1, 2, 2.5, 5, 10):
        if value <= factor * step:
            return float(factor * step)
    return float(10 * step)


def bar_chart(chart_id: str, title: str, description: str, points: list[tuple[str, float]], *,
              every: int = 1, unit: str = "") -> Chart:
    """Return a bar chart of `points` (label, value); every `every`-th label is printed under its bar."""
    top = _nice_top(max((value for _, value in points), default=0))
    plot_width = CHART_WIDTH - MARGIN_LEFT - MARGIN_RIGHT
    plot_height = CHART_HEIGHT - MARGIN_BOTTOM - MARGIN_TOP
    slot = plot_width / max(len(points), 1)
    wide = [label[:14] + "…" if len(label) > 14 else label for label, _ in points]
    # On a narrow screen: as many labels as fit at the larger text (room for six characters: a date, or the start
    # of a name), each shortened to the room it gets.
    longest = min(6, max((len(label) for label in wide), default=1))
    narrow_every = max(every, -(-int(longest * NARROW_FONT * CHAR_WIDTH + 12) // max(int(slot), 1)))
    narrow_every = min(narrow_every, max(len(points) // 2, 1))
    bars = []
    for n, (label, value) in enumerate(points):
        height = plot_height * value / top
        x, width = MARGIN_LEFT + n * slot + slot * 0.12, max(slot * 0.76, 1)
        middle = x + width / 2
        narrow = _fits(wide[n], slot * narrow_every - 8, NARROW_FONT) if n % narrow_every == 0 else None
        # A label centred under the first or last bar may run off the drawing: it is aligned to the edge instead.
        half = max(len(wide[n]) * WIDE_FONT, len(narrow or "") * NARROW_FONT) * CHAR_WIDTH / 2
        anchor, anchor_x = "middle", middle
        if middle + half > CHART_WIDTH - 2:
            anchor, anchor_x = "end", min(x + width, CHART_WIDTH - 2)
        elif middle - half < 2:
            anchor, anchor_x = "start", max(x, 2)
        bars.append(Bar(x=f"{x:.1f}", y=f"{CHART_HEIGHT - MARGIN_BOTTOM - height:.1f}", width=f"{width:.1f}",
                        height=f"{height:.1f}", middle=f"{middle:.1f}", label=label, value=value,
                        text=f"{label}: {_number(value)}{unit}", tick=n % every == 0, narrow=narrow,
                        anchor=anchor, anchor_x=f"{anchor_x:.1f}"))
    return Chart(chart_id, title, description, _apart(bars), top)


def _apart(bars: list[Bar]) -> list[Bar]:
    """Return the bars with each narrow label that would touch the one before it left out (the last one kept: a
    label aligned to the drawing's edge sits closer to its neighbour)."""
    def extent(bar: Bar) -> tuple[float, float]:
        width = len(bar.narrow or "") * NARROW_FONT * CHAR_WIDTH
        left = float(bar.anchor_x) - {"start": 0, "middle": width / 2, "end": width}[bar.anchor]
        return left, left + width

    shown = [n for n, bar in enumerate(bars) if bar.narrow]
    kept: list[int] = []
    for n in shown:
        if kept and extent(bars[kept[-1]])[1] + 8 > extent(bars[n])[0]:
            if n != shown[-1] or len(kept) == 1:
                continue
            kept.pop()
        kept.append(n)
    return [bar if n in kept or not bar.narrow else replace(bar, narrow=None) for n, bar in enumerate(bars)]


def line_chart(chart_id: str, title: str, description: str, points: list[tuple[str, float | None]], *,
               every: int = 1) -> Chart:
    """Return a line chart of `points`; unknown values (None) leave the line out there."""
    known = [value for _, value in points if value is not None]
    low = min(known, default=0)
    chart = bar_chart(chart_id, title, description, [(label, value or 0) for label, value in points], every=every)
    top = _nice_top(max(known, default=0))
    plot_height = CHART_HEIGHT - MARGIN_BOTTOM - MARGIN_TOP
    coordinates = [f"{bar.middle},{CHART_HEIGHT - MARGIN_BOTTOM - plot_height * value / top:.1f}"
                   for bar, (_, value) in zip(chart.bars, points, strict=True) if value is not None]
    return Chart(chart.id, title, f"{description} Lowest {_number(low)}, highest {_number(max(known, default=0))}.",
                 chart.bars, top, line=" ".join(coordinates))


def _every(count: int, labels: int = 7) -> int:
    return max(1, -(-count // labels))


def charts_for(report: Report, names: Names) -> dict[str, Chart]:
    """Return the page's charts, each described in words as well (its table carries every number)."""
    unit = "week" if report.period.weekly else "day"
    trend = [(_short(day), float(tally.engagement)) for day, tally in report.trend]
    best = max(report.trend, key=lambda item: item[1].engagement, default=None)
    trend_desc = (f"Engagement per {unit} over {report.period.describe()}: {report.totals.engagement:,} in all"
                  + (f", the most on {_short(best[0])} ({best[1].engagement:,})." if best and best[1].posts else "."))
    weekdays = [(name[:3], round(tally.per_post, 1)) for name, tally in zip(WEEKDAYS, report.by_weekday, strict=True)]
    hours = [(f"{hour:02d}", round(tally.per_post, 1)) for hour, tally in enumerate(report.by_hour)]
    charts = {
        "trend": bar_chart("chart-trend", f"Engagement per {unit}", trend_desc, trend, every=_every(len(trend))),
        "weekdays": bar_chart("chart-weekdays", "Engagement per post by weekday",
                              "Average engagement per post on each weekday, in each character's own time zone.",
                              weekdays),
        "hours": bar_chart("chart-hours", "Engagement per post by hour",
                           f"Average engagement per post for each hour of the day, in each character's own time "
                           f"zone. {report.best.describe()}", hours, every=4),
        "campaigns": bar_chart("chart-campaigns", "Engagement by campaign",
                               "Total engagement of the posts of each campaign.",
                               [(campaign_name(campaign_id, names), float(tally.engagement))
                                for campaign_id, tally in report.by_campaign]),
        "networks": bar_chart("chart-networks", "Engagement by network", "Total engagement on each network.",
                              [(network.title(), float(tally.engagement)) for network, tally in report.by_network]),
    }
    if report.followers:
        charts["followers"] = line_chart(
            "chart-followers", "Followers", f"Followers of every account in view at the end of each {unit}.",
            [(_short(day), count) for day, count in report.followers], every=_every(len(report.followers)))
    return charts


def tables_for(report: Report, names: Names) -> dict[str, list[tuple[str, Tally]]]:
    """Return each chart's table rows (label, numbers), labelled as the chart labels them."""
    return {
        "trend": [(_short(day), tally) for day, tally in report.trend],
        "hours": [(f"{hour:02d}:00", tally) for hour, tally in enumerate(report.by_hour)],
        "weekdays": list(zip(WEEKDAYS, report.by_weekday, strict=True)),
        "campaigns": [(campaign_name(campaign_id, names), tally) for campaign_id, tally in report.by_campaign],
        "networks": [(network.title(), tally) for network, tally in report.by_network],
    }


def _short(day: date) -> str:
    return f"{day.day} {day:%b}"


def _filters(characters: list[Character], campaign_ids: set[int], character: Character | None) -> Filters:
    """Read the filters from the query string, ignoring values that name nothing in this workspace."""
    chosen = character or next((c for c in characters if c.slug == request.args.get("character")), None)
    campaign = int_arg(request.args.get("campaign"))
    network = request.args.get("network") or None
    return Filters(character_id=chosen.id if chosen else None,
                   campaign_id=campaign if campaign in campaign_ids else None,
                   network=network if network in NETWORKS else None)


def _period(zone: ZoneInfo) -> Period:
    return parse_period(request.args.get("period") or None, request.args.get("from") or None,
                        request.args.get("to") or None, zone, utcnow())


def _context(character_slug: str | None) -> dict[str, Any]:
    """Return what the page and its CSV need: the report (or the reason there is none) and the names."""
    member = current_member()
    db = get_session()
    everyone = list_characters(db, member.workspace, include_archived=True)
    character = None
    if character_slug is not None:
        character = next((c for c in everyone if c.slug == character_slug), None)
        if character is None:
            raise NotFound("No such character in this workspace.")
    campaigns = list_campaigns(db, member.workspace)
    filters = _filters(everyone, {require_id(c) for c in campaigns}, character)
    in_scope = [c for c in everyone if filters.character_id in (None, c.id)]
    zones = zones_of(db, in_scope)
    zone = zones[require_id(character)] if character is not None else viewer_zone()
    names = Names(characters={require_id(c): c.name for c in everyone},
                  campaigns={require_id(c): c.name for c in campaigns})
    context: dict[str, Any] = {"character": character, "characters": [c for c in everyone if c.archived_at is None],
                               "campaigns": campaigns, "networks": NETWORKS, "periods": PERIODS, "zone": zone,
                               "filters": filters, "names": names, "error": None, "report": None,
                               "zones": {character_id: z.key for character_id, z in zones.items()},
                               "empty_message": EMPTY_MESSAGE, "args": _kept_args()}
    try:
        period = _period(zone)
    except DomainError as error:
        context["error"] = error
        return context
    context["report"] = cached_report(db, member.workspace, period, filters, zones=zones, display_zone=zone)
    context["charts"] = charts_for(context["report"], names)
    context["tables"] = tables_for(context["report"], names)
    context["shown_accounts"] = sorted(context["report"].accounts,
                                       key=lambda account: (account.end is None, -(account.end or 0)))[:SHOWN_ACCOUNTS]
    return context


def _kept_args() -> dict[str, str]:
    """Return the query's own arguments (period and filters), for the CSV links and the period form."""
    return {key: request.args[key][:40] for key in ("period", "from", "to", "character", "campaign", "network")
            if request.args.get(key)}


@bp.route("/")
@bp.route("/characters/<character_slug>")
def index(character_slug: str | None = None) -> tuple[str, int]:
    """The numbers of the workspace (or one character) over a period, with charts, tables and CSV links."""
    context = _context(character_slug)
    return render_template("analytics/index.html", **context), 400 if context["error"] else 200


@bp.route("/export.csv")
@bp.route("/characters/<character_slug>/export.csv")
def export(character_slug: str | None = None) -> Response:
    """One of the page's tables as CSV, for the same period and filters."""
    table = request.args.get("table", "")
    if table not in TABLES:
        return Response(f"Unknown table: choose one of {', '.join(TABLES)}.\n", status=400, mimetype="text/plain")
    context = _context(character_slug)
    if context["error"] is not None:
        return Response(f"{context['error'].message}\n", status=400, mimetype="text/plain")
    report: Report = context["report"]
    scope = context["character"].slug if context["character"] else current_member().workspace.slug
    name = f"{scope}-{table}-{report.period.first.isoformat()}-{report.period.last.isoformat()}.csv"
    return Response(table_csv(report, table, context["names"]), mimetype="text/csv",
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})


@bp.app_template_global()
def post_snapshots(post_id: int) -> list[tuple[Any, ...]]:
    """Return the post's engagement snapshots over time (delivery, when, numbers), oldest first: one query."""
    return list(get_session().execute(
        select(col(EngagementSnapshot.delivery_id), col(EngagementSnapshot.taken_at), col(EngagementSnapshot.likes),
               col(EngagementSnapshot.reposts), col(EngagementSnapshot.replies), col(EngagementSnapshot.quotes))
        .join(Delivery, col(Delivery.id) == col(EngagementSnapshot.delivery_id))
        .join(Post, col(Post.id) == col(Delivery.post_id))
        .where(col(Post.id) == post_id, col(Post.workspace_id) == current_member().workspace.id)
        .order_by(col(EngagementSnapshot.taken_at), col(EngagementSnapshot.id))).all())
