"""Pages stay right when a workspace is large: nothing stops at a silent cap, what is cut says so and pages on."""

import csv
import io
import re
from datetime import UTC, datetime, timedelta

import pytest
from icalendar import Calendar
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, func, select

from bench.web_bench import World, build_posts, seed_workspace
from characters.accounts.workspaces import get_workspace_by_slug
from characters.core.models import Post, PostStatus, Role, User
from characters.posting import calendar as calendar_feed
from characters.posting.calendar import SCHEDULED, feed_ics
from characters.posting.transfer import export_posts, import_posts
from tests.factories import DEFAULT_PASSWORD, member

POSTS = 1500  # over the old caps (the dashboard read 500 posts, an import took 1,000 rows)


@pytest.fixture
def world(engine: Engine) -> World:
    world, ids = seed_workspace(engine, 4)
    build_posts(engine, world, ids, POSTS)
    return world


@pytest.fixture
def browser(app, world):
    client = app.test_client()
    client.post("/login", data={"email": world.editor_email, "password": DEFAULT_PASSWORD})
    return client


def _scheduled(session: Session, world: World, start: datetime, end: datetime) -> set[int]:
    workspace = get_workspace_by_slug(session, world.slug)
    return set(
        session.exec(
            select(Post.id).where(
                Post.workspace_id == workspace.id,
                col(Post.due_at) >= start,
                col(Post.due_at) < end,
                col(Post.status).in_([status.value for status in SCHEDULED]),
            )
        ).all()
    )


def test_the_dashboard_counts_every_post(browser, session, world):
    page = browser.get(f"/w/{world.slug}/").get_data(as_text=True)
    published = session.exec(select(func.count()).select_from(Post).where(Post.status == PostStatus.PUBLISHED)).one()
    assert published > 500
    assert f'<span class="stat-number">{published}</span>' in page


def test_a_busy_month_counts_every_day_and_links_to_the_rest(browser, session, world):
    month = world.busiest_month
    page = browser.get(f"/w/{world.slug}/calendar/?date={month.isoformat()}").get_data(as_text=True)
    shown = page.count('class="cal-event ')
    more = sum(int(n) for n in re.findall(r"\+(\d+) more", page))
    total = int(re.search(r"(\d+) posts? in this month", page).group(1))
    # The grid runs from the Monday before the 1st to the Sunday after the last day, in the viewer's zone (UTC).
    first = datetime(month.year, month.month, 1, tzinfo=UTC)
    first -= timedelta(days=first.weekday())
    following = (first + timedelta(days=40)).replace(day=1)
    last = following + timedelta(days=(7 - following.weekday()) % 7)
    assert total == shown + more == len(_scheduled(session, world, first, last))
    assert more > 0


@pytest.mark.parametrize("cut", [False, True])
def test_the_ical_feed_holds_the_next_posts_and_says_when_it_is_cut(session, world, monkeypatch, cut):
    if cut:  # as many posts as 100,000 would bring, with smaller limits
        monkeypatch.setattr(calendar_feed, "FEED_AHEAD_EVENTS", 20)
        monkeypatch.setattr(calendar_feed, "FEED_PAST_EVENTS", 5)
    workspace = get_workspace_by_slug(session, world.slug)
    now = datetime.now(UTC)
    calendar = Calendar.from_ical(feed_ics(session, workspace, now))
    starts = [event.decoded("dtstart") for event in calendar.walk("VEVENT")]
    ahead = [start for start in starts if start >= now]
    upcoming = _scheduled(session, world, now, now + calendar_feed.FEED_AHEAD)
    recent = _scheduled(session, world, now - calendar_feed.FEED_PAST, now)
    assert len(ahead) == min(len(upcoming), calendar_feed.FEED_AHEAD_EVENTS)
    assert len(starts) - len(ahead) == min(len(recent), calendar_feed.FEED_PAST_EVENTS)
    assert ahead == sorted(ahead)
    description = str(calendar["X-WR-CALDESC"])
    if cut:
        assert description.startswith("This feed holds at most 25 posts: those due from")
    else:
        assert description.startswith("Posts due from")


def test_the_api_schedule_pages_through_a_whole_window(app, session, world):
    start, end = datetime.now(UTC) - timedelta(days=60), datetime.now(UTC) + timedelta(days=60)
    client = app.test_client()
    headers = {"Authorization": f"Bearer {world.api_secret}"}
    seen: list[int] = []
    query = {"start": start.isoformat(), "end": end.isoformat(), "limit": 100}
    pages = 0
    while True:
        answer = client.get("/api/v1/schedule", query_string=query, headers=headers).json
        seen += [item["post_id"] for item in answer["items"]]
        pages += 1
        if answer["next_cursor"] is None:
            break
        query["cursor"] = answer["next_cursor"]
    assert pages > 1
    assert len(seen) == len(set(seen))
    assert set(seen) == _scheduled(session, world, start, end)


def test_an_import_over_a_thousand_rows_is_taken_whole_and_the_export_streams_every_post(session, world):
    workspace = get_workspace_by_slug(session, world.slug)
    writer = session.exec(select(User).where(User.email == f"writer@{world.slug}.example")).one()
    rows = "".join(f'{world.character_slug},"Row {n}\n---\nSecond part.",,\n' for n in range(1200))
    ids = import_posts(
        session=session,
        member=member(workspace, writer, Role.WRITER),
        raw=f"character,text,channels,campaign\n{rows}".encode(),
        fmt="csv",
    )
    session.commit()
    assert len(ids) == 1200
    chunks = export_posts(session, workspace, "csv")
    exported = list(csv.DictReader(io.StringIO(b"".join(chunks).decode())))
    assert len(exported) == POSTS + 1200
    assert exported[-1]["text"] == "Row 1199\n---\nSecond part."
    assert [int(row["id"]) for row in exported] == sorted(int(row["id"]) for row in exported)
