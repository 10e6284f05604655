"""The calendar (month and week, drag-and-drop rescheduling), the queue with its gaps, and the iCalendar feed."""

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from flask import Blueprint, Response, flash, jsonify, redirect, render_template, request, url_for
from werkzeug.wrappers import Response as WerkzeugResponse

from characters.accounts.workspaces import Action
from characters.bibles.bible import list_characters
from characters.core.errors import DomainError, NotFound, PermissionDenied
from characters.core.models import PostStatus, utcnow
from characters.posting.calendar import (
    SCHEDULED,
    DayEntry,
    calendar_days,
    feed_ics,
    revoke_feed_token,
    rotate_feed_token,
    workspace_for_feed_token,
)
from characters.posting.campaigns import list_campaigns
from characters.posting.posts import first_texts, get_post
from characters.posting.rhythm import find_gaps, local_to_utc, queued_count, queued_posts, zones_by_id, zones_of
from characters.posting.workflow import StaleVersion, reschedule_post
from web.context import current_member, workspace_blueprint
from web.database import get_session, unit_of_work
from web.extensions import csrf
from web.forms import EmptyForm
from web.posts.present import int_arg, viewer_zone

bp = workspace_blueprint("calendar", __name__, "/calendar")
feed_bp = Blueprint("calendar_feed", __name__)
GAP_DAYS = 14
QUEUE_PAGE = 50
GAPS_SHOWN = 30  # gaps listed for the whole workspace (soonest first); one character's are all listed


MONTH_PER_DAY = 4  # entries a month cell shows; the rest is counted and one click away (the week)
WEEK_PER_DAY = 24  # entries a week column shows; the rest is counted and listed on the posts page


@dataclass(frozen=True)
class Day:
    """One calendar cell: a local date, how many posts are due on it and the first ones (in the viewer's zone)."""

    date: date
    entries: list[DayEntry]
    count: int
    in_month: bool
    is_today: bool
    hours: dict[int, list[DayEntry]]  # the shown entries by local hour (the week's rows)

    @property
    def more(self) -> int:
        """Return how many of the day's posts the cell does not show."""
        return self.count - len(self.entries)


def _by_hour(entries: list[DayEntry], zone: ZoneInfo) -> dict[int, list[DayEntry]]:
    hours: dict[int, list[DayEntry]] = {}
    for entry in entries:
        hours.setdefault(entry.post.due_at.astimezone(zone).hour, []).append(entry)
    return hours


def _filters() -> dict[str, int | None]:
    return {"character_id": int_arg(request.args.get("character")),
            "campaign_id": int_arg(request.args.get("campaign"))}


def _statuses() -> tuple[PostStatus, ...]:
    wanted = request.args.get("status", "")
    return (PostStatus(wanted),) if wanted in {s.value for s in SCHEDULED} else SCHEDULED


def _anchor(zone: ZoneInfo) -> date:
    """Return the date the view is about; today when missing, malformed or absurdly far away."""
    try:
        anchor = date.fromisoformat(request.args.get("date", "")[:10])
    except ValueError:
        return utcnow().astimezone(zone).date()
    return anchor if date(1970, 1, 1) <= anchor <= date(2200, 12, 31) else utcnow().astimezone(zone).date()


def _range(view: str, anchor: date) -> tuple[date, date]:
    """Return the first and the day after the last local date the view shows (whole weeks, Monday first)."""
    if view == "week":
        first = anchor - timedelta(days=anchor.weekday())
        return first, first + timedelta(days=7)
    month_start = anchor.replace(day=1)
    next_month = (month_start + timedelta(days=32)).replace(day=1)
    first = month_start - timedelta(days=month_start.weekday())
    last = next_month + timedelta(days=(7 - next_month.weekday()) % 7)
    return first, last


@bp.route("/")
def index() -> str:
    """Month or week view of everything scheduled, in the viewer's zone, with filters."""
    member = current_member()
    db = get_session()
    zone = viewer_zone()
    view = "week" if request.args.get("view") == "week" else "month"
    anchor = _anchor(zone)
    first, after = _range(view, anchor)
    dates = [first + timedelta(days=n) for n in range((after - first).days)]
    filters = _filters()
    # Day i is [local midnight of dates[i], local midnight of the next date): counted whole, shown in part.
    per_day = WEEK_PER_DAY if view == "week" else MONTH_PER_DAY
    found = calendar_days(db, member.workspace, [local_to_utc(day, time(0), zone) for day in [*dates, after]],
                          per_day=per_day, statuses=_statuses(),
                          character_id=filters["character_id"], campaign_id=filters["campaign_id"])
    today = utcnow().astimezone(zone).date()
    days = [Day(day, found.entries[n], found.counts[n], view == "week" or day.month == anchor.month, day == today,
                _by_hour(found.entries[n], zone)) for n, day in enumerate(dates)]
    step = timedelta(days=7) if view == "week" else None
    previous = anchor - step if step else (anchor.replace(day=1) - timedelta(days=1)).replace(day=1)
    following = anchor + step if step else (anchor.replace(day=1) + timedelta(days=32)).replace(day=1)
    zones = zones_by_id(db, {entry.character.id for day in days for entry in day.entries})
    return render_template("calendar/index.html", view=view, anchor=anchor, days=days, zone=zone,
                           zones=zones, previous=previous, following=following, today=today,
                           total=sum(found.counts), per_day=per_day, characters=list_characters(db, member.workspace),
                           campaigns=list_campaigns(db, member.workspace), statuses=SCHEDULED,
                           filters=filters, status=request.args.get("status", ""),
                           can_move=member.can(Action.SCHEDULE), hours=range(24),
                           post_base=url_for("posts.index"))  # + id: a post's page (hundreds of links)


