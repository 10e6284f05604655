"""The consistency checker's optional LLM judge, asked through the project's one LLM adapter."""

from characters.bibles.card_data import CardData
from characters.consistency.judge import JudgeVerdict, judge_prompt
from characters.core.config import Settings
from characters.llm.adapter import CallOptions, LanguageModel, OpenAIChatModel

# Deterministic scoring: the same draft should get the same verdict on a re-check.
JUDGE_OPTIONS = CallOptions(temperature=0.0, seed=1, max_tokens=600)


class ModelJudge:
    """Score a draft with the rubric by asking a language model for a `JudgeVerdict` JSON object."""

    def __init__(self, model: LanguageModel) -> None:
        self._model = model

    def __call__(self, card: CardData, text: str) -> JudgeVerdict:
        """Return the model's validated verdict; LlmError propagates (the checker keeps its offline result)."""
        prompt = judge_prompt(card, text)
        return self._model.complete([{"role": "user", "content": prompt}], JudgeVerdict, JUDGE_OPTIONS).value


def judge_from_settings(settings: Settings) -> ModelJudge | None:
    """Return a judge when CONSISTENCY_LLM_JUDGE is on and a model is configured; None otherwise."""
    if not (settings.consistency_llm_judge and settings.llm_base_url.strip() and settings.llm_model.strip()):
        return None
    return ModelJudge(OpenAIChatModel.from_settings(settings))
