"""Analytics: the analytics page's numbers for a period and filters, and one post's numbers over time."""

from characters.analytics.export import Names, campaign_name
from characters.analytics.posts import post_numbers
from characters.analytics.reports import WEEKDAYS, Filters, Report, cached_report, parse_period
from characters.analytics.tally import Tally
from characters.bibles.bible import list_characters
from characters.core.errors import DomainError, NotFound
from characters.core.models import require_id, utcnow
from characters.posting.campaigns import get_campaign, list_campaigns
from characters.posting.posts import get_post
from characters.posting.rhythm import is_zone, zone_named, zones_of
from web.api import bp
from web.api.auth import api_member
from web.api.schemas_analytics import (
    AccountOut,
    AnalyticsOut,
    AnalyticsQuery,
    BestHoursOut,
    CampaignNumbers,
    DeliveryNumbersOut,
    FollowerPoint,
    HourNumbers,
    NetworkNumbers,
    NumbersOut,
    PeriodOut,
    PostNumbersOut,
    RankedPost,
    SnapshotOut,
    TrendPoint,
    WeekdayNumbers,
)
from web.api.spec import operation
from web.database import get_session

TAG = "analytics"


def _numbers(tally: Tally) -> dict[str, int | float]:
    return {"posts": tally.posts, "likes": tally.likes, "reposts": tally.reposts, "replies": tally.replies,
            "quotes": tally.quotes, "engagement": tally.engagement, "per_post": round(tally.per_post, 2)}


@bp.get("/analytics")
@operation(TAG, AnalyticsOut)
def analytics(query: AnalyticsQuery) -> AnalyticsOut:
    """Return the workspace's (or one character's) numbers over a period: the analytics page's, as JSON."""
    db = get_session()
    workspace = api_member().workspace
    everyone = list_characters(db, workspace, include_archived=True)
    character = None
    if query.character is not None:
        character = next((c for c in everyone if c.slug == query.character), None)
        if character is None:
            raise NotFound("No such character in this workspace.")
    if query.campaign_id is not None:
        get_campaign(db, workspace, query.campaign_id)
    if query.timezone is not None and not is_zone(query.timezone):
        raise DomainError(f"Unknown time zone “{query.timezone}”: use an IANA name like Europe/Paris.",
                          field="timezone")
    zones = zones_of(db, [c for c in everyone if character is None or c.id == character.id])
    zone = (zone_named(query.timezone) if query.timezone
            else zones[require_id(character)] if character is not None else zone_named("UTC"))
    period = parse_period(query.period, query.start_date.isoformat() if query.start_date else None,
                          query.end_date.isoformat() if query.end_date else None, zone, utcnow())
    filters = Filters(character_id=character.id if character else None, campaign_id=query.campaign_id,
                      network=query.network)
    report = cached_report(db, workspace, period, filters, zones=zones, display_zone=zone)
    names = Names(characters={require_id(c): c.slug for c in everyone},
                  campaigns={require_id(c): c.name for c in list_campaigns(db, workspace)})
    return _out(report, names, str(zone))


def _out(report: Report, names: Names, zone: str) -> AnalyticsOut:
    period = report.period
    ranked = [[RankedPost(post_id=row.post_id, character=names.characters.get(row.character_id, ""),
                          network=row.network, published_at=row.published_at, url=row.url, excerpt=row.excerpt,
                          likes=row.numbers.likes, reposts=row.numbers.reposts, replies=row.numbers.replies,
                          quotes=row.numbers.quotes, engagement=row.numbers.engagement) for row in rows]
              for rows in (report.top, report.bottom)]
    return AnalyticsOut(
        period=PeriodOut(start=period.start, end=period.end, first_day=period.first, last_day=period.last,
                         timezone=zone, unit="week" if period.weekly else "day"),
        empty=report.empty,
        totals=NumbersOut(**_numbers(report.totals)),
        conversation_replies=NumbersOut(**_numbers(report.answers)),
        trend=[TrendPoint(date=day, **_numbers(tally)) for day, tally in report.trend],
        by_weekday=[WeekdayNumbers(weekday=n, name=WEEKDAYS[n], **_numbers(tally))
                    for n, tally in enumerate(report.by_weekday)],
        by_hour=[HourNumbers(hour=n, **_numbers(tally)) for n, tally in enumerate(report.by_hour)],
        best_hours=BestHoursOut(hours=list(report.best.hours), enough=report.best.enough,
                                measured_posts=report.best.measured, qualified_hours=report.best.qualified,
                                message=report.best.describe()),
        by_campaign=[CampaignNumbers(campaign_id=campaign_id, name=campaign_name(campaign_id, names),
                                     **_numbers(tally))
                     for campaign_id, tally in report.by_campaign],
        by_network=[NetworkNumbers(network=network, **_numbers(tally))
                    for network, tally in report.by_network],
        top=ranked[0], bottom=ranked[1],
        accounts=[AccountOut(channel_id=account.channel_id, character=names.characters.get(account.character_id, ""),
                             network=account.network, label=account.label, start=account.start, end=account.end,
                             change=account.change) for account in report.accounts],
        followers=[FollowerPoint(date=day, followers=count) for day, count in report.followers],
        follower_change=report.follower_change)


@bp.get("/analytics/posts/<int:post_id>")
@operation(TAG, PostNumbersOut)
def post_analytics(post_id: int) -> PostNumbersOut:
    """Return a post's latest numbers on each network and every reading of them."""
    db = get_session()
    post = get_post(db, api_member().workspace, post_id)
    return PostNumbersOut(post_id=post_id, deliveries=[
        DeliveryNumbersOut(delivery_id=require_id(row.delivery), network=row.channel.kind if row.channel else None,
                           url=row.delivery.remote_url, published_at=row.delivery.published_at,
                           read_at=row.delivery.metrics_at, likes=row.delivery.likes, reposts=row.delivery.reposts,
                           replies=row.delivery.replies, quotes=row.delivery.quotes,
                           snapshots=[SnapshotOut(taken_at=s.taken_at, likes=s.likes, reposts=s.reposts,
                                                  replies=s.replies, quotes=s.quotes) for s in row.snapshots])
        for row in post_numbers(db, post)])
