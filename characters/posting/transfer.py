"""Import and export of posts as CSV or JSON: everything is validated first, and imported all or nothing.

CSV columns: `character` (slug or name), `text` (thread parts separated by a line holding only `---`),
`channels` (channel kinds or labels, separated by commas; empty = the character's feed), `campaign`
(a campaign's name; may be empty), `due` (the planned time: "2026-12-18 09:00" in the character's zone, or ISO 8601
with an offset; may be empty; must be ahead). Export adds `id`, `status`, `version` and `due_at` (UTC, ISO 8601);
import ignores those, so an exported file imports again as new drafts.
JSON: {"posts": [{"character", "parts": [...], "channels": [...], "campaign"}]} (or the bare list).
"""

import csv
import io
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import Enum
from typing import Any, Literal
from zoneinfo import ZoneInfo

from pydantic_core import PydanticUndefined
from sqlalchemy import JSON, bindparam, insert, text
from sqlalchemy import select as sa_select
from sqlalchemy.engine import Connection
from sqlmodel import Session, SQLModel, col, select

from characters.accounts.workspaces import Action, Member
from characters.audit.log import record_event
from characters.bibles.bible import list_characters
from characters.core.errors import DomainError
from characters.core.models import (
    Campaign,
    Channel,
    ChannelKind,
    Character,
    Delivery,
    DeliveryStatus,
    Post,
    PostPart,
    PostRevision,
    PostStatus,
    Workspace,
    require_id,
    utcnow,
)
from characters.posting.campaigns import list_campaigns
from characters.posting.posts import MAX_POST_CHARS, MAX_THREAD_PARTS, PostContent
from characters.posting.rhythm import local_to_utc, zones_of
from characters.publishing.channels import ensure_feed_channel

Format = Literal["csv", "json"]
MAX_IMPORT_BYTES = 8 * 1024 * 1024
MAX_IMPORT_ROWS = 10_000
EXPORT_CHUNK = 1000
PART_SEPARATOR = "\n---\n"
COLUMNS = ("character", "text", "channels", "campaign", "due")
EXPORT_ONLY = ("id", "status", "version", "due_at")
# A spreadsheet runs a cell starting with one of these as a formula (CSV injection, OWASP).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
_FORMULA_CHARS = frozenset(FORMULA_STARTS)


@dataclass(frozen=True)
class RowError:
    """One problem in an import file: where (row number as a person counts it, column) and what."""

    row: int
    column: str
    message: str


class ImportRejected(DomainError):
    """The file has problems; nothing was imported. `errors` lists every one."""

    def __init__(self, errors: list[RowError]) -> None:
        super().__init__(f"Nothing was imported: {len(errors)} problem{'s' if len(errors) != 1 else ''} found.",
                         field="file")
        self.errors = errors


@dataclass(frozen=True)
class _Row:
    number: int
    character: Character
    content: PostContent
    channel_ids: list[int]
    due_at: datetime | None = None


def export_posts(session: Session, workspace: Workspace, fmt: Format) -> Iterator[bytes]:
    """Write every post of the workspace (oldest first) as CSV or JSON, a chunk of posts at a time.

    Posts are fetched EXPORT_CHUNK at a time from a server-side cursor (yield_per) and each chunk's parts and
    channels in two queries, so memory stays flat and the query count grows with the chunks, not the posts. Rows
    are read with Core, not the ORM, and CSV lines written straight from them: at 100,000 posts building ORM rows,
    a dict per post and a call per cell cost more than the queries.
    """
    characters = {require_id(c): c.slug for c in list_characters(session, workspace, include_archived=True)}
    campaigns = {require_id(c): c.name for c in list_campaigns(session, workspace)}
    channels = {require_id(c): _channel_name(c)
                for c in session.exec(select(Channel).where(Channel.workspace_id == workspace.id))}
    connection = session.connection()
    posts = connection.execute(sa_select(col(Post.id), col(Post.character_id), col(Post.status), col(Post.version),
                                         col(Post.due_at), col(Post.campaign_id))
                               .where(col(Post.workspace_id) == workspace.id).order_by(col(Post.id))
                               .execution_options(yield_per=EXPORT_CHUNK))
    if fmt == "json":
        yield b'{"posts": ['
    else:
        yield _csv_lines([[*EXPORT_ONLY, *COLUMNS]])
    first = True
    for chunk in posts.partitions():
        rows: list[Any] = list(chunk)
        parts, names = _parts_and_channels(connection, workspace, rows, channels)
        if fmt == "json":
            yield ("" if first else ",").encode() + ",".join(
                "\n" + json.dumps({"id": post_id, "character": characters.get(character_id, ""), "status": status,
                                   "version": version, "due_at": due_at.isoformat() if due_at else "",
                                   "campaign": campaigns.get(campaign_id or 0, ""), "channels": names[post_id],
                                   "parts": parts[post_id]}, ensure_ascii=False)
                for post_id, character_id, status, version, due_at, campaign_id in rows).encode()
        else:
            yield _csv_lines([[post_id, status, version, due_at.isoformat() if due_at else "",
                               _inert(characters.get(character_id, "")), _inert(PART_SEPARATOR.join(parts[post_id])),
                               _inert(", ".join(names[post_id])), _inert(campaigns.get(campaign_id or 0, "")), ""]
                              for post_id, character_id, status, version, due_at, campaign_id in rows])
        first = first and not rows
    if fmt == "json":
        yield b"\n]}\n"


