"""The calendar in a browser: character colour and avatar on cards, a drag that settles at once with Undo,
a refused move that puts the card back, and the phone's agenda for the week in touch wording."""

import re
from datetime import date, timedelta

from playwright.sync_api import Browser, Page, expect

from tests.browser.conftest import log_in
from tests.browser.test_workflow import EDITOR, WS, _approve_from_inbox, _draft_and_submit


def _approved_on_the_calendar(page: Page, editor: Page, base: str, text: str) -> date:
    """Draft, submit and approve a post; open the editor's month on its day; return that day."""
    _draft_and_submit(page, base, text)
    _approve_from_inbox(editor, base, text)
    editor.goto(f"{base}{WS}/calendar/queue")
    editor.get_by_role("link", name=re.compile(re.escape(text[:30]))).click()
    due = date.fromisoformat((editor.locator("p time").first.get_attribute("datetime") or "")[:10])
    editor.goto(f"{base}{WS}/calendar/?date={due.isoformat()}&tz=UTC")
    return due


def _target_day(editor: Page, source: date) -> date:
    return next(d for d in (source + timedelta(days=n) for n in (1, 2, -1, -2))
                if editor.locator(f'td[data-date="{d.isoformat()}"]').count() and d > date.today())


def test_a_drag_settles_at_once_and_undo_puts_it_back(page: Page, browser: Browser, live_server: str):
    context = browser.new_context(viewport={"width": 1366, "height": 900})
    try:
        editor = context.new_page()
        text = "3:15 a.m. and a street sweeper is playing my show through its cab window. Loud. Correct."
        due = _approved_on_the_calendar(page, editor, live_server, text)
        chip = editor.locator(".cal-event[draggable=true]", has_text=text[:20])
        expect(chip.locator(".cal-initial")).to_have_text("D")  # Dez's avatar initial on the card
        assert re.search(r"\bwho-\d\b", chip.get_attribute("class") or "")
        source = chip.locator("xpath=ancestor::td[1]").get_attribute("data-date") or ""
        target_day = _target_day(editor, date.fromisoformat(source))
        chip.drag_to(editor.locator(f'td[data-date="{target_day.isoformat()}"]'))
        toast = editor.get_by_role("status")
        expect(toast).to_contain_text("Dez Okafor's post: Moved to")
        # Settled: in the new cell at full strength, no reload needed.
        moved = editor.locator(f'td[data-date="{target_day.isoformat()}"] .cal-event', has_text=text[:20])
        expect(moved).to_be_visible()
        expect(moved).to_have_css("opacity", "1")
        expect(toast.get_by_role("button", name="Undo")).to_be_focused()
        toast.get_by_role("button", name="Undo").click()
        expect(toast).to_contain_text("Undone: the post is back at its time.")
        expect(editor.locator(f'td[data-date="{source}"] .cal-event', has_text=text[:20])).to_be_visible()
        editor.reload()
        expect(editor.locator(f'td[data-date="{source}"] .cal-event', has_text=text[:20])).to_be_visible()
        assert due.isoformat() == source
    finally:
        context.close()


def test_a_refused_move_puts_the_card_back_at_full_strength(page: Page, browser: Browser, live_server: str):
    context = browser.new_context(viewport={"width": 1366, "height": 900})
    try:
        editor = context.new_page()
        text = "2:40 a.m. and the vending machine gave me two coffees for one coin. I am keeping both."
        _approved_on_the_calendar(page, editor, live_server, text)
        chip = editor.locator(".cal-event[draggable=true]", has_text=text[:20])
        source = chip.locator("xpath=ancestor::td[1]").get_attribute("data-date") or ""
        chip.evaluate("card => { card.dataset.version = '999'; }")  # someone else changed it meanwhile
        chip.drag_to(editor.locator(f'td[data-date="{_target_day(editor, date.fromisoformat(source)).isoformat()}"]'))
        expect(editor.get_by_role("status")).to_contain_text("It stays where it was.")
        expect(editor.get_by_role("status").get_by_role("button", name="Undo")).to_be_hidden()
        back = editor.locator(f'td[data-date="{source}"] .cal-event', has_text=text[:20])
        expect(back).to_be_visible()
        expect(back).to_have_css("opacity", "1")
    finally:
        context.close()


def test_the_phone_week_is_an_agenda_in_touch_words(browser: Browser, live_server: str):
    context = browser.new_context(viewport={"width": 390, "height": 844}, has_touch=True, is_mobile=True)
    try:
        phone = context.new_page()
        log_in(phone, live_server, EDITOR)
        phone.goto(f"{live_server}{WS}/calendar/?view=week")
        agenda = phone.get_by_role("region", name="Agenda for the week")
        expect(agenda).to_be_visible()
        expect(agenda.get_by_role("heading", level=3)).to_have_count(7)
        expect(phone.locator("table.cal-week")).to_be_hidden()
        expect(phone.get_by_text("Tap a post to open it and pick a new time.")).to_be_visible()
        for word in ("Hover", "Drag"):
            expect(phone.get_by_text(re.compile(word))).to_be_hidden()
    finally:
        context.close()
