from playwright.sync_api import Browser, Page, expect

from characters.core.models import Role
from characters.demo.seed import DEMO_LOGINS
from tests.browser.conftest import log_in

EDITOR = next(login.email for login in DEMO_LOGINS if login.role is Role.EDITOR)


def test_log_out_everywhere_else_from_a_phone(page: Page, browser: Browser, live_server: str):
    log_in(page, live_server, EDITOR)
    phone_context = browser.new_context(viewport={"width": 390, "height": 844})
    try:
        phone = phone_context.new_page()
        log_in(phone, live_server, EDITOR)
        phone.get_by_role("button", name="Menu").click()
        phone.get_by_role("link", name="Account").click()
        expect(phone.get_by_role("heading", name="Your account")).to_be_visible()
        devices = phone.get_by_role("table", name="Devices logged in to your account")
        expect(devices.get_by_role("row")).to_have_count(2)  # at this width the table stacks, without its header
        expect(devices.get_by_text("This device")).to_have_count(1)
        phone.once("dialog", lambda dialog: dialog.accept())
        phone.get_by_role("button", name="Log out everywhere else").click()
        expect(phone.get_by_text("Logged out 1 other device.")).to_be_visible()
        expect(devices.get_by_role("row")).to_have_count(1)
    finally:
        phone_context.close()
    page.reload()
    expect(page.get_by_role("heading", name="Log in")).to_be_visible()
