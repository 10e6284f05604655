"""Concurrency benchmark: writing requests that begin IMMEDIATE against the old deferred transactions, same run.

Run: `.venv/bin/python -m bench.concurrency_bench [--seconds 60] [--database-url URL]`. A real server (waitress,
`web.create_app`, 8 threads as `greenroom serve`) on a SQLite file (or on `--database-url`, e.g. PostgreSQL), and 10
clients for `--seconds` each run: 5 web sessions and 4 API tokens each drafting, editing, submitting and reading
their own posts, and an owner creating invite links that newcomers sign up with. Each client only touches what it
created, so every 409 is false. "deferred" is the old behaviour (GREENROOM_IMMEDIATE_WRITES off), "immediate" the
new one; each run gets a fresh workspace (a fresh SQLite file).

Answered req/s: responses that are neither 5xx nor 409, per second. Lost writes: writes the server acknowledged
(2xx, or the form's redirect) whose effect is not in the database afterwards (a post missing, not in the status or
text last acknowledged, a sign-up without its membership).
"""

import argparse
import logging
import re
import statistics
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests
from flask import Flask
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select
from waitress.server import create_server

from characters.accounts.tokens import TokenCreate, create_token
from characters.core.config import Settings
from characters.core.db import make_engine
from characters.core.migrations import upgrade_database
from characters.core.models import Membership, Post, PostPart, PostStatus, Role, TokenScope, User, Workspace
from tests.factories import DEFAULT_PASSWORD, add_member, make_character, make_user, make_workspace, member
from web.database import IMMEDIATE_WRITES

WEB_CLIENTS, API_CLIENTS, INVITE_CLIENTS = 5, 4, 1
SERVER_THREADS = 8  # as `greenroom serve`
TEXT = "A fine morning for a walk."
MODES = {"deferred": False, "immediate": True}
REQUEST_TIMEOUT_S = 120


@dataclass
class World:
    """One run's workspace: its slug, the web writers' emails and the API writers' token secrets."""

    slug: str
    owner_email: str
    web_emails: list[str]
    secrets: list[str]


@dataclass
class Expected:
    """What the server acknowledged for one post: its status and its text."""

    status: PostStatus = PostStatus.DRAFT
    text: str = TEXT


@dataclass
class Tally:
    """Everything the clients saw, shared by their threads."""

    latencies_ms: list[float] = field(default_factory=list)
    statuses: list[int] = field(default_factory=list)
    transport_errors: int = 0
    posts: dict[int, Expected] = field(default_factory=dict)
    joined: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def timed(self, send: Callable[..., requests.Response], url: str, **options: Any) -> requests.Response | None:
        """Make one request; note its status and latency (or the transport error)."""
        started = time.perf_counter()
        try:
            response = send(url, timeout=REQUEST_TIMEOUT_S, allow_redirects=False, **options)
        except requests.RequestException:
            with self.lock:
                self.transport_errors += 1
            return None
        with self.lock:
            self.latencies_ms.append((time.perf_counter() - started) * 1000)
            self.statuses.append(response.status_code)
        return response

    def expect(self, post_id: int, **changes: Any) -> None:
        """Note what the server acknowledged for a post."""
        with self.lock:
            expected = self.posts.setdefault(post_id, Expected())
            for name, value in changes.items():
                setattr(expected, name, value)


@dataclass
class Row:
    """One measured row of the table."""

    database: str
    mode: str
    requests: int
    per_s: float
    good_per_s: float
    server_errors: int
    false_conflicts: int
    lost: int
    transport_errors: int
    p50_ms: float
    p95_ms: float


def seed(engine: Engine) -> World:
    """Create a fresh workspace: an owner, a character, the web writers and the API writers' tokens."""
    slug = f"bench-{uuid.uuid4().hex[:8]}"
    with Session(engine, expire_on_commit=False) as session:
        owner = make_user(session, f"owner@{slug}.example")
        workspace = make_workspace(session, owner, slug)
        make_character(session, workspace, owner, "Walt Test")
        web = [add_member(session, workspace, f"web{n}@{slug}.example", Role.WRITER).email for n in range(WEB_CLIENTS)]
        secrets = []
        for number in range(API_CLIENTS):
            user = add_member(session, workspace, f"api{number}@{slug}.example", Role.WRITER)
            secrets.append(create_token(session=session, member=member(workspace, user, Role.WRITER),
                                        token_create=TokenCreate(name="bench", scope=TokenScope.WRITE)).secret)
        session.commit()
    return World(slug=slug, owner_email=owner.email, web_emails=web, secrets=secrets)


