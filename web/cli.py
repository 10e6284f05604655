"""The `greenroom` command: database, users, workspaces, demo data and serving.

Each command imports the domain it uses when it runs, so `greenroom --help` starts without the database layer,
scikit-learn or the publishers' clients.
"""

import json
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext, suppress
from functools import wraps
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, TypeVar

import click

from characters.core.errors import DomainError

if TYPE_CHECKING:
    from sqlmodel import Session

    from characters.core.config import Settings
    from characters.core.models import Role

F = TypeVar("F", bound=Callable[..., Any])


def friendly_errors(command: F) -> F:
    """Turn configuration, validation and domain errors into one clear line and exit code 1."""

    @wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        from pydantic import ValidationError

        from characters.core.config import ConfigError

        try:
            return command(*args, **kwargs)
        except ConfigError as error:
            raise click.ClickException(str(error)) from None
        except DomainError as error:
            raise click.ClickException(error.message) from None
        except ValidationError as error:
            problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in error.errors())
            raise click.ClickException(problems) from None

    return wrapper  # type: ignore[return-value]


@contextmanager
def database_session(settings: "Settings | None" = None) -> Iterator["Session"]:
    """Open a session on the configured database; commit at the end, roll back on error."""
    from characters.core.config import load_settings
    from characters.core.db import make_engine, session_scope

    engine = make_engine((settings or load_settings()).database_url)
    try:
        with session_scope(engine) as session:
            yield session
    finally:
        engine.dispose()


@click.group()
def main() -> None:
    """Greenroom: role-play character accounts, in character, on time, exactly once."""


@main.group()
def db() -> None:
    """Manage the database schema."""


@db.command("upgrade")
@friendly_errors
def db_upgrade() -> None:
    """Create or migrate the database to the latest schema."""
    from characters.core.config import load_settings
    from characters.core.db import make_engine
    from characters.core.migrations import upgrade_database

    settings = load_settings()
    engine = make_engine(settings.database_url)
    upgrade_database(engine)
    engine.dispose()
    click.echo(f"Database is up to date ({engine.url.render_as_string(hide_password=True)}).")


@db.command("revision")
@click.option("-m", "--message", required=True, help="What the migration changes.")
@friendly_errors
def db_revision(message: str) -> None:
    """Autogenerate a migration from the difference between the models and the database."""
    from characters.core.config import load_settings
    from characters.core.migrations import make_revision

    make_revision(load_settings().database_url, message)


@main.group()
def users() -> None:
    """Manage user accounts."""


@users.command("create")
@click.argument("email")
@click.option("--name", "display_name", help="Display name (defaults to the part before @).")
@click.option("--admin", is_flag=True, help="Make the user a site administrator.")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
@friendly_errors
def users_create(email: str, display_name: str | None, admin: bool, password_stdin: bool) -> None:
    """Create a user; asks for the password unless --password-stdin is given."""
    from characters.accounts.users import UserCreate, register_user

    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    user_create = UserCreate(email=email, display_name=display_name or email.split("@")[0], password=password,
                             is_admin=admin)
    with database_session() as session:
        user = register_user(session=session, user_create=user_create)
    click.echo(f"Created {'administrator' if admin else 'user'} {user.email}.")


@main.group()
def workspaces() -> None:
    """Manage workspaces."""


@workspaces.command("create")
@click.argument("slug")
@click.option("--name", required=True, help="The workspace's display name.")
@click.option("--owner", "owner_email", required=True, help="Email of an existing user who will own it.")
@friendly_errors
def workspaces_create(slug: str, name: str, owner_email: str) -> None:
    """Create a workspace owned by an existing user."""
    from characters.accounts.workspaces import WorkspaceCreate, create_workspace

    workspace_create = WorkspaceCreate(slug=slug, name=name)
    with database_session() as session:
        owner = _existing_user(session, owner_email)
        workspace = create_workspace(session=session, workspace_create=workspace_create, owner=owner)
    click.echo(f"Created workspace {workspace.slug} owned by {owner.email}.")


