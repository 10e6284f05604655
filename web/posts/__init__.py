"""Posts of the current workspace: list, editor, detail and history, review actions, import/export, recurring."""

from web.context import workspace_blueprint

bp = workspace_blueprint("posts", __name__, "/posts")

# The route modules register themselves on `bp`.
from web.posts import actions, editor, pages, post_io, recurring  # noqa: E402, F401
