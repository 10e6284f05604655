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
from characters.consistency.cues import STANCES
from characters.consistency.guards import guard_findings
from characters.consistency.judge import LlmJudge, judge_factor, judge_findings
from characters.consistency.lexicon import AnachronismLexicon, anachronism_lexicon
from characters.consistency.names import World, borrowed_names
from characters.consistency.result import CheckResult, Confidence, Finding, verdict_of
from characters.consistency.rules import RuleSet, check_rules, compile_rules, short_name
from characters.consistency.text import normalise_apostrophes, words
from characters.consistency.voice import (
    MIN_CANON,
    Draft,
    PairCalibration,
    Reading,
    VoiceModel,
    calibrate_pair,
    explain,
    fit_voice_model,
    foreign_registers,
    register_message,
    register_rate,
    signs,
    stance_phrases,
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
# Register phrases (cues.py) in registers the canon never uses ("Thrilled to announce", "what's the point"): each
# is specific evidence, not a noisy average, so two separate ones fail a post of any length once the canon has
# FAIR_CANON posts to say what the character never writes; one only lowers the score. On the dev, holdout,
# unseen and fresh sets no in-voice post carries more than one, at any canon size.
REGISTER_PHRASES = 2
STANCE_CHECKS = {"generic": "voice.generic"}  # the other stances are "voice.tone"
# A word lean this far past the pair's margin (about 3,000 times likelier under the other canon) fails even a short
# post once the canon is full; in-voice posts of the four sets stay under 4.3 at every canon size.
WORD_LEAN_SHORT = 8.0
WORD_LEAN_SHORT_WORDS = 3  # ... and only when it rests on this many distinct words this character's canon never uses
# Words that lean this far the other way (about twenty times likelier under this character's canon than the
# other's, beyond what its own posts show) keep a style lean from counting as a sign: the lean is read from the
# same habits, and the draft's own words say it is this character writing.
WORDS_AGAINST = -3.0
# Character n-grams closer to another canon than to this one's (see `_ngram_lean`), beyond what 90 % of this
# character's own canon posts reach: a sign past 0.02, a clear lean past 0.05 of cosine similarity.
NGRAM_LEAN_SIGN = 0.02
NGRAM_LEAN_CLEAR = 0.05
AGREEING_SIGNS = 2  # a voice fail needs this many independent kinds of evidence (habits, wording, tone, sounds like)
FAIR_CANON = 10  # fewer canon posts: voice hints only warn
FULL_CANON = 20  # fewer: voice evidence is medium confidence
SHORT_POST = 12  # fewer words: voice hints only warn
FAIR_POST = 20  # fewer words: medium confidence
# The score bands with the verdict, so an editor never sees a passing draft score below a failing one: a fail
# scores 0-20 (a broken rule at most 20, halved per further one), a warn or pass 21-100.
FAIL_CEILING = 20
RULE_FAIL_CEILING = FAIL_CEILING  # a draft that breaks a hard rule scores at most this
_RAW_RULE_CAP = 40.0  # before banding: a broken rule holds the raw score here, halved per further broken rule
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
    world: World  # its people and places, and every word its card and canon use


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
        world=World.of(card),
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

    def confidence(self, card: CardData, text: str, cache_key: str | None = None) -> tuple[Confidence, str]:
        """Return how far voice evidence on this text can be trusted, and why, without checking it again.

        It depends only on the canon size (from the cached model) and the text's length in words, so a caller
        that has already checked the text gets the same answer as the result's `confidence` for the cost of a
        dictionary look-up and a word count; pass the same `cache_key` as the check so no second model is built.
        """
        model = self.model(card, cache_key)
        canon = len(model.voice.canon)
        if not model.voice.usable:
            return "low", f"{model.name} has only {canon} canon posts: the voice is not judged, only the rules."
        n_words = max(1, len(words(normalise_apostrophes(text[:VOICE_TEXT_LIMIT]))))
        return confidence_of(model.name, canon, n_words)

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
            score = min(score, _RAW_RULE_CAP) / 2 ** (hard_fails - 1)
        score -= min(3, warns) * WARN_PENALTY
        if judge is not None:
            score, judged = _ask_judge(judge, card, text, score)
            findings += judged
        verdict = verdict_of(findings)
        return CheckResult(
            score=banded_score(score, verdict),
            verdict=verdict,
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
        usable = [other for other in others if other.voice.usable]
        theirs = [other.voice.read(draft) for other in usable]
        closest = self._closest_other(model, usable, theirs, reading)
        leans_to = _leaning(closest, reading, details)
        if leans_to is not None:
            risk = max(risk, details["sounds_like_margin"] / PAIR_STEP)
            # The style lean is read from the same habits: it is a sign of its own unless the words disagree.
            words_agree = self._words_lean(model, leans_to, draft) > WORDS_AGAINST
            if details["sounds_like_margin"] >= SOUNDS_LIKE_SIGN and words_agree:
                agreeing.append(f"closer to {leans_to.name}'s canon")
        clear_lean = leans_to is not None and details["sounds_like_margin"] >= PAIR_STEP
        word_risk, word_signs, word_findings, word_other = self._word_evidence(model, others, draft, details)
        risk = max(risk, word_risk)
        agreeing += word_signs
        findings += word_findings
        word_target = word_other if len(word_signs) > 1 else None  # a clear lean in words
        name_signs, name_findings, name_owner = _names_evidence(model, others, text)
        agreeing += name_signs
        findings += name_findings
        owner = name_owner if len(name_signs) > 1 else None  # two borrowed names are a clear lean
        # The n-grams corroborate a lean the words or the names already show towards the same character. Not the
        # style lean: it is read partly from the same wording (the draft's distance from this canon), nor a draft
        # whose wording is already a sign.
        ngram_signs, ngram_target = self._ngram_evidence(
            model, usable, theirs, reading, details, () if "wording" in agreeing else (word_other, name_owner)
        )
        agreeing += ngram_signs
        word_target = word_target or ngram_target
        if (target := word_target or owner) is not None and not clear_lean:
            leans_to, clear_lean = target, True
        details["signs"] = len(agreeing)
        unusual = reading.ratio > voice.fail_ratio
        # A voice fail needs the evidence to be trustworthy and several separate signs to agree.
        needed = AGREEING_SIGNS + (confidence == "medium")
        fails = confidence != "low" and len(agreeing) >= needed and (unusual or clear_lean)
        if not fails and (other_world := _clear_in_few_words(len(voice.canon), word_target, details)):
            # Many words from another character's canon and none of this one's: clear even in a short post.
            fails = True
            agreeing.append("many words only the other canon uses")
            note = f"{note} Many words only {other_world}'s canon uses are clear evidence at any length."
        phrases, register = _register_evidence(model, text)
        details["register_phrases"] = phrases
        risk = max(risk, float(phrases))
        register_fail = not fails and register is not None
        if register is not None and register_fail:
            # The phrases are the evidence: drop the warnings that quote them one register at a time.
            findings = [f for f in findings if f.check not in ("voice.generic", "voice.tone")] + [register]
            note += f" Phrases in a register {model.name}'s canon never uses are evidence at any length." * (
                confidence == "low"
            )
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
        elif unusual and not register_fail:
            doubt = "The evidence is thin" if confidence == "low" else "Too few separate signs agree"
            noticed = f": {hints[0].message[0].lower()}{hints[0].message[1:]}" if hints else ""
            message = f"May not sound like {model.name}{noticed}. {doubt}, so this is a hint, not a fail."
            findings.append(Finding("voice.consistency", "warn", message))
        sounds_like = closest[1].full_name if closest is not None else None
        return _VoiceVerdict(risk, findings, reading.similarity, sounds_like, details, confidence, note)

    def _ngram_evidence(
        self,
        model: CharacterModel,
        others: Sequence[CharacterModel],
        theirs: Sequence[Reading],
        reading: Reading,
        details: dict[str, float],
        pointed: Sequence[CharacterModel | None],
    ) -> tuple[list[str], CharacterModel | None]:
        """Return the sign that the draft's character n-grams are closer to another canon than to its own, and that
        character if the lean is clear; only for a character another kind of evidence already `pointed` at.

        The lean is similarity(other) - similarity(this), less what 90 % of this character's own canon posts
        reach against that other (each left out of its own canon): a spelling, a sign-off, a dialect's dropped g.
        """
        best: tuple[float, CharacterModel] | None = None
        for other, read in zip(others, theirs, strict=True):
            excess = read.similarity - reading.similarity - self._pair(model, other).wording_threshold
            if best is None or excess > best[0]:
                best = (excess, other)
        if best is None:
            return [], None
        excess, other = best
        details["ngram_lean_margin"] = round(excess, 3)
        if excess <= NGRAM_LEAN_SIGN or other.key not in {p.key for p in pointed if p is not None}:
            return [], None
        return [f"wording close to {other.name}'s canon"], other if excess >= NGRAM_LEAN_CLEAR else None

    def _closest_other(
        self, model: CharacterModel, usable: Sequence[CharacterModel], theirs: Sequence[Reading], reading: Reading
    ) -> tuple[float, CharacterModel, Reading] | None:
        """Return the other character the draft sounds most like, if more like them than like this one.

        The margin is ratio(this)^2 - ratio(other)^2, less what this character's own canon reaches against
        that other (see `calibrate_pair`) and, with several others, less the workspace offset; a positive
        excess means closer to the other than the canon ever comes.
        """
        pairs = [self._pair(model, other) for other in usable]
        offset = self._offsets.get_or_build(
            (model.key, tuple(sorted(other.key for other in usable))), lambda: workspace_offset(pairs)
        )
        best: tuple[float, CharacterModel, Reading] | None = None
        for other, pair, read in zip(usable, pairs, theirs, strict=True):
            if read.ratio >= reading.ratio:
                continue
            excess = reading.ratio**2 - read.ratio**2 - pair.threshold - offset
            if best is None or excess > best[0]:
                best = (excess, other, read)
        return best

    def _word_evidence(
        self, model: CharacterModel, others: Sequence[CharacterModel], draft: Draft, details: dict[str, float]
    ) -> tuple[float, list[str], list[Finding], CharacterModel | None]:
        """Return what the draft's words lean towards: its risk, its signs, a warning, and the other if a sign."""
        word_lean = self._word_lean(model, others, draft)
        if word_lean is None:
            return 0.0, [], [], None
        excess, other, telling = word_lean
        details["word_lean_margin"] = round(excess, 3)
        details["word_lean_words"] = len(telling)
        if excess < WORD_LEAN_SIGN:
            return excess / WORD_LEAN_STEP, [], [], None
        quoted = ", ".join(f'"{token}"' for token in telling[:3])
        uses = f" ({quoted}, which {model.name}'s canon never uses)" if quoted else ""
        warning = Finding("voice.sounds_like", "warn", f"Uses words from {other.full_name}'s posts{uses}.")
        clear = excess >= WORD_LEAN_CLEAR
        signs = [f"words from {other.name}'s canon"] + ["several such words"] * clear
        return excess / WORD_LEAN_STEP, signs, [warning], other

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

    def _words_lean(self, model: CharacterModel, other: CharacterModel, draft: Draft) -> float:
        """Return how far the draft's words lean towards `other` beyond what this character's canon shows."""
        lean, _ = word_lean(draft.tokens, model.voice.words, other.voice.words)
        return lean - self._pair(model, other).word_threshold

    def _pair(self, model: CharacterModel, other: CharacterModel) -> PairCalibration:
        """Return the cached calibration of `model` against `other`."""
        return self._pairs.get_or_build((model.key, other.key), lambda: calibrate_pair(model.voice, other.voice))


def _names_evidence(
    model: CharacterModel, others: Sequence[CharacterModel], text: str
) -> tuple[list[str], list[Finding], CharacterModel | None]:
    """Return the signs and warning for names borrowed from another character's world, and that character.

    A name from another character's posts that this one's bible and canon never use is one sign; two such names
    are two signs and a clear lean towards that character.
    """
    best: tuple[list[str], CharacterModel] | None = None
    for other in others:
        names = borrowed_names(text, model.world, other.world)
        if names and (best is None or len(names) > len(best[0])):
            best = (names, other)
    if best is None:
        return [], [], None
    names, owner = best
    message = (
        f"Mentions {', '.join(names[:3])}, from {owner.full_name}'s posts; {model.name}'s bible and canon never do."
    )
    signs = [f"names from {owner.name}'s posts"] + ["more than one such name"] * (len(names) > 1)
    return signs, [Finding("voice.sounds_like", "warn", message)], owner


def _leaning(
    closest: tuple[float, CharacterModel, Reading] | None, reading: Reading, details: dict[str, float]
) -> CharacterModel | None:
    """Record the margin towards the closest other character; return it if the draft leans towards it."""
    if closest is None:
        return None
    excess, other, _ = closest
    details["sounds_like_margin"] = round(excess, 3)
    return other if reading.ratio > SOUNDS_LIKE_MIN_RATIO and excess > 0 else None


def _clear_in_few_words(canon: int, word_target: CharacterModel | None, details: dict[str, float]) -> str:
    """Return the other character's name when a full canon and a very clear word lean towards them agree."""
    if word_target is None or canon < FULL_CANON or details.get("word_lean_margin", 0.0) < WORD_LEAN_SHORT:
        return ""
    if details.get("word_lean_words", 0) < WORD_LEAN_SHORT_WORDS:  # one or two shared words are a topic, not a voice
        return ""
    return word_target.name


def _register_evidence(model: CharacterModel, text: str) -> tuple[int, Finding | None]:
    """Return how many phrases the draft has in registers the canon never uses, and a fail if they are enough."""
    foreign = foreign_registers(model.voice, text)
    stances = stance_phrases(model.voice, foreign)  # phrases of one stance agree; a joke and a tip do not
    phrases = max(stances.values(), default=0)
    if phrases < REGISTER_PHRASES or len(model.voice.canon) < FAIR_CANON:  # a thin canon cannot say "never"
        return phrases, None
    main = max(stances, key=lambda stance: stances[stance])
    in_stance = {name: spans for name, spans in foreign.items() if STANCES[name] == main}
    start, end = min(span for spans in in_stance.values() for span in spans)
    said = register_message(text, in_stance, model.name)
    message = f"Doesn't sound like {model.name}: {said} ({model.name}'s canon: {_canon_use(model, in_stance)})."
    return phrases, Finding(STANCE_CHECKS.get(main, "voice.tone"), "fail", message, start, end)


def _canon_use(model: CharacterModel, registers: dict[str, list[tuple[int, int]]]) -> str:
    """Say how often the canon writes in these registers: "none" or "rarely"."""
    return "rarely" if any(register_rate(model.voice, name) > 0.0 for name in registers) else "none"


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


def banded_score(raw: float, verdict: str) -> int:
    """Return the 0-100 score an editor sees: a fail within 0-FAIL_CEILING, a warn or pass above it, order kept."""
    raw = min(100.0, max(0.0, raw))
    if verdict == "fail":
        return int(round(min(raw, 2.0 * FAIL_CEILING) / 2.0))
    return int(round(FAIL_CEILING + 1 + raw * (100 - FAIL_CEILING - 1) / 100.0))


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


def check_confidence(card: CardData, text: str, cache_key: str | None = None) -> tuple[Confidence, str]:
    """Return the confidence `check_text` gives this text, and its note, without running the check again."""
    return _default_checker.confidence(card, text, cache_key)


def get_voice_model(card: CardData, cache_key: str) -> VoiceModel:
    """Return the character's voice model from the shared cache, building it on first use."""
    return _default_checker.model(card, cache_key).voice


def build_voice_model(card: CardData) -> VoiceModel:
    """Build a card's voice model (canon statistics, n-gram space, calibration) without caching it."""
    return fit_voice_model(short_name(card), card.greenroom.canon_posts)
