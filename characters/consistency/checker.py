"""The consistency checker: hard rules, the calibrated voice model and the optional judge, folded into a result."""

import hashlib
import json
import logging
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

from characters.bibles.card_data import GREENROOM_EXTENSION_KEY, CardData
from characters.consistency.guards import guard_findings
from characters.consistency.judge import LlmJudge, judge_factor, judge_findings
from characters.consistency.lexicon import AnachronismLexicon, anachronism_lexicon
from characters.consistency.result import CheckResult, Confidence, Finding, verdict_of
from characters.consistency.rules import RuleSet, check_rules, compile_rules, short_name
from characters.consistency.voice import (
    MIN_CANON,
    Draft,
    PairCalibration,
    Reading,
    VoiceModel,
    calibrate_pair,
    explain,
    fit_voice_model,
    signs,
    word_lean,
    workspace_offset,
)

log = logging.getLogger(__name__)

PLATFORMS = frozenset({"x", "bluesky", "mastodon"})
VOICE_TEXT_LIMIT = 5_000  # beyond this the length rule has failed already; voice statistics would only cost time
EXPLAIN_Z = 3.0  # a habit this many spreads from the canon is worth a warning on its own
MAX_EXPLANATIONS = 3
PAIR_STEP = 0.5  # margin beyond the pair threshold at which "sounds like X" is clear (a fail if signs agree)
SOUNDS_LIKE_SIGN = 1.0  # margin at which resembling another character counts as a sign of its own
SOUNDS_LIKE_MIN_RATIO = 0.3  # a draft typical of this character cannot fail for resembling another one
# Word lean (see voice.word_lean), in log-likelihood units beyond what 90 % of this character's own canon posts
# show: a sign at 3 (twenty times likelier under the other canon), two signs, a clear lean, at 6.
WORD_LEAN_SIGN = 3.0
WORD_LEAN_CLEAR = 6.0
WORD_LEAN_STEP = 3.0  # the lean that counts as much for the score as the edge of the canon's own range
AGREEING_SIGNS = 2  # a voice fail needs this many independent kinds of evidence (habits, wording, tone, sounds like)
FAIR_CANON = 10  # fewer canon posts: voice hints only warn
FULL_CANON = 20  # fewer: voice evidence is medium confidence
SHORT_POST = 12  # fewer words: voice hints only warn
FAIR_POST = 20  # fewer words: medium confidence
RULE_FAIL_CEILING = 40  # a draft that breaks a hard rule scores at most this
WARN_PENALTY = 3
NEUTRAL_RISK = 0.5  # the voice risk assumed when there is no canon to compare with

# How the signs a voice fail rests on read in a message.
SIGN_WORDS = {
    "length": "length",
    "sentence_length": "sentence length",
    "syllables": "word length",
    "exclamation": "exclamation marks",
    "question": "questions",
    "lowercase": "capitalisation",
    "shouting": "ALL-CAPS",
    "emoji": "emoji",
    "contractions": "contractions",
    "first_person": "I/me/my",
    "second_person": "you/your",
    "wording": "wording",
    "tone": "mood and register",
    "tone, again": "more than one such phrase",
}

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class _Lru(Generic[K, V]):
    """A small thread-safe LRU map (web workers share one checker)."""

    def __init__(self, maxsize: int) -> None:
        """Keep at most `maxsize` entries."""
        self._maxsize = maxsize
        self._items: OrderedDict[K, V] = OrderedDict()
        self._lock = threading.Lock()

    def get_or_build(self, key: K, build: Callable[[], V]) -> V:
        """Return the cached value for `key`, building and caching it first if needed."""
        with self._lock:
            if key in self._items:
                self._items.move_to_end(key)
                return self._items[key]
        value = build()  # outside the lock: a slow build must not stall every other check
        with self._lock:
            self._items[key] = value
            self._items.move_to_end(key)
            while len(self._items) > self._maxsize:
                self._items.popitem(last=False)
        return value

    def __len__(self) -> int:
        """Return the number of cached entries."""
        return len(self._items)

    def clear(self) -> None:
        """Drop every entry."""
        with self._lock:
            self._items.clear()


@dataclass(frozen=True, slots=True)
class CharacterModel:
    """Everything the checker precomputes for one bible version."""

    key: str
    name: str  # what messages call the character ("Walt")
    full_name: str
    rules: RuleSet
    voice: VoiceModel


def card_key(card: CardData) -> str:
    """Return a content key for a card (for callers without a bible version id): a hash of what the checker reads."""
    content = [card.name, card.description, card.extensions.get(GREENROOM_EXTENSION_KEY)]
    return hashlib.sha256(json.dumps(content, sort_keys=True, default=str).encode()).hexdigest()


