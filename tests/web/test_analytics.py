"""The analytics pages: numbers with charts and their tables, CSV, bad periods, isolation, statements per request,
a post's own numbers, and the settings switch for best hours."""

import csv
import io
import re
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta

import pytest
from flask import Flask
from sqlalchemy import event
from sqlmodel import Session, select

from characters.analytics.reports import forget_reports
from characters.core.models import AuditEvent, Campaign, ChannelKind, Character, Workspace, require_id
from tests.characters.analytics.builders import followers, network_channel, published
from tests.factories import DEFAULT_PASSWORD, make_character, workspace_with_roles
from web.analytics import CHAR_WIDTH, NARROW_FONT, bar_chart
from web.templating import format_datetime

EMPTY = "No numbers yet: they arrive 10 minutes after a post is published on Bluesky or Mastodon"


def _walt(session: Session) -> Character:
    return session.exec(select(Character).where(Character.slug == "walt-test")).one()


def _with_numbers(session: Session, posts: int = 8) -> Character:
    """Walt's posts over the last days on Bluesky and Mastodon, a campaign, and follower counts."""
    walt = _walt(session)
    sky, toot = network_channel(session, walt), network_channel(session, walt, ChannelKind.MASTODON)
    launch = Campaign(workspace_id=walt.workspace_id, name="Launch")
    session.add(launch)
    session.flush()
    now = datetime.now(UTC)
    for n in range(posts):
        published(session, walt, sky if n % 2 else toot, now - timedelta(days=1 + n % 6, hours=n), likes=n * 2,
                  reposts=n % 3, replies=1, campaign_id=launch.id if n % 3 == 0 else None,
                  text="=HYPERLINK(\"x\")" if n == posts - 1 else f"Walt's post {n}")
    followers(session, sky, now - timedelta(days=20), 100)
    followers(session, sky, now - timedelta(days=1), 130)
    session.commit()
    return walt


@contextmanager
def counted(app: Flask) -> Iterator[list[str]]:
    statements: list[str] = []
    engine = app.extensions["greenroom.engine"]

    def count(*args: object) -> None:
        statements.append(str(args[2]))

    event.listen(engine, "before_cursor_execute", count)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", count)


def test_the_workspace_page_charts_every_number_beside_its_table(client, auth, session, people):
    _with_numbers(session)
    auth.login("viewer@fans.example", DEFAULT_PASSWORD)
    response = client.get("/w/fans/analytics/")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "posts measured" in page
    charts = re.findall(r'<svg class="chart"[^>]*role="img"[^>]*data-chart="([\w-]+)"', page)
    assert charts == ["chart-trend", "chart-hours", "chart-weekdays", "chart-campaigns", "chart-networks",
                      "chart-followers"]
    for chart in charts:
        assert f'id="{chart}-title"' in page
        assert f'id="{chart}-desc"' in page
        assert f'data-table="{chart}"' in page  # its table
    assert "Launch" in page
    assert "Mastodon" in page
    assert "Top posts" in page
    assert "Bottom posts" in page
    assert "+30" in page  # followers grew from 100 to 130
    assert 'href="/w/fans/analytics/export.csv?table=trend"' in page
    assert 'aria-current="page">Analytics</a>' in page


def test_an_empty_workspace_says_when_numbers_arrive(client, auth, people):
    auth.login("viewer@fans.example", DEFAULT_PASSWORD)
    response = client.get("/w/fans/analytics/")
    assert response.status_code == 200
    assert EMPTY in response.get_data(as_text=True)
    assert "<svg" not in response.get_data(as_text=True)


def test_the_character_page_and_the_filters(client, auth, session, people):
    walt = _with_numbers(session)
    other = make_character(session, people["workspace"], people["owner"], "Quiet Test", timezone="Asia/Tokyo")
    auth.login("writer@fans.example", DEFAULT_PASSWORD)
    page = client.get(f"/w/fans/analytics/characters/{walt.slug}?period=7d").get_data(as_text=True)
    assert "Analytics: Walt Test" in page
    assert "America/New_York" in page
    assert EMPTY in client.get(f"/w/fans/analytics/characters/{other.slug}").get_data(as_text=True)
    assert EMPTY in client.get(f"/w/fans/analytics/?character={other.slug}").get_data(as_text=True)
    only_mastodon = client.get("/w/fans/analytics/?network=mastodon").get_data(as_text=True)
    assert re.search(r'stat-number">4</span><span class="stat-label">posts measured', only_mastodon)
    assert client.get("/w/fans/analytics/characters/nobody").status_code == 404
    # A filter naming nothing in this workspace is ignored, not an error.
    assert client.get("/w/fans/analytics/?campaign=99999&network=myspace&character=nobody").status_code == 200


