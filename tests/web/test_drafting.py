"""Drafting endpoints with a scripted model: JSON and SSE, records, errors, the disabled state, permissions."""

import json
from typing import Any

import pytest
from sqlmodel import select

from characters.consistency import check_text
from characters.core.models import Generation, Workspace
from characters.llm.adapter import LlmAuthError, LlmTimeout, ScriptedModel
from tests.factories import DEFAULT_PASSWORD, make_card, make_character, workspace_with_roles

GOOD = '{"text": "Coffee first. Then the pitch."}'
GOOD2 = '{"text": "The client wants it. Coffee helped."}'
GOOD3 = '{"text": "Pitch at nine. Coffee at eight."}'
EMOJI = '{"text": "Coffee first 😀"}'


@pytest.fixture
def team(session):
    people = workspace_with_roles(session)
    make_character(
        session,
        people["workspace"],
        people["owner"],
        "Walt Test",
        voice={"emoji": "never", "hashtags": {"max": 2, "allowed": ["#MadMen", "#Coffee"]}},
        canon_posts=["Make them want it.", "Coffee first. Then the pitch."],
    )
    return people


@pytest.fixture
def model(app):
    scripted = ScriptedModel([GOOD, GOOD2, GOOD3])
    app.extensions["greenroom.llm"] = scripted
    return scripted


def login(auth, role: str) -> None:
    auth.login(f"{role}@fans.example", DEFAULT_PASSWORD)


def sse(response) -> list[tuple[str, dict[str, Any]]]:
    """Parse a server-sent events body into (event, data) pairs."""
    assert response.mimetype == "text/event-stream"
    events = []
    for block in response.get_data(as_text=True).split("\n\n"):
        if block.strip():
            lines = dict(line.split(": ", 1) for line in block.splitlines())
            events.append((lines["event"], json.loads(lines["data"])))
    return events


def test_generate_returns_checked_variants_as_json(client, auth, team, model, session):
    login(auth, "writer")
    response = client.post(
        "/w/fans/drafting/generate", json={"character": "walt-test", "brief": "coffee", "n": 2, "platform": "bluesky"}
    )
    assert response.status_code == 200
    answer = response.get_json()
    assert [v["text"] for v in answer["variants"]] == [
        "Coffee first. Then the pitch.",
        "The client wants it. Coffee helped.",
    ]
    assert all(v["check"]["verdict"] in ("pass", "warn") and not v["repaired"] for v in answer["variants"])
    assert "calls" not in answer["variants"][0]
    assert answer["prompt"]["messages"][-1]["content"].startswith("The writer's brief: coffee")
    rows = session.exec(select(Generation)).all()
    assert len(rows) == 2
    assert {r.kind for r in rows} == {"generate"}
    assert rows[0].model == "scripted"
    assert rows[0].prompt is None  # the workspace did not ask to keep prompts
    assert rows[0].prompt_tokens
    assert rows[0].completion_tokens


def test_streamed_generation_sends_prompt_deltas_variants_and_done(client, auth, team, model):
    login(auth, "writer")
    response = client.post("/w/fans/drafting/generate/stream", json={"character": "walt-test", "brief": "coffee"})
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-cache"
    events = sse(response)
    names = [name for name, _ in events]
    assert names[0] == "prompt"
    assert names[-1] == "done"
    assert names.count("variant") == 3
    streamed = "".join(data["text"] for name, data in events if name == "delta" and data["variant"] == 0)
    assert streamed == "Coffee first. Then the pitch."
    assert events[-1][1]["variants"] == 3


def test_a_hard_rule_failure_is_repaired_by_rule_and_shown(client, auth, team, app):
    app.extensions["greenroom.llm"] = ScriptedModel([EMOJI, GOOD])
    login(auth, "writer")
    events = sse(
        client.post("/w/fans/drafting/generate/stream", json={"character": "walt-test", "brief": "coffee", "n": 1})
    )
    names = [name for name, _ in events]
    assert names.index("repairing") < names.index("variant")
    assert "no emoji" in [data for name, data in events if name == "repairing"][0]["findings"][0]["message"]
    variant = [data for name, data in events if name == "variant"][0]
    assert (variant["repaired"], variant["repair"]) == (True, "rules")
    assert variant["before_repair"]["check"]["verdict"] == "fail"
    assert variant["text"] == "Coffee first"
    assert not [data for name, data in events if name == "prompt" and data["repair"]]  # no second model call


def test_store_prompts_keeps_the_exact_messages(client, auth, team, model, session):
    workspace = session.exec(select(Workspace)).one()
    workspace.store_prompts = True
    session.add(workspace)
    session.commit()
    login(auth, "writer")
    client.post("/w/fans/drafting/generate", json={"character": "walt-test", "brief": "coffee", "n": 1})
    row = session.exec(select(Generation)).one()
    assert row.prompt
    assert row.prompt[0]["messages"] == model.calls[0].messages


