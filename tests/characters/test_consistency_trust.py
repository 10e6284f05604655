"""A fail an editor can trust: demo canon and short in-voice posts never fail, voice statistics alone never fail on
thin evidence (specific phrases and words can: two in a register the canon never uses, or many only another
character's canon has), confidence is stated, messages are plain words, and no input crashes the check."""

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from characters.bibles.card_data import CardData
from characters.consistency import Checker, CheckResult, check_confidence, check_text
from characters.consistency.checker import FAIL_CEILING, banded_score, confidence_of
from characters.consistency.cues import cue_counts
from characters.consistency.evaluation import cut_canon, load_card
from characters.consistency.names import World, borrowed_names
from characters.consistency.voice import small_sample_factor
from characters.demo.seed import DEMO_CARDS_DIR
from web.cli import main as cli

FIXTURES = Path(__file__).parent / "fixtures"
UNSEEN = FIXTURES / "consistency-unseen"
DEMO_SHORT_POSTS = FIXTURES / "demo-short-posts.jsonl"
# Hard rules fail on their own; every other check is voice evidence, which must never fail a post alone on thin
# evidence (a short post or a small canon).
RULE_PREFIXES = ("vocabulary.", "era.", "format.", "character.", "voice.pov", "text.", "length", "judge.")
# Short, plainly in-voice posts of the demo characters, written with the issue that found them failing.
OWN_SHORT_POSTS = [
    ("elinor-marsh", "The receiver sang all night. A fine, patient radio source near Cassiopeia. Tea at midnight."),
    ("elinor-marsh", "Wednesday. Fog on the moor. The aerials do not mind it."),
    ("elinor-marsh", "Friday. Cygnus A on time, as ever. I wish the trains were."),
    ("dez-okafor", "Lou ordered black coffee. Four sugars. Still not black coffee, Lou."),
    ("dez-okafor", "5:40. Dark blue sky. Heading home. Sleep well, night people. 🌙"),
    ("pip-the-otter", "Water you waiting for? Kayaks are ready! 🛶 #PaddleWithPip"),
    ("pip-the-otter", "Life jackets on, smiles on! 🦺😄 #PaddleWithPip"),
    ("pip-the-otter", "Sunset Paddle at 6:30 tonight! Canoes ready. 🌅 #PaddleWithPip"),
]


def demo_cards() -> dict[str, CardData]:
    """Return the demo cards by file slug ("pip-the-otter")."""
    return {path.stem: load_card(path) for path in sorted(DEMO_CARDS_DIR.glob("*.json"))}


@pytest.fixture(scope="module")
def checker() -> Checker:
    return Checker()


@pytest.fixture(scope="module")
def demo() -> dict[str, CardData]:
    return demo_cards()


def check_in_workspace(checker: Checker, cards: dict[str, CardData], slug: str, text: str) -> CheckResult:
    """Check a post as the demo workspace does: the other demo characters stand beside it."""
    others = [card for other, card in cards.items() if other != slug]
    return checker.check(cards[slug], text, others=others)


def voice_fails(result: CheckResult) -> list[str]:
    """Return the failing checks that are voice evidence rather than hard rules."""
    return [f.check for f in result.findings if f.severity == "fail" and not f.check.startswith(RULE_PREFIXES)]


def test_every_demo_characters_own_canon_passes(checker: Checker, demo: dict[str, CardData]) -> None:
    for slug, card in demo.items():
        for post in card.greenroom.canon_posts:
            result = check_in_workspace(checker, demo, slug, post)
            assert result.verdict != "fail", (slug, post, result.findings)


@pytest.mark.parametrize(("slug", "text"), OWN_SHORT_POSTS)
def test_short_in_voice_demo_posts_never_fail(
    checker: Checker, demo: dict[str, CardData], slug: str, text: str
) -> None:
    result = check_in_workspace(checker, demo, slug, text)
    assert result.verdict != "fail", result.findings
    assert result.confidence in {"low", "medium"}
    assert result.confidence_note


def _short_posts() -> list[dict[str, Any]]:
    """Return the short in-voice demo posts written blind for this check."""
    return [json.loads(line) for line in DEMO_SHORT_POSTS.read_text(encoding="utf-8").splitlines() if line.strip()]


