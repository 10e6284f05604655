"""Characters of the current workspace: list, bible page, editor, history, avatar, card import and export."""

from web.context import workspace_blueprint

bp = workspace_blueprint("characters", __name__, "/characters")

# The route modules register themselves on `bp`; they import it from here, so they come after it.
from web.characters import editing, present, views  # noqa: E402

# A card's {{char}} and {{user}} read as names wherever a bible is shown (exports keep the macros).
bp.add_app_template_filter(present.with_names, "with_names")

__all__ = ["bp", "editing", "present", "views"]