def build_character_model(card: CardData, key: str = "") -> CharacterModel:
    """Compile the rules and fit the voice model of a card."""
    name = short_name(card)
    return CharacterModel(
        key=key or card_key(card),
        name=name,
        full_name=card.name,
        rules=compile_rules(card),
        voice=fit_voice_model(name, card.greenroom.canon_posts),
    )


class Checker:
    """Checks drafts against characters, caching each character's model by bible version."""

    def __init__(self, *, maxsize: int = 64, lexicon: AnachronismLexicon | None = None) -> None:
        """Keep at most `maxsize` character models; use `lexicon` instead of the packaged anachronism CSV."""
        self._models: _Lru[str, CharacterModel] = _Lru(maxsize)
        self._pairs: _Lru[tuple[str, str], PairCalibration] = _Lru(maxsize * 8)
        self._offsets: _Lru[tuple[str, tuple[str, ...]], float] = _Lru(maxsize * 4)
        self._lexicon = lexicon

    @property
    def lexicon(self) -> AnachronismLexicon:
        """Return the anachronism lexicon in use."""
        return self._lexicon if self._lexicon is not None else anachronism_lexicon()

    def model(self, card: CardData, cache_key: str | None = None) -> CharacterModel:
        """Return the character's model, built on first use and cached under `cache_key` (or the card's content)."""
        key = cache_key or card_key(card)
        return self._models.get_or_build(key, lambda: build_character_model(card, key))

    def clear(self) -> None:
        """Forget every cached model."""
        self._models.clear()
        self._pairs.clear()
        self._offsets.clear()

    def check(
        self,
        card: CardData,
        text: str,
        platform: str | None = None,
        *,
        others: Sequence[CardData] = (),
        judge: LlmJudge | None = None,
        cache_key: str | None = None,
        other_keys: Sequence[str] | None = None,
        published: Sequence[str] = (),
    ) -> CheckResult:
        """Score a draft against its character; `others` are the workspace's other characters.

        `cache_key` (and `other_keys`, one per other card) name the bible versions; without them each card's
        content is hashed on every call.
        """
        if other_keys is not None and len(other_keys) != len(others):
            raise ValueError("other_keys needs one key per card in others")
        if platform is not None and platform not in PLATFORMS:
            raise ValueError(f"unknown platform {platform!r}; expected one of {sorted(PLATFORMS)} or None")
        model = self.model(card, cache_key)
        if not text.strip():
            return CheckResult(0, "fail", (Finding("text.empty", "fail", "The draft is empty."),))
        findings = check_rules(model.rules, text, platform, model.name, self.lexicon)
        hard_fails = sum(f.severity == "fail" for f in findings)
        warns = sum(f.severity == "warn" for f in findings)
        findings += guard_findings(text, model.rules.greenroom.canon_posts, published, findings)  # copies, meta-talk
        keys = other_keys if other_keys is not None else [None] * len(others)
        # The workspace list may include the character itself (under another key): never compare it with itself.
        others_models = [
            self.model(o, k)
            for o, k in zip(others, keys, strict=True)
            if o is not card and o.name != card.name and k != model.key
        ]
        voice = self._voice(model, others_models, text[:VOICE_TEXT_LIMIT])
        findings += voice.findings
        score = 100.0 / (1.0 + voice.risk**2)
        if hard_fails:
            score = min(score, RULE_FAIL_CEILING) / 2 ** (hard_fails - 1)
        score -= min(3, warns) * WARN_PENALTY
        if judge is not None:
            score, judged = _ask_judge(judge, card, text, score)
            findings += judged
        return CheckResult(
            score=int(round(min(100.0, max(0.0, score)))),
            verdict=verdict_of(findings),
            findings=tuple(findings),
            similarity=voice.similarity,
            sounds_like=voice.sounds_like,
            details=voice.details,
            confidence=voice.confidence,
            confidence_note=voice.confidence_note,
        )

    def _voice(self, model: CharacterModel, others: Sequence[CharacterModel], text: str) -> "_VoiceVerdict":
        """Read the draft with the character's voice model and the other characters' models."""
        voice = model.voice
        if not voice.usable:
            message = f"{model.name} has {len(voice.canon)} canon posts, too few to judge a voice by (need {MIN_CANON})"
            note = f"{model.name} has only {len(voice.canon)} canon posts: the voice is not judged, only the rules."
            return _VoiceVerdict(NEUTRAL_RISK, [Finding("voice.canon", "info", message)], None, None, {}, "low", note)
        draft = Draft.of(text)
        reading = voice.read(draft)
        confidence, note = confidence_of(model.name, len(voice.canon), draft.n_words)
        hints = explain(voice, text, draft, reading, model.name, EXPLAIN_Z)
        findings = [
            Finding(hint.check, "warn", hint.message + ".", *(hint.span or (None, None)))
            for hint in hints[:MAX_EXPLANATIONS]
        ]
        risk = reading.ratio
        agreeing = signs(reading)
        details = {
            "voice_ratio": round(reading.ratio, 3),
            "similarity_z": round(reading.similarity_z, 3),
            **{f"{family}_ratio": round(value, 3) for family, value in reading.families.items()},
        }
        closest = self._closest_other(model, others, draft, reading)
        leans_to: CharacterModel | None = None
        if closest is not None:
            excess, other, _ = closest
            details["sounds_like_margin"] = round(excess, 3)
            if reading.ratio > SOUNDS_LIKE_MIN_RATIO and excess > 0:
                risk = max(risk, excess / PAIR_STEP)
                leans_to = other
                if excess >= SOUNDS_LIKE_SIGN:
                    agreeing.append(f"closer to {other.name}'s canon")
        clear_lean = leans_to is not None and details["sounds_like_margin"] >= PAIR_STEP
        word_risk, word_signs, word_findings, word_target = self._word_evidence(model, others, draft, details)
        risk = max(risk, word_risk)
        agreeing += word_signs
        findings += word_findings
        if word_target is not None and not clear_lean:
            leans_to, clear_lean = word_target, True
        details["signs"] = len(agreeing)
        unusual = reading.ratio > voice.fail_ratio
        # A voice fail needs the evidence to be trustworthy and several separate signs to agree.
        needed = AGREEING_SIGNS + (confidence == "medium")
        fails = confidence != "low" and len(agreeing) >= needed and (unusual or clear_lean)
        if leans_to is not None and not (fails and clear_lean):
            lean = "" if clear_lean else " (a slight lean, not a clear one)"
            message = f"Sounds more like {leans_to.full_name} than like {model.name}{lean}."
            findings.append(Finding("voice.sounds_like", "warn", message))
        if fails:
            check, opening = (
                ("voice.sounds_like", f"Sounds more like {leans_to.full_name} than like {model.name}")
                if clear_lean and leans_to is not None
                else ("voice.consistency", f"Doesn't sound like {model.name}")
            )
            findings.append(Finding(check, "fail", f"{opening}: {_agreement(agreeing)}."))
        elif unusual:
            doubt = "The evidence is thin" if confidence == "low" else "Too few separate signs agree"
            noticed = f": {hints[0].message[0].lower()}{hints[0].message[1:]}" if hints else ""
            message = f"May not sound like {model.name}{noticed}. {doubt}, so this is a hint, not a fail."
            findings.append(Finding("voice.consistency", "warn", message))
        sounds_like = closest[1].full_name if closest is not None else None
        return _VoiceVerdict(risk, findings, reading.similarity, sounds_like, details, confidence, note)

    def _closest_other(
        self, model: CharacterModel, others: Sequence[CharacterModel], draft: Draft, reading: Reading
    ) -> tuple[float, CharacterModel, Reading] | None:
        """Return the other character the draft sounds most like, if more like them than like this one.

        The margin is ratio(this)^2 - ratio(other)^2, less what this character's own canon reaches against
        that other (see `calibrate_pair`) and, with several others, less the workspace offset; a positive
        excess means closer to the other than the canon ever comes.
        """
        usable = [other for other in others if other.voice.usable]
        pairs = [self._pair(model, other) for other in usable]
        offset = self._offsets.get_or_build(
            (model.key, tuple(sorted(other.key for other in usable))), lambda: workspace_offset(pairs)
        )
        best: tuple[float, CharacterModel, Reading] | None = None
        for other, pair in zip(usable, pairs, strict=True):
            theirs = other.voice.read(draft)
            if theirs.ratio >= reading.ratio:
                continue
            excess = reading.ratio**2 - theirs.ratio**2 - pair.threshold - offset
            if best is None or excess > best[0]:
                best = (excess, other, theirs)
        return best

    def _word_evidence(
        self, model: CharacterModel, others: Sequence[CharacterModel], draft: Draft, details: dict[str, float]
    ) -> tuple[float, list[str], list[Finding], CharacterModel | None]:
        """Return what the draft's words lean towards: its risk, its signs, a warning, and the other if clear."""
        word_lean = self._word_lean(model, others, draft)
        if word_lean is None:
            return 0.0, [], [], None
        excess, other, telling = word_lean
        details["word_lean_margin"] = round(excess, 3)
        if excess < WORD_LEAN_SIGN:
            return excess / WORD_LEAN_STEP, [], [], None
        quoted = ", ".join(f'"{token}"' for token in telling[:3])
        uses = f" ({quoted}, which {model.name}'s canon never uses)" if quoted else ""
        warning = Finding("voice.sounds_like", "warn", f"Uses words from {other.full_name}'s posts{uses}.")
        clear = excess >= WORD_LEAN_CLEAR
        signs = [f"words from {other.name}'s canon"] + ["several such words"] * clear
        return excess / WORD_LEAN_STEP, signs, [warning], other if clear else None

    def _word_lean(
        self, model: CharacterModel, others: Sequence[CharacterModel], draft: Draft
    ) -> tuple[float, CharacterModel, list[str]] | None:
        """Return the other character whose canon the draft's words lean towards most, by how much, and why.

        The lean is less the largest one this character's own canon posts show towards that character.
        """
        best: tuple[float, CharacterModel, list[str]] | None = None
        for other in others:
            if not other.voice.usable:
                continue
            lean, telling = word_lean(draft.tokens, model.voice.words, other.voice.words)
            excess = lean - self._pair(model, other).word_threshold
            if best is None or excess > best[0]:
                best = (excess, other, telling)
        return best

    def _pair(self, model: CharacterModel, other: CharacterModel) -> PairCalibration:
        """Return the cached calibration of `model` against `other`."""
        return self._pairs.get_or_build((model.key, other.key), lambda: calibrate_pair(model.voice, other.voice))


