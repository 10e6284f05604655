"""The current member's notifications in this workspace."""

from typing import Any

from flask import flash, g, redirect, render_template, url_for
from sqlmodel import col, select
from werkzeug.wrappers import Response

from characters.audit.notifications import mark_all_read, recent_notifications, render_moments, unread_count
from characters.core.models import Character, Post
from characters.posting.posts import first_texts
from web.context import current_member, workspace_blueprint
from web.database import get_session, unit_of_work
from web.forms import EmptyForm
from web.posts.present import viewer_zone
from web.templating import format_datetime

bp = workspace_blueprint("notifications", __name__, "/notifications")


@bp.route("/")
def index() -> str:
    """List the latest notifications with the post and character each is about, times in the reader's zone."""
    db = get_session()
    items = recent_notifications(db, current_member())
    zone = viewer_zone()
    posts = {post.id: (post, character) for post, character in db.exec(
        select(Post, Character).join(Character, col(Character.id) == col(Post.character_id))
        .where(col(Post.id).in_({item.post_id for item in items if item.post_id is not None})))}
    texts = first_texts(db, [post for post, _ in posts.values()])
    rows = [{"item": item, "message": render_moments(item.message, lambda at: format_datetime(at, zone.key)),
             "post": posts.get(item.post_id, (None, None))[0], "character": posts.get(item.post_id, (None, None))[1],
             "text": texts.get(item.post_id or 0, "")} for item in items]
    return render_template("notifications/index.html", rows=rows, zone=zone, form=EmptyForm())


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