_CHUNK_RANGE = (col(Post.workspace_id) == bindparam("workspace_id")) & col(Post.id).between(
    bindparam("low"), bindparam("high"))
# The range is put on the parts' and deliveries' own post_id too: given it on the posts only, PostgreSQL
# hash-joined every part and delivery of the database for each chunk (90 ms a chunk at 100,000 posts).
_CHUNK_PARTS = (sa_select(col(PostPart.post_id), col(PostPart.text))
                .join(Post, col(Post.id) == col(PostPart.post_id))
                .where(_CHUNK_RANGE, col(PostPart.post_id).between(bindparam("low"), bindparam("high")))
                .order_by(col(PostPart.post_id), col(PostPart.position)))
_CHUNK_CHANNELS = (sa_select(col(Delivery.post_id), col(Delivery.channel_id))
                   .join(Post, col(Post.id) == col(Delivery.post_id))
                   .where(_CHUNK_RANGE, col(Delivery.post_id).between(bindparam("low"), bindparam("high")))
                   .order_by(col(Delivery.id)))


def _parts_and_channels(connection: Connection, workspace: Workspace, chunk: list[Any],
                        channels: dict[int, str]) -> tuple[dict[int, list[str]], dict[int, list[str]]]:
    """Return one chunk's part texts and channel names by post id (two queries).

    The chunk's posts are read by id range (they come in id order), not by a list of 1,000 ids: psycopg parses a
    query that long again on every execution.
    """
    ids = [row[0] for row in chunk]
    params = {"workspace_id": workspace.id, "low": ids[0], "high": ids[-1]}
    parts: dict[int, list[str]] = {post_id: [] for post_id in ids}
    for post_id, part in connection.execute(_CHUNK_PARTS, params).all():
        parts[post_id].append(part)
    names: dict[int, list[str]] = {post_id: [] for post_id in ids}
    for post_id, channel_id in connection.execute(_CHUNK_CHANNELS, params).all():
        if channel_id in channels:
            names[post_id].append(channels[channel_id])
    return parts, names


def _csv_lines(rows: list[list[Any]]) -> bytes:
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows(rows)
    return out.getvalue().encode()


def inert_cell(value: Any) -> Any:
    """Return a CSV cell a spreadsheet shows as text: one starting like a formula gets a leading apostrophe."""
    return f"'{value}" if isinstance(value, str) and value.startswith(FORMULA_STARTS) else value


def _inert(text: str) -> str:
    """inert_cell for a text cell, in the export's inner loop (900,000 calls at 100,000 posts)."""
    return f"'{text}" if text[:1] in _FORMULA_CHARS else text


def _live_cell(value: Any) -> Any:
    """Undo inert_cell, so a post that starts with "@name" or "-" imports again as it was exported."""
    if isinstance(value, str) and value.startswith("'") and value[1:].startswith(FORMULA_STARTS):
        return value[1:]
    return value


def _channel_name(channel: Channel) -> str:
    return channel.label or channel.kind