@dataclass(frozen=True, slots=True)
class _VoiceVerdict:
    """What the voice model concluded about one draft."""

    risk: float  # 1 is the edge of the character's own range
    findings: list[Finding]
    similarity: float | None
    sounds_like: str | None
    details: dict[str, float]
    confidence: Confidence = "high"
    confidence_note: str | None = None


def confidence_of(name: str, canon: int, words: int) -> tuple[Confidence, str]:
    """Say how far voice evidence can be trusted for this canon size and post length, and why."""
    by_canon: Confidence = "low" if canon < FAIR_CANON else "medium" if canon < FULL_CANON else "high"
    by_length: Confidence = "low" if words < SHORT_POST else "medium" if words < FAIR_POST else "high"
    level = min(by_canon, by_length, key=("low", "medium", "high").index)
    if level == "high":
        return level, f"{canon} canon posts and a {words}-word post: enough to judge the voice."
    reasons = []
    if by_canon == level:
        reasons.append(f"{name} has only {canon} canon posts")
    if by_length == level:
        reasons.append(f"{'short' if level == 'low' else 'fairly short'} post ({words} words)")
    reason = "; ".join(reasons)
    reason = reason[0].upper() + reason[1:]
    if level == "low":
        return level, f"{reason}: voice hints are tentative and never fail a post on their own."
    return level, f"{reason}: voice hints are indicative; a voice fail needs several signs to agree."


