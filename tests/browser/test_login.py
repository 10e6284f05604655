from playwright.sync_api import Page, expect

from characters.core.models import Role
from characters.demo.seed import DEMO_LOGINS
from tests.browser.conftest import log_in

WRITER = next(login.email for login in DEMO_LOGINS if login.role is Role.WRITER)


def test_demo_writer_logs_in_and_sees_the_characters(page: Page, live_server: str):
    log_in(page, live_server, WRITER)
    expect(page.get_by_role("heading", name="Riverside Players")).to_be_visible()
    page.get_by_role("navigation", name="Workspace").get_by_role("link", name="Characters").click()
    expect(page.get_by_role("heading", name="Characters", exact=True)).to_be_visible()
    for name in ("Pip the Otter", "Professor Elinor Marsh", "Dez Okafor"):
        expect(page.get_by_role("heading", name=name)).to_be_visible()


def test_wrong_password_shows_the_generic_message(page: Page, live_server: str):
    page.goto(f"{live_server}/login")
    page.get_by_label("Email").fill(WRITER)
    page.get_by_label("Password", exact=True).fill("not-the-password")
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_text("That email and password don't match an account.")).to_be_visible()
    expect(page.get_by_label("Password", exact=True)).to_have_attribute("aria-invalid", "true")


def test_unknown_page_is_a_styled_404(page: Page, live_server: str):
    response = page.goto(f"{live_server}/no/such/page")
    assert response is not None
    assert response.status == 404
    expect(page.get_by_role("heading", name="Page not found")).to_be_visible()