def test_blind_short_in_voice_demo_posts_never_fail(checker: Checker, demo: dict[str, CardData]) -> None:
    by_name = {card.name: slug for slug, card in demo.items()}
    posts = _short_posts()
    assert posts
    failed = []
    for row in posts:
        slug = by_name[row["character"]]
        result = check_in_workspace(checker, demo, slug, row["text"])
        if result.verdict == "fail":
            failed.append((slug, row["text"], [f.message for f in result.findings if f.severity == "fail"]))
    assert not failed


def test_the_issues_example_passes_and_says_why_it_is_unsure(checker: Checker, demo: dict[str, CardData]) -> None:
    text = "The receiver sang all night. A fine, patient radio source near Cassiopeia. Tea at midnight."
    result = check_in_workspace(checker, demo, "elinor-marsh", text)
    assert result.verdict != "fail"
    assert result.confidence == "medium"
    assert result.confidence_note == (
        "Fairly short post (15 words): voice hints are indicative; a voice fail needs several signs to agree."
    )


@pytest.mark.parametrize(
    ("canon", "words", "confidence", "note"),
    [
        (8, 30, "low", "Pip has only 8 canon posts: voice hints are tentative and never fail a post on their own."),
        (40, 9, "low", "Short post (9 words): voice hints are tentative and never fail a post on their own."),
        (8, 9, "low", "Pip has only 8 canon posts; short post (9 words): voice hints are tentative"),
        (14, 40, "medium", "Pip has only 14 canon posts: voice hints are indicative"),
        (14, 9, "low", "Short post (9 words): voice hints"),
        (20, 20, "high", "20 canon posts and a 20-word post: enough to judge the voice."),
    ],
)
def test_confidence_depends_on_canon_size_and_post_length(canon: int, words: int, confidence: str, note: str) -> None:
    level, said = confidence_of("Pip", canon, words)
    assert level == confidence
    assert said.startswith(note)


def test_thin_canon_only_warns_about_a_voice_it_cannot_know(checker: Checker) -> None:
    card = cut_canon(load_card(UNSEEN / "personas" / "mae-delacroix.json"), 8)
    text = "SO excited!!! Our summer sale is live, shop now and tag a friend!!! Link in bio, use code SAVE20 today!!!"
    result = checker.check(card, text)
    assert not voice_fails(result), result.findings
    assert any(f.check.startswith("voice.") and f.severity == "warn" for f in result.findings)
    assert result.confidence == "low"
    assert result.confidence_note is not None
    assert result.confidence_note.startswith("Mae has only 8 canon posts")


def test_a_full_canon_fails_marketing_copy_on_agreeing_signs(checker: Checker) -> None:
    card = load_card(UNSEEN / "personas" / "mae-delacroix.json")
    text = (
        "Thrilled to announce our new season of shows! So grateful for this amazing community. "
        "Don't miss out, grab your tickets now and tag a friend who loves jazz!"
    )
    result = checker.check(card, text)
    assert result.confidence == "high"
    failed = [f for f in result.findings if f.severity == "fail"]
    assert failed
    assert "separate signs agree" in failed[0].message
    assert "marketing copy" in " ".join(f.message for f in result.findings)


def test_messages_are_plain_words(checker: Checker) -> None:
    card = load_card(UNSEEN / "personas" / "mae-delacroix.json")
    text = "Oh great, another Monday. Thanks for nothing, you people. Honestly, try to keep up with the rest of us."
    result = checker.check(card, text)
    messages = [f.message for f in result.findings if f.check.startswith("voice.")]
    assert messages
    for message in messages:
        assert "%" not in message
        assert "percentile" not in message
        assert "VADER" not in message
        assert "typical" not in message
    tone = [f for f in result.findings if f.check == "voice.tone" and "Sarcastic" in f.message]
    assert tone
    assert tone[0].start is not None
    assert tone[0].end is not None
    assert text[tone[0].start : tone[0].end] in tone[0].message


@pytest.mark.parametrize(
    ("text", "stance"),
    [
        ("There's no point anymore. Everything is ruined and nothing will ever change.", "despair"),
        ("The masses simply cannot appreciate good music. Such riff-raff are beneath me.", "snobbish"),
        ("Oh great, you people again. Congrats, genius, try to keep up.", "sarcastic"),
        ("Watching him squirm was the best part of my week. Serves him right.", "cruel"),
        ("We value your loyalty, valued customers: exciting times ahead as we level up!", "marketing"),
    ],
)
def test_stance_cues_generalise(text: str, stance: str) -> None:
    counts = cue_counts(text)
    assert counts[stance] >= 2, counts