@workspaces.command("set")
@click.argument("slug")
@click.option("--late-grace-minutes", type=int, required=True,
              help="How late (0-1440 minutes) the scheduler may still publish a post; later ones are held.")
@friendly_errors
def workspaces_set(slug: str, late_grace_minutes: int) -> None:
    """Change a workspace's settings."""
    from characters.accounts.workspaces import get_workspace_by_slug, update_workspace_settings

    with database_session() as session:
        workspace = update_workspace_settings(session=session, workspace=get_workspace_by_slug(session, slug),
                                              late_grace_minutes=late_grace_minutes)
        click.echo(f"{workspace.slug}: late-post grace period {workspace.late_grace_minutes} minutes")


@main.group()
def members() -> None:
    """Manage workspace members."""


def _role(context: click.Context, parameter: click.Parameter, value: str) -> "Role":
    """Read --role as a Role (checked here rather than by click.Choice, which would import the tables at start)."""
    from characters.core.models import Role

    try:
        return Role(value)
    except ValueError:
        raise click.BadParameter(f"{value!r} is not one of {', '.join(role.value for role in Role)}.") from None


@members.command("add")
@click.argument("slug")
@click.argument("email")
@click.option("--role", required=True, callback=_role, help="owner, editor, writer or viewer.")
@friendly_errors
def members_add(slug: str, email: str, role: "Role") -> None:
    """Add an existing user to a workspace (or change their role)."""
    from characters.accounts.workspaces import get_workspace_by_slug, set_member_role

    with database_session() as session:
        workspace = get_workspace_by_slug(session, slug)
        user = _existing_user(session, email)
        set_member_role(session=session, workspace=workspace, user=user, role=role)
    click.echo(f"{email} is now {role.value} in {slug}.")


@main.group()
def characters() -> None:
    """Import and export character cards."""


@characters.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--workspace", "workspace_slug", required=True, help="The workspace that gets the character.")
@friendly_errors
def characters_import(file: Path, workspace_slug: str) -> None:
    """Create a character from a card file (JSON, PNG or CHARX) and print its slug."""
    from characters.accounts.workspaces import get_workspace_by_slug
    from characters.bibles.bible import acting_owner, import_card
    from characters.bibles.cards import MAX_CARD_BYTES

    with file.open("rb") as handle:
        raw = handle.read(MAX_CARD_BYTES + 1)  # the importer refuses anything longer, so read no more
    with database_session() as session:
        workspace = get_workspace_by_slug(session, workspace_slug)
        character, warnings = import_card(session=session, member=acting_owner(session, workspace), raw=raw,
                                          filename=file.name)
    for warning in warnings:
        click.echo(f"Warning: {warning}", err=True)
    click.echo(character.slug)


@characters.command("export")
@click.argument("character_slug", metavar="CHARACTER")
@click.option("--workspace", "workspace_slug", required=True, help="The character's workspace.")
@click.option("--format", "file_format", type=click.Choice(["json", "png"]), default="json", show_default=True)
@click.option("--out", "out", required=True, type=click.Path(dir_okay=False, writable=True, path_type=Path),
              help="Where to write the card.")
@friendly_errors
def characters_export(character_slug: str, workspace_slug: str, file_format: Literal["json", "png"],
                      out: Path) -> None:
    """Write a character's current bible as a Character Card V2 (JSON, or PNG on its avatar)."""
    from characters.accounts.workspaces import get_workspace_by_slug
    from characters.bibles.bible import export_character, get_character

    with database_session() as session:
        workspace = get_workspace_by_slug(session, workspace_slug)
        card_file = export_character(session, get_character(session, workspace, character_slug), file_format)
    out.write_bytes(card_file.content)
    click.echo(f"Wrote {out} ({len(card_file.content):,} bytes).")


@main.group()
def channels() -> None:
    """Manage where characters publish, and the key that encrypts channel credentials."""


