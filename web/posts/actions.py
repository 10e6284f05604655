"""Review actions on one post: submit, approve (at a time or the next free slot), reject, cancel, reschedule, comment.

Each view parses the form, calls one function of characters.posting.workflow and says what happened; the domain
decides what is allowed, so a forged POST gets the same refusal as a missing button.
"""

from collections.abc import Callable
from datetime import date, datetime

from flask import abort, flash, redirect, render_template, request, url_for
from werkzeug.wrappers import Response

from characters.core.errors import DomainError, NotFound, PermissionDenied
from characters.core.models import Post, utcnow
from characters.posting.bulk import BULK_ACTIONS, MAX_BULK, apply_bulk
from characters.posting.planning import next_time_or_refuse, publish_now
from characters.posting.posts import add_comment, get_post, user_names
from characters.posting.workflow import (
    ChangeRequest,
    CheckFailed,
    StaleVersion,
    approve_post,
    cancel_post,
    changes_requested,
    character_of,
    reject_post,
    reschedule_post,
    submit_post,
)
from characters.publishing.delivery import requeue_missed, resolve_unconfirmed
from web.context import current_member
from web.database import get_session, unit_of_work
from web.forms import EmptyForm
from web.judging import configured_judge, score_headline, submitted_message
from web.posts import bp
from web.posts.present import character_zone, int_arg, parse_local, safe_next
from web.templating import format_datetime


@bp.app_template_global("change_request")
def change_request(post: Post) -> tuple[ChangeRequest, str] | None:
    """Return the editor's request and their name when `post` was sent back for changes (for the post's pages)."""
    request_ = changes_requested(get_session(), post)
    if request_ is None:
        return None
    return request_, user_names(get_session(), {request_.by_id}).get(request_.by_id, "An editor")


def _form(name: str, limit: int = 4000) -> str:
    return (request.form.get(name) or "")[:limit]


def _run(post_id: int, action: Callable[[Post], str]) -> Response:
    """Run one action in a transaction; flash its message or the refusal, then go back where the person was."""
    if not EmptyForm().validate_on_submit():
        abort(400)
    member = current_member()
    back = safe_next(url_for("posts.detail", post_id=post_id))
    try:
        with unit_of_work() as db:
            message = action(get_post(db, member.workspace, post_id))
    except StaleVersion as stale:
        flash(f"{stale.message} Nothing was changed; look at the latest version and try again.", "error")
    except CheckFailed as failed:
        flash(f"{failed.message} ({score_headline(failed.check.score, failed.check.verdict)})", "error")
    except (PermissionDenied, NotFound):
        raise  # a 403/404 page, not a flash: the request itself was not allowed
    except DomainError as error:
        flash(error.message, "error")
    else:
        if message:
            flash(message, "success")
    return redirect(back)


def _version() -> int:
    version = int_arg(request.form.get("version"))
    if version is None:
        raise DomainError("This form is missing the post's version; reload the page and try again.")
    return version


def _due_time(post: Post) -> datetime:
    """Read "when": the planned time or next free slot (inside the campaign), or a date-time in the character's zone."""
    db = get_session()
    character = character_of(db, post)
    if _form("when") == "next":
        return next_time_or_refuse(db, post, character, utcnow())
    return parse_local(_form("due_local", 40), character_zone(character))


def _when(moment: datetime, post: Post) -> str:
    return format_datetime(moment, character_zone(character_of(get_session(), post)).key)


@bp.route("/<int:post_id>/submit", methods=["POST"])
def submit(post_id: int) -> Response:
    """Send a draft to review."""
    def action(post: Post) -> str:
        check = submit_post(session=get_session(), member=current_member(), post=post, expected_version=_version(),
                            note=_form("note"), judge=configured_judge())
        if check.failed:
            flash(submitted_message(check.score, check.verdict), "warning")
            return ""  # the warning above says it all
        return submitted_message(check.score, check.verdict)
    return _run(post_id, action)


@bp.route("/<int:post_id>/approve", methods=["POST"])
def approve(post_id: int) -> Response:
    """Approve a post in review for a time (or the next free slot)."""
    def action(post: Post) -> str:
        due = _due_time(post)
        approve_post(session=get_session(), member=current_member(), post=post, expected_version=_version(),
                     due_at=due, override_reason=_form("override_reason"), judge=configured_judge())
        return f"Approved: goes out {_when(due, post)}."
    return _run(post_id, action)


