"""Bulk work in a browser: select posts on the list, apply one action, read a result per post."""

import re

from playwright.sync_api import Page, expect

from tests.browser.conftest import log_in
from tests.browser.test_workflow import WRITER, WS


def test_select_two_drafts_and_submit_them_together(page: Page, live_server: str):
    log_in(page, live_server, WRITER)
    ids = []
    for text in ("11:10 p.m. and the night shift starts with a thermos.", "11:15 p.m. and the thermos is empty."):
        page.goto(f"{live_server}{WS}/posts/new?character=dez-okafor")
        page.get_by_label("Post", exact=True).fill(text)
        page.get_by_role("button", name="Save draft").click()
        expect(page.get_by_text("Draft saved for Dez Okafor.")).to_be_visible()
        ids.append(page.url.rsplit("/", 1)[1])
    page.goto(f"{live_server}{WS}/posts/?status=draft")
    for post_id in ids:
        page.get_by_role("checkbox", name=re.compile(rf"Select post #{post_id} by Dez Okafor")).check()
    page.get_by_label("With the selected posts").select_option("submit")
    page.get_by_role("button", name="Apply").click()
    expect(page.get_by_role("heading", name="Submit for review")).to_be_visible()
    expect(page.get_by_role("status").filter(has_text="done")).to_contain_text("2 of 2 posts done")
    for post_id in ids:
        expect(page.locator("li", has_text=f"Post #{post_id}")).to_contain_text("Submitted (score")


def test_search_the_posts_list_from_a_phone(browser, live_server: str):
    context = browser.new_context(viewport={"width": 390, "height": 844})
    try:
        phone = context.new_page()
        log_in(phone, live_server, WRITER)
        phone.goto(f"{live_server}{WS}/posts/")
        search = phone.get_by_role("search", name="Search and filter posts")
        search.get_by_role("searchbox", name="Search").fill("taxi drivers")
        search.get_by_role("searchbox", name="Search").press("Enter")
        expect(phone.get_by_role("searchbox", name="Search")).to_have_value("taxi drivers")
        posts = phone.locator(".post-list > .post-item")
        expect(posts).to_have_count(1)
        expect(posts).to_contain_text("the taxi drivers have started a debate")
    finally:
        context.close()
