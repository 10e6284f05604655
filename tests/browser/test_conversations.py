"""The audience inbox in a browser: inbox → conversation → reply (writer, live check) → approve (editor).

The app runs on its own demo database here, so the test can store the Bluesky conversation it walks through.
"""

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect
from sqlmodel import Session, select

from characters.core.db import make_engine
from characters.core.models import Channel, ChannelKind, Character, Post, PostStatus, Role
from characters.demo.seed import DEMO_LOGINS, DEMO_WORKSPACE_SLUG
from tests.browser.conftest import log_in, serving_demo
from tests.factories import make_conversation

WRITER = next(login.email for login in DEMO_LOGINS if login.role is Role.WRITER)
EDITOR = next(login.email for login in DEMO_LOGINS if login.role is Role.EDITOR)
WS = f"/w/{DEMO_WORKSPACE_SLUG}"
QUESTION = "Dez, which tram line does the depot cat ride at night? 🐈‍⬛"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    directory = tmp_path_factory.mktemp("browser-conversations")
    with serving_demo(directory) as url:
        yield url, directory / "greenroom.sqlite3"


def _store_conversation(database: Path) -> int:
    engine = make_engine(f"sqlite:///{database}")
    with Session(engine, expire_on_commit=False) as session:
        character = session.exec(select(Character).where(Character.slug == "dez-okafor")).one()
        channel = Channel(workspace_id=character.workspace_id, character_id=character.id, kind=ChannelKind.BLUESKY,
                          label="Dez on Bluesky", settings={"handle": "dez.example"})
        session.add(channel)
        session.flush()
        conversation = make_conversation(
            session, character, channel=channel, text=QUESTION, author_handle="tramfan.example",
            author_name="نور Tram Fan", is_question=True, received_ago_minutes=75,
            thread=[{"author_handle": "dez.example", "author_name": "Dez Okafor", "is_character": True,
                     "text": "Night shift at the depot again. The cat has opinions."}])
        conversation_id = conversation.id
    engine.dispose()
    assert conversation_id is not None
    return conversation_id


def _reply_of(database: Path, conversation_id: int) -> Post:
    engine = make_engine(f"sqlite:///{database}")
    with Session(engine) as session:
        post = session.exec(select(Post).where(Post.conversation_id == conversation_id)).one()
    engine.dispose()
    return post


def test_inbox_to_conversation_to_reply_to_approval(page: Page, server: tuple[str, Path]):
    base, database = server
    conversation_id = _store_conversation(database)

    log_in(page, base, WRITER)
    header = page.get_by_role("navigation", name="Workspace")
    more = header.get_by_role("button", name="More")
    if more.is_visible():  # the bar puts what does not fit under "More"
        more.click()
    header.get_by_role("link", name=re.compile(r"^Conversations \d+ overdue")).click()
    item = page.locator("li.convo-item", has_text=QUESTION)
    expect(item).to_contain_text("Overdue")
    expect(item).to_contain_text("نور Tram Fan")
    item.get_by_role("link").click()
    expect(page).to_have_url(re.compile(f"/conversations/{conversation_id}"))
    expect(page.locator("li.convo-own")).to_contain_text("The cat has opinions.")
    expect(page.get_by_text("Overdue:")).to_be_visible()

    box = page.get_by_label("Reply as Dez Okafor")
    box.fill("The night owl line, 11 to 4. She rides up front, by the heater.")
    expect(page.locator("#check-summary")).to_contain_text("Score", timeout=45_000)  # a busy 2-core machine
    expect(page.locator("#reply-count")).to_contain_text("/ 300")
    page.get_by_role("button", name="Submit for review").click()
    expect(page.get_by_text("Submitted for review")).to_be_visible()
    expect(page.locator(".convo-pending")).to_contain_text("in review")
    expect(page.locator(".convo-status-assigned").first).to_contain_text("Demo writer")

    page.context.clear_cookies()
    log_in(page, base, EDITOR)
    page.goto(f"{base}{WS}/conversations/{conversation_id}")
    pending = page.locator(".convo-pending")
    expect(pending).to_contain_text("The night owl line")
    pending.get_by_role("button", name="Approve and send").click()
    expect(page.get_by_text("Reply approved: it goes out now.")).to_be_visible()
    expect(page.locator(".convo-pending")).to_contain_text("approved")
    assert _reply_of(database, conversation_id).status == PostStatus.APPROVED


def test_the_phone_header_shows_overdue_conversations(browser, server: tuple[str, Path]):
    base, database = server
    _store_conversation(database)
    context = browser.new_context(viewport={"width": 390, "height": 844})
    context.set_default_timeout(10_000)
    phone = context.new_page()
    try:
        log_in(phone, base, WRITER)
        menu = phone.get_by_role("button", name=re.compile("^Menu"))
        expect(menu).to_contain_text("overdue")
        menu.click()
        phone.get_by_role("link", name=re.compile(r"^Conversations \d+ overdue")).click()
        expect(phone.get_by_role("heading", name="Conversations")).to_be_visible()
        expect(phone.locator("li.convo-overdue").first).to_be_visible()
    finally:
        context.close()
