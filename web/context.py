"""Workspace-scoped blueprints: every route under /w/<workspace>/ knows the current member or 404s."""

from typing import Any

from flask import Blueprint, g, url_for
from flask_login import current_user, login_required

from characters.accounts.workspaces import Member, membership_for
from web.database import get_session


def workspace_blueprint(name: str, import_name: str, path: str = "") -> Blueprint:
    """Return a blueprint under /w/<workspace><path> that requires login and membership."""
    bp = Blueprint(name, import_name, url_prefix=f"/w/<workspace>{path}")

    @bp.url_value_preprocessor
    def _pop_workspace(endpoint: str | None, values: dict[str, Any] | None) -> None:
        g.workspace_slug = (values or {}).pop("workspace", None)

    @bp.url_defaults
    def _add_workspace(endpoint: str, values: dict[str, Any]) -> None:
        if "workspace" not in values and g.get("workspace_slug"):
            values["workspace"] = g.workspace_slug

    @bp.before_request
    @login_required
    def _load_member() -> None:
        # A non-member gets the same 404 as for a workspace that does not exist.
        g.member = membership_for(get_session(), current_user.user, g.workspace_slug)

    return bp


def current_member() -> Member:
    """Return the member loaded for this request by a workspace blueprint."""
    member: Member = g.member
    return member


def workspace_url(endpoint: str, **values: Any) -> str:
    """Build a URL inside the current workspace."""
    return url_for(endpoint, workspace=current_member().workspace.slug, **values)
