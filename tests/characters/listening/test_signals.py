"""Offline triage signals: questions in any script, negative tone by VADER on the words alone."""

import pytest

from characters.listening.signals import is_negative, is_question, plain_words, sentiment, triage


@pytest.mark.parametrize("text", [
    "Where is my parcel?", "is the show on tonight", "How do I get tickets", "ok. can you help me out",
    "¿Dónde está?", "ما هذا؟", "これは何ですか？", "מה השעה?", "@walt.test what time does it start",
])
def test_questions(text):
    assert is_question(text)


@pytest.mark.parametrize("text", [
    "", "   ", "Great show!", "how lovely", "lol. Do it", "👩‍👩‍👧🔥🔥", "see https://example.org/faq?x=1",
    "thanks @who.test",
])
def test_not_questions(text):
    assert not is_question(text)


@pytest.mark.parametrize("text", [
    "This is the worst airline ever 😡", "I hate this, you ruined my weekend", "terrible service, so disappointed",
])
def test_negative(text):
    assert is_negative(text)


@pytest.mark.parametrize("text", [
    "", "I love it! 😍", "not bad at all", "@sadcat.test @angry-bird.test hello", "🙂🙂", "مرحبا", "where is it?",
])
def test_not_negative(text):
    assert not is_negative(text)


def test_links_and_handles_are_not_words():
    assert plain_words("hi @sad.test see https://bad.example/awful  now") == "hi see now"
    assert sentiment("@terrible.test https://awful.example") == 0.0


def test_triage_combines_both():
    signals = triage("Why is my order late again? Awful.")
    assert signals.is_question
    assert signals.is_negative
