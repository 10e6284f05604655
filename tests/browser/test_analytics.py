"""The analytics page in a browser: with numbers, each chart is an image named by its title, and every bar says
what its table beside it says."""

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from playwright.sync_api import Page, expect
from sqlmodel import select

from characters.core.db import make_engine, session_scope
from characters.core.models import ChannelKind, Character, Role
from characters.demo.seed import DEMO_LOGINS, DEMO_WORKSPACE_SLUG
from tests.browser.conftest import log_in, serving_demo
from tests.characters.analytics.builders import followers, network_channel, published

EDITOR = next(login.email for login in DEMO_LOGINS if login.role is Role.EDITOR)
WS = f"/w/{DEMO_WORKSPACE_SLUG}"


@pytest.fixture(scope="module")
def measured_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The demo with Pip on Bluesky and Mastodon, twelve posts over the last days with their numbers read."""
    directory = tmp_path_factory.mktemp("analytics")
    with serving_demo(directory) as url:
        engine = make_engine(f"sqlite:///{directory / 'greenroom.sqlite3'}")
        with session_scope(engine) as session:
            pip = session.exec(select(Character).where(Character.slug == "pip-the-otter")).one()
            sky = network_channel(session, pip, label="piptheotter.greenroom.test")
            toot = network_channel(session, pip, ChannelKind.MASTODON, label="@pip@greenroom.test")
            now = datetime.now(UTC)
            for n in range(12):
                published(session, pip, sky if n % 2 else toot, now - timedelta(days=1 + n % 5, hours=n),
                          likes=3 * n + 1, reposts=n % 4, replies=1, text=f"Paddle report number {n}")
            followers(session, sky, now - timedelta(days=12), 80)
            followers(session, sky, now - timedelta(days=2), 95)
        engine.dispose()
        yield url


def _table(page: Page, chart_id: str, value_column: int) -> dict[str, float]:
    rows = page.locator(f'table[data-table="{chart_id}"] tbody tr')
    return {rows.nth(n).locator("th").inner_text().strip(): float(rows.nth(n).locator("td").nth(value_column)
                                                                   .inner_text().replace(",", ""))
            for n in range(rows.count())}


def _bars(page: Page, chart_id: str) -> dict[str, float]:
    bars = page.locator(f'svg[data-chart="{chart_id}"] rect.chart-bar')
    return {bars.nth(n).get_attribute("data-label") or "": float(bars.nth(n).get_attribute("data-value") or "nan")
            for n in range(bars.count())}


def test_each_chart_agrees_with_its_table(page: Page, measured_server: str):
    log_in(page, measured_server, EDITOR)
    page.goto(f"{measured_server}{WS}/analytics/characters/pip-the-otter?period=7d")
    expect(page.get_by_role("heading", name="Analytics: Pip the Otter")).to_be_visible()
    trend = page.get_by_role("img", name="Engagement per day")
    expect(trend).to_be_visible()
    bars = _bars(page, "chart-trend")
    table = _table(page, "chart-trend", 1)  # Posts, Engagement, Per post
    assert bars == table
    assert sum(table.values()) == sum(3 * n + 1 + n % 4 + 1 for n in range(12))
    # Bars are drawn in proportion: the tallest bar is the day with the most engagement.
    tallest = max(bars, key=lambda label: bars[label])
    heights = page.locator('svg[data-chart="chart-trend"] rect.chart-bar')
    drawn = {heights.nth(n).get_attribute("data-label"): float(heights.nth(n).get_attribute("height") or 0)
             for n in range(heights.count())}
    assert max(drawn, key=lambda label: drawn[label]) == tallest
    # Per post by hour and by weekday: the bar is the table's "Per post".
    for chart in ("chart-hours", "chart-weekdays"):
        chart_values, table_values = _bars(page, chart), _table(page, chart, 2)
        assert len(chart_values) == len(table_values)
        for (_, drawn_value), (_, listed) in zip(chart_values.items(), table_values.items(), strict=True):
            assert drawn_value == pytest.approx(listed, abs=0.05)
    networks = _table(page, "chart-networks", 0)
    assert networks == {"Bluesky": 6, "Mastodon": 6}
    expect(page.get_by_role("img", name="Followers")).to_be_visible()
    expect(page.get_by_role("row", name="piptheotter.greenroom.test")).to_contain_text("+15")


def test_on_a_phone_nothing_scrolls_sideways(page: Page, measured_server: str):
    page.set_viewport_size({"width": 390, "height": 844})
    log_in(page, measured_server, EDITOR)
    for path in ("/analytics/", "/analytics/characters/pip-the-otter?period=7d"):
        page.goto(f"{measured_server}{WS}{path}")
        expect(page.get_by_role("heading", name="Top posts")).to_be_visible()
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
        # Every chart fits its box, and so does every table (the ranked ones as cards).
        wider = page.evaluate("""() => [...document.querySelectorAll('.chart-figure, .table-wrap, svg.chart')]
            .filter(e => e.scrollWidth > e.clientWidth + 1 || e.getBoundingClientRect().right > 390)
            .map(e => e.getAttribute('data-chart') || e.className.baseVal || e.className)""")
        assert wider == [], path
        # The narrow labels are the ones shown, and none runs off its chart.
        for chart in page.locator("svg.chart").all():
            box = chart.bounding_box()
            assert box is not None
            for label in chart.locator("text.chart-tick-narrow").all():
                drawn = label.bounding_box()
                assert drawn is not None
                assert box["x"] - 1 <= drawn["x"]
                assert drawn["x"] + drawn["width"] <= box["x"] + box["width"] + 1
        first_total = page.locator(".ranked-table td.ranked-total").first
        expect(first_total).to_be_visible()
        total_box = first_total.bounding_box()
        assert total_box is not None
        assert total_box["x"] + total_box["width"] <= 390