@bp.route("/move", methods=["POST"])
def move() -> tuple[Response, int]:
    """Reschedule by drag and drop: JSON {post_id, version, date, time?}; 409 when the post changed meanwhile."""
    member = current_member()
    payload = request.get_json(silent=True)
    if not isinstance(payload, dict):
        return jsonify(error="Send JSON: {post_id, version, date, time}."), 400
    post_id, version = int_arg(str(payload.get("post_id", ""))), int_arg(str(payload.get("version", "")))
    if post_id is None or version is None:
        return jsonify(error="The move is missing the post or its version."), 400
    zone = viewer_zone()
    try:
        day, hour = _dropped_on(str(payload.get("date", "")), str(payload.get("time", "")))
    except DomainError as error:
        return jsonify(error=error.message), 400
    try:
        with unit_of_work() as db:
            post = get_post(db, member.workspace, post_id)
            due = _new_due(day, hour, post.due_at, zone)
            reschedule_post(session=db, member=member, post=post, expected_version=version, due_at=due)
    except NotFound as error:
        return jsonify(error=error.message), 404
    except PermissionDenied as error:
        return jsonify(error=error.message), 403
    except StaleVersion as stale:
        return jsonify(error=f"{stale.message} Reload the calendar to see the latest.",
                       version=stale.post.version), 409
    except DomainError as error:  # the post's state does not allow it (published, in the past, ...)
        return jsonify(error=error.message), 409
    local = due.astimezone(zone)
    return jsonify(ok=True, post_id=post_id, version=post.version, due_at=due.isoformat(),
                   message=f"Moved to {local:%a} {local.day} {local:%b, %H:%M}."), 200


def _dropped_on(day_text: str, time_text: str) -> tuple[date, int | None]:
    """Parse the drop target: a day, and an hour in the week view."""
    try:
        day = date.fromisoformat(day_text[:10])
    except ValueError:
        raise DomainError("Drop the post on a day.") from None
    if not time_text:
        return day, None
    hour = int_arg(time_text.split(":")[0])
    if hour is None or hour > 23:
        raise DomainError("Drop the post on an hour.")
    return day, hour


def _new_due(day: date, hour: int | None, current: datetime | None, zone: ZoneInfo) -> datetime:
    """Return the dropped day at the dropped hour (keeping the minutes), or at the post's own local time."""
    keep = current.astimezone(zone).time() if current else time(9)
    at = time(hour if hour is not None else keep.hour, keep.minute)
    return local_to_utc(day, at, zone)


@bp.route("/queue")
def queue() -> str:
    """The queue: what goes out next, per character or for the workspace, and the days nothing is queued."""
    member = current_member()
    db = get_session()
    characters = list_characters(db, member.workspace)
    character = next((c for c in characters if c.slug == request.args.get("character")), None)
    now = utcnow()
    total = queued_count(db, member.workspace, character=character, now=now)
    pages = max(1, -(-total // QUEUE_PAGE))
    page = min(max(int_arg(request.args.get("page")) or 1, 1), pages)
    posts = queued_posts(db, member.workspace, character=character, now=now, offset=(page - 1) * QUEUE_PAGE,
                         limit=QUEUE_PAGE)
    gaps, without_rhythm = find_gaps(db, member.workspace, now, GAP_DAYS, characters=characters)
    if character is not None:
        gaps = [gap for gap in gaps if gap.character.id == character.id]
        without_rhythm = [c for c in without_rhythm if c.id == character.id]
    gap_total = len(gaps)
    gaps = sorted(gaps, key=lambda gap: gap.first)[:None if character else GAPS_SHOWN]
    owners = list({owner.id: owner for _, owner in posts}.values())
    return render_template("calendar/queue.html", posts=posts, texts=first_texts(db, [p for p, _ in posts]),
                           characters=characters, character=character, gaps=gaps, without_rhythm=without_rhythm,
                           gap_total=gap_total, zone=viewer_zone(), zones=zones_of(db, owners), gap_days=GAP_DAYS,
                           total=total, page=page, pages=pages, first=(page - 1) * QUEUE_PAGE + 1,
                           post_base=url_for("posts.index"))  # + id: a post's page (50 links)


@bp.route("/feed", methods=["GET", "POST"])
def feed() -> str | WerkzeugResponse:
    """Owners create, rotate or turn off the secret iCalendar feed URL."""
    member = current_member()
    member.require(Action.MANAGE_SETTINGS)
    form = EmptyForm()
    url = None
    if form.validate_on_submit():
        with unit_of_work() as db:
            if request.form.get("op") == "revoke":
                revoke_feed_token(session=db, member=member)
                flash("The calendar feed is off; its old address no longer works.", "success")
                return redirect(url_for("calendar.feed"))
            token = rotate_feed_token(session=db, member=member)
        url = url_for("calendar_feed.ics", token=token, _external=True)
        flash("New feed address created; any older address stopped working. Copy it now: it is shown only once.",
              "success")
    return render_template("calendar/feed.html", url=url, form=form,
                           enabled=member.workspace.calendar_token_hash is not None)


@feed_bp.route("/calendar/<token>.ics")
@csrf.exempt
def ics(token: str) -> Response:
    """The workspace's schedule as iCalendar, for any calendar app; the token is the only key."""
    db = get_session()
    workspace = workspace_for_feed_token(db, token)
    response = Response(feed_ics(db, workspace), mimetype="text/calendar")
    response.headers["Content-Disposition"] = f'inline; filename="{workspace.slug}.ics"'
    response.headers["Cache-Control"] = "private, max-age=300"
    return response
