"""Browser tests: the real app on a SQLite file, served on localhost, driven by Debian's Chromium."""

import shutil
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, Playwright, sync_playwright
from werkzeug.serving import make_server

from characters.consistency import warm_up
from characters.core.config import Settings
from characters.core.db import make_engine, session_scope
from characters.core.migrations import upgrade_database
from characters.demo.seed import DEMO_PASSWORD, seed_demo
from tests.services.llm.llama import LlamaServer, llama_server_fixture  # noqa: F401 - provides `llama_server`

CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "tests/browser" in str(item.path):
            item.add_marker(pytest.mark.browser)


@contextmanager
def serving_demo(directory: Path, config: dict[str, Any] | None = None, **settings: Any) -> Iterator[str]:
    """Serve the app with the demo workspace from a SQLite file in `directory`; yield its base URL."""
    from web import create_app

    url = f"sqlite:///{directory / 'greenroom.sqlite3'}"
    engine = make_engine(url)
    upgrade_database(engine)
    with session_scope(engine) as session:
        seed_demo(session)
    engine.dispose()
    warm_up()  # the first live check must not wait for the lexicon's index on a busy machine
    app = create_app({"RATELIMIT_ENABLED": False, **(config or {})},
                     settings=Settings(database_url=url, secret_key="browser-tests", **settings))
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    app.extensions["greenroom.engine"].dispose()


@pytest.fixture(scope="session")
def live_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Serve the app with the demo workspace on a free localhost port; yield its base URL."""
    with serving_demo(tmp_path_factory.mktemp("browser")) as url:
        yield url


@pytest.fixture(scope="session")
def llm_live_server(tmp_path_factory: pytest.TempPathFactory, llama_server: LlamaServer) -> Iterator[str]:
    """Like `live_server`, with drafting generation on the real local model (SmolLM2 in llama.cpp)."""
    # A smaller prompt than production's default keeps three variants quick on a busy 2-core machine.
    with serving_demo(tmp_path_factory.mktemp("browser-llm"), {"DRAFTING_PROMPT_BUDGET": 800},
                      llm_base_url=llama_server.base_url, llm_model=llama_server.model,
                      llm_timeout_seconds=120) as url:
        yield url


@pytest.fixture(scope="session")
def playwright() -> Iterator[Playwright]:
    with sync_playwright() as driver:
        yield driver


@pytest.fixture(scope="session")
def browser(playwright: Playwright, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Browser]:
    """Debian's Chromium with the flags that work on this closed network."""
    executable = shutil.which("chromium") or "/usr/bin/chromium"
    browser = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
    yield browser
    browser.close()


@pytest.fixture
def page(browser: Browser, request: pytest.FixtureRequest) -> Iterator[Page]:
    """A fresh browser context (no cookies) per test; a screenshot is kept when the test fails."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.set_default_timeout(10_000)
    page = context.new_page()
    yield page
    report = getattr(request.node, "rep_call", None)
    if report is not None and report.failed:
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / f"{request.node.name}.png"), full_page=True)
    context.close()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]):  # type: ignore[no-untyped-def]
    report = yield
    setattr(item, f"rep_{report.when}", report)
    return report


def log_in(page: Page, base_url: str, email: str, password: str = DEMO_PASSWORD) -> None:
    """Log in through the real form and wait for the workspace page."""
    page.goto(f"{base_url}/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password", exact=True).fill(password)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url("**/w/**")
