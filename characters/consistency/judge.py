"""The optional LLM judge: its protocol, rubric prompt and output schema, and how its verdict becomes findings.

The checker works offline; a judge is an extra layer a caller may pass in. The real adapter (the drafting LLM
client) implements `LlmJudge`; tests use a fake.
"""

import json
from typing import Protocol, runtime_checkable

from pydantic import BaseModel, ConfigDict, Field

from characters.bibles.card_data import CardData
from characters.consistency.result import Finding, Severity


class CriterionScore(BaseModel):
    """One rubric criterion: a 1-5 score and the draft's own words that justify it."""

    model_config = ConfigDict(extra="forbid")

    score: int = Field(ge=1, le=5)
    evidence: list[str] = Field(default_factory=list, description="exact quotes from the draft, possibly none")
    explanation: str = Field(default="", max_length=500)


class JudgeVerdict(BaseModel):
    """The JSON object the judge returns (use `JudgeVerdict.model_json_schema()` as the response format)."""

    model_config = ConfigDict(extra="forbid")

    persona_consistency: CriterionScore
    linguistic_habits: CriterionScore
    era_knowledge: CriterionScore


@runtime_checkable
class LlmJudge(Protocol):
    """Anything that can score a draft against a card with the rubric below."""

    def __call__(self, card: CardData, text: str) -> JudgeVerdict:
        """Return the verdict for the draft; raise on transport or parsing errors."""
        ...


JUDGE_RUBRIC = """\
You are reviewing a social-media post drafted for a fictional character. Judge only whether the post is in
character; do not judge whether it is a good post.

Character card (JSON):
{card}

Draft post:
<<<
{text}
>>>

Score each criterion from 1 to 5:
- persona_consistency: does the post reflect who the character is (personality, situation, relationships,
  values, emotional temperament)? 5 = unmistakably this character; 3 = plausible but generic; 1 = contradicts
  the character or breaks the fourth wall (mentions being an AI, a prompt or instructions).
- linguistic_habits: does it sound like the character's canon posts (sentence length and rhythm, punctuation,
  vocabulary, register, catchphrases, emoji and hashtag habits)? 5 = indistinguishable from the canon; 1 = a
  different voice (another character, marketing copy, an assistant).
- era_knowledge: does the post stay within what the character can know in their era ({era})? Penalise any
  object, word, event or idea from after the era's end. 5 = nothing out of period; 1 = a clear anachronism.

For each criterion give "evidence": a list of exact quotes copied from the draft that justify a score below 5
(an empty list when there is nothing to quote), and a one-sentence "explanation".
Answer with a single JSON object with the keys persona_consistency, linguistic_habits and era_knowledge, each
{{"score": int, "evidence": [str], "explanation": str}}, and nothing else.
"""

_CRITERIA = {
    "persona_consistency": "persona",
    "linguistic_habits": "voice",
    "era_knowledge": "era",
}


def judge_prompt(card: CardData, text: str) -> str:
    """Return the rubric prompt filled in for this card and draft."""
    greenroom = card.greenroom
    era = greenroom.era.label or "the present day"
    if greenroom.era.end_year is not None:
        era = f"{era}; nothing after {greenroom.era.end_year}"
    card_json = json.dumps(
        {
            "name": card.name,
            "description": card.description,
            "personality": card.personality,
            "scenario": card.scenario,
            "voice": greenroom.voice.model_dump(by_alias=True, mode="json"),
            "canon_posts": greenroom.canon_posts[:20],
        },
        ensure_ascii=False,
        indent=1,
    )
    return JUDGE_RUBRIC.format(card=card_json, text=text, era=era)


def _severity(score: int) -> Severity | None:
    """Map a 1-5 score to a finding: 1 fails, 2 warns, 3 is noted, 4-5 say nothing."""
    severities: dict[int, Severity] = {1: "fail", 2: "warn", 3: "info"}
    return severities.get(score)


def judge_findings(verdict: JudgeVerdict, text: str) -> list[Finding]:
    """Turn a verdict into findings, locating each quoted piece of evidence in the draft when it is there."""
    findings: list[Finding] = []
    for field, label in _CRITERIA.items():
        criterion: CriterionScore = getattr(verdict, field)
        severity = _severity(criterion.score)
        if severity is None:
            continue
        quotes = [quote for quote in criterion.evidence if quote.strip()] or [""]
        for quote in quotes:
            start = text.find(quote) if quote else -1
            message = f"LLM judge, {label}: {criterion.score}/5. {criterion.explanation}".strip()
            if quote:
                message += f" ('{quote}')"
            findings.append(
                Finding(
                    f"judge.{label}",
                    severity,
                    message,
                    start if start >= 0 else None,
                    start + len(quote) if start >= 0 else None,
                )
            )
    return findings


def judge_factor(verdict: JudgeVerdict) -> float:
    """Return the factor (0.6-1.0) by which the judge's mean score scales the checker's score."""
    scores = [verdict.persona_consistency.score, verdict.linguistic_habits.score, verdict.era_knowledge.score]
    return 0.5 + 0.1 * (sum(scores) / len(scores))
