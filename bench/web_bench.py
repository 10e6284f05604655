"""Web pages at 0 and at 100,000 posts: latency, throughput, SQL statements per request and the server's memory.

Run: `.venv/bin/python -m bench.web_bench [--posts 100000] [--requests 50] [--databases sqlite,postgresql]`.
For each database (a SQLite file, and a throwaway PostgreSQL database dropped at the end) it builds a workspace
through the product's own tables (200 characters, then the posts spread over 18 months: 12 past, 6 ahead, 30 %
threads, revisions, deliveries, audit events and notifications in proportion, 500 posts in review), serves it
with waitress in a child process (`--serve`, 8 threads as `greenroom serve`), and for each page prints p50/p95 of
`--requests` sequential requests before the posts exist and after, the p50 as a multiple of the cheapest route
(the sign-in page), requests/s with 8 clients, and the SQL statements the request ran (counted in the server by
an engine event listener, sent back in a header). Then it exports every post as CSV (streamed), imports a
10,000-row CSV file, and reads the server's resident memory (now and peak).
"""

import argparse
import csv
import io
import os
import random
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

os.environ.setdefault("ARGON2_PROFILE", "cheapest")  # sign-ins are not what is measured here

import requests
from pydantic_core import PydanticUndefined
from sqlalchemy import event, text
from sqlalchemy.engine import Connection, Engine
from sqlmodel import Session, SQLModel

from bench.analytics_data import add_snapshots
from bench.scheduler_bench import postgresql_database
from characters.accounts.tokens import TokenCreate, create_token
from characters.core.db import make_engine
from characters.core.migrations import upgrade_database
from characters.core.models import (
    AuditEvent,
    Campaign,
    Channel,
    ChannelKind,
    Character,
    CharacterVersion,
    Comment,
    Conversation,
    ConversationStatus,
    Delivery,
    DeliveryStatus,
    Notification,
    Post,
    PostPart,
    PostRevision,
    PostStatus,
    Role,
    TokenScope,
)
from characters.demo.seed import load_demo_cards
from characters.posting.calendar import rotate_feed_token
from tests.factories import DEFAULT_PASSWORD, add_member, make_user, make_workspace, member

PORT = 5091
CHARACTERS = 200
IN_REVIEW = 500
CLIENTS = 8
STATEMENTS_HEADER = "X-Bench-Statements"
ZONES = ("America/Denver", "Europe/London", "Asia/Tokyo", "America/New_York", "Australia/Sydney", "UTC")
IMPORT_ROWS = 10_000
CHUNK = 5_000
START_SECONDS = 300
PUBLIC = ("/login", "/feeds/", "/calendar/")


@dataclass
class World:
    """What the pages need: the workspace's slug, a character, posts to open, the busiest dates and secrets."""

    slug: str
    character_slug: str
    editor_email: str
    api_secret: str
    ical_token: str
    draft_id: int = 0
    review_id: int = 0
    conversation_id: int = 0
    deep_cursor: int = 0
    busiest_month: date = field(default_factory=lambda: datetime.now(UTC).date())
    busiest_week: date = field(default_factory=lambda: datetime.now(UTC).date())


@dataclass
class Measure:
    """One page measured in one phase."""

    p50: float
    p95: float
    per_s: float
    statements: int
    cpu_ms: float  # the server's CPU time per sequential request: what the page costs, whatever the machine's load
    rss_mb: float = 0.0  # the server's resident memory after this page's requests (which page makes it grow)


# --- the dataset ---------------------------------------------------------------------------------------------


def _defaults(model: type[SQLModel]) -> dict[str, Any]:
    """Return a model's column defaults (a core insert does not apply SQLModel's own)."""
    values: dict[str, Any] = {}
    for name, info in model.model_fields.items():
        if name == "id":
            continue
        if info.default_factory is not None:
            values[name] = info.default_factory()  # type: ignore[call-arg]
        elif info.default is not PydanticUndefined:
            values[name] = info.default
    return values