@channels.command("add")
@click.option("--workspace", "workspace_slug", required=True, help="The character's workspace.")
@click.option("--character", "character_slug", required=True, help="The character that publishes there.")
@click.option("--kind", type=click.Choice(["bluesky", "mastodon", "webhook"]), required=True)
@click.option("--label", default="", help="A name shown in Greenroom (defaults to the handle, instance or host).")
@click.option("--service", "service_url", help="Bluesky: the PDS address (default https://bsky.social).")
@click.option("--handle", help="Bluesky: the account's handle.")
@click.option("--app-password-stdin", is_flag=True, help="Bluesky: read the app password from standard input.")
@click.option("--api-base-url", help="Mastodon: the instance address.")
@click.option("--token-stdin", is_flag=True, help="Mastodon: read the access token from standard input.")
@click.option("--url", help="Webhook: the address that receives the posts.")
@friendly_errors
def channels_add(workspace_slug: str, character_slug: str, kind: str, label: str, service_url: str | None,
                 handle: str | None, app_password_stdin: bool, api_base_url: str | None, token_stdin: bool,
                 url: str | None) -> None:
    """Add a channel; secrets are read from stdin (or asked for) and never echoed."""
    from characters.accounts.workspaces import get_workspace_by_slug
    from characters.bibles.bible import acting_owner, get_character
    from characters.core.config import load_settings
    from characters.publishing.channels import create_channel, parse_channel_create
    from characters.publishing.secrets import secret_box

    fields: dict[str, Any] = {"label": label}
    if kind == "bluesky":
        fields |= {"service_url": service_url, "handle": handle,
                   "app_password": _secret_input("App password", from_stdin=app_password_stdin)}
    elif kind == "mastodon":
        fields |= {"api_base_url": api_base_url,
                   "access_token": _secret_input("Access token", from_stdin=token_stdin)}
    else:
        fields |= {"url": url}
    channel_create = parse_channel_create(kind, fields)
    settings = load_settings()
    with database_session(settings) as session:
        workspace = get_workspace_by_slug(session, workspace_slug)
        character = get_character(session, workspace, character_slug)
        created = create_channel(session=session, member=acting_owner(session, workspace), character=character,
                                 channel_create=channel_create, box=secret_box(settings))
    click.echo(f"Added {kind} channel #{created.channel.id} “{created.channel.label}” for {character.name}.")
    if created.signing_secret is not None:
        click.echo(f"Signing secret (shown only once): {created.signing_secret}")


@channels.command("list")
@click.option("--workspace", "workspace_slug", required=True, help="The workspace.")
@friendly_errors
def channels_list(workspace_slug: str) -> None:
    """List every character's channels (never their secrets)."""
    from characters.accounts.workspaces import get_workspace_by_slug
    from characters.bibles.bible import list_characters
    from characters.publishing.channels import list_channels

    with database_session() as session:
        workspace = get_workspace_by_slug(session, workspace_slug)
        for character in list_characters(session, workspace):
            for channel in list_channels(session, character):
                state = "disabled" if channel.disabled_at else "active"
                click.echo(f"#{channel.id}\t{character.slug}\t{channel.kind}\t{state}\t{channel.label}")


@channels.command("new-key")
def channels_new_key() -> None:
    """Print a new random CHANNEL_SECRETS_KEY."""
    from characters.publishing.secrets import generate_key

    click.echo(generate_key())


@channels.command("rotate-key")
@friendly_errors
def channels_rotate_key() -> None:
    """Re-encrypt every channel secret with CHANNEL_SECRETS_KEY (old keys from CHANNEL_SECRETS_OLD_KEYS)."""
    from characters.core.config import load_settings
    from characters.publishing.channels import rotate_secrets
    from characters.publishing.secrets import secret_box

    settings = load_settings()
    box = secret_box(settings)
    with database_session(settings) as session:
        count = rotate_secrets(session, box)
    click.echo(f"Re-encrypted {count} channel secret(s) with the primary key; "
               "CHANNEL_SECRETS_OLD_KEYS can now be emptied.")


