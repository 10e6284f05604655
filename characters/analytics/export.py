"""The report's tables as rows: the same numbers the page charts, for CSV export (and the page's own tables)."""

import csv
import io
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from characters.analytics.reports import WEEKDAYS, Report
from characters.analytics.tally import Tally

NUMBER_COLUMNS = ("posts", "likes", "reposts", "replies", "quotes", "engagement", "per_post")
# A spreadsheet runs a cell starting with one of these as a formula (CSV injection, OWASP).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


@dataclass(frozen=True)
class Names:
    """What ids are called: characters and campaigns by id."""

    characters: Mapping[int, str] = field(default_factory=dict)
    campaigns: Mapping[int, str] = field(default_factory=dict)


def _numbers(tally: Tally) -> list[object]:
    return [tally.posts, tally.likes, tally.reposts, tally.replies, tally.quotes, tally.engagement,
            round(tally.per_post, 2)]


def _trend(report: Report, names: Names) -> tuple[list[str], list[list[object]]]:
    unit = "week_starting" if report.period.weekly else "day"
    return [unit, *NUMBER_COLUMNS], [[day.isoformat(), *_numbers(tally)] for day, tally in report.trend]


def _weekdays(report: Report, names: Names) -> tuple[list[str], list[list[object]]]:
    return ["weekday", *NUMBER_COLUMNS], [[WEEKDAYS[n], *_numbers(t)] for n, t in enumerate(report.by_weekday)]


def _hours(report: Report, names: Names) -> tuple[list[str], list[list[object]]]:
    return ["local_hour", *NUMBER_COLUMNS], [[f"{n:02d}:00", *_numbers(t)] for n, t in enumerate(report.by_hour)]


def campaign_name(campaign_id: int | None, names: Names) -> str:
    """Return a campaign's name ("No campaign" for posts outside any)."""
    if campaign_id is None:
        return "No campaign"
    return names.campaigns.get(campaign_id, f"Campaign #{campaign_id}")


def _campaigns(report: Report, names: Names) -> tuple[list[str], list[list[object]]]:
    return ["campaign", *NUMBER_COLUMNS], [[campaign_name(campaign_id, names), *_numbers(tally)]
                                          for campaign_id, tally in report.by_campaign]


def _networks(report: Report, names: Names) -> tuple[list[str], list[list[object]]]:
    return ["network", *NUMBER_COLUMNS], [[network, *_numbers(tally)] for network, tally in report.by_network]


def _ranked(which: str) -> Callable[[Report, Names], tuple[list[str], list[list[object]]]]:
    def rows(report: Report, names: Names) -> tuple[list[str], list[list[object]]]:
        ranked = report.top if which == "top" else report.bottom
        return (["post_id", "character", "network", "published_at", "text", "likes", "reposts", "replies", "quotes",
                 "engagement", "url"],
                [[row.post_id, names.characters.get(row.character_id, ""), row.network, row.published_at.isoformat(),
                  row.excerpt, row.numbers.likes, row.numbers.reposts, row.numbers.replies, row.numbers.quotes,
                  row.numbers.engagement, row.url or ""] for row in ranked])
    return rows


def _followers(report: Report, names: Names) -> tuple[list[str], list[list[object]]]:
    unit = "week_ending" if report.period.weekly else "day"
    return [unit, "followers"], [[day.isoformat(), "" if count is None else count] for day, count in report.followers]


def _accounts(report: Report, names: Names) -> tuple[list[str], list[list[object]]]:
    return (["account", "character", "network", "followers_at_start", "followers_at_end", "change"],
            [[account.label, names.characters.get(account.character_id, ""), account.network,
              *("" if value is None else value for value in (account.start, account.end, account.change))]
             for account in report.accounts])


TABLES: dict[str, Callable[[Report, Names], tuple[list[str], list[list[object]]]]] = {
    "trend": _trend, "weekdays": _weekdays, "hours": _hours, "campaigns": _campaigns, "networks": _networks,
    "top": _ranked("top"), "bottom": _ranked("bottom"), "followers": _followers, "accounts": _accounts,
}


def inert_cell(value: object) -> object:
    """Return a cell a spreadsheet shows as text: one starting like a formula gets a leading apostrophe."""
    return f"'{value}" if isinstance(value, str) and value.startswith(FORMULA_STARTS) else value


def table_csv(report: Report, table: str, names: Names) -> str:
    """Return one of the report's TABLES as CSV text (KeyError for an unknown table)."""
    header, rows = TABLES[table](report, names)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(header)
    writer.writerows([inert_cell(value) for value in row] for row in rows)
    return out.getvalue()