def test_stance_cues_leave_plain_posts_alone() -> None:
    for text in ("Rain on the moor; the receiver ran all night.", "Lou tips in quarters and life advice."):
        assert not any(cue_counts(text).values())


def test_small_sample_correction_shrinks_as_canon_grows() -> None:
    factors = [small_sample_factor(n) for n in (5, 10, 20, 40)]
    assert factors == sorted(factors, reverse=True)
    assert factors[-1] > 1.0
    assert small_sample_factor(2) == float("inf")


def test_eval_command_cuts_the_canon_and_refuses_a_negative_size() -> None:
    runner = CliRunner()
    bad = runner.invoke(cli, ["eval", "consistency", str(UNSEEN), "--canon", "-1"])
    assert bad.exit_code == 2
    assert "--canon" in bad.output
    good = runner.invoke(cli, ["eval", "consistency", str(UNSEEN), "--canon", "10"])
    assert good.exit_code == 0, good.output
    assert "canon cut to 10 posts" in good.output
    assert json.loads(good.output.strip().splitlines()[-1])["n"] == 84


# --- bad input: a valid result, never a crash, never a fail from voice alone ------------------------------

BAD_INPUTS = [
    "",
    "   \n\t ",
    "x" * 100_000,
    ("Rain on Halsted, sugar. " * 5_000)[:100_000],
    "Кофе и радио. 咖啡和收音机. قهوة وراديو. coffee and radio.",
    "שלום עולם, the receiver sang all night. مرحبا بالعالم",
    "\u202eevil right-to-left override\u202c and back",
    "Family 👨‍👩‍👧‍👦 at the dock, thumbs 👍🏻👍🏿, flag 🏴󠁧󠁢󠁳󠁣󠁴󠁿, keycap 7️⃣.",
    "Cafe\u0301 and nai\u0308ve re\u0301sume\u0301 with z\u0335\u0321a\u0334l\u0337g\u0336o\u0338",
    "\u200b\u200d\u2060\ufeff",
    "!!!???...",
    "a",
]


def rule_free_card(canon: list[str]) -> CardData:
    """Return a card with a canon (possibly empty) and no rules at all."""
    return CardData.model_validate({"name": "Nobody", "extensions": {"greenroom": {"canon_posts": canon}}})


def assert_trustworthy(result: CheckResult, text: str) -> None:
    """A valid result whose fails, if any, come from hard rules or an empty draft."""
    assert 0 <= result.score <= 100
    assert result.verdict in {"pass", "warn", "fail"}
    assert result.confidence in {"low", "medium", "high"}
    for finding in result.findings:
        if finding.start is not None:
            assert finding.end is not None
            assert 0 <= finding.start <= finding.end <= len(text)
    json.dumps(result.to_dict())


@pytest.mark.parametrize("text", BAD_INPUTS)
def test_bad_input_gives_a_valid_result(checker: Checker, demo: dict[str, CardData], text: str) -> None:
    cards = [demo["pip-the-otter"], demo["elinor-marsh"], rule_free_card([]), rule_free_card(["Hi."] * 3)]
    for card in cards:
        result = checker.check(card, text, "bluesky", others=list(demo.values()))
        assert_trustworthy(result, text)
        if len(text.split()) < 12:
            assert not voice_fails(result), (card.name, text, result.findings)


def test_no_canon_and_no_rules_never_fails_a_real_post(checker: Checker) -> None:
    for card in (rule_free_card([]), rule_free_card(["One."] * 4)):
        result = checker.check(card, "Just a perfectly ordinary post about the weather today.")
        assert result.verdict != "fail"
        assert result.confidence == "low"
        assert result.confidence_note is not None
        assert "not judged" in result.confidence_note


