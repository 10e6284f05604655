"""Regression gate: the checker meets its targets on the development set and on our own unseen set."""

import json
import math
from pathlib import Path

import pytest

from characters.consistency.evaluation import EvalReport, evaluate_directory, main

UNSEEN_SET = Path(__file__).parent / "fixtures" / "consistency-unseen"

RULE_KINDS = ("banned", "ai_leak", "pov", "format")
VOICE_KINDS = ("cross", "generic", "tone")


@pytest.fixture(scope="module")
def unseen() -> EvalReport:
    return evaluate_directory(UNSEEN_SET)


def assert_targets(report: EvalReport) -> None:
    summary = report.summary()
    assert summary["roc_auc"] >= 0.95, report.table()
    for kind in RULE_KINDS:
        assert summary["recall"][kind] == 1.0, (kind, report.table())
    for kind in VOICE_KINDS:
        assert summary["recall"][kind] >= 0.8, (kind, report.table())
    assert summary["false_alarm_rate"] <= 0.05, report.table()


def test_dev_set_targets(dev: EvalReport) -> None:
    assert dev.summary()["n"] == 176
    assert_targets(dev)


def test_dev_set_anachronism_recall_does_not_regress(dev: EvalReport) -> None:
    # 8 of 12: the misses are phrasings a word list cannot catch safely (docs/consistency.md lists them).
    assert dev.recall()["anachronism"] >= 8 / 12, dev.table()


def test_unseen_set_targets(unseen: EvalReport) -> None:
    assert unseen.summary()["n"] == 84
    assert_targets(unseen)
    assert unseen.recall()["anachronism"] == 1.0, unseen.table()


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
