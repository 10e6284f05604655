"""The workspace's audit log: every transition, who made it, when, from which status to which, and why."""

from flask import render_template, request

from characters.audit.log import audit_actions, audit_page
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
    page = audit_page(db, member.workspace, action=action, before_id=int_arg(request.args.get("before")), limit=PAGE)
    return render_template("audit/index.html", rows=page.rows, actions=actions, action=action,
                           next_before=page.next_before, zone=viewer_zone())
