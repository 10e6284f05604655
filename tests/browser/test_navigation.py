"""The header at every width: nothing hidden, a "More" list on a narrow desktop, a "Menu" button on a phone."""

import re
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page, expect

from characters.core.models import Role
from characters.demo.seed import DEMO_LOGINS
from tests.browser.conftest import log_in

OWNER = next(login.email for login in DEMO_LOGINS if login.role is Role.OWNER)
PLACES = (
    "Riverside Players",
    "Characters",
    "Posts",
    "Calendar",
    "Inbox",
    "Conversations",
    "Analytics",
    "Campaigns",
    "Scenes",
    "Members",
    "Channels",
    "Audit",
    "API tokens",
    "Settings",
)


@pytest.fixture
def sized_page(browser: Browser, request: pytest.FixtureRequest) -> Iterator[Page]:
    """A page at the width the test is parametrised with (JavaScript on unless the width says "nojs")."""
    width, javascript = request.param
    context = browser.new_context(viewport={"width": width, "height": 800}, java_script_enabled=javascript)
    context.set_default_timeout(10_000)
    yield context.new_page()
    context.close()


def _place(name: str) -> re.Pattern[str]:
    """A place's link name: the Inbox adds how many posts wait ("Inbox 2 waiting for review")."""
    return re.compile(rf"^{re.escape(name)}(\s|$)")


def _bar_fits(page: Page) -> bool:
    """True when no navigation item overflows the bar (nothing scrolled out of sight)."""
    return bool(page.eval_on_selector(".mainnav-list", "list => list.scrollWidth <= list.clientWidth"))


@pytest.mark.parametrize("sized_page", [(1366, True), (1000, True)], indirect=True)
def test_desktop_header_puts_what_does_not_fit_under_more(sized_page: Page, live_server: str):
    page = sized_page
    log_in(page, live_server, OWNER)
    nav = page.get_by_role("navigation", name="Workspace")
    more = nav.get_by_role("button", name="More")
    expect(more).to_be_visible()
    expect(more).to_have_attribute("aria-expanded", "false")
    assert _bar_fits(page)
    on_bar = [name for name in PLACES if nav.get_by_role("link", name=_place(name)).is_visible()]
    assert on_bar
    assert len(on_bar) < len(PLACES)
    # The keyboard opens the list, focus lands on its first link, Escape closes it and returns to the button.
    more.focus()
    page.keyboard.press("Enter")
    expect(more).to_have_attribute("aria-expanded", "true")
    for name in PLACES:
        expect(nav.get_by_role("link", name=_place(name))).to_be_visible()
    first_hidden = next(name for name in PLACES if name not in on_bar)
    expect(nav.get_by_role("link", name=_place(first_hidden))).to_be_focused()
    page.keyboard.press("Escape")
    expect(more).to_have_attribute("aria-expanded", "false")
    expect(more).to_be_focused()
    expect(nav.get_by_role("link", name="Settings")).to_be_hidden()
    more.click()
    nav.get_by_role("link", name="API tokens").click()
    expect(page.get_by_role("heading", name="API tokens")).to_be_visible()
    # The account menu holds the account page and logging out.
    account = page.get_by_role("button", name="Demo owner")
    account.click()
    expect(account).to_have_attribute("aria-expanded", "true")
    expect(page.get_by_role("link", name="Account", exact=True)).to_be_visible()
    page.mouse.click(5, 500)  # a click elsewhere closes it
    expect(page.get_by_role("link", name="Account", exact=True)).to_be_hidden()


@pytest.mark.parametrize("sized_page", [(1366, True)], indirect=True)
def test_wide_enough_header_shows_everything_and_no_more_button(sized_page: Page, live_server: str):
    page = sized_page
    page.set_viewport_size({"width": 2200, "height": 800})
    log_in(page, live_server, OWNER)
    nav = page.get_by_role("navigation", name="Workspace")
    for name in PLACES:
        expect(nav.get_by_role("link", name=_place(name))).to_be_visible()
    expect(nav.get_by_role("button", name="More")).to_be_hidden()
    page.set_viewport_size({"width": 1100, "height": 800})  # the list follows a resize
    expect(nav.get_by_role("button", name="More")).to_be_visible()
    assert _bar_fits(page)


@pytest.mark.parametrize("sized_page", [(390, True)], indirect=True)
def test_phone_header_is_one_row_with_a_menu_button(sized_page: Page, live_server: str):
    page = sized_page
    log_in(page, live_server, OWNER)
    header = page.get_by_role("banner")
    assert header.bounding_box()["height"] < 80  # one row, not four
    menu = page.get_by_role("button", name="Menu")
    expect(menu).to_have_attribute("aria-expanded", "false")
    expect(page.get_by_role("link", name="Notifications")).to_be_visible()
    nav = page.get_by_role("navigation", name="Workspace")
    expect(nav).to_be_hidden()
    menu.click()
    expect(menu).to_have_attribute("aria-expanded", "true")
    for name in PLACES:
        expect(nav.get_by_role("link", name=_place(name))).to_be_visible()
    expect(page.get_by_role("link", name="Account", exact=True)).to_be_visible()
    expect(page.get_by_role("button", name="Log out")).to_be_visible()
    expect(nav.get_by_role("button", name="More")).to_be_hidden()
    page.keyboard.press("Escape")
    expect(nav).to_be_hidden()
    expect(menu).to_be_focused()
    menu.click()
    nav.get_by_role("link", name="Settings").click()
    expect(page.get_by_role("heading", name="Workspace settings")).to_be_visible()


@pytest.mark.parametrize("sized_page", [(1366, False), (390, False)], indirect=True)
def test_without_javascript_every_item_is_on_the_bar(sized_page: Page, live_server: str):
    page = sized_page
    log_in(page, live_server, OWNER)
    nav = page.get_by_role("navigation", name="Workspace")
    for name in PLACES:
        expect(nav.get_by_role("link", name=_place(name))).to_be_visible()
    expect(page.get_by_role("button", name="Menu")).to_be_hidden()
    expect(page.get_by_role("link", name="Account", exact=True)).to_be_visible()