@bp.route("/<int:post_id>/publish-now", methods=["POST"])
def publish_immediately(post_id: int) -> Response:
    """Send a post in review or an approved post out right away (editors)."""

    def action(post: Post) -> str:
        publish_now(session=get_session(), member=current_member(), post=post, expected_version=_version(),
                    now=utcnow(), judge=configured_judge(), override_reason=_form("override_reason"))
        return "Publishing now: it goes out within a minute."

    return _run(post_id, action)


@bp.route("/bulk", methods=["POST"])
def bulk() -> str | Response:
    """Apply one action to the selected posts, each on its own, and show what happened to every one."""
    if not EmptyForm().validate_on_submit():
        abort(400)
    member = current_member()
    action = _form("action", 32)
    ids = list(dict.fromkeys(i for i in (int_arg(v) for v in request.form.getlist("ids")) if i is not None))
    if action not in BULK_ACTIONS or not ids:
        flash("Select posts and pick what to do with them.", "error")
        return redirect(safe_next(url_for("posts.index")))
    campaign_id = int_arg(request.form.get("campaign"))
    try:
        day = date.fromisoformat(request.form.get("day", "")[:10]) if request.form.get("day") else None
    except ValueError:
        day = None  # each post then says that a day is needed
    results = []
    for post_id in ids[:MAX_BULK]:
        try:
            with unit_of_work() as db:
                post = get_post(db, member.workspace, post_id)
                message = apply_bulk(session=db, member=member, post=post, action=action, now=utcnow(),
                                     campaign_id=campaign_id, day=day, judge=configured_judge())
            results.append({"post_id": post_id, "ok": True, "message": message})
        except DomainError as error:  # refused, not allowed or gone: said for this post, the others go on
            results.append({"post_id": post_id, "ok": False, "message": error.message})
    return render_template("posts/bulk.html", action=BULK_ACTIONS[action], results=results,
                           done=sum(1 for result in results if result["ok"]), skipped=ids[MAX_BULK:],
                           back=safe_next(url_for("posts.index")))


@bp.route("/<int:post_id>/reject", methods=["POST"])
def reject(post_id: int) -> Response:
    """Send a post back to its writer with a comment."""
    def action(post: Post) -> str:
        reject_post(session=get_session(), member=current_member(), post=post, expected_version=_version(),
                    comment=_form("comment", 5000))
        return "Sent back to draft with your comment."
    return _run(post_id, action)


@bp.route("/<int:post_id>/cancel", methods=["POST"])
def cancel(post_id: int) -> Response:
    """Cancel a post and whatever of it was still waiting to go out."""
    def action(post: Post) -> str:
        cancel_post(session=get_session(), member=current_member(), post=post, expected_version=_version(),
                    reason=_form("reason"))
        return "Cancelled. Nothing of it will be published."
    return _run(post_id, action)


@bp.route("/<int:post_id>/reschedule", methods=["POST"])
def reschedule(post_id: int) -> Response:
    """Move an approved post to another time."""
    def action(post: Post) -> str:
        due = _due_time(post)
        moved = reschedule_post(session=get_session(), member=current_member(), post=post,
                                expected_version=_version(), due_at=due)
        extra = f" (and the {len(moved) - 1} other lines of its scene)" if len(moved) > 1 else ""
        return f"Rescheduled to {_when(due, post)}{extra}."
    return _run(post_id, action)


@bp.route("/<int:post_id>/comments", methods=["POST"])
def comment(post_id: int) -> Response:
    """Add a comment to the post's discussion."""
    def action(post: Post) -> str:
        add_comment(session=get_session(), member=current_member(), post=post, body=_form("body", 6000))
        return "Comment added."
    return _run(post_id, action)


@bp.route("/<int:post_id>/deliveries/<int:delivery_id>/resolve", methods=["POST"])
def resolve_delivery(post_id: int, delivery_id: int) -> Response:
    """Settle a delivery the scheduler could not confirm, or send a missed one late (editors)."""
    def action(post: Post) -> str:
        outcome = _form("outcome")
        db, member = get_session(), current_member()
        if outcome == "published":
            resolve_unconfirmed(session=db, member=member, delivery_id=delivery_id, published=True, now=utcnow())
            return "Marked as published."
        if outcome == "resend":
            resolve_unconfirmed(session=db, member=member, delivery_id=delivery_id, published=False, now=utcnow())
            return "It will be sent again within moments."
        if outcome == "send-late":
            requeue_missed(session=db, member=member, delivery_id=delivery_id, now=utcnow())
            return "It will be sent now, late."
        raise DomainError("Pick what happened to this delivery.")
    return _run(post_id, action)
