"""The optional LLM judge for submit and approve, built once per app from its settings."""

from flask import current_app

from characters.consistency.judge import LlmJudge
from characters.consistency.llm_judge import judge_from_settings

JUDGE_KEY = "greenroom.judge"


def configured_judge() -> LlmJudge | None:
    """Return the app's judge (None unless CONSISTENCY_LLM_JUDGE and an LLM are configured)."""
    if JUDGE_KEY not in current_app.extensions:
        current_app.extensions[JUDGE_KEY] = judge_from_settings(current_app.extensions["greenroom.settings"])
    judge: LlmJudge | None = current_app.extensions[JUDGE_KEY]
    return judge