def import_posts(*, session: Session, member: Member, raw: bytes, fmt: Format) -> list[int]:
    """Validate every row, then create them all as drafts; raise ImportRejected (nothing saved) on any problem.

    Returns the new posts' ids, in file order. The rows are written in bulk (a statement per table, whatever
    the number of rows), as create_draft would write them one by one: post, parts, deliveries, first revision.
    """
    member.require(Action.DRAFT)
    records, errors = _read(raw, fmt)
    rows: list[_Row] = []
    if not errors:
        rows, errors = _validate(session, member.workspace, records)
    if errors:
        raise ImportRejected(errors)
    now = utcnow()
    connection = session.connection()
    texts = [[part.text for part in row.content.parts] for row in rows]
    post_ids = _insert_posts(connection, [
        {"workspace_id": require_id(member.workspace), "character_id": require_id(row.character),
         "author_id": member.user.id, "status": PostStatus.DRAFT.value, "version": 1, "check_findings": [],
         "bible_version": row.character.current_version, "campaign_id": row.content.campaign_id,
         "due_at": row.due_at, "created_at": now, "updated_at": now} for row in rows])
    _insert_all(connection, PostPart, [{"post_id": post_id, "position": position, "text": part}
                                       for post_id, parts in zip(post_ids, texts, strict=True)
                                       for position, part in enumerate(parts)])
    _insert_all(connection, Delivery, [{"post_id": post_id, "channel_id": channel_id,
                                        "status": DeliveryStatus.PENDING.value, "attempts": 0, "remote_refs": []}
                                       for post_id, row in zip(post_ids, rows, strict=True)
                                       for channel_id in row.channel_ids])
    _insert_all(connection, PostRevision, [{"post_id": post_id, "version": 1, "parts": parts,
                                            "edited_by_id": member.user.id, "created_at": now}
                                           for post_id, parts in zip(post_ids, texts, strict=True)])
    record_event(session, workspace_id=require_id(member.workspace), actor=member.user, action="import",
                 details={"posts": len(post_ids), "format": fmt})
    return post_ids


def _insert_posts(connection: Connection, rows: list[dict[str, Any]]) -> list[int]:
    """Insert posts and return their ids in the rows' order.

    PostgreSQL: the ids are taken from the sequence first (one query), then every row goes in one statement.
    SQLite: one multi-row INSERT ... RETURNING per 1,000 rows, which SQLite runs fast in-process.
    """
    if connection.dialect.name != "postgresql":
        returning = insert(Post).returning(col(Post.id), sort_by_parameter_order=True)
        return [post_id for post_id in connection.execute(returning, rows).scalars() if post_id is not None]
    ids = sorted(connection.execute(text("SELECT nextval(pg_get_serial_sequence('post', 'id')) "
                                         "FROM generate_series(1, :count)"), {"count": len(rows)}).scalars())
    _insert_all(connection, Post, [{**row, "id": post_id} for row, post_id in zip(rows, ids, strict=True)])
    return ids


def _insert_all(connection: Connection, model: type[SQLModel], rows: list[dict[str, Any]]) -> None:
    """Insert rows (all with the same keys) in bulk, each model default filled in for the keys not given.

    PostgreSQL gets one `INSERT ... SELECT * FROM unnest(one array per column)`: a handful of parameters, where
    a multi-row VALUES had 10,000s that psycopg parses in Python on every execution (most of an import's time),
    and executemany sends a statement per row.
    """
    if not rows:
        return
    table = SQLModel.metadata.tables[str(model.__tablename__)]
    if connection.dialect.name != "postgresql":
        connection.execute(insert(table), rows)
        return
    values = {**_column_defaults(model), **rows[0]}
    names = [name for name in values if name in table.c]
    params: dict[str, Any] = {}
    arrays: list[str] = []  # unnest's arguments
    selected: list[str] = []  # per column: its array's element, or one value when every row has the same
    for number, name in enumerate(names):
        column = [row.get(name, values[name]) for row in rows]
        if isinstance(table.c[name].type, JSON):
            column = [json.dumps(value) for value in column]  # text, cast to json by the statement
        column = [value.value if isinstance(value, Enum) else value for value in column]
        sql_type = table.c[name].type.compile(connection.dialect)
        if number and all(value == column[0] for value in column):  # one array at least: it counts the rows
            params[f"c{number}"] = column[0]
            selected.append(f"CAST(:c{number} AS {sql_type})")
        else:
            params[f"c{number}"] = column
            arrays.append(f"CAST(:c{number} AS {sql_type}[])")
            selected.append(f"u.c{len(arrays)}")
    quoted = ", ".join(connection.dialect.identifier_preparer.quote(name) for name in names)
    table_name = connection.dialect.identifier_preparer.quote(table.name)
    columns = ", ".join(f"c{number}" for number in range(1, len(arrays) + 1))
    # Only this module's own table and column names are written into the statement; every value is a parameter.
    connection.execute(text(f"INSERT INTO {table_name} ({quoted}) SELECT {', '.join(selected)} "  # noqa: S608
                            f"FROM unnest({', '.join(arrays)}) AS u({columns})"), params)


