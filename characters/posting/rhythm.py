"""The posting rhythm: local-time slots in the character's IANA zone, the next free slot, the queue and its gaps.

Slots are stored as local time + zone name (never UTC minutes) and turned into instants per day with
zoneinfo: in a spring-forward gap the time is shifted forward by the gap's length (02:30 → 03:30), in a
fall-back fold only the first occurrence counts, and equal instants are merged, so a slot never fires
twice and no day's slot is skipped.
"""

import functools
import re
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import ColumnElement, func
from sqlalchemy import select as sa_select
from sqlmodel import Session, col, select

from characters.analytics.hours import best_hours_of
from characters.bibles.bible import list_characters
from characters.bibles.card_data import GREENROOM_EXTENSION_KEY, GreenroomExtension
from characters.bibles.editing import parse_days
from characters.core.errors import DomainError
from characters.core.models import Character, CharacterVersion, Post, PostStatus, Workspace, require_id

_TIME = re.compile(r"^([01]?\d|2[0-3]):([0-5]\d)$")
QUEUED = frozenset({PostStatus.APPROVED, PostStatus.PUBLISHING, PostStatus.PUBLISHED, PostStatus.UNCONFIRMED})
SEARCH_DAYS = 62


@dataclass(frozen=True)
class Slot:
    """One rhythm slot: the weekdays (0 = Monday) and the local time."""

    weekdays: frozenset[int]
    at: time


@dataclass(frozen=True)
class Rhythm:
    """A character's slots and the zone they are in."""

    slots: tuple[Slot, ...]
    zone: ZoneInfo

    @property
    def empty(self) -> bool:
        """Return True when the character has no usable slot."""
        return not self.slots