def _secret_input(prompt: str, *, from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    return str(click.prompt(prompt, hide_input=True))


@main.group()
def analytics() -> None:
    """Analytics numbers."""


@analytics.command("rebuild")
@click.option("--workspace", "workspace_slug", default=None, help="Only this workspace (default: every one).")
@friendly_errors
def analytics_rebuild(workspace_slug: str | None) -> None:
    """Build the analytics roll-up afresh from the deliveries' numbers (the pages read deliveries until it is)."""
    from sqlmodel import col, select

    from characters.accounts.workspaces import get_workspace_by_slug
    from characters.analytics.rollup import rebuild
    from characters.core.models import Workspace

    with database_session() as session:
        chosen = ([get_workspace_by_slug(session, workspace_slug)] if workspace_slug
                  else list(session.exec(select(Workspace).order_by(col(Workspace.id)))))
        targets = [(workspace.slug, workspace.id or 0) for workspace in chosen]
        engine = session.get_bind()
    for slug, workspace_id in targets:
        click.echo(f"{slug}: {rebuild(engine, workspace_id):,} roll-up rows")  # type: ignore[arg-type]


@main.group("eval")
def eval_group() -> None:
    """Measure Greenroom's checkers on labelled data."""


@eval_group.command("consistency")
@click.argument("directory", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--canon", type=click.IntRange(min=0), default=None, metavar="N",
              help="Cut each persona's canon to its first N posts (N >= 0), as a newer character would have.")
@friendly_errors
def eval_consistency(directory: Path, canon: int | None) -> None:
    """Score DIR (personas/*.json + posts.jsonl); print a table, then the summary JSON as the last line."""
    from characters.consistency.evaluation import evaluate_directory

    try:
        report = evaluate_directory(directory, canon=canon)
    except (OSError, ValueError, KeyError) as error:
        raise click.ClickException(f"Cannot evaluate {directory}: {error}") from None
    click.echo(report.table())
    click.echo(json.dumps(report.summary()))


@eval_group.command("drafting")
@click.option("--character", "card_files", multiple=True, type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="A character card (JSON) to draft for; repeatable. Default: the demo characters.")
@click.option("--out", type=click.Path(dir_okay=False, writable=True, path_type=Path),
              default=Path("drafting-eval.jsonl"), show_default=True, help="Where the per-variant records go (JSONL).")
@click.option("--limit", type=click.IntRange(min=1), default=None, metavar="N", help="At most N briefs per character.")
@click.option("--variants", type=click.IntRange(1, 5), default=3, show_default=True, help="Variants per brief.")
@click.option("--budget", type=click.IntRange(min=200), default=None, metavar="TOKENS", help="Prompt budget.")
@friendly_errors
def eval_drafting(card_files: tuple[Path, ...], out: Path, limit: int | None, variants: int,
                  budget: int | None) -> None:
    """Draft the shipped briefs with the configured model (LLM_BASE_URL, LLM_MODEL); print a table, then JSON."""
    from characters.core.config import load_settings
    from characters.demo.seed import DEMO_CARDS_DIR
    from characters.drafting.evaluation import eval_cards, run_eval
    from characters.llm.adapter import OpenAIChatModel

    settings = load_settings()
    if not (settings.llm_base_url.strip() and settings.llm_model.strip()):
        raise click.ClickException("Set LLM_BASE_URL and LLM_MODEL to the model to evaluate.")
    try:
        cards = eval_cards(card_files or sorted(DEMO_CARDS_DIR.glob("*.json")))
    except (OSError, ValueError) as error:
        raise click.ClickException(f"Cannot read the character: {error}") from None
    report = run_eval(OpenAIChatModel.from_settings(settings), cards, n=variants, limit=limit, budget=budget, out=out,
                      progress=lambda job: click.echo(f"{job.character}: {job.brief[:50]} {job.wall_ms} ms", err=True))
    click.echo(report.table())
    click.echo(json.dumps(report.summary()))


@main.command("seed-demo")
@friendly_errors
def seed_demo_command() -> None:
    """Create the demo workspace, characters and logins (safe to run again)."""
    from characters.demo.activity import seed_demo_activity
    from characters.demo.seed import seed_demo

    with database_session() as session:
        workspace = seed_demo(session)
        seed_demo_activity(session, workspace.slug)
    click.echo(f"Demo workspace: {workspace.slug}")
    _print_demo_logins()


@main.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=int)
@click.option("--threads", default=8, show_default=True, type=int)
@click.option("--with-scheduler/--without-scheduler", default=True, show_default=True,
              help="Also run the publishing scheduler as a child process.")
