"""Scheduling in a browser: the planned time in the character's zone, new posts from the calendar and a
character's page, and "Publish now" for editors."""

import re
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from playwright.sync_api import Browser, Page, expect

from characters.core.models import Role
from characters.demo.seed import DEMO_LOGINS, DEMO_WORKSPACE_SLUG
from tests.browser.conftest import log_in

WRITER = next(login.email for login in DEMO_LOGINS if login.role is Role.WRITER)
EDITOR = next(login.email for login in DEMO_LOGINS if login.role is Role.EDITOR)
WS = f"/w/{DEMO_WORKSPACE_SLUG}"


def test_the_planned_time_shows_the_characters_zone_and_follows_a_switch(page: Page, live_server: str):
    log_in(page, live_server, WRITER)
    page.goto(f"{live_server}{WS}/characters/pip-the-otter/")
    page.get_by_role("link", name="New post as Pip the Otter").click()
    expect(page.get_by_label("Character", exact=True)).to_have_value("pip-the-otter")
    planned = page.get_by_label("Planned time")
    expect(page.locator("#due-help")).to_contain_text("Pip the Otter's time zone, America/Denver")
    day = date.today() + timedelta(days=6)
    planned.fill(f"{day.isoformat()}T10:30")
    page.get_by_label("Character", exact=True).select_option(label="Professor Elinor Marsh")
    expect(page.locator("#due-help")).to_contain_text("Professor Elinor Marsh's time zone, Europe/London")
    expect(planned).to_have_value(f"{day.isoformat()}T10:30")
    page.get_by_label("Post", exact=True).fill("The receiver hums. I have scheduled my observation for later.")
    page.get_by_role("button", name="Save draft").click()
    expect(page.get_by_text("Draft saved for Professor Elinor Marsh.")).to_be_visible()
    page.get_by_role("link", name="Edit", exact=True).click()
    expect(page.get_by_label("Planned time")).to_have_value(f"{day.isoformat()}T10:30")


def test_an_empty_hour_of_the_week_opens_a_prefilled_new_post(page: Page, live_server: str):
    log_in(page, live_server, WRITER)
    day = date.today() + timedelta(days=1)
    page.goto(f"{live_server}{WS}/calendar/?view=week&date={day.isoformat()}&tz=UTC")
    slot = page.get_by_role("link", name=re.compile(rf"New post on \w+ {day.day} at \d\d:00")).last
    hour = int(re.search(r"at (\d\d):00", slot.inner_text()).group(1))
    slot.focus()  # hidden until hover or focus: the keyboard reaches it
    expect(slot).to_be_visible()
    slot.press("Enter")
    expect(page.get_by_role("heading", name="New draft")).to_be_visible()
    # The hour was picked in UTC; the editor shows it in the zone of the character it opened with (it says which).
    zone = ZoneInfo(page.locator("#due-help strong").inner_text())
    local = datetime.combine(day, time(hour), tzinfo=UTC).astimezone(zone)
    expect(page.get_by_label("Planned time")).to_have_value(local.strftime("%Y-%m-%dT%H:%M"))


def test_an_editor_publishes_a_post_in_review_now(page: Page, browser: Browser, live_server: str):
    writer = browser.new_context()
    try:
        draft = writer.new_page()
        log_in(draft, live_server, WRITER)
        draft.goto(f"{live_server}{WS}/posts/new?character=dez-okafor")
        draft.get_by_label("Post", exact=True).fill("4:05 a.m. and the milk truck just honked twice. Morning, all.")
        draft.get_by_role("button", name="Save and submit for review").click()
        expect(draft.get_by_text("Submitted for review")).to_be_visible()
        post_url = draft.url
    finally:
        writer.close()
    log_in(page, live_server, EDITOR)
    page.goto(post_url)
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Publish now").click()
    expect(page.get_by_text("Publishing now: it goes out within a minute.")).to_be_visible()
    expect(page.locator(".post-meta .status-approved")).to_be_visible()