short_text = st.text(
    alphabet=st.characters(codec="utf-8", categories=("L", "M", "N", "P", "S", "Zs", "Cf")), max_size=80
).filter(lambda t: len(t.split()) < 12)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=short_text)
def test_short_arbitrary_text_never_fails_on_voice(checker: Checker, demo: dict[str, CardData], text: str) -> None:
    for slug in ("dez-okafor", "elinor-marsh"):
        result = check_in_workspace(checker, demo, slug, text)
        assert_trustworthy(result, text)
        assert not voice_fails(result), (text, result.findings)


def test_two_phrases_in_a_register_the_canon_never_uses_fail_even_a_short_post(checker: Checker) -> None:
    card = load_card(UNSEEN / "personas" / "mae-delacroix.json")
    text = "So grateful for this journey. Never stop chasing your dreams!"
    result = checker.check(card, text)
    assert result.confidence == "low"  # a short post: voice statistics alone could not fail it
    failed = [f for f in result.findings if f.severity == "fail"]
    assert [f.check for f in failed] == ["voice.generic"], result.findings
    assert '"So grateful"' in failed[0].message
    assert "Mae's canon: none" in failed[0].message
    assert failed[0].start == 0
    assert result.confidence_note is not None
    assert "evidence at any length" in result.confidence_note


def test_register_phrases_are_judged_against_the_characters_own_canon(checker: Checker) -> None:
    brand_canon = [
        f"So grateful for our riverside crew! Never stop paddling, friends. Day {n} of summer." for n in range(12)
    ]
    text = "So grateful for this journey. Never stop chasing your dreams!"
    assert not voice_fails(checker.check(rule_free_card(brand_canon), text))  # a brand voice writes like this
    # One such phrase, or a canon too thin to say what the character never writes, is not enough.
    card = load_card(UNSEEN / "personas" / "mae-delacroix.json")
    assert not voice_fails(checker.check(card, "So grateful for the rain on Halsted tonight, sugar."))
    assert not voice_fails(checker.check(cut_canon(card, 8), text))


@pytest.mark.parametrize(
    ("text", "stance"),
    [
        # Period registers as much as modern ones; each line carries two phrases of one stance.
        ("It is hopeless, all is lost. We shall perish in the ice before spring.", "gloom"),
        ("One wonders why they let the likes of him aboard at all.", "contempt"),
        ("The new cook is a useless oaf. One wonders why they hired him.", "contempt"),  # an insult and a sneer agree
        ("The cook is fool enough to try. Any better man would have been ashamed.", "contempt"),
        ("Oh wow, you forgot again? Imagine that.", "contempt"),  # sarcasm at the reader sneers too
        ("Radio has long played a vital role in modern life, enabling people to hear the world.", "generic"),
        ("Unpopular opinion: tea beats coffee. Agree? Raise your hand if you're with me!", "generic"),
    ],
)
def test_two_phrases_of_one_stance_fail_in_any_register(checker: Checker, text: str, stance: str) -> None:
    card = load_card(UNSEEN / "personas" / "mae-delacroix.json")
    result = checker.check(card, text)
    assert result.details["register_phrases"] >= 2, result.findings
    failed = [f for f in result.findings if f.severity == "fail"]
    assert len(failed) == 1, failed
    if failed[0].check != "voice.consistency":  # a long post may fail on its signs first, which name the phrases
        assert failed[0].check == ("voice.generic" if stance == "generic" else "voice.tone"), failed
        assert "Mae's canon: none" in failed[0].message
        assert failed[0].start is not None
        assert text[failed[0].start :].startswith(failed[0].message.split('"')[1])


def test_phrases_may_hold_and_end_in_apostrophes() -> None:
    assert cue_counts("What's the use of drivin' home to nothin'.")["despair"] == 2
    assert cue_counts("She wept at her desk. Good.")["cruel"] == 1  # gloating over tears, a sentence later
    assert cue_counts("His pot shattered. Best thing I've seen all week.")["cruel"] == 1  # "I've" is a word


def test_phrases_of_different_stances_or_one_overlapping_phrase_do_not_add_up(checker: Checker) -> None:
    card = load_card(UNSEEN / "personas" / "mae-delacroix.json")
    # A tip and a joke about soggy toes are two moods, not one stance twice.
    assert not voice_fails(checker.check(card, "Tip for the weekend: nobody wants soggy toes, sugar."))
    # Two patterns matching the same words are one phrase.
    assert cue_counts("It is hopeless.")["despair"] == 1
    assert not voice_fails(checker.check(card, "It is hopeless, sugar. The coffee machine broke again."))


