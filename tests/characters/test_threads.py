"""Splitting into a thread: every part fits, nothing is lost or reordered, boundaries are as natural as possible."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from characters.core.platforms import grapheme_count
from characters.demo.seed import load_demo_cards
from characters.posting.threads import limit_for, measure_for, split_for_platform, split_thread, thread_hashtag

FAMILY = "👩\u200d👩\u200d👧\u200d👦"


def words_of(parts: list[str], numbered: bool) -> list[str]:
    """Return the words of the parts with the " i/n" numbering removed."""
    out: list[str] = []
    for part in parts:
        out += part.rsplit(" ", 1)[0].split() if numbered else part.split()
    return out


def test_short_text_stays_one_part_without_numbering():
    assert split_thread("  Make them want it.  ", 280) == ["Make them want it."]
    assert split_thread("   ", 280) == []


def test_sentences_are_kept_whole_when_they_fit():
    text = "First sentence here. Second one is a bit longer! Third? Fourth sentence ends it."
    parts = split_thread(text, 45, numbered=False)
    assert parts == ["First sentence here.", "Second one is a bit longer! Third?", "Fourth sentence ends it."]


def test_paragraphs_are_preferred_over_sentences():
    text = "One. Two.\n\nThree is a new paragraph. Four."
    assert split_thread(text, 35, numbered=False) == ["One. Two.", "Three is a new paragraph. Four."]


def test_numbering_is_added_and_counted_within_the_limit():
    text = " ".join(f"Sentence number {i} is here." for i in range(40))
    parts = split_thread(text, 100)
    assert len(parts) > 9  # two-digit numbering: the reserve had to grow
    assert all(grapheme_count(part) <= 100 for part in parts)
    assert [part.rsplit(" ", 1)[1] for part in parts] == [f"{i}/{len(parts)}" for i in range(1, len(parts) + 1)]


def test_a_word_longer_than_the_limit_is_broken_by_graphemes_never_inside_one():
    text = "Start " + FAMILY * 30 + " end"
    parts = split_thread(text, 10, numbered=False)
    assert "".join(parts).replace(" ", "") == text.replace(" ", "")
    for part in parts:
        assert grapheme_count(part) <= 10
        assert part.count("\u200d") % 3 == 0  # whole family emoji only


def test_platform_limits_and_measures():
    assert limit_for("bluesky") == 300
    assert limit_for("x") == 280
    assert limit_for("mastodon") == 500
    assert limit_for("bluesky", 200) == 200
    assert limit_for(None, 120) == 120
    with pytest.raises(ValueError, match="platform"):
        limit_for(None)
    link = "https://example.com/" + "a" * 100
    assert measure_for("x")(link) == 23
    assert measure_for("mastodon")(link) == 23
    assert measure_for("bluesky")(FAMILY) == 1
    assert measure_for("x")("日本") == 4  # X counts CJK as two


def test_split_for_platform_uses_the_platforms_count():
    text = ("https://example.com/" + "a" * 200 + " ") * 12
    parts = split_for_platform(text, "x")
    assert all(measure_for("x")(part) <= 280 for part in parts)
    assert len(parts) == 1 or len(parts) < len(split_for_platform(text, "bluesky"))


def test_the_card_limit_applies_when_tighter():
    parts = split_for_platform("word " * 100, "mastodon", max_chars=120)
    assert all(len(part) <= 120 for part in parts)


def test_impossible_limits_are_refused():
    with pytest.raises(ValueError, match="positive"):
        split_thread("x", 0)
    with pytest.raises(ValueError, match="numbering"):
        split_thread("word " * 50, 4)


@settings(max_examples=150, deadline=None)
@given(
    text=st.lists(st.sampled_from([*"ab .!?\n", "é", FAMILY, "日"]), max_size=600).map("".join),
    limit=st.integers(min_value=12, max_value=120),
    numbered=st.booleans(),
)
def test_every_part_fits_and_no_word_is_lost(text, limit, numbered):
    parts = split_thread(text, limit, numbered=numbered)
    assert all(0 < grapheme_count(part) <= limit for part in parts)
    assert "".join(words_of(parts, numbered and len(parts) > 1)).replace(" ", "") == "".join(text.split())


def test_a_required_hashtag_ends_every_part_once_and_each_part_fits():
    text = "Paddled past the heron again today, it did not care. #PaddleWithPip " + "Splashy loop by the mill. " * 20
    parts = split_for_platform(text, "bluesky", carry="#PaddleWithPip")
    assert len(parts) > 1
    assert all(part.rsplit(" ", 1)[0].endswith(" #PaddleWithPip") for part in parts)
    assert all(part.lower().count("#paddlewithpip") == 1 for part in parts)
    assert all(grapheme_count(part) <= limit_for("bluesky") for part in parts)
    assert [part.rsplit(" ", 1)[1] for part in parts] == [f"{i}/{len(parts)}" for i in range(1, len(parts) + 1)]


def test_a_required_hashtag_without_numbering_still_fits():
    parts = split_thread("word " * 100, 60, numbered=False, carry="#Tag")
    assert all(part.endswith(" #Tag") and grapheme_count(part) <= 60 for part in parts)
    assert " ".join(part.removesuffix(" #Tag") for part in parts).split() == ["word"] * 100


def test_the_thread_hashtag_is_the_required_one_the_draft_uses():
    pip = next(card for card in load_demo_cards() if card.name.startswith("Pip"))
    elinor = next(card for card in load_demo_cards() if "Elinor" in card.name)
    assert thread_hashtag(pip, "no tag yet") == "#PaddleWithPip"
    assert thread_hashtag(elinor, "anything #Radio") == ""
