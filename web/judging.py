"""The in-character check as people read it: the optional LLM judge, and what a score and a verdict mean."""

from flask import current_app

from characters.consistency.checker import RULE_FAIL_CEILING, WARN_PENALTY
from characters.consistency.judge import LlmJudge
from characters.consistency.llm_judge import judge_from_settings

JUDGE_KEY = "greenroom.judge"

VERDICT_WORDS = {"pass": "in character", "warn": "worth a second look", "fail": "fails the check"}


def configured_judge() -> LlmJudge | None:
    """Return the app's judge (None unless CONSISTENCY_LLM_JUDGE and an LLM are configured)."""
    if JUDGE_KEY not in current_app.extensions:
        current_app.extensions[JUDGE_KEY] = judge_from_settings(current_app.extensions["greenroom.settings"])
    judge: LlmJudge | None = current_app.extensions[JUDGE_KEY]
    return judge


def verdict_words(verdict: str) -> str:
    """Return a verdict as an editor reads it ("in character")."""
    return VERDICT_WORDS.get(verdict, verdict)


def score_headline(score: int, verdict: str) -> str:
    """Return a score as an editor reads it: "82/100 — in character"."""
    return f"{score}/100 — {verdict_words(verdict)}"


def score_scale(name: str = "the character") -> str:
    """Return what 0-100 means and where pass, warn and fail start, from the checker's own rules."""
    # The verdict is not a cut-off on the score: it follows the findings (result.verdict_of), and the score
    # reflects them: a broken rule holds it at RULE_FAIL_CEILING or below, each warning costs WARN_PENALTY.
    return (
        f"0–100: how closely the draft matches {name}'s bible and canon posts; 100 reads like their own. "
        f"Breaking a rule (a banned word, an anachronism, the format, the point of view, speaking as an AI) "
        f"fails and keeps the score at {RULE_FAIL_CEILING} or below; a voice clearly unlike the canon fails too; "
        f"anything worth a second look warns (−{WARN_PENALTY} each); otherwise it passes."
    )


def submitted_message(score: int, verdict: str) -> str:
    """Return what the writer is told after submitting: the score in words, and what a fail means next."""
    if verdict == "fail":
        return (f"Submitted for review, but it fails the in-character check ({score}/100). An editor must fix it or "
                "approve it with a written reason.")
    return f"Submitted for review: {score_headline(score, verdict)}."
