"""Time zones and request parsing shared by the post, inbox, calendar and scene pages."""

from datetime import datetime
from urllib.parse import unquote, urlsplit
from zoneinfo import ZoneInfo

from flask import request

from characters.bibles.bible import current_card
from characters.core.errors import DomainError
from characters.core.models import Character
from characters.posting.rhythm import is_zone, local_to_utc, zone_named
from web.database import get_session

ZONE_COOKIE = "gr_tz"


def viewer_zone() -> ZoneInfo:
    """Return the viewer's zone: ?tz=, else the zone the browser reported in a cookie, else UTC."""
    name = unquote(request.args.get("tz") or request.cookies.get(ZONE_COOKIE, ""))[:64]
    return zone_named(name if is_zone(name) else "UTC")


def character_zone(character: Character) -> ZoneInfo:
    """Return the character's IANA zone from its current bible."""
    return zone_named(current_card(get_session(), character).greenroom.timezone)


def parse_local(value: str, zone: ZoneInfo, field: str = "due_at") -> datetime:
    """Parse a datetime-local value ("2026-12-03T09:15") in `zone` into UTC; DomainError if malformed."""
    try:
        naive = datetime.fromisoformat(value.strip()[:32])
    except ValueError:
        raise DomainError("Enter a date and time, e.g. 2026-12-03 09:15.", field=field) from None
    if naive.tzinfo is not None:
        return naive
    return local_to_utc(naive.date(), naive.time().replace(second=0, microsecond=0), zone)


def local_input(moment: datetime | None, zone: ZoneInfo) -> str:
    """Format an instant for a datetime-local input in `zone`."""
    return moment.astimezone(zone).strftime("%Y-%m-%dT%H:%M") if moment else ""


def int_arg(value: str | None) -> int | None:
    """Return a form value as an int, or None when it is not a plain number."""
    text = (value or "").strip()
    return int(text) if text.isdigit() and len(text) < 12 else None


def safe_next(default: str) -> str:
    """Return the form's `next` if it is a path inside this site, else `default`."""
    target = request.form.get("next") or request.args.get("next") or ""
    parts = urlsplit(target)
    if target.startswith("/w/") and not parts.scheme and not parts.netloc and "\\" not in target:
        return target
    return default
