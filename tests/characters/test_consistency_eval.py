"""Regression gate: no false fails at any canon size, and the recall the checker reaches, on every labelled set."""

import json
import math
from pathlib import Path

import pytest

from characters.consistency.evaluation import EvalReport, cut_canon, evaluate_directory, load_card, main

UNSEEN_SET = Path(__file__).parent / "fixtures" / "consistency-unseen"
HOLDOUT_SET = Path(__file__).parent / "fixtures" / "consistency-holdout"  # reported on, tuned on since 2026-12-03
FRESH_SET = Path(__file__).parent / "fixtures" / "consistency-fresh"  # written blind, tuned on in the third session
BLIND2_SET = Path(__file__).parent / "fixtures" / "consistency-blind2"  # written blind 2026-12-03, run once, then fixed
BLIND3_SET = (
    Path(__file__).parent / "fixtures" / "consistency-blind3"
)  # written blind 2026-12-03 (4th session), run once

BLIND4_SET = Path(__file__).parent / "fixtures" / "consistency-blind4"  # written blind this session, run once

RULE_KINDS = ("banned", "ai_leak", "pov", "format")


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
    # Measured 0.55 / 0.92 / 0.92: most cross misses lean to the other voice on one kind of evidence only (a style
    # lean whose words disagree no longer counts: it failed an in-voice post of the blind2 set).
    assert_targets(dev, {"cross": 0.55, "generic": 0.9, "tone": 0.9})


# Measured on 2026-12-03, fifth session (docs/consistency.md), after the lexicon helper's last rows: per set and
# canon size N, the ROC-AUC and how many posts of each out-kind fail. A change that loses any of it fails here; one
# that gains should raise the figures. No in-voice post fails in any of them (the false-alarm target is 3 %).
# blind2 and blind3 were each run once blind and fixed after (docs); fresh and blind3 were held out from this
# session's tuning, but blind3's tone and generic misses were quoted in its brief: none of these is blind now.
MEASURED: dict[tuple[str, int], tuple[float, dict[str, int]]] = {
    ("dev", 5): (
        0.947,
        {"ai_leak": 12, "anachronism": 10, "banned": 12, "cross": 5, "format": 12, "generic": 1, "pov": 12},
    ),
    ("dev", 10): (
        0.968,
        {
            "ai_leak": 12,
            "anachronism": 10,
            "banned": 12,
            "cross": 10,
            "format": 12,
            "generic": 22,
            "pov": 12,
            "tone": 11,
        },
    ),
    ("dev", 20): (
        0.978,
        {
            "ai_leak": 12,
            "anachronism": 10,
            "banned": 12,
            "cross": 11,
            "format": 12,
            "generic": 21,
            "pov": 12,
            "tone": 12,
        },
    ),
    ("dev", 40): (
        0.987,
        {
            "ai_leak": 12,
            "anachronism": 10,
            "banned": 12,
            "cross": 11,
            "format": 12,
            "generic": 22,
            "pov": 12,
            "tone": 12,
        },
    ),
    ("holdout", 5): (0.94, {"ai_leak": 12, "anachronism": 13, "banned": 12, "cross": 5, "format": 12, "pov": 12}),
    ("holdout", 10): (
        0.965,
        {
            "ai_leak": 12,
            "anachronism": 13,
            "banned": 12,
            "cross": 9,
            "format": 12,
            "generic": 18,
            "pov": 12,
            "tone": 11,
        },
    ),
    ("holdout", 20): (
        0.976,
        {
            "ai_leak": 12,
            "anachronism": 13,
            "banned": 12,
            "cross": 14,
            "format": 12,
            "generic": 20,
            "pov": 12,
            "tone": 13,
        },
    ),
    ("holdout", 40): (
        0.986,
        {
            "ai_leak": 12,
            "anachronism": 13,
            "banned": 12,
            "cross": 15,
            "format": 12,
            "generic": 19,
            "pov": 12,
            "tone": 13,
        },
    ),
    ("unseen", 5): (0.991, {"ai_leak": 6, "anachronism": 4, "banned": 6, "format": 6, "generic": 1, "pov": 6}),
    ("unseen", 10): (
        0.987,
        {"ai_leak": 6, "anachronism": 4, "banned": 6, "cross": 1, "format": 6, "generic": 9, "pov": 6, "tone": 5},
    ),
    ("unseen", 20): (
        0.989,
        {"ai_leak": 6, "anachronism": 4, "banned": 6, "cross": 5, "format": 6, "generic": 10, "pov": 6, "tone": 5},
    ),
    ("unseen", 40): (
        0.992,
        {"ai_leak": 6, "anachronism": 4, "banned": 6, "cross": 6, "format": 6, "generic": 10, "pov": 6, "tone": 5},
    ),
    ("blind2", 5): (0.941, {"ai_leak": 9, "anachronism": 12, "banned": 9, "format": 9, "pov": 9}),
    ("blind2", 10): (
        0.956,
        {"ai_leak": 9, "anachronism": 12, "banned": 9, "cross": 4, "format": 9, "generic": 15, "pov": 9, "tone": 10},
    ),
    ("blind2", 20): (
        0.959,
        {"ai_leak": 9, "anachronism": 12, "banned": 9, "cross": 7, "format": 9, "generic": 14, "pov": 9, "tone": 11},
    ),
    ("blind2", 40): (
        0.963,
        {"ai_leak": 9, "anachronism": 12, "banned": 9, "cross": 6, "format": 9, "generic": 14, "pov": 9, "tone": 10},
    ),
    ("fresh", 5): (0.915, {"ai_leak": 9, "anachronism": 13, "banned": 9, "cross": 1, "format": 9, "pov": 9}),
    ("fresh", 10): (
        0.955,
        {"ai_leak": 9, "anachronism": 13, "banned": 9, "cross": 4, "format": 9, "generic": 15, "pov": 9, "tone": 10},
    ),
    ("fresh", 20): (
        0.973,
        {"ai_leak": 9, "anachronism": 13, "banned": 9, "cross": 8, "format": 9, "generic": 15, "pov": 9, "tone": 10},
    ),
    ("fresh", 40): (
        0.983,
        {"ai_leak": 9, "anachronism": 13, "banned": 9, "cross": 10, "format": 9, "generic": 15, "pov": 9, "tone": 11},
    ),
    ("blind3", 5): (
        0.955,
        {"ai_leak": 12, "anachronism": 23, "banned": 12, "format": 12, "generic": 2, "pov": 12, "tone": 3},
    ),
    ("blind3", 10): (
        0.948,
        {
            "ai_leak": 12,
            "anachronism": 23,
            "banned": 12,
            "cross": 5,
            "format": 12,
            "generic": 14,
            "pov": 12,
            "tone": 14,
        },
    ),
    ("blind3", 20): (
        0.972,
        {
            "ai_leak": 12,
            "anachronism": 23,
            "banned": 12,
            "cross": 11,
            "format": 12,
            "generic": 15,
            "pov": 12,
            "tone": 15,
        },
    ),
    ("blind3", 40): (
        0.978,
        {
            "ai_leak": 12,
            "anachronism": 23,
            "banned": 12,
            "cross": 13,
            "format": 12,
            "generic": 16,
            "pov": 12,
            "tone": 16,
        },
    ),
}