def test_rewrite_and_reply(client, auth, team, model):
    login(auth, "writer")
    response = client.post(
        "/w/fans/drafting/rewrite", json={"character": "walt-test", "draft": "Coffee 😀", "mode": "fix"}
    )
    assert response.status_code == 200
    assert len(response.get_json()["variants"]) == 1
    assert "no emoji" in model.calls[-1].messages[-1]["content"]
    response = client.post("/w/fans/drafting/reply", json={"character": "walt-test", "post": "Tea > coffee", "n": 1})
    assert response.status_code == 200
    assert "Tea > coffee" in model.calls[-1].messages[-1]["content"]


def test_the_editor_offers_fix_the_findings_only_with_a_model(client, auth, team, app):
    login(auth, "writer")
    app.extensions["greenroom.llm"] = ScriptedModel(['{"text": "Coffee first."}'])
    page = client.get("/w/fans/posts/new").get_data(as_text=True)
    assert 'id="fix-findings"' in page
    assert 'data-url="/w/fans/drafting/rewrite"' in page
    assert 'data-mode="fix"' not in page  # one "Fix the findings", beside the findings it fixes
    # What the button sends: the part with findings; the rewrite comes back checked again, nothing is saved.
    response = client.post(
        "/w/fans/drafting/rewrite", json={"character": "walt-test", "draft": "Coffee 😀", "mode": "fix"}
    )
    [variant] = response.get_json()["variants"]
    assert variant["text"] == "Coffee first."
    assert variant["check"]["verdict"] != "fail"
    assert "Fix: Delete '😀'." in app.extensions["greenroom.llm"].calls[0].messages[-1]["content"]
    app.extensions["greenroom.llm"] = None
    assert 'id="fix-findings"' not in client.get("/w/fans/posts/new").get_data(as_text=True)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"brief": "x"}, "character"),
        ({"character": "walt-test", "brief": "  "}, "brief"),
        ({"character": "walt-test", "brief": "x", "n": 9}, "n"),
        ({"character": "walt-test", "brief": "x", "n": "many"}, "n"),
        ({"character": "walt-test", "brief": "x", "platform": "myspace"}, "platform"),
    ],
)
def test_bad_input_gets_a_clear_json_error(client, auth, team, model, body, field):
    login(auth, "writer")
    response = client.post("/w/fans/drafting/generate", json=body)
    assert response.status_code == 400
    assert response.get_json()["field"] == field


def test_unknown_character_and_action_are_404(client, auth, team, model):
    login(auth, "writer")
    assert client.post("/w/fans/drafting/generate", json={"character": "nobody", "brief": "x"}).status_code == 404
    assert client.post("/w/fans/drafting/summon", json={"character": "walt-test"}).status_code == 404


@pytest.mark.parametrize(
    ("error", "kind"),
    [
        (LlmTimeout("The model did not answer."), "timeout"),
        (LlmAuthError("The model server refused the API key."), "auth"),
    ],
)
def test_model_failures_become_clear_messages_and_are_recorded(client, auth, team, app, session, error, kind):
    app.extensions["greenroom.llm"] = ScriptedModel([error])
    login(auth, "writer")
    response = client.post("/w/fans/drafting/generate", json={"character": "walt-test", "brief": "coffee"})
    assert response.status_code == 502
    assert response.get_json()["error"] == error.message
    assert response.get_json()["kind"] == kind
    events = sse(client.post("/w/fans/drafting/generate/stream", json={"character": "walt-test", "brief": "c"}))
    assert [name for name, _ in events] == ["prompt", "error", "done"]
    assert session.exec(select(Generation)).first().error.startswith(kind)


def test_a_malformed_answer_loses_only_that_variant(client, auth, team, app):
    app.extensions["greenroom.llm"] = ScriptedModel(["not json", "not json", GOOD, GOOD2])  # asked twice
    login(auth, "writer")
    answer = client.post("/w/fans/drafting/generate", json={"character": "walt-test", "brief": "c"}).get_json()
    assert [e["kind"] for e in answer["errors"]] == ["malformed_json"]
    assert len(answer["variants"]) == 2


def test_without_a_model_generation_is_off_but_tools_work(client, auth, team, app):
    app.extensions.pop("greenroom.llm", None)  # the test settings have no LLM_BASE_URL/LLM_MODEL
    login(auth, "writer")
    response = client.post("/w/fans/drafting/generate", json={"character": "walt-test", "brief": "coffee"})
    assert response.status_code == 503
    assert "LLM_BASE_URL" in response.get_json()["error"]
    assert client.post("/w/fans/drafting/generate/stream", json={"character": "walt-test"}).status_code == 503
    thread = client.post(
        "/w/fans/drafting/thread", json={"character": "walt-test", "platform": "x", "draft": "Make them want it. " * 40}
    )
    assert thread.status_code == 200
    assert len(thread.get_json()["parts"]) > 1
    tags = client.post("/w/fans/drafting/hashtags", json={"character": "walt-test", "draft": "more coffee"})
    assert tags.get_json()["hashtags"][0] == "#Coffee"


