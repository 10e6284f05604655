"""Regression gate: no false fails at any canon size, and the recall the checker reaches, on the dev and unseen sets."""

import json
import math
from pathlib import Path

import pytest

from characters.consistency.evaluation import EvalReport, cut_canon, evaluate_directory, load_card, main

UNSEEN_SET = Path(__file__).parent / "fixtures" / "consistency-unseen"

RULE_KINDS = ("banned", "ai_leak", "pov", "format")
CANON_SIZES = (5, 10, 20)  # and 40, the full canon, in the `dev` and `unseen` fixtures


@pytest.fixture(scope="module")
def unseen() -> EvalReport:
    return evaluate_directory(UNSEEN_SET)


def assert_targets(report: EvalReport, voice_recall: dict[str, float]) -> None:
    summary = report.summary()
    assert summary["roc_auc"] >= 0.95, report.table()
    for kind in RULE_KINDS:
        assert summary["recall"][kind] == 1.0, (kind, report.table())
    for kind, floor in voice_recall.items():
        assert summary["recall"][kind] >= floor, (kind, report.table())
    # An editor must be able to trust a fail: at most 3 % of in-voice posts may get one.
    assert summary["false_alarm_rate"] <= 0.03, report.table()


def test_dev_set_targets(dev: EvalReport) -> None:
    assert dev.summary()["n"] == 176
    # Measured 0.55 / 0.79 / 0.75: the misses are mostly short cross posts, which only warn by design.
    assert_targets(dev, {"cross": 0.5, "generic": 0.75, "tone": 0.7})


@pytest.mark.parametrize("canon", CANON_SIZES)
def test_false_alarms_hold_at_every_canon_size(canon: int, eval_dev_set: Path) -> None:
    for directory in (eval_dev_set, UNSEEN_SET):
        report = evaluate_directory(directory, canon=canon)
        assert report.false_alarm_rate() <= 0.03, report.table()
        assert report.roc_auc() >= (0.92 if canon >= 10 else 0.88), report.table()


def test_canon_cut_keeps_the_first_posts_and_refuses_negative_sizes() -> None:
    card = load_card(UNSEEN_SET / "personas" / "jess-tran.json")
    cut = cut_canon(card, 3)
    assert cut.greenroom.canon_posts == card.greenroom.canon_posts[:3]
    assert cut.greenroom.voice == card.greenroom.voice
    assert cut_canon(card, 0).greenroom.canon_posts == []
    with pytest.raises(ValueError, match="0 or more"):
        cut_canon(card, -1)


def test_dev_set_anachronism_recall_does_not_regress(dev: EvalReport) -> None:
    # 8 of 12: the misses are phrasings a word list cannot catch safely (docs/consistency.md lists them).
    assert dev.recall()["anachronism"] >= 8 / 12, dev.table()


def test_unseen_set_targets(unseen: EvalReport) -> None:
    assert unseen.summary()["n"] == 84
    # Measured 0.5 / 1.0 / 0.67 (3 of 5 cross posts lean to the other voice with one sign only: they warn).
    assert_targets(unseen, {"cross": 0.5, "generic": 0.8, "tone": 0.65})
    # The lexicon's own gate is tests/characters/test_lexicon.py; this only catches a collapse.
    assert unseen.recall()["anachronism"] >= 0.75, unseen.table()


def test_report_table_and_summary(unseen: EvalReport) -> None:
    table = unseen.table()
    for expected in ("overall", "jess-tran", "mae-delacroix", "ROC-AUC", "false alarms", "median check time"):
        assert expected in table
    summary = unseen.summary()
    assert set(summary) == {"roc_auc", "recall", "false_alarm_rate", "median_ms", "n"}
    json.dumps(summary)
    assert not math.isnan(unseen.roc_auc("jess-tran"))


def test_evaluation_reads_only_persona_and_text(tmp_path: Path) -> None:
    (tmp_path / "personas").mkdir()
    card = json.loads((UNSEEN_SET / "personas" / "jess-tran.json").read_text())
    (tmp_path / "personas" / "jess.json").write_text(json.dumps(card))
    posts = [
        {"persona": "jess", "text": "bearings clean, coffee hot, door open", "label": "in", "kind": "heldout"},
        {"persona": "jess", "text": "BUY NOW!!! Link in bio!!!", "label": "out", "kind": "generic"},
    ]
    (tmp_path / "posts.jsonl").write_text("\n".join(json.dumps(p) for p in posts))
    report = evaluate_directory(tmp_path)
    assert [o.kind for o in report.outcomes] == ["heldout", "generic"]
    assert report.outcomes[0].score > report.outcomes[1].score
    (tmp_path / "posts.jsonl").write_text(json.dumps({**posts[0], "persona": "nobody"}))
    with pytest.raises(ValueError, match="nobody"):
        evaluate_directory(tmp_path)


def test_command_line_prints_table_then_json(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([str(UNSEEN_SET)]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert lines[0].startswith("consistency eval:")
    assert json.loads(lines[-1])["n"] == 84
    assert main([]) == 2
    assert main([str(UNSEEN_SET), "--canon", "-1"]) == 2
    assert main([str(UNSEEN_SET), "--canon", "5"]) == 0
    assert "canon cut to 5 posts" in capsys.readouterr().out
