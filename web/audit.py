"""The workspace's audit log: every transition, who made it, when, from which status to which, and why."""

from flask import render_template, request

from characters.core.models import Post
from characters.posting.posts import first_texts
from characters.posting.workflow import audit_actions, audit_log
from web.context import current_member, workspace_blueprint
from web.database import get_session
from web.posts.present import int_arg, viewer_zone

bp = workspace_blueprint("audit", __name__, "/audit")
PAGE = 100


@bp.route("/")
def index() -> str:
    """List audit events, newest first, filtered by action and paged by id."""
    member = current_member()
    db = get_session()
    actions = audit_actions(db, member.workspace)
    action = request.args.get("action") if request.args.get("action") in actions else None
    rows = audit_log(db, member.workspace, action=action, before_id=int_arg(request.args.get("before")),
                     limit=PAGE + 1)
    more = len(rows) > PAGE
    rows = rows[:PAGE]
    texts = first_texts(db, [p for p in (db.get(Post, e.post_id) for e, _ in rows if e.post_id) if p is not None])
    return render_template("audit/index.html", rows=rows, actions=actions, action=action, texts=texts,
                           next_before=rows[-1][0].id if more and rows else None, zone=viewer_zone())
