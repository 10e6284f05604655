"""The current member's notifications in this workspace."""

from typing import Any

from flask import flash, g, redirect, render_template, url_for
from werkzeug.wrappers import Response

from characters.audit.notifications import mark_all_read, recent_notifications, unread_count
from web.context import current_member, workspace_blueprint
from web.database import get_session, unit_of_work
from web.forms import EmptyForm

bp = workspace_blueprint("notifications", __name__, "/notifications")


@bp.route("/")
def index() -> str:
    """List the latest notifications, unread first in attention."""
    items = recent_notifications(get_session(), current_member())
    return render_template("notifications/index.html", items=items, form=EmptyForm())


@bp.route("/read", methods=["POST"])
def read_all() -> Response:
    """Mark everything as read."""
    if EmptyForm().validate_on_submit():
        with unit_of_work() as db:
            count = mark_all_read(db, current_member())
        flash(f"Marked {count} notification{'s' if count != 1 else ''} as read.", "success")
    return redirect(url_for("notifications.index"))


@bp.app_context_processor
def _unread() -> dict[str, Any]:
    """Expose the unread count to the navigation (counted only on pages that show it)."""

    def notification_count() -> int:
        member = g.get("member")
        return unread_count(get_session(), member) if member is not None else 0

    return {"notification_count": notification_count}