class Inserter:
    """Bulk inserts through SQLAlchemy core, in chunks, with each model's defaults filled in."""

    def __init__(self, connection: Connection) -> None:
        self.connection = connection
        self.rows: dict[type[SQLModel], list[dict[str, Any]]] = {}
        self._defaults: dict[type[SQLModel], dict[str, Any]] = {}

    def add(self, model: type[SQLModel], **values: Any) -> None:
        """Queue one row (written by `flush`)."""
        if model not in self._defaults:
            self._defaults[model] = _defaults(model)
        self.rows.setdefault(model, []).append({**self._defaults[model], **values})

    def flush(self, model: type[SQLModel] | None = None) -> None:
        """Write the queued rows (posts first: the other tables point at them)."""
        models = [model] if model else sorted(self.rows, key=lambda m: m is not Post)
        for each in models:
            rows = self.rows.pop(each, [])
            for start in range(0, len(rows), CHUNK):
                table = SQLModel.metadata.tables[str(each.__tablename__)]
                self.connection.execute(table.insert(), rows[start : start + CHUNK])


def _next_id(connection: Connection, model: type[SQLModel]) -> int:
    table = model.__tablename__  # one of our own table names, never input
    return int(connection.execute(text(f'SELECT coalesce(max(id), 0) + 1 FROM "{table}"')).scalar_one())  # noqa: S608


def _reset_sequences(connection: Connection) -> None:
    """After inserts with explicit ids, move PostgreSQL's id sequences past them."""
    if connection.dialect.name != "postgresql":
        return
    for table in SQLModel.metadata.sorted_tables:
        if "id" in table.c:
            connection.execute(
                text(
                    f"SELECT setval(pg_get_serial_sequence('\"{table.name}\"', 'id'), "  # noqa: S608
                    f'(SELECT coalesce(max(id), 0) + 1 FROM "{table.name}"), false)'
                )
            )


def seed_workspace(engine: Engine, characters: int = CHARACTERS) -> tuple[World, dict[str, int]]:
    """Create the users, the workspace, its characters (with bibles and feed channels) and 10 campaigns."""
    slug = f"bench-{uuid.uuid4().hex[:6]}"
    with Session(engine, expire_on_commit=False) as session:
        owner = make_user(session, f"owner@{slug}.example")
        workspace = make_workspace(session, owner, slug, "Bench Players")
        editor = add_member(session, workspace, f"editor@{slug}.example", Role.EDITOR)
        writer = add_member(session, workspace, f"writer@{slug}.example", Role.WRITER)
        secret = create_token(
            session=session,
            member=member(workspace, editor, Role.EDITOR),
            token_create=TokenCreate(name="bench", scope=TokenScope.READ),
        ).secret
        ical = rotate_feed_token(session=session, member=member(workspace, owner, Role.OWNER))
        session.commit()
        ids = {
            "workspace": workspace.id or 0,
            "owner": owner.id or 0,
            "editor": editor.id or 0,
            "writer": writer.id or 0,
        }
    cards = load_demo_cards()
    with engine.begin() as connection:
        out = Inserter(connection)
        first_character, first_channel = _next_id(connection, Character), _next_id(connection, Channel)
        for number in range(characters):
            base = cards[number % len(cards)]
            name = f"{base.name} {number + 1:03d}"
            extension = base.greenroom.model_copy(update={"timezone": ZONES[number % len(ZONES)]})
            card = base.model_copy(update={"name": name}).with_greenroom(extension)
            character_id = first_character + number
            out.add(
                Character,
                id=character_id,
                workspace_id=ids["workspace"],
                name=name,
                slug=f"{base.name.lower().replace(' ', '-')}-{number + 1:03d}",
            )
            out.add(
                CharacterVersion,
                character_id=character_id,
                number=1,
                card=card.to_json_dict(),
                note="bench",
                created_by_id=ids["owner"],
            )
            out.add(
                Channel,
                id=first_channel + number,
                workspace_id=ids["workspace"],
                character_id=character_id,
                kind=ChannelKind.FEED,
                label="",
            )
            out.add(  # where its audience's mentions and replies come from (the conversations pages)
                Channel,
                id=first_channel + characters + number,
                workspace_id=ids["workspace"],
                character_id=character_id,
                kind=ChannelKind.BLUESKY,
                label="Bluesky",
                settings={"handle": f"character-{number + 1:03d}.bsky.social", "service_url": "https://bsky.social"},
            )
        for number in range(10):
            out.add(
                Campaign,
                workspace_id=ids["workspace"],
                name=f"Campaign {number + 1}",
                character_ids=[first_character + n for n in range(characters) if n % 10 == number],
            )
        out.flush(Character)
        out.flush()
        _reset_sequences(connection)
        ids["first_character"], ids["first_channel"], ids["characters"] = first_character, first_channel, characters
        ids["first_campaign"] = _next_id(connection, Campaign) - 10
    character_slug = f"{cards[0].name.lower().replace(' ', '-')}-001"
    return World(
        slug=slug,
        character_slug=character_slug,
        editor_email=f"editor@{slug}.example",
        api_secret=secret,
        ical_token=ical,
    ), ids