@contextmanager
def serving(app: Flask) -> Iterator[str]:
    """Serve the app with waitress on a free port; yield its base URL."""
    server = create_server(app, host="127.0.0.1", port=0, threads=SERVER_THREADS, ident="Greenroom")
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.effective_port}"
    finally:
        server.task_dispatcher.shutdown()  # first, so no request thread pulls the trigger of a closed server
        server.close()


def _logged_in(base: str, email: str) -> requests.Session:
    client = requests.Session()
    client.post(f"{base}/login", data={"email": email, "password": DEFAULT_PASSWORD}, allow_redirects=False,
                timeout=REQUEST_TIMEOUT_S)
    return client


def web_writer(base: str, world: World, email: str, tally: Tally, deadline: float) -> None:
    """Draft, edit, submit and read own posts through the forms until the deadline."""
    client, posts = _logged_in(base, email), f"{base}/w/{world.slug}/posts"
    while time.monotonic() < deadline:
        created = tally.timed(client.post, f"{posts}/new", data={"character": "walt-test", "parts-0-text": TEXT})
        found = re.search(r"/posts/(\d+)$", created.headers.get("Location", "")) if created is not None else None
        if found is None:
            continue
        post_id = int(found.group(1))
        tally.expect(post_id)
        text = f"{TEXT} Edited by {email}."
        edited = tally.timed(client.post, f"{posts}/{post_id}/edit", data={"version": "1", "parts-0-text": text})
        if edited is None or edited.status_code != 302:
            continue
        tally.expect(post_id, text=text)
        submitted = tally.timed(client.post, f"{posts}/{post_id}/submit", data={"version": "2"})
        if submitted is not None and submitted.status_code == 302:
            tally.expect(post_id, status=PostStatus.IN_REVIEW)
        tally.timed(client.get, f"{posts}/{post_id}")


def api_writer(base: str, world: World, secret: str, tally: Tally, deadline: float) -> None:
    """Create, replace, submit and read own posts through the API until the deadline."""
    client, posts = requests.Session(), f"{base}/api/v1/posts"
    client.headers["Authorization"] = f"Bearer {secret}"
    while time.monotonic() < deadline:
        created = tally.timed(client.post, posts, json={"character": "walt-test", "parts": [{"text": TEXT}]})
        if created is None or created.status_code != 201:
            continue
        post_id = created.json()["id"]
        tally.expect(post_id)
        text = f"{TEXT} Edited by token {secret[-6:]}."
        edited = tally.timed(client.put, f"{posts}/{post_id}", json={"version": 1, "parts": [{"text": text}]})
        if edited is None or edited.status_code != 200:
            continue
        tally.expect(post_id, text=text)
        submitted = tally.timed(client.post, f"{posts}/{post_id}/submit", json={"version": 2})
        if submitted is not None and submitted.status_code == 200:
            tally.expect(post_id, status=PostStatus.IN_REVIEW)
        tally.timed(client.get, f"{posts}/{post_id}")


def inviter(base: str, world: World, number: int, tally: Tally, deadline: float) -> None:
    """Create invite links as the owner until the deadline; a newcomer signs up with each."""
    owner, round_ = _logged_in(base, world.owner_email), 0
    while time.monotonic() < deadline:
        page = tally.timed(owner.post, f"{base}/w/{world.slug}/members/", data={"role": "writer", "days": "3"})
        link = re.search(r'/invite/([A-Za-z0-9_-]+)"', page.text) if page is not None else None
        if link is None:
            continue
        round_ += 1
        email = f"new{number}-{round_}@{world.slug}.example"
        joined = tally.timed(requests.post, f"{base}/invite/{link.group(1)}", data={
            "signup-display_name": "Newcomer", "signup-email": email,
            "signup-password": DEFAULT_PASSWORD, "signup-confirm": DEFAULT_PASSWORD})
        if joined is not None and joined.status_code == 302:
            with tally.lock:
                tally.joined.append(email)


