"""The review loop in a browser: the note reaches the editor, "changes requested" reaches the writer."""

import re
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page, expect

from characters.core.models import Role
from characters.demo.seed import DEMO_LOGINS, DEMO_WORKSPACE_SLUG
from tests.browser.conftest import log_in

WRITER = next(login.email for login in DEMO_LOGINS if login.role is Role.WRITER)
EDITOR = next(login.email for login in DEMO_LOGINS if login.role is Role.EDITOR)
WS = f"/w/{DEMO_WORKSPACE_SLUG}"


@pytest.fixture
def phone(browser: Browser) -> Iterator[Page]:
    """The writer's phone, in Tokyo."""
    context = browser.new_context(viewport={"width": 390, "height": 844}, timezone_id="Asia/Tokyo")
    context.set_default_timeout(10_000)
    yield context.new_page()
    context.close()


def test_note_to_editor_and_changes_requested_back_to_the_writer(page: Page, phone: Page, live_server: str):
    text = "1:50 a.m. and the tram depot cat has claimed my chair. Broadcasting from the floor tonight."
    log_in(phone, live_server, WRITER)
    phone.goto(f"{live_server}{WS}/posts/new?character=dez-okafor")
    phone.get_by_label("Post", exact=True).fill(text)
    phone.get_by_role("button", name="Save draft").click()
    expect(phone.get_by_text("Draft saved for Dez Okafor.")).to_be_visible()
    phone.get_by_label("Note for the editor").fill("For the cat account's birthday, any time after midnight.")
    phone.get_by_role("button", name=re.compile("Submit for review")).click()
    expect(phone.get_by_text("Submitted for review")).to_be_visible()

    log_in(page, live_server, EDITOR)
    page.goto(f"{live_server}{WS}/inbox/")
    card = page.locator("li.inbox-item", has_text=text)
    expect(card.locator(".inbox-note")).to_have_text(
        "Note from the writer: For the cat account's birthday, any time after midnight."
    )
    card.get_by_label("Send back with a comment").fill("Lovely. Say which depot, the fans will ask.")
    card.get_by_role("button", name="Reject").click()
    expect(page.get_by_text("Sent back to draft with your comment.")).to_be_visible()

    phone.get_by_role("link", name=re.compile("Notifications")).click()
    note = phone.locator("li.notification").first
    expect(note).to_contain_text("Changes requested on Dez Okafor's post “1:50 a.m. and the tram depot cat")
    expect(note).to_contain_text("Say which depot, the fans will ask.")
    expect(note.locator("time")).to_contain_text("JST")  # the reader's zone, not UTC
    note.get_by_role("link", name=re.compile("Dez Okafor · post #")).click()
    banner = phone.get_by_role("region", name=re.compile("changes requested by"))
    expect(banner).to_contain_text("Lovely. Say which depot, the fans will ask.")
    assert banner.bounding_box()["y"] < phone.get_by_role("heading", name="Text").bounding_box()["y"]
    history = phone.locator("ol.history")
    expect(history.get_by_text("For the cat account's birthday, any time after midnight.")).to_have_count(1)
