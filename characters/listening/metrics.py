"""Response times: median and 90th percentile of the time to first response, and the share answered, per
character and per ISO week (in the character's time zone), with a CSV export.

A conversation counts in the week Greenroom received it. Time to first response runs from then to its first reply
(`replied_at`). The share answered is answered / (received − dismissed − gone): a conversation the team chose not
to answer, or whose post the author deleted, is not one it failed to answer.
"""

import csv
import io
import math
import statistics
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import NamedTuple

from sqlalchemy import select as sa_select
from sqlmodel import Session, col, select

from characters.core.models import Character, Conversation, ConversationStatus, Workspace, utcnow
from characters.posting.rhythm import zones_by_id

DEFAULT_WEEKS = 12
CSV_COLUMNS = ("character", "week", "week_starts", "received", "answered", "dismissed", "share_answered",
               "median_minutes", "p90_minutes")


@dataclass(frozen=True)
class ResponseStats:
    """One character's figures for one ISO week (`week` None: the whole period)."""

    character_id: int
    character: str
    week: str | None
    week_starts: date | None
    received: int
    answered: int
    dismissed: int
    median_minutes: float | None
    p90_minutes: float | None

    @property
    def share_answered(self) -> float | None:
        """Return answered / answerable (None when nothing was answerable)."""
        answerable = self.received - self.dismissed
        return self.answered / answerable if answerable > 0 else None


def percentile(values: list[float], share: float) -> float:
    """Return the nearest-rank percentile of `values` (share 0.9 → p90): a value that occurred, never an average."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(share * len(ordered)) - 1)]


class _Received(NamedTuple):
    """What the figures read of one conversation (plain rows: the inbox page reads thousands)."""

    character_id: int
    received_at: datetime
    replied_at: datetime | None
    status: str
    gone_at: datetime | None


def _stats(character_id: int, name: str, week: tuple[int, int] | None, rows: list[_Received]) -> ResponseStats:
    minutes = [(row.replied_at - row.received_at).total_seconds() / 60 for row in rows if row.replied_at is not None]
    minutes = [max(0.0, value) for value in minutes]
    dismissed = sum(1 for row in rows if row.replied_at is None and (
        row.status == ConversationStatus.DISMISSED or row.gone_at is not None))
    return ResponseStats(
        character_id=character_id, character=name,
        week=f"{week[0]}-W{week[1]:02d}" if week else None,
        week_starts=date.fromisocalendar(week[0], week[1], 1) if week else None,
        received=len(rows), answered=len(minutes), dismissed=dismissed,
        median_minutes=round(statistics.median(minutes), 1) if minutes else None,
        p90_minutes=round(percentile(minutes, 0.9), 1) if minutes else None)


def response_metrics(session: Session, workspace: Workspace, *, weeks: int = DEFAULT_WEEKS,
                     now: datetime | None = None, per_week: bool = True) -> list[ResponseStats]:
    """Return per character its figures for the whole period, then (`per_week`) per ISO week newest first."""
    now = now or utcnow()
    since = now - timedelta(weeks=weeks)
    found = session.execute(sa_select(col(Conversation.character_id), col(Conversation.received_at),
                                      col(Conversation.replied_at), col(Conversation.status), col(Conversation.gone_at))
                            .where(col(Conversation.workspace_id) == workspace.id,
                                   col(Conversation.received_at) >= since)
                            .order_by(col(Conversation.received_at))).all()
    by_character: dict[int, list[_Received]] = defaultdict(list)
    for row in found:
        by_character[row[0]].append(_Received(*row))
    names = dict(session.exec(select(Character.id, Character.name)
                              .where(col(Character.id).in_(list(by_character)))).all()) if by_character else {}
    zones = zones_by_id(session, by_character) if per_week and by_character else {}
    result: list[ResponseStats] = []
    for character_id in sorted(by_character, key=lambda cid: (names[cid], cid)):
        conversations = by_character[character_id]
        result.append(_stats(character_id, names[character_id], None, conversations))
        if not per_week:
            continue
        by_week: dict[tuple[int, int], list[_Received]] = defaultdict(list)
        for conversation in conversations:
            local = conversation.received_at.astimezone(zones[character_id]).isocalendar()
            by_week[(local.year, local.week)].append(conversation)
        for week in sorted(by_week, reverse=True):
            result.append(_stats(character_id, names[character_id], week, by_week[week]))
    return result


def overall(stats: list[ResponseStats]) -> list[ResponseStats]:
    """Return only the whole-period row of each character."""
    return [row for row in stats if row.week is None]


def metrics_csv(stats: list[ResponseStats]) -> str:
    """Return the per-week rows (and each character's whole period, week "all") as CSV."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for row in stats:
        share = row.share_answered
        writer.writerow([_safe(row.character), row.week or "all",
                         row.week_starts.isoformat() if row.week_starts else "", row.received, row.answered,
                         row.dismissed, f"{share:.3f}" if share is not None else "",
                         "" if row.median_minutes is None else row.median_minutes,
                         "" if row.p90_minutes is None else row.p90_minutes])
    return out.getvalue()


def _safe(cell: str) -> str:
    """Keep a spreadsheet from reading a name as a formula."""
    return "'" + cell if cell[:1] in ("=", "+", "-", "@", "\t", "\r") else cell