def _agreement(signs: Sequence[str]) -> str:
    """Say which separate signs agree, in plain words ("3 separate signs agree: sentence length, ...")."""
    named = list(dict.fromkeys(SIGN_WORDS.get(sign, sign) for sign in signs))
    return f"several separate signs agree ({', '.join(named)})"


def _ask_judge(judge: LlmJudge, card: CardData, text: str, score: float) -> tuple[float, list[Finding]]:
    """Fold the judge's verdict in; a failing judge leaves the offline result standing."""
    try:
        verdict = judge(card, text)
    except Exception:  # the judge is an optional network layer: any failure of it must not lose the check
        log.warning("LLM judge failed; returning the offline result", exc_info=True)
        return score, [Finding("judge", "info", "The LLM judge was unavailable; offline checks only.")]
    return score * judge_factor(verdict), judge_findings(verdict, text)


_default_checker = Checker()


def warm_up() -> None:
    """Load the era lexicon now, so the first live check after start-up does not wait for it."""
    anachronism_lexicon()


def default_checker() -> Checker:
    """Return the process-wide checker whose cache `check_text` uses."""
    return _default_checker


def check_text(
    card: CardData,
    text: str,
    platform: str | None = None,
    *,
    others: Sequence[CardData] = (),
    judge: LlmJudge | None = None,
    cache_key: str | None = None,
    other_keys: Sequence[str] | None = None,
    published: Sequence[str] = (),
) -> CheckResult:
    """Check a draft against its character (a pure function of the bible version, text and platform)."""
    return _default_checker.check(
        card,
        text,
        platform,
        others=others,
        judge=judge,
        cache_key=cache_key,
        other_keys=other_keys,
        published=published,
    )


def get_voice_model(card: CardData, cache_key: str) -> VoiceModel:
    """Return the character's voice model from the shared cache, building it on first use."""
    return _default_checker.model(card, cache_key).voice


def build_voice_model(card: CardData) -> VoiceModel:
    """Build a card's voice model (canon statistics, n-gram space, calibration) without caching it."""
    return fit_voice_model(short_name(card), card.greenroom.canon_posts)
