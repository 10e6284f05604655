"""Drafts are never lost: autosave with feedback, switching character in place, a warning, recovery."""

import re

from playwright.sync_api import Browser, Page, expect

from characters.core.models import Role
from characters.demo.seed import DEMO_LOGINS, DEMO_WORKSPACE_SLUG
from tests.browser.conftest import log_in

WRITER = next(login.email for login in DEMO_LOGINS if login.role is Role.WRITER)
EDITOR = next(login.email for login in DEMO_LOGINS if login.role is Role.EDITOR)
WS = f"/w/{DEMO_WORKSPACE_SLUG}"


def _autosaved(page: Page) -> None:
    expect(page.locator("#autosave-status")).to_contain_text(re.compile(r"Autosaved at \d\d:\d\d:\d\d"))


def test_switching_character_keeps_the_text_without_a_reload(page: Page, live_server: str):
    log_in(page, live_server, WRITER)
    page.goto(f"{live_server}{WS}/posts/new?character=dez-okafor")
    text = "Half past three and the radio is playing something I cannot name. Stay with me."
    page.get_by_label("Post", exact=True).fill(text)
    _autosaved(page)
    page.evaluate("window.stillTheSamePage = true")
    expect(page.get_by_role("button", name="Switch")).to_be_hidden()
    page.get_by_label("Character", exact=True).select_option(label="Pip the Otter")
    expect(page.locator("#fix-message")).to_contain_text("Now writing as Pip the Otter; your text is kept.")
    expect(page.get_by_label("Post", exact=True)).to_have_value(text)
    assert page.evaluate("window.stillTheSamePage") is True
    assert "character=pip-the-otter" in page.url
    expect(page.locator(".check-scale")).to_contain_text("Pip the Otter")
    page.get_by_role("button", name="Save draft").click()
    expect(page.get_by_text("Draft saved for Pip the Otter.")).to_be_visible()
    expect(page.locator(".post-text", has_text=text)).to_be_visible()


def test_switching_character_without_javascript_keeps_the_text(browser: Browser, live_server: str):
    context = browser.new_context(java_script_enabled=False)
    try:
        page = context.new_page()
        log_in(page, live_server, WRITER)
        page.goto(f"{live_server}{WS}/posts/new?character=dez-okafor")
        page.get_by_label("Post", exact=True).fill("Typed before the switch, kept after it.")
        page.get_by_label("Character", exact=True).select_option(label="Professor Elinor Marsh")
        page.get_by_role("button", name="Switch").click()
        expect(page.get_by_label("Character", exact=True)).to_have_value("professor-elinor-marsh")
        expect(page.get_by_label("Post", exact=True)).to_have_value("Typed before the switch, kept after it.")
    finally:
        context.close()


def test_a_closed_tab_is_recovered_and_saving_clears_it(browser: Browser, page: Page, live_server: str):
    text = "Drafted at dawn, tab closed by accident: the kettle story about the otter slide and the rain."
    first = browser.new_context()
    try:
        tab = first.new_page()
        log_in(tab, live_server, WRITER)
        tab.goto(f"{live_server}{WS}/posts/new?character=pip-the-otter")
        tab.get_by_label("Post", exact=True).fill(text)
        _autosaved(tab)
    finally:
        first.close()  # the tab is gone without saving
    log_in(page, live_server, WRITER)
    page.goto(f"{live_server}{WS}/posts/new")
    recovery = page.get_by_role("region", name=re.compile("Unsaved text from"))
    expect(recovery).to_contain_text(text)
    recovery.get_by_role("link", name="Restore it").click()
    expect(page.get_by_label("Post", exact=True)).to_have_value(text)
    expect(page.get_by_label("Character", exact=True)).to_have_value("pip-the-otter")
    page.get_by_role("button", name="Save draft").click()
    expect(page.get_by_text("Draft saved for Pip the Otter.")).to_be_visible()
    page.goto(f"{live_server}{WS}/posts/new")
    # This text is no longer offered (the shared server may still offer another test's unsaved draft).
    offered = page.get_by_role("region", name=re.compile("Unsaved text from")).filter(has_text=text)
    expect(offered).to_have_count(0)


def test_leaving_an_edited_post_warns_and_the_autosave_can_be_discarded(page: Page, live_server: str):
    log_in(page, live_server, EDITOR)
    page.goto(f"{live_server}{WS}/posts/new?character=dez-okafor")
    page.get_by_label("Post", exact=True).fill("The first version, saved on purpose.")
    page.get_by_role("button", name="Save draft").click()
    expect(page.get_by_text("Draft saved for Dez Okafor.")).to_be_visible()
    page.get_by_role("link", name="Edit", exact=True).click()
    area = page.get_by_label("Post", exact=True)
    area.click()
    page.keyboard.type(" And a second thought, never saved.")
    _autosaved(page)
    dialogs: list[str] = []

    def stay(dialog):  # type: ignore[no-untyped-def]
        dialogs.append(dialog.type)
        dialog.dismiss()

    page.on("dialog", stay)
    page.get_by_role("link", name="Back to the post").click()
    page.wait_for_timeout(300)
    assert dialogs == ["beforeunload"]
    expect(area).to_have_value("The first version, saved on purpose. And a second thought, never saved.")
    page.remove_listener("dialog", stay)
    page.once("dialog", lambda dialog: dialog.accept())
    edit_url = page.url
    page.get_by_role("link", name="Back to the post").click()
    page.wait_for_url(re.compile(r"/posts/\d+$"))
    page.goto(edit_url)
    recovery = page.get_by_role("region", name=re.compile("Unsaved text from"))
    expect(recovery).to_contain_text("And a second thought, never saved.")
    recovery.get_by_role("button", name="Discard it").click()
    expect(page.get_by_text("Discarded the autosaved text.")).to_be_visible()
    expect(page.get_by_role("region", name=re.compile("Unsaved text from"))).to_have_count(0)
    expect(page.get_by_label("Post", exact=True)).to_have_value("The first version, saved on purpose.")
