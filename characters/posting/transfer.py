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
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal
from zoneinfo import ZoneInfo

from sqlalchemy import Row, insert
from sqlalchemy import select as sa_select
from sqlmodel import Session, col, select

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

    Posts are fetched EXPORT_CHUNK at a time (yield_per) and each chunk's parts and channels in two queries, so
    memory stays flat and the query count grows with the chunks, not the posts.
    """
    characters = {require_id(c): c.slug for c in list_characters(session, workspace, include_archived=True)}
    campaigns = {require_id(c): c.name for c in list_campaigns(session, workspace)}
    channels = {require_id(c): _channel_name(c)
                for c in session.exec(select(Channel).where(Channel.workspace_id == workspace.id))}
    posts = session.execute(sa_select(col(Post.id), col(Post.character_id), col(Post.status), col(Post.version),
                                      col(Post.due_at), col(Post.campaign_id))
                            .where(col(Post.workspace_id) == workspace.id).order_by(col(Post.id))
                            .execution_options(yield_per=EXPORT_CHUNK))
    if fmt == "json":
        yield b'{"posts": ['
    else:
        yield _csv_lines([[*EXPORT_ONLY, *COLUMNS]])
    first = True
    for chunk in posts.partitions():
        records = _records(session, workspace, chunk, characters, campaigns, channels)
        if fmt == "json":
            yield ("" if first else ",").encode() + ",".join(
                "\n" + json.dumps(record, ensure_ascii=False) for record in records).encode()
        else:
            yield _csv_lines([[inert_cell(value) for value in (
                record["id"], record["status"], record["version"], record["due_at"], record["character"],
                PART_SEPARATOR.join(record["parts"]), ", ".join(record["channels"]), record["campaign"], "")]
                for record in records])
        first = first and not records
    if fmt == "json":
        yield b"\n]}\n"


def _records(session: Session, workspace: Workspace, chunk: Sequence[Row[Any]], characters: dict[int, str],
             campaigns: dict[int, str], channels: dict[int, str]) -> list[dict[str, Any]]:
    """Return one chunk of posts as export records, with their parts and channels (two queries).

    The chunk's posts are read by id range (they come in id order), not by a list of 1,000 ids: psycopg parses a
    query that long again on every execution.
    """
    ids = [row.id for row in chunk]
    in_chunk = (col(Post.workspace_id) == workspace.id) & col(Post.id).between(ids[0], ids[-1])
    parts: dict[int, list[str]] = {post_id: [] for post_id in ids}
    for post_id, text in session.execute(select(PostPart.post_id, PostPart.text)
                                         .join(Post, col(Post.id) == col(PostPart.post_id)).where(in_chunk)
                                         .order_by(col(PostPart.post_id), col(PostPart.position))):
        parts[post_id].append(text)
    names: dict[int, list[str]] = {post_id: [] for post_id in ids}
    for post_id, channel_id in session.execute(select(Delivery.post_id, Delivery.channel_id)
                                               .join(Post, col(Post.id) == col(Delivery.post_id)).where(in_chunk)
                                               .order_by(col(Delivery.id))):
        if channel_id in channels:
            names[post_id].append(channels[channel_id])
    return [{"id": row.id, "character": characters.get(row.character_id, ""), "status": row.status,
             "version": row.version, "due_at": row.due_at.isoformat() if row.due_at else "",
             "campaign": campaigns.get(row.campaign_id or 0, ""), "channels": names[row.id], "parts": parts[row.id]}
            for row in chunk]


def _csv_lines(rows: list[list[Any]]) -> bytes:
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows(rows)
    return out.getvalue().encode()


def inert_cell(value: Any) -> Any:
    """Return a CSV cell a spreadsheet shows as text: one starting like a formula gets a leading apostrophe."""
    return f"'{value}" if isinstance(value, str) and value.startswith(FORMULA_STARTS) else value


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
    new_posts = insert(Post).returning(col(Post.id), sort_by_parameter_order=True)
    post_ids = [post_id for post_id in session.scalars(new_posts, [
        {"workspace_id": require_id(member.workspace), "character_id": require_id(row.character),
         "author_id": member.user.id, "status": PostStatus.DRAFT, "version": 1, "check_findings": [],
         "bible_version": row.character.current_version, "campaign_id": row.content.campaign_id,
         "due_at": row.due_at, "created_at": now, "updated_at": now} for row in rows]) if post_id is not None]
    texts = [[part.text for part in row.content.parts] for row in rows]
    session.execute(insert(PostPart), [{"post_id": post_id, "position": position, "text": text}
                                       for post_id, parts in zip(post_ids, texts, strict=True)
                                       for position, text in enumerate(parts)])
    session.execute(insert(Delivery), [{"post_id": post_id, "channel_id": channel_id,
                                        "status": DeliveryStatus.PENDING, "attempts": 0, "remote_refs": []}
                                       for post_id, row in zip(post_ids, rows, strict=True)
                                       for channel_id in row.channel_ids])
    session.execute(insert(PostRevision), [{"post_id": post_id, "version": 1, "parts": parts,
                                            "edited_by_id": member.user.id, "created_at": now}
                                           for post_id, parts in zip(post_ids, texts, strict=True)])
    record_event(session, workspace_id=require_id(member.workspace), actor=member.user, action="import",
                 details={"posts": len(post_ids), "format": fmt})
    return post_ids


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
            channel_ids = _channels(record, character, channels[require_id(character)])
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


def _channels(record: dict[str, Any], character: Character, channels: list[Channel]) -> list[int] | str:
    value = record.get("channels") or []
    names = [n.strip() for n in value.split(",")] if isinstance(value, str) else value
    if not isinstance(names, list):
        return "List channels by kind or label, separated by commas."
    ids: list[int] = []
    for name in (str(n).strip() for n in names if str(n).strip()):
        match = next((c for c in channels if name.casefold() in (c.kind, (c.label or "").casefold())), None)
        if match is None:
            return f"{character.name} has no channel “{name[:60]}”."
        ids.append(require_id(match))
    return ids

