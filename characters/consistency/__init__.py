"""The in-character consistency checker: hard rules, a calibrated voice model and an optional LLM judge."""

from characters.consistency.checker import (
    Checker,
    build_voice_model,
    card_key,
    check_confidence,
    check_text,
    default_checker,
    get_voice_model,
    warm_up,
)
from characters.consistency.judge import JUDGE_RUBRIC, CriterionScore, JudgeVerdict, LlmJudge, judge_prompt
from characters.consistency.result import CheckResult, Finding, Severity, Verdict
from characters.consistency.voice import VoiceModel

__all__ = [
    "JUDGE_RUBRIC",
    "CheckResult",
    "Checker",
    "CriterionScore",
    "Finding",
    "JudgeVerdict",
    "LlmJudge",
    "Severity",
    "Verdict",
    "VoiceModel",
    "build_voice_model",
    "card_key",
    "check_confidence",
    "check_text",
    "default_checker",
    "get_voice_model",
    "judge_prompt",
    "warm_up",
]
