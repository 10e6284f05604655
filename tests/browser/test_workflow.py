"""The editorial loop in a real browser: draft → submit → approve from the inbox → drag on the calendar; conflicts."""

import re
from collections.abc import Iterator
from datetime import date, timedelta

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect

from characters.core.models import Role
from characters.demo.seed import DEMO_LOGINS, DEMO_WORKSPACE_SLUG
from tests.browser.conftest import log_in

WRITER = next(login.email for login in DEMO_LOGINS if login.role is Role.WRITER)
EDITOR = next(login.email for login in DEMO_LOGINS if login.role is Role.EDITOR)
WS = f"/w/{DEMO_WORKSPACE_SLUG}"


@pytest.fixture
def second_page(browser: Browser) -> Iterator[Page]:
    """Another person's browser (its own cookies), in another time zone."""
    context: BrowserContext = browser.new_context(viewport={"width": 1280, "height": 900},
                                                  timezone_id="Europe/Berlin")
    context.set_default_timeout(10_000)
    yield context.new_page()
    context.close()


def _draft_and_submit(page: Page, base: str, text: str) -> str:
    """As the writer, write a Dez post, watch the live check, submit it; return the post's URL."""
    log_in(page, base, WRITER)
    page.goto(f"{base}{WS}/posts/new?character=dez-okafor")
    page.get_by_label("Post", exact=True).fill(text)
    expect(page.locator("#check-summary")).to_contain_text("Score", timeout=10_000)
    page.get_by_role("button", name="Save and submit for review").click()
    expect(page.get_by_text("Submitted for review")).to_be_visible()
    return page.url


def _approve_from_inbox(page: Page, base: str, text: str) -> None:
    log_in(page, base, EDITOR)
    page.get_by_role("navigation", name="Workspace").get_by_role("link", name=re.compile("Inbox")).click()
    item = page.locator("li.inbox-item", has_text=text)
    expect(item).to_be_visible()
    item.get_by_role("button", name=re.compile("^Approve")).click()
    expect(page.get_by_text("Approved: goes out")).to_be_visible()
    expect(page.locator("li.inbox-item", has_text=text)).to_have_count(0)


def test_writer_drafts_and_submits_and_an_editor_approves_from_the_inbox(page: Page, second_page: Page,
                                                                          live_server: str):
    text = "4:10 a.m. and the night bus driver just told me his theory about soup. I am listening."
    post_url = _draft_and_submit(page, live_server, text)
    expect(page.locator(".status-in_review").first).to_be_visible()
    _approve_from_inbox(second_page, live_server, text)
    page.goto(post_url)
    expect(page.locator(".post-meta .status-approved")).to_be_visible()
    expect(page.get_by_text("approve: in review → approved")).to_be_visible()


def test_writer_gets_no_approve_button_and_a_forged_post_is_refused(page: Page, live_server: str):
    text = "2:15 a.m. and the diner cook is arguing with the radio about baseball. I am on the radio side."
    post_url = _draft_and_submit(page, live_server, text)
    expect(page.get_by_role("button", name=re.compile("^Approve"))).to_have_count(0)
    token = page.locator("input[name=csrf_token]").first.input_value()
    forged = page.request.post(f"{post_url}/approve", form={"csrf_token": token, "version": "1", "when": "next"})
    assert forged.status == 403
    page.reload()
    expect(page.locator(".post-meta .status-in_review")).to_be_visible()


def test_editor_reschedules_by_dragging_on_the_calendar(page: Page, second_page: Page, live_server: str):
    text = "5:20 a.m. and a baker just dropped off warm rolls for the whole studio. I am not sharing."
    _draft_and_submit(page, live_server, text)
    editor = second_page
    _approve_from_inbox(editor, live_server, text)
    editor.get_by_role("navigation", name="Workspace").get_by_role("link", name="Calendar").click()
    editor.get_by_role("link", name="Queue and gaps").click()
    editor.get_by_role("link", name=re.compile(re.escape(text[:30]))).click()
    due = editor.locator("p time").first.get_attribute("datetime") or ""
    day = date.fromisoformat(due[:10])
    editor.goto(f"{live_server}{WS}/calendar/?date={day.isoformat()}")
    expect(editor.get_by_text("Times in Europe/Berlin")).to_be_visible()  # the browser's zone, sent by calendar.js
    chip = editor.locator(".cal-event[draggable=true]", has_text=text[:20])
    expect(chip).to_be_visible()
    source_day = chip.locator("xpath=ancestor::td[1]").get_attribute("data-date") or ""
    target_day = next(d for d in (date.fromisoformat(source_day) + timedelta(days=n) for n in (1, 2, -1, -2))
                      if editor.locator(f'td[data-date="{d.isoformat()}"]').count() and d > date.today())
    target = editor.locator(f'td[data-date="{target_day.isoformat()}"]')
    chip.drag_to(target)
    expect(editor.locator("#cal-status")).to_contain_text("Moved to")
    editor.reload()
    expect(editor.locator(f'td[data-date="{target_day.isoformat()}"] .cal-event', has_text=text[:20])).to_be_visible()


def test_two_people_editing_the_same_post_get_the_conflict_page(page: Page, second_page: Page, live_server: str):
    log_in(page, live_server, WRITER)
    page.goto(f"{live_server}{WS}/posts/new?character=dez-okafor")
    page.get_by_label("Post", exact=True).fill("1:05 a.m. The taxi drivers moved on to arguing about coffee.")
    page.get_by_role("button", name="Save draft").click()
    expect(page.get_by_text("Draft saved")).to_be_visible()
    edit_url = page.url + "/edit"
    log_in(second_page, live_server, EDITOR)
    page.goto(edit_url)
    second_page.goto(edit_url)
    second_page.get_by_label("Post", exact=True).fill("1:05 a.m. The editor's version of the coffee argument.")
    second_page.get_by_role("button", name="Save", exact=True).click()
    expect(second_page.get_by_text("Saved as version 2")).to_be_visible()
    page.get_by_label("Post", exact=True).fill("1:05 a.m. The writer's version of the coffee argument.")
    page.get_by_role("button", name="Save", exact=True).click()
    expect(page.get_by_role("heading", name="Someone else saved this post first")).to_be_visible()
    expect(page.get_by_label("Their part 1")).to_have_value("1:05 a.m. The editor's version of the coffee argument.")
    expect(page.get_by_label("Your text")).to_have_value("1:05 a.m. The writer's version of the coffee argument.")
    expect(page.locator(".diff .add")).to_contain_text("writer's version")
    page.get_by_role("button", name="Save mine as version 3").click()
    expect(page.get_by_text("Saved as version 3")).to_be_visible()
    expect(page.get_by_text("The writer's version of the coffee argument.").first).to_be_visible()
