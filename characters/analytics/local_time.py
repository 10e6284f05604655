"""Local time inside SQL: a moment's seconds since the epoch, shifted by its character's zone offset.

A zone's offset only changes at its transitions (DST starts and ends), so over a period each zone is a few pieces
of constant offset. The shift is a CASE over those pieces (and over the characters of each zone), so the database
buckets rows by local day and hour itself, exactly across a DST change and for :30 and :45 offsets alike, and only
the buckets reach Python.
"""

import sqlite3
from collections.abc import Mapping
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import BigInteger, Integer, case, cast, extract, func, literal
from sqlalchemy.sql.elements import ColumnElement

DAY_SECONDS = 86_400
HOUR_SECONDS = 3_600
# 1970-01-01, day 0 of the epoch, was a Thursday: weekday (Monday = 0) of day n is (n + 3) % 7.
EPOCH_WEEKDAY = 3
EPOCH_DATE = date(1970, 1, 1)


def _offset(zone: ZoneInfo, seconds: int) -> int:
    offset = datetime.fromtimestamp(seconds, UTC).astimezone(zone).utcoffset()
    return int(offset.total_seconds()) if offset is not None else 0


def offset_pieces(zone: ZoneInfo, start: datetime, end: datetime) -> list[tuple[datetime | None, int]]:
    """Return the zone's UTC offsets over [start, end) as (until, seconds) pieces; the last piece has no end."""
    first, last = int(start.timestamp()), int(end.timestamp())
    pieces: list[tuple[datetime | None, int]] = []
    current = _offset(zone, first)
    moment = first
    while moment < last:
        step = min(moment + DAY_SECONDS, last)
        if _offset(zone, step) != current:
            low, high = moment, step  # the change is in (low, high]: find its first second
            while high - low > 1:
                middle = (low + high) // 2
                low, high = (middle, high) if _offset(zone, middle) == current else (low, middle)
            pieces.append((datetime.fromtimestamp(high, UTC), current))
            current = _offset(zone, high)
            step = high
        moment = step
    pieces.append((None, current))
    return pieces


def local_to_utc(day: date, at: time, zone: ZoneInfo) -> datetime:
    """Return the instant of local `day` `at` in `zone`: the first in a fold, shifted forward in a gap."""
    # As characters.posting.rhythm does (posting builds on analytics, so it is not imported from there).
    return datetime.combine(day, at).replace(tzinfo=zone, fold=0).astimezone(UTC)


def epoch_seconds(moment: ColumnElement[datetime], dialect: str) -> ColumnElement[int]:
    """Return whole seconds since the epoch of a UTC datetime column, on SQLite or PostgreSQL."""
    if dialect == "postgresql":
        return cast(func.floor(extract("epoch", moment)), BigInteger)
    if sqlite3.sqlite_version_info >= (3, 38):
        return cast(func.unixepoch(moment), Integer)  # a third cheaper per row than strftime('%s')
    return cast(func.strftime("%s", moment), Integer)


def _shift(moment: ColumnElement[datetime], pieces: list[tuple[datetime | None, int]]) -> ColumnElement[int]:
    if len(pieces) == 1:
        return literal(pieces[0][1], Integer)
    whens = [(moment < until, literal(offset, Integer)) for until, offset in pieces if until is not None]
    return case(*whens, else_=literal(pieces[-1][1], Integer))


def local_seconds(moment: Any, character: Any, zones: Mapping[int, ZoneInfo],
                  start: datetime, end: datetime, dialect: str) -> ColumnElement[int]:
    """Return the local wall-clock seconds since the epoch of `moment` in the zone of each row's `character`.

    `zones` maps character ids to zones; a character not in it is taken as UTC. Valid for moments in [start, end).
    """
    groups: dict[str, list[int]] = {}
    for character_id, zone in sorted(zones.items()):
        groups.setdefault(zone.key, []).append(character_id)
    shifts = {key: _shift(moment, offset_pieces(ZoneInfo(key), start, end)) for key in groups}
    seconds = epoch_seconds(moment, dialect)
    if not groups:
        return seconds
    if len(groups) == 1 and set(zones) == set(groups[next(iter(groups))]):
        return seconds + shifts[next(iter(groups))]
    whens = [(character.in_(ids), shifts[key]) for key, ids in groups.items()]
    return seconds + case(*whens, else_=literal(0, Integer))


def day_and_hour(local: ColumnElement[int]) -> tuple[ColumnElement[int], ColumnElement[int]]:
    """Return the local day number (days since 1970-01-01) and the local hour (0-23) of local epoch seconds."""
    return local // DAY_SECONDS, (local % DAY_SECONDS) // HOUR_SECONDS


def day_of(number: int) -> date:
    """Return the calendar date of a local day number."""
    return EPOCH_DATE + timedelta(days=number)


def weekday_of(number: int) -> int:
    """Return the weekday (Monday = 0) of a local day number."""
    return (number + EPOCH_WEEKDAY) % 7