def _status(due: datetime, now: datetime, roll: float) -> PostStatus:
    if due < now:
        for status, share in (
            (PostStatus.FAILED, 0.02),
            (PostStatus.MISSED, 0.03),
            (PostStatus.UNCONFIRMED, 0.04),
            (PostStatus.CANCELLED, 0.08),
        ):
            if roll < share:
                return status
        return PostStatus.PUBLISHED
    return PostStatus.DRAFT if roll < 0.1 else PostStatus.APPROVED


DELIVERY_OF = {
    PostStatus.PUBLISHED: DeliveryStatus.PUBLISHED,
    PostStatus.FAILED: DeliveryStatus.FAILED,
    PostStatus.MISSED: DeliveryStatus.MISSED,
    PostStatus.UNCONFIRMED: DeliveryStatus.UNCONFIRMED,
    PostStatus.CANCELLED: DeliveryStatus.CANCELLED,
}
WORDS = (
    "river",
    "paddle",
    "signal",
    "static",
    "morning",
    "tide",
    "otter",
    "dish",
    "sky",
    "radio",
    "market",
    "launch",
    "season",
    "heron",
    "coffee",
    "noise",
    "pulsar",
    "shuttle",
    "sunset",
    "bridge",
    "harbour",
    "lantern",
)


def build_posts(engine: Engine, world: World, ids: dict[str, int], count: int, seed: int = 7) -> None:
    """Add `count` posts over 18 months (12 past, 6 ahead) with parts, revisions, deliveries, audit and notices."""
    rng = random.Random(seed)
    now = datetime.now(UTC)
    start, span = now - timedelta(days=365), timedelta(days=547).total_seconds()
    dues = sorted(start + timedelta(seconds=rng.random() * span) for _ in range(count))
    ahead = [n for n, due in enumerate(dues) if due > now]
    review = set(rng.sample(ahead, min(IN_REVIEW, len(ahead) // 3)))
    months: Counter[date] = Counter()
    weeks: Counter[date] = Counter()
    with engine.begin() as connection:
        out = Inserter(connection)
        post_id = first_post = _next_id(connection, Post)
        for number, due in enumerate(dues):
            status = PostStatus.IN_REVIEW if number in review else _status(due, now, rng.random())
            if status not in (PostStatus.DRAFT, PostStatus.IN_REVIEW):
                months[due.date().replace(day=1)] += 1
                weeks[due.date() - timedelta(days=due.weekday())] += 1
            _add_post(out, rng, ids, post_id, due, status, now)
            post_id += 1
            if len(out.rows[Post]) >= CHUNK:
                out.flush()
        out.flush()
        _reset_sequences(connection)
        world.conversation_id = _add_conversations(connection, rng, ids, first_post, dues, now)
    world.draft_id = next((first_post + n for n, due in enumerate(dues) if due > now and n not in review), first_post)
    world.review_id = first_post + min(review) if review else first_post
    world.deep_cursor = first_post + count // 10
    if months:
        world.busiest_month = months.most_common(1)[0][0]
        world.busiest_week = weeks.most_common(1)[0][0]


def _add_post(
    out: Inserter,
    rng: random.Random,
    ids: dict[str, int],
    post_id: int,
    due: datetime,
    status: PostStatus,
    now: datetime,
) -> None:
    """Queue one post with its parts, revisions, delivery, audit events and (sometimes) a notice and a comment."""
    character = rng.randrange(ids["characters"])
    created = min(due, now) - timedelta(days=rng.random() * 20)
    scheduled = status not in (PostStatus.DRAFT, PostStatus.IN_REVIEW)
    version = 1 + (rng.random() < 0.3)
    out.add(
        Post,
        id=post_id,
        workspace_id=ids["workspace"],
        character_id=ids["first_character"] + character,
        author_id=ids["writer"],
        status=status,
        version=version,
        due_at=due if scheduled else None,
        campaign_id=ids["first_campaign"] + character % 10 if rng.random() < 0.3 else None,
        bible_version=1,
        check_score=rng.randrange(60, 100),
        check_verdict="pass",
        submitted_by_id=ids["writer"] if status != PostStatus.DRAFT else None,
        approved_by_id=ids["editor"] if scheduled else None,
        approved_at=created if scheduled else None,
        published_at=due if status == PostStatus.PUBLISHED else None,
        created_at=created,
        updated_at=due if due < now else created,
    )
    parts = [
        " ".join(rng.choice(WORDS) for _ in range(rng.randrange(8, 30)))
        for _ in range(rng.randrange(2, 5) if rng.random() < 0.3 else 1)
    ]
    for position, part in enumerate(parts):
        out.add(PostPart, post_id=post_id, position=position, text=part)
    for revision in range(1, version + 1):
        out.add(
            PostRevision,
            post_id=post_id,
            version=revision,
            parts=parts,
            edited_by_id=ids["writer"],
            created_at=created + timedelta(minutes=revision),
        )
    delivery = DELIVERY_OF.get(status, DeliveryStatus.PENDING)
    out.add(
        Delivery,
        post_id=post_id,
        channel_id=ids["first_channel"] + character,
        status=delivery,
        due_at=due if scheduled else None,
        attempts=int(delivery != DeliveryStatus.PENDING),
        published_at=due if delivery == DeliveryStatus.PUBLISHED else None,
        idempotency_key=f"bench-{post_id}",
    )
    events: list[tuple[str, str | None, str, int | None]] = [("create", None, "draft", ids["writer"])]
    if status != PostStatus.DRAFT:
        events.append(("submit", "draft", "in_review", ids["writer"]))
    if scheduled:
        events.append(("approve", "in_review", "approved", ids["editor"]))
        if due < now:
            events.append(("publish", "approved", status.value, None))
    for offset, (action, before, after, actor) in enumerate(events):
        out.add(
            AuditEvent,
            workspace_id=ids["workspace"],
            post_id=post_id,
            actor_id=actor,
            action=action,
            from_status=before,
            to_status=after,
            created_at=created + timedelta(minutes=offset),
        )
    if status == PostStatus.FAILED:
        out.add(
            Notification,
            user_id=ids["editor"],
            workspace_id=ids["workspace"],
            post_id=post_id,
            message="A post failed to publish.",
            created_at=due,
        )
    if rng.random() < 0.05:
        out.add(Comment, post_id=post_id, author_id=ids["editor"], body="Looks good to me.", created_at=created)


def _add_conversations(
    connection: Connection,
    rng: random.Random,
    ids: dict[str, int],
    first_post: int,
    dues: list[datetime],
    now: datetime,
) -> int:
    """Add one audience conversation per 10 past posts (replies, mentions, quotes on the characters' Bluesky
    channels), most answered or dismissed, the last week's mostly waiting; return the id of one still open."""
    out = Inserter(connection)
    first = _next_id(connection, Conversation)
    waiting = first
    for number in range(0, len(dues), 10):
        due = dues[number]
        if due > now:
            break
        conversation_id = first + number // 10
        character = rng.randrange(ids["characters"])
        received = min(now - timedelta(minutes=5), due + timedelta(hours=rng.random() * 48))
        recent = now - received < timedelta(days=7)
        roll = rng.random()
        status = (
            (
                ConversationStatus.OPEN
                if roll < 0.6
                else ConversationStatus.ASSIGNED
                if roll < 0.7
                else ConversationStatus.REPLIED
                if roll < 0.9
                else ConversationStatus.DISMISSED
            )
            if recent
            else ConversationStatus.REPLIED
            if roll < 0.7
            else ConversationStatus.DISMISSED
        )
        if status is ConversationStatus.OPEN:
            waiting = conversation_id
        words = " ".join(rng.choice(WORDS) for _ in range(rng.randrange(6, 25)))
        handle = f"fan{rng.randrange(5000)}.bsky.social"
        uri = f"at://did:plc:fan{number}/app.bsky.feed.post/{number:010d}"
        out.add(
            Conversation,
            id=conversation_id,
            workspace_id=ids["workspace"],
            character_id=ids["first_character"] + character,
            channel_id=ids["first_channel"] + ids["characters"] + character,
            network="bluesky",
            network_id=uri,
            reason=rng.choice(("reply", "reply", "mention", "quote")),
            author_ref=f"did:plc:{handle}",
            author_handle=handle,
            author_name=handle.split(".")[0].title(),
            text=words + ("?" if rng.random() < 0.3 else ""),
            url=f"https://bsky.app/profile/{handle}/post/{number:010d}",
            remote_ref={"id": uri, "cid": f"cid{number}", "root_uri": uri, "root_cid": f"cid{number}"},
            posted_at=received - timedelta(minutes=1),
            received_at=received,
            thread=[{"uri": uri, "author_handle": handle, "text": words, "posted_at": received.isoformat()}],
            thread_fetched_at=received,
            subject_post_id=first_post + number if rng.random() < 0.6 else None,
            status=status,
            assignee_id=ids["editor"] if status is ConversationStatus.ASSIGNED else None,
            status_changed_at=received + timedelta(hours=2) if not recent or roll >= 0.6 else None,
            replied_at=received + timedelta(hours=1) if status is ConversationStatus.REPLIED else None,
        )
    out.flush()
    _reset_sequences(connection)
    return waiting


# --- the server and the pages ----------------------------------------------------------------------------------


def serve(database_url: str, port: int) -> None:
    """Serve the app like `greenroom serve` (waitress, 8 threads, lexicon warmed, start-up objects frozen),
    counting each request's SQL statements."""
    import logging

    from flask import Response
    from waitress import serve as waitress_serve

    from characters.core.config import Settings
    from web import create_app, limit_malloc_arenas, warm_up_and_freeze

    limit_malloc_arenas()  # as `greenroom serve` does
    app = create_app(
        {"WTF_CSRF_ENABLED": False, "RATELIMIT_ENABLED": False},
        settings=Settings(database_url=database_url, secret_key=uuid.uuid4().hex, greenroom_env="test"),
    )
    logging.getLogger("waitress.queue").setLevel(logging.ERROR)  # 8 clients queue up: that is what is measured
    counter = threading.local()

    @event.listens_for(app.extensions["greenroom.engine"], "before_cursor_execute")
    def _count(*_: object) -> None:
        counter.statements = getattr(counter, "statements", 0) + 1

    @app.before_request
    def _reset() -> None:
        counter.statements = 0

    @app.after_request
    def _report(response: Response) -> Response:
        response.headers[STATEMENTS_HEADER] = str(getattr(counter, "statements", 0))
        return response

    warm_up_and_freeze(app)  # as `greenroom serve` does beside start-up
    waitress_serve(app, host="127.0.0.1", port=port, threads=8, ident="Greenroom", _quiet=True)


@contextmanager
def server(database_url: str, port: int) -> Iterator[tuple[str, int]]:
    """Run `serve` in a child process; yield its base URL and pid."""
    child = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "bench.web_bench",
            "--serve",
            database_url,  # noqa: S603
            "--port",
            str(port),
        ],
        cwd=Path(__file__).resolve().parents[1],
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + START_SECONDS  # start-up indexes the lexicon: slow on a loaded machine
        while True:
            try:
                requests.get(f"{base}/login", timeout=5)
                break
            except requests.ConnectionError:
                if child.poll() is not None or time.monotonic() > deadline:
                    raise SystemExit(f"the server on port {port} did not start") from None
                time.sleep(0.2)
        yield base, child.pid
    finally:
        child.terminate()
        child.wait(timeout=30)


def rss_mb(pid: int) -> tuple[float, float]:
    """Return the process's resident memory now and at its peak, in MB."""
    fields = dict(line.split(":", 1) for line in Path(f"/proc/{pid}/status").read_text().splitlines() if ":" in line)
    return int(fields["VmRSS"].split()[0]) / 1024, int(fields["VmHWM"].split()[0]) / 1024


def client_for(base: str, world: World, path: str) -> requests.Session:
    """Return the client a page is for: an API client with the editor's read token, an anonymous one (sign-in
    page, public feeds) or the editor's signed-in browser session."""
    client = requests.Session()
    if path.startswith("/api/"):
        client.headers["Authorization"] = f"Bearer {world.api_secret}"
    elif not path.startswith(PUBLIC):
        client.post(f"{base}/login", data={"email": world.editor_email, "password": DEFAULT_PASSWORD}, timeout=60)
    return client


def pages(world: World, with_posts: bool) -> dict[str, str | None]:
    """Return each page's path (None when the page needs a post and there is none yet)."""
    w = f"/w/{world.slug}"
    month, week = world.busiest_month.isoformat(), world.busiest_week.isoformat()
    now = datetime.now(UTC)
    window = (
        f"start={(now - timedelta(days=3)).strftime('%Y-%m-%dT%H:%M:%SZ')}&end="
        f"{(now + timedelta(days=4)).strftime('%Y-%m-%dT%H:%M:%SZ')}"
    )
    return {
        "cheapest (sign-in page)": "/login",
        "dashboard": f"{w}/",
        "characters list": f"{w}/characters/",
        "character page": f"{w}/characters/{world.character_slug}/",
        "post editor": f"{w}/posts/{world.draft_id}/edit" if with_posts else None,
        "post page": f"{w}/posts/{world.review_id}" if with_posts else None,
        "inbox": f"{w}/inbox/",
        "queue + gaps": f"{w}/calendar/queue",
        "calendar month (busiest)": f"{w}/calendar/?date={month}",
        "calendar week (busiest)": f"{w}/calendar/?view=week&date={week}",
        "posts list": f"{w}/posts/",
        "posts list, filtered": f"{w}/posts/?status=published&character={world.character_slug}",
        "posts list, deep page": f"{w}/posts/?cursor={world.deep_cursor}" if with_posts else None,
        "posts list, search": f"{w}/posts/?q=heron+lantern",
        "audit log": f"{w}/audit/",
        "audit log, filtered": f"{w}/audit/?action=approve",
        "notifications": f"{w}/notifications/",
        "API posts, first page": "/api/v1/posts",
        "API posts, deep page": f"/api/v1/posts?cursor={world.deep_cursor}" if with_posts else None,
        "API characters": "/api/v1/characters",
        "API schedule (a week)": f"/api/v1/schedule?{window}",
        "Atom feed": f"/feeds/{world.slug}/{world.character_slug}.atom",
        "JSON feed": f"/feeds/{world.slug}/{world.character_slug}.json",
        "iCal feed": f"/calendar/{world.ical_token}.ics",
        "analytics (30 days)": f"{w}/analytics/",
        "analytics, a character (30 days)": f"{w}/analytics/characters/{world.character_slug}",
        "analytics (365 days)": f"{w}/analytics/?period=365d",
        "analytics CSV (trend)": f"{w}/analytics/export.csv?table=trend",
        "API analytics (30 days)": "/api/v1/analytics",
        "conversations": f"{w}/conversations/",
        "conversations, all": f"{w}/conversations/?view=all",
        "conversation page": f"{w}/conversations/{world.conversation_id}" if with_posts else None,
    }


def cpu_seconds(pid: int) -> float:
    """Return the CPU time (user + system) the process has used so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def sequential(base: str, pid: int, world: World, path: str, count: int, errors: list[str],
               before_each: Callable[[], None] | None = None) -> tuple[list[float], float, int]:
    """Time `count` sequential requests after two warm-ups: sorted latencies (ms), server CPU ms per request and the
    statement count of the last one. `before_each` runs before every request, outside the timing."""
    client = client_for(base, world, path)
    latencies: list[float] = []
    statements = 0
    cpu = 0.0
    for number in range(count + 2):
        if before_each is not None:
            before_each()
        if number == 2:
            cpu = cpu_seconds(pid)
        started = time.perf_counter()
        response = client.get(base + path, timeout=300)
        elapsed = (time.perf_counter() - started) * 1000
        if response.status_code != 200:
            errors.append(f"{path}: {response.status_code}")
            break
        statements = int(response.headers.get(STATEMENTS_HEADER, "0"))
        if number >= 2:  # the first two warm caches (templates, the ORM's compiled statements)
            latencies.append(elapsed)
    cpu_ms = (cpu_seconds(pid) - cpu) * 1000 / max(1, len(latencies))
    return sorted(latencies) or [0.0], cpu_ms, statements


def measure(base: str, pid: int, world: World, path: str, count: int, errors: list[str]) -> Measure:
    """Time `count` sequential requests (and the server's CPU time for them), then 8 clients at once; read the
    statement count of the last one."""
    latencies, cpu_ms, statements = sequential(base, pid, world, path, count, errors)
    per_client = max(3, count // 4)
    clients = [client_for(base, world, path) for _ in range(CLIENTS)]

    def work(session: requests.Session) -> None:
        for _ in range(per_client):
            session.get(base + path, timeout=300)

    started = time.perf_counter()
    threads = [threading.Thread(target=work, args=(session,)) for session in clients]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    per_s = CLIENTS * per_client / (time.perf_counter() - started)
    return Measure(
        p50=statistics.median(latencies),
        p95=latencies[int(0.95 * (len(latencies) - 1))],
        per_s=per_s,
        statements=statements,
        cpu_ms=cpu_ms,
        rss_mb=rss_mb(pid)[0],
    )


# Substrings of the page names to measure (--pages); empty: every page.
ONLY: list[str] = []


def measure_all(
    base: str, pid: int, world: World, with_posts: bool, count: int, errors: list[str]
) -> dict[str, Measure]:
    """Measure every page (or those --pages names) in turn, the cheapest route always."""
    return {
        name: measure(base, pid, world, path, count, errors)
        for name, path in pages(world, with_posts).items()
        if path is not None and (not ONLY or name.startswith("cheapest") or any(part in name for part in ONLY))
    }


def import_file(world: World, rows: int) -> bytes:
    """Return a CSV file of `rows` new posts for the workspace's first character (a third of them threads)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["character", "text", "channels", "campaign"])
    for number in range(rows):
        text_ = f"Imported post {number}: the heron is back on the river."
        writer.writerow(
            [world.character_slug, text_ + ("\n---\nAnd a second part." if number % 3 == 0 else ""), "feed", ""]
        )
    return out.getvalue().encode()


@dataclass
class Report:
    """One database's results."""

    database: str
    posts: int
    build_s: float
    empty: dict[str, Measure]
    full: dict[str, Measure]
    export_s: float = 0.0
    export_mb: float = 0.0
    export_rows: int = 0
    import_s: float = 0.0
    import_status: str = ""
    rss_before_export: float = 0.0
    rss_after: float = 0.0
    rss_peak: float = 0.0
    errors: list[str] = field(default_factory=list)


def run(database: str, database_url: str, posts: int, count: int, port: int) -> Report:
    """Build, serve and measure one database."""
    engine = make_engine(database_url)
    upgrade_database(engine)
    world, ids = seed_workspace(engine)
    errors: list[str] = []
    with server(database_url, port) as (base, pid):
        empty = measure_all(base, pid, world, False, count, errors)
    print(f"{database}: empty workspace measured", flush=True)
    started = time.perf_counter()
    build_posts(engine, world, ids, posts)
    numbers = add_snapshots(engine, workspace_id=ids["workspace"])
    print(
        f"{database}: {numbers.deliveries:,} published deliveries given {numbers.snapshots:,} snapshots and "
        f"{numbers.follower_snapshots:,} follower counts in {numbers.seconds:.1f} s",
        flush=True,
    )
    if database == "postgresql":  # what autovacuum does a little later on its own
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.execute(text("VACUUM ANALYZE"))
    build_s = time.perf_counter() - started
    print(f"{database}: {posts:,} posts built in {build_s:.1f} s", flush=True)
    # A fresh server, as after a deploy: SQLite's planner statistics are gathered at start-up (see web.__init__).
    with server(database_url, port) as (base, pid):
        full = measure_all(base, pid, world, True, count, errors)
        report = Report(database, posts, build_s, empty, full, errors=errors)
        report.rss_before_export = rss_mb(pid)[0]
        client = client_for(base, world, "/w/")
        started = time.perf_counter()
        body = bytearray()
        with client.get(f"{base}/w/{world.slug}/posts/export.csv", stream=True, timeout=600) as response:
            for chunk in response.iter_content(1 << 16):
                body += chunk
        report.export_s = time.perf_counter() - started
        report.export_mb = len(body) / 1e6
        report.export_rows = sum(1 for _ in csv.reader(io.StringIO(body.decode()))) - 1
        started = time.perf_counter()
        response = client.post(
            f"{base}/w/{world.slug}/posts/transfer",
            allow_redirects=False,
            timeout=600,
            files={"file": ("posts.csv", import_file(world, IMPORT_ROWS), "text/csv")},
        )
        report.import_s = time.perf_counter() - started
        report.import_status = "imported" if response.status_code == 302 else f"refused ({response.status_code})"
        report.rss_after, report.rss_peak = rss_mb(pid)
    engine.dispose()
    return report


def print_report(report: Report) -> None:
    """Print one database's table and its totals."""
    cheapest_empty = report.empty["cheapest (sign-in page)"].p50 or 1.0
    cheapest_full = report.full["cheapest (sign-in page)"].p50 or 1.0
    print(f"\n### {report.database}: {report.posts:,} posts (built in {report.build_s:.1f} s)\n")
    print(
        f"| page | empty p50 ms | empty p95 ms | {report.posts:,} p50 ms | p95 ms | × cheapest (p50) "
        f"| server CPU ms/request | {CLIENTS} clients req/s | SQL statements empty → full | RSS after, MB |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|---|---:|")
    for name, full in report.full.items():
        empty = report.empty.get(name)
        before = f"{empty.p50:.0f} | {empty.p95:.0f}" if empty else "– | –"
        statements = f"{empty.statements} → {full.statements}" if empty else f"– → {full.statements}"
        print(
            f"| {name} | {before} | {full.p50:.0f} | {full.p95:.0f} | {full.p50 / cheapest_full:.1f} "
            f"| {full.cpu_ms:.1f} | {full.per_s:.1f} | {statements} | {full.rss_mb:.0f} |"
        )
    print(f"\ncheapest route p50: {cheapest_empty:.1f} ms empty, {cheapest_full:.1f} ms full")
    print(
        f"export CSV: {report.export_rows:,} posts, {report.export_mb:.1f} MB in {report.export_s:.1f} s "
        f"(server RSS {report.rss_before_export:.0f} MB before)"
    )
    print(f"import CSV: {IMPORT_ROWS:,} rows in {report.import_s:.1f} s, {report.import_status}")
    print(f"web process RSS after the benchmark: {report.rss_after:.0f} MB (peak {report.rss_peak:.0f} MB)")
    slow = [name for name, m in report.full.items() if m.p95 > 50]
    print(
        f"pages over 50 ms p95: {', '.join(slow) if slow else 'none'} (load average {os.getloadavg()[0]:.1f} "
        f"on {os.cpu_count()} cores: other processes' work lengthens every wait; CPU ms/request does not)"
    )
    if report.errors:
        print(f"errors: {'; '.join(sorted(set(report.errors)))}")


def main() -> None:
    """Measure each database and print its table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--posts", type=int, default=100_000, help="posts to build (default 100,000)")
    parser.add_argument("--requests", type=int, default=50, help="sequential requests per page")
    parser.add_argument("--databases", default="sqlite,postgresql", help="comma-separated: sqlite, postgresql")
    parser.add_argument("--port", type=int, default=PORT)
    parser.add_argument("--pages", default="", help="comma-separated parts of page names to measure (default all)")
    parser.add_argument("--serve", metavar="DATABASE_URL", help=argparse.SUPPRESS)
    args = parser.parse_args()
    ONLY.extend(part for part in args.pages.split(",") if part)
    if args.serve:
        serve(args.serve, args.port)
        return
    runners: dict[str, Callable[[], Report]] = {}
    with tempfile.TemporaryDirectory() as folder:
        for database in args.databases.split(","):
            if database == "sqlite":
                runners[database] = lambda: run(
                    "sqlite", f"sqlite:///{Path(folder) / 'bench.sqlite3'}", args.posts, args.requests, args.port
                )
            elif database == "postgresql":
                runners[database] = lambda: _on_postgres(args.posts, args.requests, args.port)
            else:
                raise SystemExit(f"unknown database {database!r}")
        for runner in runners.values():
            print_report(runner())


def _on_postgres(posts: int, count: int, port: int) -> Report:
    with postgresql_database() as url:
        return run("postgresql", url, posts, count, port)


if __name__ == "__main__":
    main()
