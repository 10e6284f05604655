"""Cards and audit in a browser: re-importing a known card asks what to do; the audit log shows who changed what."""

import re
from pathlib import Path

from playwright.sync_api import Page, expect

from characters.core.models import Role
from characters.demo.seed import DEMO_LOGINS, DEMO_WORKSPACE_SLUG
from tests.browser.conftest import log_in

OWNER = next(login.email for login in DEMO_LOGINS if login.role is Role.OWNER)
WS = f"/w/{DEMO_WORKSPACE_SLUG}"
OTTO = Path(__file__).resolve().parents[1] / "characters" / "fixtures" / "cards" / "v2-otto.png"


def _import(page: Page, base: str) -> None:
    page.goto(f"{base}{WS}/characters/import")
    page.get_by_label("Card file").set_input_files(str(OTTO))
    page.get_by_role("button", name="Import").click()


def test_reimporting_a_card_offers_update_or_copy_and_the_audit_log_shows_it(page: Page, live_server: str):
    log_in(page, live_server, OWNER)
    _import(page, live_server)
    expect(page.get_by_text(re.compile(r"^Imported Otto"))).to_be_visible()
    _import(page, live_server)
    choice = page.get_by_role("region", name=re.compile("is already a character here"))
    expect(choice).to_contain_text("v2-otto.png")
    choice.get_by_role("button", name=re.compile(r"^Update Otto.* as version 2")).click()
    expect(page.get_by_text(re.compile(r"Updated Otto.*: bible version 2\."))).to_be_visible()
    page.goto(f"{live_server}{WS}/audit/")
    edit = page.locator("tr", has_text="character edit").first
    expect(edit).to_contain_text("version: 2")
    expect(edit).to_contain_text("note: Updated from v2-otto.png")
    expect(page.locator("tr", has_text="character create").first).to_contain_text("Imported from v2-otto.png")
