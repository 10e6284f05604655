"""Posts of the current workspace: list, editor, detail and history, review actions, import/export, recurring."""

from web.context import workspace_blueprint
from web.judging import score_headline, score_scale, verdict_words

bp = workspace_blueprint("posts", __name__, "/posts")

# Every page that shows a score (editor, post, inbox, scenes) explains it with the same words; globals, so that
# imported macros see them too.
bp.add_app_template_global(score_headline, "score_headline")
bp.add_app_template_global(score_scale, "score_scale")
bp.add_app_template_global(verdict_words, "verdict_words")

# The route modules register themselves on `bp`.
from web.posts import actions, autosave, editor, pages, post_io, recurring  # noqa: E402, F401
