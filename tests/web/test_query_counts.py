"""SQL statements per request do not grow with the data: an N+1 query on a main page cannot come back unnoticed.

Each page is requested in a small workspace (3 characters, 40 posts) and in a larger one (15 characters, 400
posts), built like the web benchmark's. The larger one may take a few statements more only where the data
differs in kind (the post shown has a campaign, a week has posts at all), never in proportion to the data, and
no page goes over its budget.
"""

from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import event
from sqlalchemy.engine import Engine

from bench.web_bench import World, build_posts, pages, seed_workspace
from tests.factories import DEFAULT_PASSWORD

SMALL = (3, 40)
LARGER = (15, 400)
# The most statements any page may run (sign-in, member, badges and the page's own reads).
BUDGET = 22
# What a page may add when the larger workspace's data differs in kind (a campaign to show, posts in a window).
SLACK = 3


@contextmanager
def counted(app: Flask) -> Iterator[list[str]]:
    """Collect the statements the app's engine runs inside the block."""
    statements: list[str] = []

    def count(connection: object, cursor: object, statement: str, *args: object) -> None:
        statements.append(statement)

    engine = app.extensions["greenroom.engine"]
    event.listen(engine, "before_cursor_execute", count)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", count)


def _world(engine: Engine, characters: int, posts: int) -> World:
    world, ids = seed_workspace(engine, characters)
    build_posts(engine, world, ids, posts)
    return world


def _statements(app: Flask, world: World) -> dict[str, int]:
    """Request every page twice (the first one may record a sign-in's or a token's use) and count the second."""
    browser, api = app.test_client(), app.test_client()
    browser.post("/login", data={"email": world.editor_email, "password": DEFAULT_PASSWORD})
    counts = {}
    for name, path in pages(world, with_posts=True).items():
        client: FlaskClient = browser if not path.startswith("/api/") else api
        headers = {"Authorization": f"Bearer {world.api_secret}"} if path.startswith("/api/") else {}
        assert client.get(path, headers=headers).status_code in (200, 302), name
        with counted(app) as statements:
            response = client.get(path, headers=headers)
        assert response.status_code in (200, 302), f"{name}: {response.status_code}"
        counts[name] = len(statements)
    return counts


@pytest.fixture
def worlds(engine: Engine) -> tuple[World, World]:
    return _world(engine, *SMALL), _world(engine, *LARGER)


def test_every_main_page_runs_the_same_statements_at_ten_times_the_data(app, worlds):
    small, larger = (_statements(app, world) for world in worlds)
    grown = {name: (small[name], larger[name]) for name in small if larger[name] > small[name] + SLACK}
    assert not grown, f"statements per request grew with the data (small, larger): {grown}"
    over = {name: count for name, count in larger.items() if count > BUDGET}
    assert not over, f"pages over {BUDGET} statements: {over}"


def test_the_inbox_and_the_queue_page_what_they_cannot_show_at_once(app, engine):
    world = _world(engine, 4, 600)
    client = app.test_client()
    client.post("/login", data={"email": world.editor_email, "password": DEFAULT_PASSWORD})
    inbox = client.get(f"/w/{world.slug}/inbox/").get_data(as_text=True)
    assert "Page 1 of" in inbox
    assert inbox.count('class="panel inbox-item"') == 25
    queue = client.get(f"/w/{world.slug}/calendar/queue").get_data(as_text=True)
    assert "Page 1 of" in queue
    assert client.get(f"/w/{world.slug}/calendar/queue?page=2").status_code == 200
