"""Live-check benchmark: the editor's POST /w/<workspace>/posts/check over HTTP, beside the bare checker call.

Run: `.venv/bin/python -m bench.live_check_bench [--requests N]`. A SQLite file holds one workspace with 21
characters (the demo personas under numbered names, as a team's workspace has about 20 others); the checked
character's bible has 0, then 2,000 lorebook entries. Each request is what the editor sends on a keystroke (the
draft so far, one channel), through the Flask test client: routing, sign-in, the queries, the check, the JSON.
The bare call is `check_text` on a card already parsed, with the other cards and their keys at hand: what the
endpoint cannot beat. p50/p95 in milliseconds, after a warm-up request (models are built once per bible version).
"""

import argparse
import secrets
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from sqlmodel import Session

from characters.accounts.users import UserCreate, create_user
from characters.accounts.workspaces import Member, WorkspaceCreate, create_workspace
from characters.bibles.bible import create_character
from characters.bibles.card_data import CharacterBook, LoreEntry
from characters.consistency import check_text
from characters.core.config import Settings
from characters.core.db import make_engine
from characters.core.migrations import upgrade_database
from characters.core.models import Role
from characters.demo.seed import load_demo_cards

OTHERS = 20
LORE_SIZES = (0, 2_000)
TARGET_P95_MS = 20.0
PASSWORD = "bench-password-long-enough"  # noqa: S105 - a throwaway account in a temporary database
DRAFT = (
    "The receiver hummed all evening and the sky said nothing of interest. I wrote the readings down anyway, "
    "as one does, and put the kettle on"
)


def lorebook(entries: int) -> CharacterBook | None:
    """Return a character book of `entries` keyword entries (None for none)."""
    if not entries:
        return None
    return CharacterBook(
        name="Observatory lore",
        entries=[
            LoreEntry(
                keys=[f"dish {number}", f"log {number}"],
                content=f"Entry {number}: the dish was realigned to "
                f"declination {number % 90} degrees; the night log notes weather, staff and a faint source.",
                insertion_order=number,
                id=number,
            )
            for number in range(entries)
        ],
    )


def build_workspace(url: str, entries: int) -> tuple[str, str]:
    """Create the workspace and its characters; return (workspace slug, checked character's slug)."""
    engine = make_engine(url)
    upgrade_database(engine)
    demo = load_demo_cards()
    with Session(engine) as session:
        owner = create_user(
            session=session,
            user_create=UserCreate(email="owner@bench.example", display_name="Owner", password=PASSWORD),
        )
        workspace = create_workspace(
            session=session, owner=owner, workspace_create=WorkspaceCreate(slug="bench", name="Bench")
        )
        member = Member(workspace=workspace, user=owner, role=Role.OWNER)
        checked = demo[1].model_copy(update={"character_book": lorebook(entries)})
        slug = create_character(session=session, member=member, card=checked).slug
        for number in range(OTHERS):
            card = demo[number % len(demo)]
            create_character(
                session=session, member=member, card=card.model_copy(update={"name": f"{card.name} {number + 1}"})
            )
        session.commit()
    engine.dispose()
    return "bench", slug


def timed(call: Callable[[], object], requests: int) -> tuple[float, float]:
    """Return p50 and p95 of `call` in milliseconds, after one warm-up call."""
    call()
    samples = []
    for _ in range(requests):
        started = time.perf_counter()
        call()
        samples.append((time.perf_counter() - started) * 1000)
    samples.sort()
    return statistics.median(samples), samples[min(len(samples) - 1, int(0.95 * len(samples)))]


def measure(folder: Path, entries: int, requests: int) -> list[str]:
    """Return the table rows for one lorebook size: over HTTP, and the bare checker call."""
    from web import create_app

    url = f"sqlite:///{folder / f'live-{entries}.sqlite3'}"
    workspace, slug = build_workspace(url, entries)
    app = create_app(
        {"WTF_CSRF_ENABLED": False, "RATELIMIT_ENABLED": False},
        settings=Settings(database_url=url, secret_key=secrets.token_urlsafe(32), greenroom_env="test"),
    )
    client = app.test_client()
    client.post("/login", data={"email": "owner@bench.example", "password": PASSWORD})
    body = {"character": slug, "parts": [DRAFT], "channels": []}

    def over_http() -> object:
        response = client.post(f"/w/{workspace}/posts/check", json=body)
        if response.status_code != 200:
            raise RuntimeError(f"the live check answered {response.status_code}: {response.get_data(as_text=True)}")
        return response

    demo = load_demo_cards()
    card = demo[1].model_copy(update={"character_book": lorebook(entries)})
    others = [
        c.model_copy(update={"name": f"{c.name} {n + 1}"}) for n, c in ((n, demo[n % len(demo)]) for n in range(OTHERS))
    ]
    keys = [f"other-{n}" for n in range(OTHERS)]
    http = timed(over_http, requests)
    bare = timed(
        lambda: check_text(card, DRAFT, others=others, cache_key=f"bench-{entries}", other_keys=keys), requests
    )
    return [
        f"| POST /posts/check over HTTP | {entries:,} | {http[0]:.1f} | {http[1]:.1f} |",
        f"| check_text, card parsed, others' keys known | {entries:,} | {bare[0]:.1f} | {bare[1]:.1f} |",
    ]


def main(argv: list[str] | None = None) -> None:
    """Print the table: p50/p95 per lorebook size, the endpoint beside the bare checker call."""
    parser = argparse.ArgumentParser(prog="python -m bench.live_check_bench")
    parser.add_argument("--requests", type=int, default=200, help="timed requests per row (default 200)")
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    print(
        f"live check: one draft of {len(DRAFT)} characters, {OTHERS} other characters in the workspace, "
        f"{args.requests} requests per row\n"
    )
    print("| what | lorebook entries | p50 ms | p95 ms |")
    print("|---|---|---|---|")
    with tempfile.TemporaryDirectory(prefix="greenroom-live-check-") as folder:
        for entries in LORE_SIZES:
            for row in measure(Path(folder), entries, args.requests):
                print(row, flush=True)
    print(f"\ntarget: p95 <= {TARGET_P95_MS:.0f} ms over HTTP with {LORE_SIZES[-1]:,} lorebook entries")


if __name__ == "__main__":
    main()