def _column_defaults(model: type[SQLModel]) -> dict[str, Any]:
    """Return a model's Python-side defaults (a statement written by hand does not apply them)."""
    values: dict[str, Any] = {}
    for name, info in model.model_fields.items():
        if name == "id":
            continue
        if info.default_factory is not None:
            values[name] = info.default_factory()  # type: ignore[call-arg]
        elif info.default is not PydanticUndefined:
            values[name] = info.default
    return values


def _read(raw: bytes, fmt: Format) -> tuple[list[tuple[int, dict[str, Any]]], list[RowError]]:
    """Parse the file into (row number, record) pairs, or file-level errors."""
    if not raw.strip():
        return [], [RowError(0, "file", "The file is empty.")]
    if len(raw) > MAX_IMPORT_BYTES:
        return [], [RowError(0, "file", f"The file is larger than {MAX_IMPORT_BYTES // 1024 // 1024} MB.")]
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        return [], [RowError(0, "file", "The file is not UTF-8 text.")]
    records = _read_json(text) if fmt == "json" else _read_csv(text)
    if isinstance(records, RowError):
        return [], [records]
    if not records:
        return [], [RowError(0, "file", "The file has no posts.")]
    if len(records) > MAX_IMPORT_ROWS:
        return [], [RowError(0, "file", f"At most {MAX_IMPORT_ROWS} posts per import; split the file.")]
    return records, []


def _read_csv(text: str) -> list[tuple[int, dict[str, Any]]] | RowError:
    try:
        reader = csv.DictReader(io.StringIO(text, newline=""))
        header = reader.fieldnames or []
        unknown = [name for name in header if name not in (*COLUMNS, *EXPORT_ONLY)]
        if unknown:
            return RowError(1, unknown[0], f"Unknown column “{unknown[0][:40]}”; use {', '.join(COLUMNS)}.")
        if "character" not in header or "text" not in header:
            return RowError(1, "header", "The first row must name the columns: character, text (channels, "
                                         "campaign optional).")
        return [(reader.line_num, {key: _live_cell(value) for key, value in record.items()}) for record in reader]
    except csv.Error as error:
        return RowError(0, "file", f"This is not readable CSV ({error}).")


def _read_json(text: str) -> list[tuple[int, dict[str, Any]]] | RowError:
    try:
        data = json.loads(text)
    except (json.JSONDecodeError, RecursionError) as error:
        return RowError(0, "file", f"This is not valid JSON ({str(error)[:100]}).")
    if isinstance(data, dict):
        data = data.get("posts")
    if not isinstance(data, list):
        return RowError(0, "file", 'Expected {"posts": [...]} or a list of posts.')
    return [(number, item if isinstance(item, dict) else {"__invalid__": True})
            for number, item in enumerate(data, start=1)]


def _validate(session: Session, workspace: Workspace, records: list[tuple[int, dict[str, Any]]]
              ) -> tuple[list[_Row], list[RowError]]:
    characters = list_characters(session, workspace)
    by_key = {key.casefold(): c for c in characters for key in (c.slug, c.name)}
    campaigns = {c.name.casefold(): c for c in list_campaigns(session, workspace)}
    channels = _channels_by_character(session, workspace, characters)
    by_name = {character_id: _channel_names(found) for character_id, found in channels.items()}
    zones = zones_of(session, characters)
    now = utcnow()
    rows: list[_Row] = []
    errors: list[RowError] = []
    for number, record in records:
        problems: list[RowError] = []
        if record.get("__invalid__"):
            errors.append(RowError(number, "post", "Each post must be an object."))
            continue
        character = by_key.get(str(record.get("character") or "").strip().casefold())
        if character is None:
            problems.append(RowError(number, "character", f"No character “{str(record.get('character'))[:60]}” "
                                                          "in this workspace (use its slug or name)."))
        parts = _parts(record)
        if isinstance(parts, str):
            problems.append(RowError(number, "text", parts))
        campaign = _campaign(record, campaigns)
        if isinstance(campaign, str):
            problems.append(RowError(number, "campaign", campaign))
        channel_ids: list[int] | str = []
        due: datetime | str | None = None
        if character is not None:
            channel_ids = _channels(record, character, by_name[require_id(character)])
            if isinstance(channel_ids, str):
                problems.append(RowError(number, "channels", channel_ids))
            due = _due(record, zones[require_id(character)], now)
            if isinstance(due, str):
                problems.append(RowError(number, "due", due))
        if problems or character is None or isinstance(parts, str) or isinstance(channel_ids, str) \
                or isinstance(campaign, str) or isinstance(due, str):
            errors += problems
            continue
        content = PostContent.of_texts(parts, campaign_id=campaign.id if campaign else None)
        # No channel named: the character's own feed, as for a draft written by hand.
        rows.append(_Row(number, character, content, channel_ids or [require_id(channels[require_id(character)][0])],
                         due))
    return rows, errors