def test_csv_export_has_the_same_numbers_and_inert_cells(client, auth, session, people):
    _with_numbers(session)
    auth.login("viewer@fans.example", DEFAULT_PASSWORD)
    response = client.get("/w/fans/analytics/export.csv?table=networks&period=30d")
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    assert "attachment" in response.headers["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))
    assert {row["network"]: int(row["posts"]) for row in rows} == {"bluesky": 4, "mastodon": 4}
    top = client.get("/w/fans/analytics/export.csv?table=top").get_data(as_text=True)
    assert "'=HYPERLINK" in top  # a spreadsheet shows it as text
    for table in ("trend", "weekdays", "hours", "campaigns", "bottom", "followers", "accounts"):
        assert client.get(f"/w/fans/analytics/export.csv?table={table}").status_code == 200, table
    assert client.get("/w/fans/analytics/characters/walt-test/export.csv?table=hours").status_code == 200
    unknown = client.get("/w/fans/analytics/export.csv?table=secrets")
    assert unknown.status_code == 400
    assert b"Unknown table" in unknown.data


@pytest.mark.parametrize(("query", "message"), [
    ("period=12d", "Choose a period of 7, 30, 90 or 365 days"),
    ("from=2026-13-01&to=2026-12-01", "is not a date: use YYYY-MM-DD"),
    ("from=2026-11-05&to=2026-11-01", "The period&#39;s last day is before its first day"),
    ("from=2026-11-05", "Give both the first and the last day"),
    ("from=2020-01-01&to=2026-01-01", "A period is at most 366 days long"),
])
def test_a_bad_period_is_a_clear_message_not_an_error_page(client, auth, people, query, message):
    auth.login("viewer@fans.example", DEFAULT_PASSWORD)
    response = client.get(f"/w/fans/analytics/?{query}")
    assert response.status_code == 400
    assert message in response.get_data(as_text=True)
    assert 'role="alert"' in response.get_data(as_text=True)
    exported = client.get(f"/w/fans/analytics/export.csv?table=trend&{query}")
    assert exported.status_code == 400


def test_another_workspace_is_404(client, auth, session, people):
    _with_numbers(session)
    workspace_with_roles(session, "rivals")
    auth.login("owner@rivals.example", DEFAULT_PASSWORD)
    for path in ("/w/fans/analytics/", "/w/fans/analytics/characters/walt-test",
                 "/w/fans/analytics/export.csv?table=trend"):
        assert client.get(path).status_code == 404, path


def test_statements_per_request_do_not_grow_with_the_data(app, client, auth, session, people):
    auth.login("viewer@fans.example", DEFAULT_PASSWORD)
    client.get("/w/fans/analytics/")
    forget_reports()  # the cold path: the report built, not reused
    with counted(app) as empty:
        client.get("/w/fans/analytics/")
    _with_numbers(session, posts=40)
    for number in range(6):
        extra = make_character(session, people["workspace"], people["owner"], f"Extra {number}",
                               timezone=("Europe/London", "Asia/Kolkata", "UTC")[number % 3])
        published(session, extra, network_channel(session, extra), datetime.now(UTC) - timedelta(days=2), likes=3)
    session.commit()
    client.get("/w/fans/analytics/")
    forget_reports()
    with counted(app) as full:
        assert client.get("/w/fans/analytics/").status_code == 200
    assert len(full) <= 20, full
    assert len(full) <= len(empty) + 4  # the report's own reads when there is something to report
    with counted(app) as again:
        assert client.get("/w/fans/analytics/").status_code == 200
    assert len(again) < len(full)  # nothing changed: the report is reused


def test_a_published_post_shows_its_numbers(client, auth, session, people):
    walt = _walt(session)
    sky = network_channel(session, walt)
    delivery = published(session, walt, sky, datetime.now(UTC) - timedelta(hours=3), likes=7, reposts=2)
    from characters.core.models import EngagementSnapshot

    session.add(EngagementSnapshot(delivery_id=require_id(delivery), taken_at=datetime.now(UTC) - timedelta(hours=2),
                                   likes=3))
    session.add(EngagementSnapshot(delivery_id=require_id(delivery), taken_at=datetime.now(UTC) - timedelta(hours=1),
                                   likes=7, reposts=2))
    session.commit()
    auth.login("viewer@fans.example", DEFAULT_PASSWORD)
    page = client.get(f"/w/fans/posts/{delivery.post_id}").get_data(as_text=True)
    assert 'id="numbers-title"' in page
    assert "<td>7</td><td>2</td><td>0</td><td>0</td>" in page
    assert "How the numbers grew (2 readings)" in page
    unread = published(session, walt, sky, datetime.now(UTC) - timedelta(minutes=3), measured=False)
    session.commit()
    assert EMPTY in client.get(f"/w/fans/posts/{unread.post_id}").get_data(as_text=True)


def test_the_owner_turns_on_best_hours_and_the_log_says_so(client, auth, session, people):
    auth.login("owner@fans.example", DEFAULT_PASSWORD)
    assert b'name="prefer_best_hours"' in client.get("/w/fans/settings").data
    response = client.post("/w/fans/settings", data={"name": "Fans", "prefer_best_hours": "y"},
                           follow_redirects=True)
    assert b"Settings saved." in response.data
    session.expire_all()
    assert session.exec(select(Workspace).where(Workspace.slug == "fans")).one().prefer_best_hours
    event_ = session.exec(select(AuditEvent).where(AuditEvent.action == "settings_change")).one()
    assert event_.details["prefer_best_hours"] == "False → True"


def test_top_and_bottom_posts_are_dated_in_the_characters_zone(client, auth, session, people):
    walt = _walt(session)  # America/New_York; the viewer has no zone, so the page's own zone is UTC
    sky = network_channel(session, walt)
    at = datetime.now(UTC).replace(hour=3, minute=30, second=0, microsecond=0) - timedelta(days=2)
    published(session, walt, sky, at, likes=7, text="Late-night thought")
    session.commit()
    auth.login("viewer@fans.example", DEFAULT_PASSWORD)
    page = client.get("/w/fans/analytics/").get_data(as_text=True)
    ranked = page[page.index('id="top-title"'):]
    assert format_datetime(at, "America/New_York") in ranked  # e.g. "... 22:30 EST", the evening before
    assert format_datetime(at, "UTC") not in ranked
    assert "America/New_York" in ranked


def test_replies_to_the_audience_are_not_ranked_and_the_csv_agrees(client, auth, session, people):
    walt = _with_numbers(session)
    sky = network_channel(session, walt)
    now = datetime.now(UTC)
    for n in range(3):
        published(session, walt, sky, now - timedelta(days=2, hours=n), likes=0, text=f"Thanks for asking {n}!",
                  conversation_id=500 + n)
    session.commit()
    auth.login("viewer@fans.example", DEFAULT_PASSWORD)
    page = client.get("/w/fans/analytics/").get_data(as_text=True)
    assert "Thanks for asking" not in page
    assert re.search(r'stat-number">8</span><span class="stat-label">posts measured', page)
    assert "3 replies to conversations drew 0 engagement" in page
    for table in ("bottom", "top"):
        rows = list(csv.DictReader(io.StringIO(client.get(f"/w/fans/analytics/export.csv?table={table}")
                                               .get_data(as_text=True))))
        assert rows, table
        assert not any(row["text"].startswith("Thanks for asking") for row in rows), table
    hours = list(csv.DictReader(io.StringIO(client.get("/w/fans/analytics/export.csv?table=hours")
                                            .get_data(as_text=True))))
    assert sum(int(row["posts"]) for row in hours) == 8


def test_chart_labels_stay_inside_the_drawing_and_apart_on_a_phone():
    days = [(f"{n + 1} Nov" if n < 30 else "3 Dec", float(n)) for n in range(31)]
    chart = bar_chart("chart-trend", "Engagement per day", "", days, every=5)
    last = chart.bars[-1]
    assert last.tick
    assert last.anchor == "end"  # "3 Dec" was cut off when centred under the last bar
    assert float(last.anchor_x) <= chart.width
    narrow = [bar for bar in chart.bars if bar.narrow]
    assert 3 <= len(narrow) <= 6
    extents = []
    for bar in narrow:
        width = len(bar.narrow or "") * NARROW_FONT * CHAR_WIDTH
        left = float(bar.anchor_x) - {"start": 0, "middle": width / 2, "end": width}[bar.anchor]
        extents.append((left, left + width))
    assert all(left >= 0 and right <= chart.width for left, right in extents)
    assert all(extents[n][1] < extents[n + 1][0] for n in range(len(extents) - 1))
    long_names = bar_chart("chart-campaigns", "By campaign", "", [(f"Campaign with a long name {n}", 1.0)
                                                                   for n in range(8)])
    assert all(bar.narrow and len(bar.narrow) <= len(bar.label) for bar in long_names.bars[::2])