# blind4 after its one blind run and the three general fixes it prompted (docs/consistency.md, sixth session): the
# first set on which the checker is far from its targets, pinned so it cannot get worse. One in-voice post fails
# at N = 5 ("We hissed every name ...": a collective "we" from a character whose five canon posts never say it).
BLIND4_MEASURED = {
    5: (0.824, 1, {"ai_leak": 10, "anachronism": 19, "banned": 10, "cross": 3, "format": 10, "pov": 10, "tone": 2}),
    10: (0.864, 0, {"ai_leak": 10, "anachronism": 19, "banned": 10, "cross": 15, "format": 10, "generic": 9,
                    "pov": 10, "tone": 11}),
    20: (0.875, 0, {"ai_leak": 10, "anachronism": 19, "banned": 10, "cross": 19, "format": 10, "generic": 13,
                    "pov": 10, "tone": 13}),
    40: (0.880, 0, {"ai_leak": 10, "anachronism": 19, "banned": 10, "cross": 20, "format": 10, "generic": 12,
                    "pov": 10, "tone": 12}),
}


@pytest.mark.parametrize("canon", list(BLIND4_MEASURED))
def test_blind4_figures_hold_at_every_canon_size(canon: int) -> None:
    report = evaluate_directory(BLIND4_SET, canon=canon)
    auc, false_alarms, flagged = BLIND4_MEASURED[canon]
    assert sum(o.flagged for o in report.outcomes if o.label == "in") <= false_alarms, report.table()
    assert report.roc_auc() >= auc - 0.0005, report.table()
    for kind, count in flagged.items():
        assert sum(o.flagged for o in report.outcomes if o.kind == kind) >= count, (kind, report.table())


@pytest.mark.parametrize(("name", "canon"), list(MEASURED))
def test_measured_figures_hold_at_every_canon_size(name: str, canon: int, eval_dev_set: Path) -> None:
    sets = {
        "dev": eval_dev_set,
        "holdout": HOLDOUT_SET,
        "unseen": UNSEEN_SET,
        "fresh": FRESH_SET,
        "blind2": BLIND2_SET,
        "blind3": BLIND3_SET,
    }
    directory = sets[name]
    report = evaluate_directory(directory, canon=canon)
    auc, flagged = MEASURED[name, canon]
    assert report.false_alarm_rate() == 0.0, report.table()
    assert report.roc_auc() >= auc - 0.0005, report.table()
    for kind, count in flagged.items():
        assert sum(o.flagged for o in report.outcomes if o.kind == kind) >= count, (kind, report.table())


def test_canon_cut_keeps_the_first_posts_and_refuses_negative_sizes() -> None:
    card = load_card(UNSEEN_SET / "personas" / "jess-tran.json")
    cut = cut_canon(card, 3)
    assert cut.greenroom.canon_posts == card.greenroom.canon_posts[:3]
    assert cut.greenroom.voice == card.greenroom.voice
    assert cut_canon(card, 0).greenroom.canon_posts == []
    with pytest.raises(ValueError, match="0 or more"):
        cut_canon(card, -1)


def test_dev_set_anachronism_recall_does_not_regress(dev: EvalReport) -> None:
    # 10 of 12: the misses are phrasings a word list cannot catch safely (docs/consistency.md lists them).
    assert dev.recall()["anachronism"] >= 10 / 12, dev.table()


def test_unseen_set_targets(unseen: EvalReport) -> None:
    assert unseen.summary()["n"] == 84
    # Measured 0.6 / 0.9 / 0.67 (most cross misses lean to the other voice with one sign only: they warn).
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