def test_thread_needs_a_draft_and_a_limit(client, auth, team, model):
    login(auth, "writer")
    assert client.post("/w/fans/drafting/thread", json={"character": "walt-test", "draft": ""}).status_code == 400
    response = client.post("/w/fans/drafting/thread", json={"character": "walt-test", "draft": "x"})
    assert response.status_code == 400
    assert response.get_json()["field"] == "platform"


def test_the_panel_explains_why_generation_is_off(app, team):
    from flask import render_template_string

    from characters.accounts.workspaces import Member
    from characters.core.models import Role, User
    from web.database import get_session

    app.extensions.pop("greenroom.llm", None)
    with app.test_request_context("/w/fans/posts/new"):
        db = get_session()
        member = Member(
            db.exec(select(Workspace)).one(),
            db.exec(select(User).where(User.email == "writer@fans.example")).one(),
            Role.WRITER,
        )
        html = render_template_string('{% include "posts/_assist.html" %}', member=member)
    assert "Generation is off" in html
    assert html.count("disabled aria-describedby") == 3
    assert 'data-assist="thread"' in html


def test_viewers_cannot_generate_or_split(client, auth, team, model):
    login(auth, "viewer")
    assert client.post("/w/fans/drafting/generate", json={"character": "walt-test", "brief": "x"}).status_code == 403
    assert client.post("/w/fans/drafting/thread", json={"character": "walt-test", "draft": "x"}).status_code == 403
    assert model.calls == []


def test_generations_page_is_for_owners_and_editors(client, auth, team, model):
    login(auth, "writer")
    client.post("/w/fans/drafting/generate", json={"character": "walt-test", "brief": "coffee", "n": 1})
    assert client.get("/w/fans/drafting/generations").status_code == 403
    auth.logout()
    login(auth, "editor")
    page = client.get("/w/fans/drafting/generations")
    assert page.status_code == 200
    assert b"scripted" in page.data
    assert b"Walt Test" in page.data


def test_owners_turn_prompt_keeping_on_in_settings(client, auth, team, session):
    login(auth, "owner")
    response = client.post("/w/fans/settings", data={"name": "Fans", "two_person_rule": "y", "store_prompts": "y"})
    assert response.status_code == 302
    session.expire_all()
    assert session.exec(select(Workspace)).one().store_prompts is True
    page = client.get("/w/fans/settings")
    assert b"Keep the full prompt" in page.data
    assert b"/w/fans/drafting/generations" in page.data


class EndlessModel:
    """Streams one answer forever; notes when its stream is closed."""

    model_name = "endless"

    def __init__(self) -> None:
        self.closed = False

    def stream(self, messages, schema, options=None):  # type: ignore[no-untyped-def]
        from characters.llm.adapter import TextDelta

        try:
            yield TextDelta('{"text": "')
            while True:
                yield TextDelta("more ")
        finally:
            self.closed = True


def test_a_browser_that_goes_away_stops_the_models_stream(client, auth, team, app):
    model = EndlessModel()
    app.extensions["greenroom.llm"] = model
    login(auth, "writer")
    response = client.post(
        "/w/fans/drafting/generate/stream", json={"character": "walt-test", "brief": "c"}, buffered=False
    )
    chunks = response.response
    first = [next(chunks) for _ in range(3)]
    assert b"event: prompt" in first[0]
    assert b"event: delta" in first[2]
    response.close()  # what the server does when the connection drops
    assert model.closed


def test_a_thread_carries_the_required_hashtag_in_every_part_so_each_passes_the_rules(client, auth, team, session):
    voice = {"hashtags": {"max": 1, "required": ["#Tagged"], "allowed": ["#Tagged"]}}
    make_character(session, team["workspace"], team["owner"], "Tagged Test", voice=voice)
    login(auth, "writer")
    draft = "Morning on the pier, gulls louder than the bell. #Tagged " + "The tide turned under the boards. " * 12
    response = client.post(
        "/w/fans/drafting/thread", json={"character": "tagged-test", "platform": "bluesky", "draft": draft}
    )
    parts = response.get_json()["parts"]
    assert len(parts) > 1
    card = make_card("Tagged Test", voice=voice)
    for part in parts:
        assert part.count("#Tagged") == 1
        findings = check_text(card, part, "bluesky").findings
        assert not [f for f in findings if f.check.startswith("format") and f.severity == "fail"], part
