"""Keyboard shortcuts on the inbox and the posts list: move, open, approve, reject, and ? for the list."""

import re

from playwright.sync_api import Browser, Page, expect

from tests.browser.conftest import log_in
from tests.browser.test_workflow import EDITOR, WRITER, WS


def _submit(browser: Browser, base: str, texts: list[str]) -> None:
    context = browser.new_context()
    try:
        page = context.new_page()
        log_in(page, base, WRITER)
        for text in texts:
            page.goto(f"{base}{WS}/posts/new?character=dez-okafor")
            page.get_by_label("Post", exact=True).fill(text)
            page.get_by_role("button", name="Save and submit for review").click()
            expect(page.get_by_text("Submitted for review")).to_be_visible()
    finally:
        context.close()


def test_the_inbox_works_from_the_keyboard(page: Page, browser: Browser, live_server: str):
    first = "12:20 a.m. and the bridge lights blinked twice. Somebody up there is sending signals."
    second = "12:40 a.m. and the signals turned out to be a maintenance crew. Mystery downgraded."
    _submit(browser, live_server, [first, second])
    log_in(page, live_server, EDITOR)
    page.goto(f"{live_server}{WS}/inbox/")
    expect(page.get_by_text("shows every shortcut")).to_be_visible()
    page.keyboard.press("?")
    dialog = page.get_by_role("dialog", name="Keyboard shortcuts")
    expect(dialog).to_be_visible()
    expect(dialog).to_contain_text("Approve (inbox)")
    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()
    cards = page.locator("li.inbox-item")
    target = cards.filter(has_text=first)
    index = next(i for i, text in enumerate(cards.all_inner_texts()) if first in text)
    for _ in range(index + 1):
        page.keyboard.press("j")
    expect(target).to_be_focused()
    page.keyboard.press("j")
    page.keyboard.press("k")
    expect(target).to_be_focused()
    page.keyboard.press("a")
    expect(page.get_by_text(re.compile("^Approved: goes out"))).to_be_visible()
    expect(page.locator("li.inbox-item", has_text=first)).to_have_count(0)
    later = page.locator("li.inbox-item", has_text=second)
    index = next(i for i, t in enumerate(page.locator("li.inbox-item").all_inner_texts()) if second in t)
    for _ in range(index + 1):
        page.keyboard.press("j")
    expect(later).to_be_focused()
    page.keyboard.press("r")
    expect(later.get_by_label("Send back with a comment")).to_be_focused()
    page.keyboard.type("Too spooky for the morning slot.")  # typed into the field, not taken as shortcuts
    expect(later.get_by_label("Send back with a comment")).to_have_value("Too spooky for the morning slot.")
    page.keyboard.press("Tab")
    page.keyboard.press("Enter")
    expect(page.get_by_text("Sent back to draft with your comment.")).to_be_visible()


def test_the_posts_list_opens_an_item_with_o(page: Page, live_server: str):
    log_in(page, live_server, EDITOR)
    page.goto(f"{live_server}{WS}/posts/")
    page.keyboard.press("j")
    first = page.locator(".post-list > .post-item").first
    expect(first).to_be_focused()
    page.keyboard.press("o")
    expect(page).to_have_url(re.compile(r"/posts/\d+$"))
