"""Characters of the current workspace: list, bible page, editor, history, avatar, card import and export."""

from web.context import workspace_blueprint

bp = workspace_blueprint("characters", __name__, "/characters")

# The route modules register themselves on `bp`; they import it from here, so they come after it.
from web.characters import editing, views  # noqa: E402

__all__ = ["bp", "editing", "views"]
