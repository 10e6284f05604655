"""One-click fixes in the post editor, in Chromium: apply a finding's replacement, see it checked again, undo it;
and the model's "Fix the findings" proposal, accepted or discarded, with a scripted OpenAI-compatible server."""

import json
import re
from collections.abc import Iterator

import pytest
from playwright.sync_api import Page, expect

from characters.demo.seed import DEMO_WORKSPACE_SLUG
from tests.browser.conftest import log_in, serving_demo
from tests.services.llm.fake_openai import FakeOpenAI, Reply, fake_openai_server

ELINOR = f"/w/{DEMO_WORKSPACE_SLUG}/posts/new?character=professor-elinor-marsh"
DRAFT = "The laser hummed all night over the dish."  # Elinor's world ends in 1957; the laser came in 1960
FIRST_CHECK = 90_000  # a fresh server reads the 3,000-term lexicon on its first check: seconds on a busy machine


def _open_editor(page: Page, base_url: str) -> None:
    log_in(page, base_url, "writer@demo.greenroom.example")
    page.goto(base_url + ELINOR)


def test_apply_replaces_the_anachronism_and_undo_restores_it(page: Page, live_server: str):
    _open_editor(page, live_server)
    draft = page.locator("#post-editor textarea.gr-post-text").first
    draft.fill(DRAFT)
    finding = page.locator("#check-findings li", has_text="'laser' dates from")
    expect(finding).to_be_visible(timeout=FIRST_CHECK)
    expect(page.locator("#check-summary")).to_contain_text("/100 —")
    apply = finding.locator("button.fix-apply").first
    alternative = apply.inner_text()
    assert alternative
    assert alternative != "Delete"
    expect(apply).to_have_attribute("aria-label", f"Replace ‘laser’ with ‘{alternative}’")

    draft.evaluate("area => area.setSelectionRange(4, 4)")  # the caret the undo must give back
    apply.focus()
    page.keyboard.press("Enter")  # a real button: reachable and usable from the keyboard
    fixed = DRAFT.replace("laser", alternative)
    expect(draft).to_have_value(fixed)
    expect(page.locator("#check-findings li", has_text="'laser' dates from")).to_have_count(0)
    said = f"Replace ‘laser’ with ‘{alternative}’: done. The check ran again."
    expect(page.locator("#fix-message")).to_have_text(said)
    undo = page.get_by_role("button", name="Undo")
    expect(undo).to_be_focused()

    undo.click()
    expect(draft).to_have_value(DRAFT)
    assert draft.evaluate("area => [area.selectionStart, area.selectionEnd]") == [4, 4]
    expect(page.locator("#fix-message")).to_have_text("Undone: the text is back as it was.")
    expect(page.locator("#check-findings li", has_text="'laser' dates from")).to_be_visible()
    expect(undo).to_be_hidden()


def test_a_fix_after_further_typing_checks_again_first(page: Page, live_server: str):
    _open_editor(page, live_server)
    draft = page.locator("#post-editor textarea.gr-post-text").first
    draft.fill(DRAFT)
    apply = page.locator("#check-findings li", has_text="'laser' dates from").locator("button.fix-apply").first
    expect(apply).to_be_visible(timeout=FIRST_CHECK)
    alternative = apply.inner_text()
    # Typing moves every offset; the click must re-check and still replace the right word.
    draft.evaluate("area => { area.value = 'Oh! ' + area.value; }")
    apply.click()
    expect(draft).to_have_value("Oh! " + DRAFT.replace("laser", alternative))


@pytest.fixture(scope="module")
def fake_model() -> Iterator[FakeOpenAI]:
    with fake_openai_server() as fake:
        yield fake


@pytest.fixture(scope="module")
def model_server(tmp_path_factory: pytest.TempPathFactory, fake_model: FakeOpenAI) -> Iterator[str]:
    with serving_demo(tmp_path_factory.mktemp("browser-fix"), llm_base_url=fake_model.url, llm_model="fake") as url:
        yield url


def test_fix_the_findings_is_a_proposal_to_accept_or_discard(page: Page, model_server: str, fake_model: FakeOpenAI):
    rewrite = "The searchlight hummed all night over the dish."
    fake_model.default = Reply(content=f'{{"text": "{rewrite}"}}')
    _open_editor(page, model_server)
    draft = page.locator("#post-editor textarea.gr-post-text").first
    draft.fill(DRAFT)
    fix = page.get_by_role("button", name="Fix the findings")
    expect(fix).to_be_visible(timeout=FIRST_CHECK)

    fix.click()
    proposal = page.locator("#fix-proposal")
    expect(proposal).to_be_visible()
    expect(proposal.locator("#fix-proposal-text")).to_have_text(rewrite)
    expect(proposal).to_contain_text(re.compile(r"Checked again: \d+/100"))
    expect(draft).to_have_value(DRAFT)  # nothing changes until the writer accepts
    assert "Replace 'laser' with" in json.dumps(fake_model.requests[-1]["messages"])  # the findings went along

    page.get_by_role("button", name="Discard").click()
    expect(proposal).to_be_hidden()
    expect(draft).to_have_value(DRAFT)

    fix.click()
    page.get_by_role("button", name="Accept").click()
    expect(draft).to_have_value(rewrite)
    expect(page.locator("#check-findings li", has_text="'laser' dates from")).to_have_count(0)
    page.get_by_role("button", name="Undo").click()
    expect(draft).to_have_value(DRAFT)