def zone_named(name: str | None) -> ZoneInfo:
    """Return the IANA zone `name`, or UTC when it is empty or unknown."""
    try:
        return ZoneInfo(name) if name else ZoneInfo("UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def is_zone(name: str) -> bool:
    """Return whether `name` is a known IANA zone."""
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return False
    return True


def parse_time(text: str) -> time | None:
    """Parse "HH:MM" (24-hour); None when malformed."""
    match = _TIME.match(text.strip())
    return time(int(match.group(1)), int(match.group(2))) if match else None


def rhythm_of(greenroom: GreenroomExtension) -> Rhythm:
    """Return the card's rhythm, dropping slots whose days or time cannot be read."""
    slots = []
    for slot in greenroom.rhythm.slots:
        days, at = parse_days(slot.days), parse_time(slot.time)
        if days and at is not None:
            slots.append(Slot(days, at))
    return Rhythm(tuple(slots), zone_named(greenroom.timezone))


def local_to_utc(day: date, at: time, zone: ZoneInfo) -> datetime:
    """Return the instant of local `day` `at` in `zone`: first occurrence in a fold, shifted forward in a gap."""
    # fold=0 picks the earlier offset: in a fold that is the first occurrence; in a gap it is the offset from
    # before the jump, which lands the instant after the gap by exactly the gap's length.
    return datetime.combine(day, at).replace(tzinfo=zone, fold=0).astimezone(UTC)


def slot_instants(rhythm: Rhythm, start: datetime, end: datetime) -> list[datetime]:
    """Return every slot instant in [start, end), sorted, without duplicates."""
    first = start.astimezone(rhythm.zone).date() - timedelta(days=1)
    last = end.astimezone(rhythm.zone).date() + timedelta(days=1)
    instants: set[datetime] = set()
    day = first
    while day <= last:
        for slot in rhythm.slots:
            if day.weekday() in slot.weekdays:
                instant = local_to_utc(day, slot.at, rhythm.zone)
                if start <= instant < end:
                    instants.add(instant)
        day += timedelta(days=1)
    return sorted(instants)


def taken_instants(session: Session, character: Character, start: datetime, end: datetime,
                   exclude_post_id: int | None = None) -> set[datetime]:
    """Return the due times (to the minute) already used by the character's queued posts."""
    return _taken(session, [require_id(character)], start, end, exclude_post_id).get(require_id(character), set())


def _taken(session: Session, character_ids: Collection[int], start: datetime, end: datetime,
           exclude_post_id: int | None = None) -> dict[int, set[datetime]]:
    """Return, per character, the due times (to the minute) its queued posts use in [start, end): one query."""
    if not character_ids:
        return {}
    rows = session.exec(select(Post.character_id, Post.id, Post.due_at).where(
        col(Post.character_id).in_(list(character_ids)), col(Post.status).in_([s.value for s in QUEUED]),
        col(Post.due_at) >= start - timedelta(minutes=1), col(Post.due_at) < end + timedelta(minutes=1))).all()
    taken: dict[int, set[datetime]] = {}
    for character_id, post_id, due in rows:
        if due is not None and post_id != exclude_post_id:
            taken.setdefault(character_id, set()).add(_minute(due))
    return taken


def _minute(moment: datetime) -> datetime:
    return moment.astimezone(UTC).replace(second=0, microsecond=0)


# Rhythms of bible versions already read, by (version id, its creation time): a version row never changes, and the
# time tells a reused id (SQLite may hand out a deleted row's id again) from the version it once was.
_RHYTHMS: dict[tuple[int, datetime], Rhythm] = {}
_RHYTHMS_KEPT = 10_000


def rhythms_of(session: Session, characters: Iterable[Character]) -> dict[int, Rhythm]:
    """Return each character's rhythm from its current bible, reading only its zone and slots.

    One small query finds the current versions; their zones and slots are read (a second query) only for versions
    this process has not read before.
    """
    return rhythms_by_id(session, [require_id(character) for character in characters])


def rhythms_by_id(session: Session, ids: list[int]) -> dict[int, Rhythm]:
    """Return the rhythm of each character id, as `rhythms_of` does (for pages that read characters as rows)."""
    if not ids:
        return {}
    current = session.exec(
        select(CharacterVersion.character_id, CharacterVersion.id, CharacterVersion.created_at)
        .join(Character, (col(Character.id) == col(CharacterVersion.character_id))
              & (col(Character.current_version) == col(CharacterVersion.number)))
        .where(col(CharacterVersion.character_id).in_(ids))).all()
    keys = {character_id: (version_id or 0, created_at) for character_id, version_id, created_at in current}
    missing = [version_id for version_id, created_at in keys.values() if (version_id, created_at) not in _RHYTHMS]
    if missing:
        if len(_RHYTHMS) > _RHYTHMS_KEPT:
            _RHYTHMS.clear()
        card = CharacterVersion.__table__.c.card  # type: ignore[attr-defined]
        for version_id, created_at, zone, slots in session.exec(
                select(CharacterVersion.id, CharacterVersion.created_at,
                       card[("extensions", GREENROOM_EXTENSION_KEY, "timezone")],
                       card[("extensions", GREENROOM_EXTENSION_KEY, "rhythm")])
                .where(col(CharacterVersion.id).in_(missing))).all():
            fields = {key: value for key, value in (("timezone", zone), ("rhythm", slots)) if value is not None}
            _RHYTHMS[(version_id or 0, created_at)] = rhythm_of(GreenroomExtension.model_validate(fields))
    return {character_id: _RHYTHMS[key] for character_id, key in keys.items()}


def zones_of(session: Session, characters: Iterable[Character]) -> dict[int, ZoneInfo]:
    """Return each character's IANA zone from its current bible, in one query."""
    return {character_id: rhythm.zone for character_id, rhythm in rhythms_of(session, characters).items()}


def zones_by_id(session: Session, ids: Iterable[int]) -> dict[int, ZoneInfo]:
    """Return the IANA zone of each character id from its current bible, in one query."""
    return {character_id: rhythm.zone for character_id, rhythm in rhythms_by_id(session, list(ids)).items()}


def next_free_slot(session: Session, character: Character, after: datetime,
                   exclude_post_id: int | None = None) -> datetime | None:
    """Return the first rhythm slot after `after` that no queued post of the character uses (None: no rhythm)."""
    return next_free_slots(session, [character], after, exclude_post_id).get(require_id(character))


def next_free_slots(session: Session, characters: Iterable[Character], after: datetime,
                    exclude_post_id: int | None = None) -> dict[int, datetime | None]:
    """Return each character's first free rhythm slot after `after` (None: no rhythm, or none in 62 days).

    The search goes a week at a time, one query per week for every character still looking, so a page that
    suggests slots for many characters runs a few queries, not one per character.
    """
    characters = list(characters)
    rhythms = rhythms_of(session, characters)
    found: dict[int, datetime | None] = dict.fromkeys(rhythms)
    looking = {character_id: rhythm for character_id, rhythm in rhythms.items() if not rhythm.empty}
    preferred = _preferred_hours(session, characters, looking, after)
    start, last = after + timedelta(seconds=1), after + timedelta(days=SEARCH_DAYS)
    while looking and start < last:
        end = min(start + timedelta(days=7), last)
        taken = _taken(session, list(looking), start, end, exclude_post_id)
        for character_id, rhythm in list(looking.items()):
            used = taken.get(character_id, set())
            free_slots = [at for at in slot_instants(rhythm, start, end) if _minute(at) not in used]
            # Within the week searched, a free slot in one of the character's best hours comes first.
            hours = preferred.get(character_id, frozenset())
            free = next((at for at in free_slots if at.astimezone(rhythm.zone).hour in hours),
                        free_slots[0] if free_slots else None)
            if free is not None:
                found[character_id] = free
                del looking[character_id]
        start = end
    return found


def _preferred_hours(session: Session, characters: list[Character], rhythms: dict[int, Rhythm],
                     now: datetime) -> dict[int, frozenset[int]]:
    """Return each character's best local hours when its workspace prefers them (else nothing: no query)."""
    workspace = session.get(Workspace, characters[0].workspace_id) if characters and rhythms else None
    if workspace is None or not workspace.prefer_best_hours:
        return {}
    best = best_hours_of(session, {character_id: rhythm.zone for character_id, rhythm in rhythms.items()}, now)
    return {character_id: frozenset(hours.hours) for character_id, hours in best.items() if hours.enough}


def _queued(workspace: Workspace, character: Character | None, now: datetime) -> list[ColumnElement[bool]]:
    conditions = [col(Post.workspace_id) == workspace.id,
                  col(Post.status).in_([PostStatus.APPROVED.value, PostStatus.PUBLISHING.value]),
                  col(Post.due_at) >= now - timedelta(hours=1)]
    if character is not None:
        conditions.append(col(Post.character_id) == character.id)
    return conditions


def queued_posts(session: Session, workspace: Workspace, *, character: Character | None = None,
                 now: datetime, offset: int = 0, limit: int = 300) -> list[tuple[Post, Character]]:
    """Return approved and publishing posts due from `now` on, soonest first."""
    query = (select(Post, Character).join(Character, col(Character.id) == col(Post.character_id))
             .where(*_queued(workspace, character, now)))
    rows = session.exec(query.order_by(col(Post.due_at), col(Post.id)).offset(offset).limit(limit)).all()
    return [(post, owner) for post, owner in rows]


def queued_count(session: Session, workspace: Workspace, *, character: Character | None = None,
                 now: datetime) -> int:
    """Return how many posts `queued_posts` would list without a limit."""
    return int(session.exec(select(func.count()).select_from(Post)
                            .where(*_queued(workspace, character, now))).one())


@dataclass(frozen=True)
class Gap:
    """A run of rhythm days with nothing queued for one character."""

    character: Character
    first: date
    last: date
    rhythm: Rhythm
    start: datetime  # when the search for gaps began (the first day's slots before it do not count)

    @property
    def slot(self) -> datetime | None:
        """Return the first rhythm slot of the run, to plan a post into (worked out only for the gaps shown)."""
        return _first_slot(self.rhythm, self.first, self.start)

    def describe(self) -> str:
        """Return e.g. "Nothing queued for Pip on Thu 3 – Sat 5 Dec"."""
        return f"Nothing queued for {self.character.name} on {describe_days(self.first, self.last)}"


def describe_days(first: date, last: date) -> str:
    """Return "Thu 3 Dec" or "Thu 3 – Sat 5 Dec" (or across months, "Mon 30 Nov – Tue 1 Dec")."""
    end = f"{last:%a} {last.day} {last:%b}"
    if first == last:
        return end
    start = f"{first:%a} {first.day}" + ("" if (first.month, first.year) == (last.month, last.year)
                                        else f" {first:%b}")
    return f"{start} – {end}"


def find_gaps(session: Session, workspace: Workspace, start: datetime, days: int,
              characters: list[Character] | None = None) -> tuple[list[Gap], list[Character]]:
    """Return the runs of rhythm days in [start, start + days) with no queued post, and characters with no rhythm.

    `characters` are the workspace's active characters when the caller has already read them.
    """
    characters = list_characters(session, workspace) if characters is None else characters
    rhythms = rhythms_of(session, characters)
    end = start + timedelta(days=days)
    busy = _busy_days(session, workspace, {character_id: rhythm.zone for character_id, rhythm in rhythms.items()
                                           if not rhythm.empty}, start, end)
    gaps: list[Gap] = []
    without_rhythm: list[Character] = []
    for character in characters:
        rhythm = rhythms[require_id(character)]
        if rhythm.empty:
            without_rhythm.append(character)
            continue
        gaps += _gaps_for(character, rhythm, busy.get(require_id(character), set()), start, end)
    return gaps, without_rhythm


def _busy_days(session: Session, workspace: Workspace, zones: dict[int, ZoneInfo], start: datetime,
               end: datetime) -> dict[int, set[date]]:
    """Return, per character in `zones`, the local dates its queued posts use in [start, end) (to the minute).

    One range per status on the workspace's (status, due) index, read as plain rows: only each post's character
    and due time, turned straight into a local date (the minute a post is due is on the same date as the post).
    """
    rows = session.execute(
        sa_select(col(Post.character_id), col(Post.due_at)).where(
            col(Post.workspace_id) == workspace.id, col(Post.status).in_([s.value for s in QUEUED]),
            col(Post.due_at) >= start - timedelta(minutes=1), col(Post.due_at) < end + timedelta(minutes=1)))
    busy: dict[int, set[date]] = {}
    for character_id, due in rows:
        zone = zones.get(character_id)
        if zone is not None and due is not None:
            busy.setdefault(character_id, set()).add(due.astimezone(zone).date())
    return busy


def _gaps_for(character: Character, rhythm: Rhythm, busy: set[date], start: datetime, end: datetime) -> list[Gap]:
    return [Gap(character, first, last, rhythm, start)
            for first, last in _runs(day for day in slot_days(rhythm, start, end) if day not in busy)]


def _first_slot(rhythm: Rhythm, day: date, start: datetime) -> datetime | None:
    """Return the first slot instant on local `day` from `start` on (the one a new post for a gap is planned at)."""
    day_start = max(start, local_to_utc(day, time(0), rhythm.zone))
    instants = slot_instants(rhythm, day_start, local_to_utc(day + timedelta(days=1), time(0), rhythm.zone))
    return instants[0] if instants else None


def slot_days(rhythm: Rhythm, start: datetime, end: datetime) -> list[date]:
    """Return the local dates from `start`'s on that have a slot instant in [start, end), in order.

    Only the first and the last date need their instants worked out; a date in between has its slots whole.
    """
    first, last = start.astimezone(rhythm.zone).date(), end.astimezone(rhythm.zone).date()
    weekdays = frozenset().union(*(slot.weekdays for slot in rhythm.slots))

    def has_slot(day: date) -> bool:
        return day.weekday() in weekdays and any(start <= local_to_utc(day, slot.at, rhythm.zone) < end
                                                 for slot in rhythm.slots if day.weekday() in slot.weekdays)

    if first >= last:
        return [first] if first == last and has_slot(first) else []
    middle = [day for day, weekday in _days_between(first, last) if weekday in weekdays]
    return [first] * has_slot(first) + middle + [last] * has_slot(last)


@functools.lru_cache(maxsize=64)
def _days_between(first: date, last: date) -> tuple[tuple[date, int], ...]:
    """Return the dates strictly between `first` and `last` with their weekdays (the same for every character)."""
    return tuple((day, day.weekday()) for day in (first + timedelta(days=n) for n in range(1, (last - first).days)))


def _runs(days: Iterable[date]) -> list[tuple[date, date]]:
    """Group consecutive calendar days into (first, last) runs."""
    runs: list[tuple[date, date]] = []
    for day in days:
        if runs and day - runs[-1][1] == timedelta(days=1):
            runs[-1] = (runs[-1][0], day)
        else:
            runs.append((day, day))
    return runs


def due_time_or_next_slot(session: Session, character: Character, due_at: datetime | None, *,
                          now: datetime, exclude_post_id: int | None = None, field: str = "due_at") -> datetime:
    """Return `due_at` when one was given, else the character's next free rhythm slot; refuse when it has none."""
    if due_at is not None:
        return due_at
    slot = next_free_slot(session, character, now, exclude_post_id=exclude_post_id)
    if slot is None:
        raise DomainError(f"{character.name} has no posting rhythm with a free slot; give a date and time.",
                          field=field)
    return slot
