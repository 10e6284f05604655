"""Template globals and filters."""

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from flask import Flask, g
from flask_login import current_user

from characters.accounts.workspaces import Action, workspaces_for
from characters.core.platforms import platform_limits
from web.database import get_session


def register(app: Flask) -> None:
    """Expose the current member, the user's workspaces, the platforms' limits and date helpers to templates."""

    @app.context_processor
    def _globals() -> dict[str, Any]:
        member = g.get("member")
        return {
            "member": member,
            "Action": Action,
            "my_workspaces": _my_workspaces,
        }

    app.add_template_filter(format_datetime, "datetime")
    # The editor's live counter reads the same table as the checker and the publishers (base.html hands it over).
    app.jinja_env.globals["platform_limits"] = platform_limits()


def _my_workspaces() -> list[Any]:
    if not current_user.is_authenticated:
        return []
    return workspaces_for(get_session(), current_user.user)


def format_datetime(value: datetime | None, zone: str = "UTC") -> str:
    """Format an aware datetime in `zone`, e.g. "Tue 3 Dec 2026, 09:15 EST"."""
    if value is None:
        return "—"
    local = value.astimezone(ZoneInfo(zone))
    return f"{local:%a} {local.day} {local:%b %Y, %H:%M %Z}"