def test_a_register_the_canon_rarely_uses_needs_one_phrase_more(checker: Checker) -> None:
    canon = [f"Rain on Halsted, set {n} done, tips in the jar." for n in range(19)]
    canon.append("So grateful for the band tonight.")  # one marketing phrase in twenty posts
    card = rule_free_card(canon)
    two = "So grateful tonight. Never stop, sugar."
    three = "So grateful tonight. Never stop, sugar. Link in bio."
    assert cue_counts(two)["marketing"] == 2
    assert cue_counts(three)["marketing"] == 3
    assert not voice_fails(checker.check(card, two))
    failed = [f for f in checker.check(card, three).findings if f.severity == "fail"]
    assert [f.check for f in failed] == ["voice.generic"]
    assert "canon: rarely" in failed[0].message


def test_character_ngrams_corroborate_a_lean_the_words_already_show(checker: Checker) -> None:
    holdout = {path.stem: load_card(path) for path in sorted((FIXTURES / "consistency-holdout" / "personas").glob("*"))}
    dale = holdout.pop("dale-wicker")
    text = "Mrs. Hale's pie this evening was dried apple, and she cut me the larger piece. Providence is plain to see."
    result = checker.check(dale, text, others=list(holdout.values()))
    assert result.details["ngram_lean_margin"] > 0.02
    failed = [f for f in result.findings if f.severity == "fail"]
    assert [f.check for f in failed] == ["voice.sounds_like"], result.findings
    assert "Clara Whitcomb" in failed[0].message
    assert "wording close to Clara's canon" in failed[0].message
    # Alone the n-grams are not a sign: without the other characters there is nothing to corroborate.
    assert not voice_fails(checker.check(dale, text))


def test_the_score_bands_with_the_verdict(checker: Checker, demo: dict[str, CardData]) -> None:
    passing = check_in_workspace(checker, demo, "elinor-marsh", OWN_SHORT_POSTS[0][1])
    banned = demo["elinor-marsh"].greenroom.vocabulary.banned[0].term
    failing = check_in_workspace(checker, demo, "elinor-marsh", f"The receiver sang all night, {banned}.")
    assert failing.verdict == "fail"
    assert failing.score <= FAIL_CEILING < passing.score
    assert [banded_score(raw, "pass") for raw in (0, 50, 100)] == [FAIL_CEILING + 1, 60, 100]
    assert [banded_score(raw, "fail") for raw in (0, 40, 100)] == [0, FAIL_CEILING, FAIL_CEILING]


def test_the_confidence_comes_without_a_second_check(demo: dict[str, CardData]) -> None:
    for slug, text in OWN_SHORT_POSTS + [("elinor-marsh", " ".join(["Fog on the moor and tea."] * 5))]:
        result = check_text(demo[slug], text, cache_key=f"confidence-{slug}")
        assert check_confidence(demo[slug], text, cache_key=f"confidence-{slug}") == (
            result.confidence,
            result.confidence_note,
        )
    assert check_confidence(rule_free_card(["One."] * 4), "Hello there.")[0] == "low"


def _world_card(name: str, canon: list[str]) -> CardData:
    return CardData.model_validate({"name": name, "extensions": {"greenroom": {"canon_posts": canon}}})


def test_names_from_another_characters_world_are_evidence_not_common_words() -> None:
    june = World.of(
        _world_card("June Kowalski", ["Letter from Eddie today!", "Danced with Marge and told Eddie all about it."])
    )
    kit = World.of(_world_card("Kit Nakamura", ["Rewound tapes all Tuesday. Dwayne rented Rambo."]))
    assert {"eddie", "kowalski"} <= june.names  # "June" is also a month: not a name to look for
    assert "marge" not in june.names  # used once inside a sentence: maybe a name, maybe not
    assert borrowed_names("Wrote Eddie a letter and sealed it with lipstick.", kit, june) == ["Eddie"]
    # Days, titles and words at the start of a sentence are not borrowed names; nor are names Kit's canon uses.
    assert borrowed_names("Eddie called. It was Tuesday, said Mr Feeney.", kit, june) == []
    assert borrowed_names("Told Dwayne about Eddie.", World.of(_world_card("Kit", ["Eddie rents Alien."])), june) == []