def lost_writes(engine: Engine, world: World, tally: Tally) -> int:
    """Count acknowledged writes whose effect is not in the database."""
    with Session(engine) as session:
        workspace = session.exec(select(Workspace).where(Workspace.slug == world.slug)).one()
        rows = {post.id: post for post in session.exec(select(Post).where(Post.workspace_id == workspace.id))}
        texts = {part.post_id: part.text for part in session.exec(
            select(PostPart).where(col(PostPart.post_id).in_(list(rows)), PostPart.position == 0))}
        lost = sum(1 for post_id, expected in tally.posts.items() if post_id not in rows
                   or rows[post_id].status != expected.status or texts.get(post_id) != expected.text)
        members = set(session.exec(select(User.email).join(Membership, col(Membership.user_id) == col(User.id))
                                   .where(Membership.workspace_id == workspace.id)))
    return lost + sum(1 for email in tally.joined if email not in members)


def run(database_url: str, label: str, mode: str, seconds: float) -> Row:
    """Serve a fresh workspace in one mode, drive the 10 clients for `seconds`, and measure."""
    from web import create_app

    engine = make_engine(database_url)
    upgrade_database(engine)
    world = seed(engine)
    app = create_app({"WTF_CSRF_ENABLED": False, "RATELIMIT_ENABLED": False, IMMEDIATE_WRITES: MODES[mode]},
                     settings=Settings(database_url=database_url, secret_key="bench-secret",  # noqa: S106 - a local server's throwaway key
                                       greenroom_env="test"))
    tally = Tally()
    with serving(app) as base:
        deadline = time.monotonic() + seconds
        clients: list[Callable[[], None]] = [
            *(lambda email=email: web_writer(base, world, email, tally, deadline) for email in world.web_emails),
            *(lambda secret=secret: api_writer(base, world, secret, tally, deadline) for secret in world.secrets),
            *(lambda number=number: inviter(base, world, number, tally, deadline) for number in range(INVITE_CLIENTS)),
        ]
        started = time.monotonic()
        threads = [threading.Thread(target=client) for client in clients]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        elapsed = time.monotonic() - started
    lost = lost_writes(engine, world, tally)
    app.extensions["greenroom.engine"].dispose()
    engine.dispose()
    latencies = sorted(tally.latencies_ms) or [0.0]
    good = sum(1 for status in tally.statuses if status < 500 and status != 409)
    return Row(database=label, mode=mode, requests=len(tally.statuses), per_s=len(tally.statuses) / elapsed,
               good_per_s=good / elapsed,
               server_errors=sum(1 for status in tally.statuses if status >= 500),
               false_conflicts=tally.statuses.count(409), lost=lost, transport_errors=tally.transport_errors,
               p50_ms=statistics.median(latencies), p95_ms=latencies[int(0.95 * (len(latencies) - 1))])


def print_table(rows: list[Row]) -> None:
    """Print the rows as a Markdown table."""
    print("| database | transactions | requests | req/s | answered req/s | 5xx | false 409s | lost writes "
          "| transport errors | p50 ms | p95 ms |")
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for row in rows:
        print(f"| {row.database} | {row.mode} | {row.requests} | {row.per_s:.1f} | {row.good_per_s:.1f} "
              f"| {row.server_errors} "
              f"| {row.false_conflicts} | {row.lost} | {row.transport_errors} | {row.p50_ms:.0f} | {row.p95_ms:.0f} |")


def main() -> None:
    """Run the old (deferred) and the new (immediate) behaviour in turn and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=60.0, help="how long the clients run, per mode")
    parser.add_argument("--database-url", default="", help="run on this database (e.g. PostgreSQL) instead of a "
                                                             "fresh SQLite file per mode")
    args = parser.parse_args()
    logging.getLogger("waitress.queue").setLevel(logging.ERROR)  # "Task queue depth" is the point of the exercise
    logging.getLogger("web").setLevel(logging.CRITICAL)  # the deferred run's thousands of tracebacks are counted
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        for mode in MODES:
            url = args.database_url or f"sqlite:///{Path(folder) / f'{mode}.sqlite3'}"
            label = url.split(":", 1)[0].split("+", 1)[0]
            rows.append(run(url, label, mode, args.seconds))
            print(f"{label} {mode}: {rows[-1].requests} requests", flush=True)
    print_table(rows)


if __name__ == "__main__":
    main()
