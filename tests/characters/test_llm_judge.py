import json

import httpx2

from characters.bibles.card_data import CardData
from characters.consistency import check_text
from characters.consistency.llm_judge import ModelJudge, judge_from_settings
from characters.core.config import Settings
from characters.llm.adapter import OpenAIChatModel, ScriptedModel
from tests.factories import make_card

VERDICT = {
    "persona_consistency": {"score": 5, "evidence": [], "explanation": "in character"},
    "linguistic_habits": {"score": 4, "evidence": [], "explanation": "close"},
    "era_knowledge": {"score": 1, "evidence": ["my smartphone"], "explanation": "no smartphones in 1962"},
}


def _card() -> CardData:
    return make_card("Walt Test", era={"label": "1962", "end_year": 1962},
                     canon_posts=["Say less.", "Nobody remembers the second sentence."])


def test_model_judge_asks_with_the_rubric_and_returns_the_verdict():
    model = ScriptedModel([json.dumps(VERDICT)])
    verdict = ModelJudge(model)(_card(), "I checked my smartphone.")
    assert verdict.era_knowledge.score == 1
    prompt = model.calls[0].messages[0]["content"]
    assert "I checked my smartphone." in prompt
    assert "nothing after 1962" in prompt
    assert model.calls[0].options.temperature == 0.0


def test_judge_findings_reach_the_check_result_with_spans():
    text = "Lost my smartphone in the cab."
    result = check_text(_card(), text, judge=ModelJudge(ScriptedModel([json.dumps(VERDICT)])))
    judged = [f for f in result.findings if "LLM judge" in f.message]
    assert judged
    assert judged[0].severity == "fail"
    assert text[judged[0].start:judged[0].end] == "my smartphone"


def test_a_failing_model_leaves_the_offline_result_standing():
    def refuse(request: httpx2.Request) -> httpx2.Response:
        return httpx2.Response(500, json={"error": {"message": "boom"}})

    model = OpenAIChatModel(base_url="http://127.0.0.1:9/v1", model="m", api_key="k", timeout_seconds=2,
                            http_client=httpx2.Client(transport=httpx2.MockTransport(refuse)), max_retries=0)
    offline = check_text(_card(), "Say less.")
    judged = check_text(_card(), "Say less.", judge=ModelJudge(model))
    assert judged.verdict == offline.verdict
    assert any(f.severity == "info" for f in judged.findings)


def test_judge_is_off_unless_switched_on_and_configured():
    assert judge_from_settings(Settings()) is None
    assert judge_from_settings(Settings(consistency_llm_judge=True)) is None
    configured = Settings(consistency_llm_judge=True, llm_base_url="http://127.0.0.1:9/v1", llm_model="m")
    assert isinstance(judge_from_settings(configured), ModelJudge)
