"""Triage signals computed offline when a conversation arrives: is it a question, is its tone negative.

Sentiment is VADER (vaderSentiment: a lexicon and rules tuned for social media text, emoji and slang included),
run on the words a person wrote: links and @handles are taken out first, so a handle like @sadcat does not read as
sadness. Questions are found by their mark in any script (? ？ ؟ ¿ ;) or by an English question word opening a
sentence ("how do I", "can you"), since people often leave the mark off.
"""

import re
import threading
from dataclasses import dataclass

from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

# VADER's own guidance: compound <= -0.05 is negative. Triage wants the clearly unhappy ones, not every "no".
NEGATIVE_COMPOUND = -0.3
QUESTION_MARKS = ("?", "？", "؟", "¿", "⁇", "❓", "❔")
_QUESTION_MARK = re.compile("[" + "".join(QUESTION_MARKS) + "]")
_QUESTION_OPENERS = frozenset((
    "who", "whom", "whose", "what", "when", "where", "why", "how", "which", "can", "could", "would", "will",
    "should", "shall", "do", "does", "did", "is", "are", "was", "were", "have", "has", "any", "anyone", "may",
))
_LINK = re.compile(r"\bhttps?://\S+|\bwww\.\S+", re.IGNORECASE)
_HANDLE = re.compile(r"(?<!\w)@[\w.-]+(?:@[\w.-]+)?")
_SENTENCE = re.compile(r"(?:^|[.!\n]+)\s*([^\W\d_]+)")

_analyzer: SentimentIntensityAnalyzer | None = None
_analyzer_lock = threading.Lock()


@dataclass(frozen=True)
class Signals:
    """What triage shows for one conversation."""

    is_question: bool
    is_negative: bool


def _vader() -> SentimentIntensityAnalyzer:
    """Return the one analyzer (its lexicon loads in ~20 ms; not at import time)."""
    global _analyzer
    if _analyzer is None:
        with _analyzer_lock:
            if _analyzer is None:
                _analyzer = SentimentIntensityAnalyzer()
    return _analyzer


def plain_words(text: str) -> str:
    """Return the text without links and @handles, with its whitespace collapsed."""
    return " ".join(_HANDLE.sub(" ", _LINK.sub(" ", text or "")).split())


def is_question(text: str) -> bool:
    """Return whether the text asks: a question mark in any script, or a sentence opening with a question word."""
    words = plain_words(text)
    if _QUESTION_MARK.search(words):
        return True
    return any(match.group(1).lower() in _QUESTION_OPENERS and _asks(words, match.end())
               for match in _SENTENCE.finditer(words))


def _asks(words: str, after: int) -> bool:
    """Return whether a question word is followed by more words in its sentence ("How?" alone has its mark)."""
    rest = re.split(r"[.!\n]", words[after:], maxsplit=1)[0]
    return len(rest.split()) >= 2


def sentiment(text: str) -> float:
    """Return VADER's compound score, from -1 (most negative) to 1 (most positive); 0 for no words."""
    words = plain_words(text)
    if not words:
        return 0.0
    return float(_vader().polarity_scores(words)["compound"])


def is_negative(text: str) -> bool:
    """Return whether the tone is clearly negative (a complaint, anger, disappointment)."""
    return sentiment(text) <= NEGATIVE_COMPOUND


def triage(text: str) -> Signals:
    """Return the signals for one conversation's text."""
    return Signals(is_question=is_question(text), is_negative=is_negative(text))
