"""Previews in the editor: the post as Bluesky and Mastodon will show it, thread and image included, with the
length left on each network, updating as the writer types."""

from collections.abc import Iterator
from pathlib import Path

import pytest
from PIL import Image
from playwright.sync_api import Page, expect
from sqlmodel import select

from characters.core.db import make_engine, session_scope
from characters.core.models import Channel, ChannelKind, Character, Role
from characters.demo.seed import DEMO_LOGINS, DEMO_WORKSPACE_SLUG
from tests.browser.conftest import log_in, serving_demo

WRITER = next(login.email for login in DEMO_LOGINS if login.role is Role.WRITER)
WS = f"/w/{DEMO_WORKSPACE_SLUG}"


@pytest.fixture(scope="module")
def networked_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The demo with Pip on Bluesky and Mastodon too (channels only listed: nothing is published here)."""
    directory = tmp_path_factory.mktemp("previews")
    with serving_demo(directory) as url:
        engine = make_engine(f"sqlite:///{directory / 'greenroom.sqlite3'}")
        with session_scope(engine) as session:
            pip = session.exec(select(Character).where(Character.slug == "pip-the-otter")).one()
            for kind, label in (
                (ChannelKind.BLUESKY, "piptheotter.greenroom.test"),
                (ChannelKind.MASTODON, "@piptheotter@greenroom.test"),
            ):
                session.add(Channel(workspace_id=pip.workspace_id, character_id=pip.id, kind=kind, label=label))
        engine.dispose()
        yield url


def _picture(path: Path) -> Path:
    Image.new("RGB", (120, 80), (40, 120, 200)).save(path, "PNG")
    return path


def test_previews_show_each_network_with_the_thread_and_the_length_left(
    page: Page, networked_server: str, tmp_path: Path
):
    log_in(page, networked_server, WRITER)
    page.goto(f"{networked_server}{WS}/posts/new?character=pip-the-otter")
    page.get_by_label(r"Pip the Otter's feed").check()
    for network in ("bluesky", "mastodon"):
        page.locator(f"input[name=channels][data-platform={network}]").check()
    text = "Paddle day! Tell @riverfriend and see https://example.com/river #PaddleWithPip"
    page.get_by_label("Post", exact=True).fill(text)
    bluesky = page.get_by_role("region", name="Bluesky preview")
    mastodon = page.get_by_role("region", name="Mastodon preview")
    expect(bluesky.locator(".pv-handle")).to_have_text("@piptheotter.greenroom.test")
    expect(mastodon.locator(".pv-handle")).to_have_text("@piptheotter@greenroom.test")
    expect(bluesky.locator(".pv-tag")).to_have_text("#PaddleWithPip")
    expect(bluesky.locator(".pv-mention")).to_have_text("@riverfriend")
    expect(bluesky.locator(".pv-link")).to_have_text("https://example.com/river")
    expect(bluesky.locator(".pv-foot")).to_have_text(f"{300 - len(text)} left")  # graphemes
    link = len("https://example.com/river")
    expect(mastodon.locator(".pv-foot")).to_have_text(f"{500 - (len(text) - link + 23)} left")  # a link is 23
    # A thread: a second part with an image and its alt text shows as the second post of each preview.
    page.get_by_role("button", name="Add a part (thread)").click()
    page.get_by_label("Part 2").fill("x" * 310)
    page.locator("#parts-1-image").set_input_files(str(_picture(tmp_path / "river.png")))
    page.locator("#parts-1-alt").fill("The river at dawn")
    expect(bluesky.locator(".pv-post")).to_have_count(2)
    expect(bluesky.locator(".pv-post").nth(1).locator(".pv-foot")).to_have_text("10 over the limit · 2/2")
    expect(mastodon.locator(".pv-post").nth(1).locator(".pv-foot")).to_have_text("190 left · 2/2")
    expect(bluesky.get_by_role("img", name="The river at dawn")).to_be_visible()
    expect(bluesky.locator("figcaption")).to_have_text("ALT: The river at dawn")
    # Unticking a network takes its preview away.
    page.locator("input[name=channels][data-platform=mastodon]").uncheck()
    expect(mastodon).to_have_count(0)
