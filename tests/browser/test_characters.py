from pathlib import Path

from PIL import Image
from playwright.sync_api import Page, expect

from characters.bibles.cards import parse_card
from characters.core.models import Role
from characters.demo.seed import DEMO_LOGINS
from tests.browser.conftest import log_in

OWNER = next(login.email for login in DEMO_LOGINS if login.role is Role.OWNER)
WRITER = next(login.email for login in DEMO_LOGINS if login.role is Role.WRITER)
CHARACTERS = "/w/riverside-players/characters/"


def test_owner_builds_a_character_with_the_row_buttons_and_downloads_its_card(page: Page, live_server: str,
                                                                              tmp_path: Path):
    log_in(page, live_server, OWNER)
    page.goto(live_server + CHARACTERS)
    page.get_by_role("link", name="New character").click()
    expect(page.get_by_role("heading", name="New character")).to_be_visible()
    page.get_by_label("Name", exact=True).fill("Captain Marigold")
    page.get_by_label("Description").fill("Captain of the river ferry Marigold since 1931.")
    page.get_by_label("Time zone").fill("Europe/London")

    # Without JavaScript these would be checkboxes; with it, rows are added and removed with buttons.
    canon = page.locator("#canon_posts")
    expect(canon.get_by_text("Remove this canon post").first).to_be_hidden()
    canon.get_by_role("button", name="+ Add canon post").click()
    new_post = canon.locator("[data-row]").last.get_by_label("Post", exact=True)
    expect(new_post).to_be_focused()
    new_post.fill("Fog on the water again. We sail at nine, as ever.")
    canon.get_by_role("button", name="Remove canon post 1").click()
    expect(canon.locator("[data-row]")).to_have_count(2)

    lore = page.locator("#lore")
    lore.get_by_role("button", name="+ Add lore entry").click()
    entry = lore.locator("[data-row]").last
    entry.get_by_label("Title", exact=True).fill("The ferry")
    entry.get_by_label("Keywords", exact=True).fill("ferry, Marigold, crossing")
    entry.get_by_label("What the model should know").fill("The Marigold crosses the river eight times a day.")
    page.get_by_role("button", name="Create character").click()

    page.wait_for_url("**/characters/captain-marigold/")
    expect(page.get_by_role("heading", name="Captain Marigold", level=1)).to_be_visible()
    expect(page.get_by_text("Fog on the water again.")).to_be_visible()
    expect(page.get_by_role("heading", name="The ferry")).to_be_visible()

    avatar = tmp_path / "marigold.png"
    Image.new("RGB", (120, 120), (230, 160, 30)).save(avatar)
    page.get_by_label("New picture").set_input_files(avatar)
    page.get_by_role("button", name="Upload picture").click()
    expect(page.get_by_text("New picture saved.")).to_be_visible()
    expect(page.get_by_role("img", name="Picture of Captain Marigold")).to_be_visible()

    page.get_by_role("link", name="Edit bible").click()
    page.get_by_label("Scenario").fill("Autumn 1932: the new bridge upstream threatens the ferry.")
    page.get_by_label("What changed?").fill("Added the bridge")
    page.get_by_role("button", name="Save new version").click()
    expect(page.get_by_text("Saved as version 2.")).to_be_visible()

    page.get_by_role("link", name="History").click()
    expect(page.get_by_role("cell", name="Added the bridge")).to_be_visible()
    expect(page.get_by_role("heading", name="What changed from version 1 to version 2")).to_be_visible()
    expect(page.locator("ins", has_text="new bridge upstream")).to_be_visible()

    page.get_by_role("link", name="Captain Marigold").click()
    with page.expect_download() as download_info:
        page.get_by_role("link", name="Download PNG card").click()
    download = download_info.value
    assert download.suggested_filename == "captain-marigold.png"
    imported = parse_card(Path(download.path()).read_bytes(), download.suggested_filename)
    assert imported.card.greenroom.canon_posts == ["Fog on the water again. We sail at nine, as ever."]
    assert imported.card.character_book is not None
    [lore_entry] = imported.card.character_book.entries
    assert lore_entry.name == "The ferry"
    assert lore_entry.keys == ["ferry", "Marigold", "crossing"]
    assert imported.card.scenario.startswith("Autumn 1932")
    assert imported.avatar is not None


def test_validation_errors_are_listed_and_link_to_their_fields(page: Page, live_server: str):
    log_in(page, live_server, OWNER)
    page.goto(live_server + CHARACTERS + "new")
    page.get_by_label("Time zone").fill("Atlantis/Capital")
    page.get_by_role("button", name="Create character").click()
    summary = page.get_by_role("alert")
    expect(summary).to_contain_text("Nothing was saved yet: 2 things to fix")
    summary.get_by_role("link", name="Time zone: Pick a time zone from the list").click()
    expect(page.get_by_label("Time zone")).to_have_attribute("aria-invalid", "true")
    expect(page.get_by_label("Time zone")).to_have_value("Atlantis/Capital")


def test_writer_reads_the_bible_without_edit_buttons(page: Page, live_server: str):
    log_in(page, live_server, WRITER)
    page.goto(live_server + CHARACTERS)
    expect(page.get_by_role("link", name="New character")).to_have_count(0)
    page.get_by_role("link", name="Professor Elinor Marsh").click()
    expect(page.get_by_role("heading", name="Voice")).to_be_visible()
    expect(page.get_by_text("Knows nothing after 1957.")).to_be_visible()
    expect(page.get_by_role("link", name="Edit bible")).to_have_count(0)
    expect(page.get_by_role("link", name="Download JSON")).to_be_visible()