@friendly_errors
def serve(host: str, port: int, threads: int, with_scheduler: bool) -> None:
    """Serve the web app (waitress) and, by default, the scheduler beside it."""
    from waitress import serve as waitress_serve

    from characters.core.config import load_settings
    from web import create_app, limit_malloc_arenas, warm_up_and_freeze

    limit_malloc_arenas()
    app = create_app(settings=load_settings())
    # The lexicon takes a second or more to index: do it beside start-up, not inside someone's first live check.
    threading.Thread(target=warm_up_and_freeze, args=(app,), name="warm-up", daemon=True).start()
    with _scheduler_child() if with_scheduler else nullcontext():
        click.echo(f"Greenroom is running at http://{host}:{port}/  (Ctrl+C to stop)")
        # waitress stops serving on the SystemExit our signal handler raises, then the child is stopped.
        waitress_serve(app, host=host, port=port, threads=threads, ident="Greenroom")


@main.command("scheduler")
def scheduler_command() -> None:
    """Run the publishing scheduler in the foreground."""
    # On a signal the context forwards it and waits; the child's own exit code is ours.
    with _scheduler_child() as child, suppress(SystemExit):
        child.wait()
    raise SystemExit(child.returncode)


# The scheduler lets sends in progress finish for 30 s after SIGTERM; beyond this it is SIGKILLed.
SCHEDULER_STOP_SECONDS = 40.0


@contextmanager
def _scheduler_child() -> "Iterator[subprocess.Popen[bytes]]":
    """Run `python -m scheduler` as a child that never outlives this process.

    SIGTERM or SIGINT here becomes SystemExit, so the `finally` below forwards SIGTERM to the child and waits
    for its graceful stop (bounded). If this process is SIGKILLed, no handler runs: the child notices that its
    parent changed (`--parent-pid`) and stops itself.
    """
    child = subprocess.Popen([sys.executable, "-m", "scheduler", "--parent-pid", str(os.getpid())])  # noqa: S603

    def stop(signum: int, frame: object) -> None:
        raise SystemExit(128 + signum)

    previous = {signum: signal.signal(signum, stop) for signum in (signal.SIGTERM, signal.SIGINT)}
    try:
        yield child
    finally:
        # A second Ctrl+C must not abandon the child half-way; the wait is bounded anyway.
        for signum in previous:
            signal.signal(signum, signal.SIG_IGN)
        _stop_child(child)
        for signum, handler in previous.items():
            signal.signal(signum, handler)


def _stop_child(child: "subprocess.Popen[bytes]") -> None:
    """SIGTERM the child and wait for it; SIGKILL it if it overruns SCHEDULER_STOP_SECONDS."""
    if child.poll() is None:
        child.terminate()
    try:
        child.wait(timeout=SCHEDULER_STOP_SECONDS)
    except subprocess.TimeoutExpired:
        child.kill()
        child.wait()


def _existing_user(session: "Session", email: str) -> Any:
    from characters.accounts.users import find_user_by_email

    user = find_user_by_email(session, email)
    if user is None:
        raise DomainError(f"No user with email {email}; create it with `greenroom users create {email}`.")
    return user


def _print_demo_logins() -> None:
    from characters.demo.seed import DEMO_LOGINS, DEMO_PASSWORD

    click.echo("Demo logins (password for all: " + DEMO_PASSWORD + "):")
    for login in DEMO_LOGINS:
        click.echo(f"  {login.role.value:<7} {login.email}")
