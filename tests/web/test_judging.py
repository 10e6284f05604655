"""The optional LLM judge runs on submit when configured and its findings reach the inbox's stored check."""

import json

from sqlmodel import select

from characters.consistency.llm_judge import ModelJudge
from characters.core.models import Post
from characters.llm.adapter import ScriptedModel
from tests.factories import DEFAULT_PASSWORD, make_character, workspace_with_roles
from web.judging import JUDGE_KEY, configured_judge

VERDICT = {
    "persona_consistency": {"score": 5, "evidence": [], "explanation": "in character"},
    "linguistic_habits": {"score": 5, "evidence": [], "explanation": "same voice"},
    "era_knowledge": {"score": 2, "evidence": ["the jukebox"], "explanation": "check the era"},
}


def test_judge_is_off_by_default(app):
    with app.app_context():
        assert configured_judge() is None


def test_submit_asks_the_configured_judge(app, client, auth, session):
    people = workspace_with_roles(session)
    make_character(session, people["workspace"], people["owner"], "Walt Test")
    model = ScriptedModel([json.dumps(VERDICT)])
    app.extensions[JUDGE_KEY] = ModelJudge(model)
    auth.login("writer@fans.example", DEFAULT_PASSWORD)
    response = client.post("/w/fans/posts/new", content_type="multipart/form-data", data={
        "character": "walt-test", "parts-0-text": "Coins in the jukebox again.", "op": "submit"})
    assert response.status_code == 302
    session.rollback()  # end the read transaction: SQLite would keep showing its old snapshot
    stored = session.exec(select(Post)).one()
    assert stored.status == "in_review"
    assert any("LLM judge" in finding["message"] for finding in stored.check_findings)
    assert len(model.calls) == 1
