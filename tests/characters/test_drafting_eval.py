"""`greenroom eval drafting`: the shipped briefs, the records, the metrics, and the command over real HTTP."""

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from characters.consistency.evaluation import load_card
from characters.demo.seed import DEMO_CARDS_DIR
from characters.drafting.evaluation import ANY, eval_cards, load_briefs, on_brief, run_eval
from characters.llm.adapter import ScriptedModel
from tests.services.llm.fake_openai import Reply, fake_openai_server
from web.cli import main as cli

DEMO = sorted(DEMO_CARDS_DIR.glob("*.json"))


def test_every_demo_character_has_ten_briefs_and_audience_messages_with_key_terms():
    total = 0
    for path in DEMO:
        briefs = load_briefs(path.stem)
        assert [b.kind for b in briefs].count("generate") == 10
        assert "reply" in [b.kind for b in briefs]
        assert all(b.terms and b.text for b in briefs)
        total += len(briefs)
    assert total == 35  # 30 briefs and 5 audience messages
    assert load_briefs("someone-else") == load_briefs(ANY)


def test_a_variant_is_on_brief_when_a_key_term_starts_one_of_its_words():
    assert on_brief("Frozen fingers at 3 a.m.", ["frost", "frozen"])
    assert on_brief("The receiver's hum.", ["receiver"])
    assert not on_brief("Defrosted bread.", ["frost"])  # only the start of a word counts
    assert not on_brief("Lantern's lit.", ["heron"])


def test_the_summary_counts_what_a_reader_would_reject(tmp_path: Path):
    card = load_card(DEMO_CARDS_DIR / "dez-okafor.json")
    canon = card.greenroom.canon_posts[0]
    answers = [
        '{"text": "Frost on the window, frozen fingers on the cups. Lantern\'s lit."}',  # fine, on brief
        json.dumps({"text": canon}),  # a canon copy, off brief; its repair copies again
        json.dumps({"text": canon}),
        "{oops",  # malformed, and again when asked once more
        "{oops",
        '{"text": "Sure! Here is a post: Finals week. Flashcards everywhere. Coffee for the nursing students."}',
    ]
    out = tmp_path / "records.jsonl"
    report = run_eval(ScriptedModel(answers), [("dez-okafor", card)], n=2, limit=2, out=out)
    summary = report.summary()
    records = [json.loads(line) for line in out.read_text().splitlines()]
    assert len(records) == summary["requested"] == 4
    assert summary["produced"] == 3
    assert summary["malformed"] == 1
    assert summary["canon_copy_rate"] == round(1 / 3, 3)
    assert summary["meta_talk_rate"] == 0  # the framing was stripped before the text was shown
    assert summary["off_brief_rate"] == round(1 / 3, 3)
    assert summary["latency_p50_ms"] is not None
    assert summary["prompt_tokens"] > 0
    assert {r["brief"] for r in records} == {b.text for b in load_briefs("dez-okafor")[:2]}
    table = report.table()
    assert table.splitlines()[0].startswith("| character |")
    assert "| dez-okafor |" in table
    assert "| all |" in table


def test_repairable_fails_and_their_repairs_are_counted():
    card = load_card(DEMO_CARDS_DIR / "elinor-marsh.json")  # no emoji, no hashtags
    answers = ['{"text": "Fog on the moor again 😀 #Fernmoor. The aerials do not mind it."}']
    summary = run_eval(ScriptedModel(answers), [("elinor-marsh", card)], n=1, limit=1).summary()
    assert summary["repairable_fails"] == 1
    assert summary["repair_success_rate"] == 1.0
    assert summary["pass_first_try"] == 0
    assert summary["pass_after_repair"] == 1.0


def test_eval_drafting_runs_the_configured_model_over_http(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    card_file = tmp_path / "walt.json"
    card_file.write_text((DEMO_CARDS_DIR / "pip-the-otter.json").read_text())
    out = tmp_path / "records.jsonl"
    with fake_openai_server() as fake:
        fake.reject_json_schema = True
        fake.default = Reply(content='{"text": "Kayaks are ready! 🛶 Water you waiting for? #PaddleWithPip"}')
        monkeypatch.setenv("LLM_BASE_URL", fake.url)
        monkeypatch.setenv("LLM_MODEL", "fake")
        result = CliRunner().invoke(
            cli,
            ["eval", "drafting", "--character", str(card_file), "--limit", "1", "--variants", "2", "--out", str(out)],
        )
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout.strip().splitlines()[-1])
    assert summary["model"] == "fake"
    assert (summary["requested"], summary["malformed"]) == (2, 0)
    assert len(out.read_text().splitlines()) == 2
    assert "| walt |" in result.stdout


def test_eval_drafting_needs_a_model(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("LLM_BASE_URL", "")
    monkeypatch.setenv("LLM_MODEL", "")
    result = CliRunner().invoke(cli, ["eval", "drafting"])
    assert result.exit_code != 0
    assert "LLM_BASE_URL" in result.output


def test_demo_cards_load_for_the_eval():
    assert [slug for slug, _ in eval_cards(DEMO)] == ["dez-okafor", "elinor-marsh", "pip-the-otter"]