def _channels_by_character(session: Session, workspace: Workspace, characters: list[Character]
                           ) -> dict[int, list[Channel]]:
    """Return each character's enabled channels, feed first, in one query (creating a missing feed channel)."""
    channels: dict[int, list[Channel]] = {require_id(c): [] for c in characters}
    for channel in session.exec(select(Channel).where(Channel.workspace_id == workspace.id,
                                                      col(Channel.disabled_at).is_(None))
                                .order_by(col(Channel.id))):
        if channel.character_id in channels:
            channels[channel.character_id].append(channel)
    for character in characters:
        found = channels[require_id(character)]
        if not any(channel.kind == ChannelKind.FEED for channel in found):
            # "feed" must resolve before the first post creates it; a disabled feed stays what it is
            found.append(ensure_feed_channel(session, character))
        found.sort(key=lambda channel: channel.kind != ChannelKind.FEED)
    return channels


def _due(record: dict[str, Any], zone: ZoneInfo, now: datetime) -> datetime | str | None:
    """Read the planned time (None when empty): local in the character's zone unless it has an offset."""
    value = str(record.get("due") or "").strip()
    if not value:
        return None
    try:
        moment = datetime.fromisoformat(value[:40])
    except ValueError:
        return f"“{value[:40]}” is not a date and time; write e.g. 2026-12-18 09:00."
    due = moment.astimezone(UTC) if moment.tzinfo else local_to_utc(moment.date(), moment.time(), zone)
    return due if due > now else "The planned time has passed; give a time ahead."


def _parts(record: dict[str, Any]) -> list[str] | str:
    value = record.get("parts", record.get("text"))
    if isinstance(value, str):
        parts = [part.strip("\n") for part in value.replace("\r\n", "\n").split(PART_SEPARATOR)]
    elif isinstance(value, list) and all(isinstance(part, str) for part in value):
        parts = list(value)
    else:
        return "The text is missing."
    if not parts or not any(part.strip() for part in parts):
        return "The text is empty."
    if any(not part.strip() for part in parts):
        return "A thread part is empty (two --- separators in a row?)."
    if len(parts) > MAX_THREAD_PARTS:
        return f"At most {MAX_THREAD_PARTS} thread parts."
    too_long = next((n for n, part in enumerate(parts, start=1) if len(part) > MAX_POST_CHARS), None)
    if too_long:
        return f"Part {too_long} is longer than {MAX_POST_CHARS:,} characters."
    return parts


def _campaign(record: dict[str, Any], campaigns: dict[str, Campaign]) -> Campaign | None | str:
    name = str(record.get("campaign") or "").strip()
    if not name:
        return None
    return campaigns.get(name.casefold()) or f"No campaign named “{name[:60]}”."


def _channel_names(channels: list[Channel]) -> dict[str, int]:
    """Return a character's channel ids by kind and by case-folded label; the first channel listed wins."""
    found: dict[str, int] = {}
    for channel in reversed(channels):
        found[str(channel.kind)] = require_id(channel)
        if channel.label:
            found[channel.label.casefold()] = require_id(channel)
    return found


def _channels(record: dict[str, Any], character: Character, channels: dict[str, int]) -> list[int] | str:
    value = record.get("channels") or []
    names = [n.strip() for n in value.split(",")] if isinstance(value, str) else value
    if not isinstance(names, list):
        return "List channels by kind or label, separated by commas."
    ids: list[int] = []
    for name in (str(n).strip() for n in names if str(n).strip()):
        match = channels.get(name.casefold())
        if match is None:
            return f"{character.name} has no channel “{name[:60]}”."
        ids.append(match)
    return ids

