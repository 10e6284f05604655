"""The voice model: canon statistics, character n-gram TF-IDF and a calibrated anomaly score per character."""

import math
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Literal

import numpy as np
import numpy.typing as npt
import regex
from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

from characters.consistency.cues import CUE_WORDING, STANCES, cue_counts, cue_spans
from characters.consistency.text import emoji_spans, normalise_apostrophes, sentences, words
from characters.core.platforms import grapheme_count

Vector = npt.NDArray[np.float64]
Direction = Literal["both", "high", "low"]


@dataclass(frozen=True, slots=True)
class Feature:
    """One measurable habit and how to read a deviation from the canon.

    A "count" feature is a number of events over an exposure (exclamation marks per sentence, contractions per
    word): a short post is judged against the rate it should show at its own length, which keeps one "!" in a
    ten-word post from looking like a habit. A "level" feature is compared with the canon's median and spread.
    """

    name: str
    kind: Literal["count", "level"]
    direction: Direction
    floor: float  # count: extra variance, level: minimum spread; a canon that never varies still needs a margin
    more: str  # what an editor reads for a high value, "{who}" the character ("" = not worth saying)
    less: str  # the same for a low value
    unit: str  # how the draft's value reads, "{v}" the number
    weight: float = 1.0  # noisy measures on short texts (length, syllables) count for less
    # A level averaged over the draft's words (syllables, words per sentence, mood) is noisier in a short draft:
    # its spread widens by sqrt(canon words / draft words), so a 9-word post is not judged like a 40-word one.
    per_word: bool = False

    @property
    def family(self) -> str:
        """Return the independent kind of evidence this habit belongs to: "tone" (mood, register) or "habits"."""
        return "tone" if self.check in ("voice.tone", "voice.generic") else "habits"

    @property
    def check(self) -> str:
        """Return the finding check this habit reports under."""
        if self.name in ("cue_marketing", "cue_assistant"):
            return "voice.generic"
        if self.name.startswith("cue_") or self.name in ("sentiment", "intensity"):
            return "voice.tone"
        return "voice.profile"

    def shown(self, value: float) -> float:
        """Return a measured value in the unit a person reads (characters, words per sentence, a count)."""
        if self.name == "length":
            return math.expm1(value)  # measured as log(1 + characters)
        if self.name == "sentence_length":
            return math.exp(value)  # measured as log(words per sentence)
        if self.name == "intensity":
            return 100.0 * value
        return value


FEATURES: tuple[Feature, ...] = (
    # A short post is not out of voice: only an unusually long one is evidence.
    Feature("length", "level", "high", 0.3, "Much longer than {who}'s posts usually are", "", "{v} characters", 0.5),
    Feature(
        "sentence_length",
        "level",
        "both",
        0.2,
        "Longer sentences than {who} usually writes",
        "Shorter, choppier sentences than {who} usually writes",
        "about {v} words a sentence",
        per_word=True,
    ),
    Feature(
        "syllables",
        "level",
        "both",
        0.08,
        "Longer words than {who} usually uses",
        "Plainer, shorter words than {who} usually uses",
        "about {v} syllables a word",
        0.5,
        per_word=True,
    ),
    Feature(
        "sentiment",
        "level",
        "both",
        0.25,
        "More upbeat than {who} usually sounds",
        "Gloomier than {who} usually sounds",
        "mood {v} on a scale from -1 to +1",
        per_word=True,
    ),
    Feature(
        "intensity",
        "level",
        "high",
        0.1,
        "More emotional than {who} usually sounds",
        "",
        "about {v}% of the wording charged with feeling",
        per_word=True,
    ),
    Feature("exclamation", "count", "high", 0.1, "More exclamation marks than {who} uses", "", "{v} '!'"),
    Feature("question", "count", "high", 0.5, "More questions than {who} usually asks", "", "{v} '?'", 0.5),
    Feature(
        "lowercase",
        "count",
        "both",
        0.3,
        "More sentences start in lower case than {who}'s do",
        "Capitalised sentences, where {who} usually writes in lower case",
        "{v} lower-case sentence starts",
    ),
    Feature(
        "shouting",
        "count",
        "both",
        0.3,
        "More ALL-CAPS words than {who} uses",
        "No ALL-CAPS words, where {who} often uses them",
        "{v} ALL-CAPS words",
    ),
    Feature("emoji", "count", "low", 0.5, "", "Fewer emoji than {who} usually uses", "{v} emoji"),
    Feature(
        "contractions",
        "count",
        "both",
        0.5,
        "More casual, with more contractions (don't, I'm) than {who} uses",
        "More formal, with fewer contractions (don't, I'm) than {who} uses",
        "{v} contractions",
    ),
    Feature(
        "first_person",
        "count",
        "both",
        0.5,
        "Talks about itself (I, me, my) more than {who} does",
        "Less personal (fewer I, me, my) than {who} usually is",
        "I/me/my {v} times",
    ),
    Feature(
        "second_person",
        "count",
        "high",
        0.3,
        "Speaks to the reader (you, your) more than {who} does",
        "",
        "you/your {v} times",
    ),
    # A register cue is specific evidence (canon posts rarely carry one), so it outweighs a stylistic drift.
    *(Feature(f"cue_{name}", "count", "high", 0.1, more, "", unit, 3.0) for name, (more, unit) in CUE_WORDING.items()),
)
_COUNT = np.array([feature.kind == "count" for feature in FEATURES])
_FLOOR = np.array([feature.floor for feature in FEATURES])
_WEIGHT = np.array([feature.weight for feature in FEATURES])
_HIGH = np.array([feature.direction != "low" for feature in FEATURES])
_LOW = np.array([feature.direction != "high" for feature in FEATURES])
_PER_WORD = np.array([feature.per_word for feature in FEATURES])
_TONE = np.array([feature.family == "tone" for feature in FEATURES])
_CUE = np.array([feature.name.startswith("cue_") for feature in FEATURES])
WORD_EXPOSURE = [feature.name for feature in FEATURES].index("first_person")  # its exposure is the word count
FAMILIES = ("habits", "wording", "tone")  # independent kinds of voice evidence; a voice fail needs two to agree

_SINGULAR = frozenset(["i", "me", "my", "mine", "myself", "i'm", "i've", "i'll", "i'd"])
_SECOND = frozenset(["you", "your", "yours", "yourself", "yourselves", "you're", "you've", "you'll", "you'd", "y'all"])
_CONTRACTION = regex.compile(
    r"\w(?:n't|'m|'re|'ve|'ll|'d)\b|\b(?:it|that|he|she|there|what|who|here|let|where|how|everybody|nobody)'s\b",
    regex.IGNORECASE,
)
_LOWER_START = regex.compile(r"\W*\p{Ll}")
_VOWEL_GROUPS = regex.compile(r"[aeiouy]+")
SIMILARITY_TOP_K = 3


@lru_cache(maxsize=1)
def _vader() -> SentimentIntensityAnalyzer:
    """Return the shared VADER analyser (its lexicon loads once, from the package)."""
    return SentimentIntensityAnalyzer()


def _syllables(word: str) -> int:
    """Estimate syllables by vowel groups, dropping a silent final e (good enough for a readability measure)."""
    word = word.lower()
    count = len(_VOWEL_GROUPS.findall(word))
    if word.endswith("e") and not word.endswith(("le", "ee")) and count > 1:
        count -= 1
    return max(1, count)


def profile(text: str) -> tuple[Vector, Vector]:
    """Return the text's habits in `FEATURES` order: (values, exposures); a level's exposure is 1."""
    text = normalise_apostrophes(text)
    tokens = words(text)
    n_words = max(1, len(tokens))
    parts = sentences(text)
    n_sentences = max(1, len(parts))
    lowered = [t.lower() for t in tokens]
    alphabetic = [t for t in tokens if t.isalpha()]
    scores = _vader().polarity_scores(text)
    cues = cue_counts(text)
    measured: dict[str, tuple[float, float]] = {
        "length": (math.log1p(grapheme_count(text)), 1.0),
        "sentence_length": (math.log(max(1, len(tokens)) / n_sentences), 1.0),
        "syllables": (sum(map(_syllables, alphabetic)) / len(alphabetic) if alphabetic else 1.0, 1.0),
        "sentiment": (float(scores["compound"]), 1.0),
        "intensity": (1.0 - float(scores["neu"]), 1.0),
        "exclamation": (float(min(text.count("!"), 3 * n_sentences)), n_sentences),
        "question": (float(min(text.count("?"), 3 * n_sentences)), n_sentences),
        "lowercase": (float(sum(1 for s in parts if _LOWER_START.match(s))), n_sentences),
        "shouting": (float(sum(1 for t in tokens if len(t) >= 3 and t.isupper() and t.isalpha())), n_words),
        "emoji": (float(len(emoji_spans(text))), 1.0),
        "contractions": (float(len(_CONTRACTION.findall(text))), n_words),
        "first_person": (float(sum(t in _SINGULAR for t in lowered)), n_words),
        "second_person": (float(sum(t in _SECOND for t in lowered)), n_words),
        **{f"cue_{name}": (float(count), 1.0) for name, count in cues.items()},
    }
    values = np.array([measured[f.name][0] for f in FEATURES])
    exposures = np.array([measured[f.name][1] for f in FEATURES])
    return values, exposures


@dataclass(frozen=True, slots=True)
class ProfileStats:
    """The canon's habits: a median and spread per level feature, a rate and overdispersion per count feature."""

    centre: Vector  # level: median; count: events per unit of exposure
    spread: Vector  # level: robust standard deviation; count: overdispersion factor (>= 1)
    words: float = 1.0  # the canon's median post length in words (per-word levels of shorter drafts are noisier)

    @classmethod
    def fit(cls, values: Vector, exposures: Vector) -> "ProfileStats":
        """Estimate the statistics from canon rows (one per post)."""
        if not len(values):
            return cls(np.zeros(len(FEATURES)), np.ones(len(FEATURES)))
        median = np.median(values, axis=0)
        q75, q25 = np.percentile(values, [75, 25], axis=0)
        rate = values.sum(axis=0) / exposures.sum(axis=0)
        expected = rate * exposures
        # Pooled Pearson dispersion: bursty habits (CAPS in some posts, none in others) widen their own band.
        dispersion = ((values - expected) ** 2).sum(axis=0) / (expected + _FLOOR).sum(axis=0)
        centre = np.where(_COUNT, rate, median)
        spread = np.where(_COUNT, np.clip(dispersion, 1.0, 10.0), np.maximum((q75 - q25) / 1.349, _FLOOR))
        return cls(centre, spread, float(np.median(exposures[:, WORD_EXPOSURE])))

    def z(self, values: Vector, exposures: Vector) -> Vector:
        """Return how many spreads each habit of a text sits from the canon (signed)."""
        expected = self.centre * exposures
        count_z = (values - expected) / np.sqrt(self.spread * expected + _FLOOR)
        shorter = math.sqrt(max(1.0, self.words / max(1.0, float(exposures[WORD_EXPOSURE]))))
        level_z = (values - self.centre) / (self.spread * np.where(_PER_WORD, shorter, 1.0))
        result: Vector = np.where(_COUNT, count_z, level_z)
        return result


def ngram_counts(text: str) -> Counter[str]:
    """Return the character n-gram counts sklearn's char_wb analyzer finds in the text."""
    return Counter(_ngram_analyzer()(text))


@lru_cache(maxsize=1)
def _ngram_analyzer() -> Callable[[str], list[str]]:
    """Return scikit-learn's char_wb 2-4-gram analyzer, imported on first use (the import takes seconds)."""
    from sklearn.feature_extraction.text import CountVectorizer

    analyzer: Callable[[str], list[str]] = CountVectorizer(
        analyzer="char_wb", ngram_range=(2, 4), lowercase=True
    ).build_analyzer()
    return analyzer


@dataclass(frozen=True, slots=True)
class NgramSpace:
    """A TF-IDF space (sublinear tf, smoothed idf) fitted on one character's canon."""

    vocabulary: dict[str, int]
    idf: Vector
    unseen_idf: float  # the idf an n-gram the canon never used would get; it still counts in the draft's norm
    canon: Vector  # canon posts as L2-normalised rows

    def similarities(self, grams: Sequence[str], tf: Vector) -> Vector:
        """Return the cosine similarity of a draft (its n-grams and sublinear tf) to each canon post."""
        if not grams or not len(self.canon):
            return np.zeros(len(self.canon))
        get = self.vocabulary.get
        columns = np.fromiter((get(gram, -1) for gram in grams), dtype=np.intp, count=len(grams))
        known = columns >= 0
        weights = tf[known] * self.idf[columns[known]]
        unseen = tf[~known] * self.unseen_idf
        norm = math.sqrt(float(weights @ weights) + float(unseen @ unseen))
        if norm == 0.0:
            return np.zeros(len(self.canon))
        result: Vector = self.canon[:, columns[known]] @ weights / norm
        return result


def _tf_matrix(counts: Sequence[Counter[str]]) -> tuple[dict[str, int], Vector]:
    """Return the vocabulary and the sublinear term-frequency matrix of the posts."""
    vocabulary: dict[str, int] = {}
    for post in counts:
        for gram in post:
            vocabulary.setdefault(gram, len(vocabulary))
    tf = np.zeros((len(counts), len(vocabulary)))
    for row, post in enumerate(counts):
        for gram, count in post.items():
            tf[row, vocabulary[gram]] = 1.0 + math.log(count)
    return vocabulary, tf


def _idf(document_frequency: Vector, n_documents: int) -> Vector:
    """Return smoothed idf, as sklearn computes it."""
    result: Vector = np.log((1.0 + n_documents) / (1.0 + document_frequency)) + 1.0
    return result


def _normalised(rows: Vector) -> Vector:
    """Return the rows scaled to unit length (zero rows left as they are)."""
    norms = np.linalg.norm(rows, axis=1, keepdims=True)
    result: Vector = rows / np.where(norms == 0.0, 1.0, norms)
    return result


def fit_space(posts: Sequence[str]) -> NgramSpace:
    """Fit the TF-IDF space of the posts."""
    vocabulary, tf = _tf_matrix([ngram_counts(p) for p in posts])
    idf = _idf((tf > 0).sum(axis=0).astype(np.float64), len(posts))
    return NgramSpace(vocabulary, idf, float(_idf(np.zeros(1), len(posts))[0]), _normalised(tf * idf))


def leave_one_out_similarities(posts: Sequence[str]) -> Vector:
    """Return, for each post, its top-k similarity to the others in a space fitted without it."""
    n = len(posts)
    if n < 2:
        return np.zeros(n)
    _, tf = _tf_matrix([ngram_counts(p) for p in posts])
    present = tf > 0
    frequency = present.sum(axis=0).astype(np.float64)
    result = np.zeros(n)
    for i in range(n):
        # Without post i its own n-grams may be unseen: their idf is then the unseen idf, as for a new draft.
        idf = _idf(frequency - present[i], n - 1)
        weighted = _normalised(tf * idf)
        sims = np.delete(weighted @ weighted[i], i)
        result[i] = top_k_mean(sims)
    return result


def top_k_mean(similarities: Vector) -> float:
    """Return the mean of the k highest similarities (the draft's nearest canon neighbours)."""
    if not len(similarities):
        return 0.0
    k = min(SIMILARITY_TOP_K, len(similarities))
    return float(np.sort(similarities)[-k:].mean())


# How deviations become one number. Chosen on the development set with each persona held out in turn; see
# docs/consistency.md for the measurements behind them.
DEAD_ZONE = 1.0  # within one spread of the canon is no evidence at all
ANOMALY_NORM = 2.0
EVIDENCE_CAP = 8.0  # one wild measure cannot outvote everything else
THRESHOLD_QUANTILE = 0.9  # the anomaly at which a canon post is unusual for its own canon (leave-one-out)
MIN_THRESHOLD = 0.5
FAIL_RATIO = 1.0  # before the small-sample correction
MIN_FAMILY_THRESHOLD = 1.0  # a kind of evidence the canon never shows still needs a clear deviation to count
SIGN_Z = 3.0  # a habit this many spreads off counts as one sign against the draft (as it would warn alone)
SIGN_RATIO = 1.5  # wording or tone this far past the canon's own 90th percentile counts as a sign
STRONG_TONE = 3.0  # a tone ratio this high takes separate cue phrases: it counts as one more sign (and at twice it)
PAIR_QUANTILE = 0.9
MIN_CANON = 5  # fewer canon posts than this give no usable voice statistics


@dataclass(frozen=True, slots=True)
class Draft:
    """A text measured once and compared with any number of characters."""

    values: Vector
    exposures: Vector
    grams: tuple[str, ...]
    tf: Vector  # sublinear term frequency of each n-gram
    tokens: tuple[str, ...] = ()  # its words, lower case, for the word-level lean towards another character

    @classmethod
    def of(cls, text: str) -> "Draft":
        """Measure the text."""
        values, exposures = profile(text)
        counts = ngram_counts(text)
        tf = 1.0 + np.log(np.fromiter(counts.values(), dtype=np.float64, count=len(counts)))
        return cls(values, exposures, tuple(counts), tf, word_tokens(text))

    @property
    def n_words(self) -> int:
        """Return the number of words in the draft."""
        return int(self.exposures[WORD_EXPOSURE])


@dataclass(frozen=True, slots=True)
class Reading:
    """How a draft compares with one character's canon."""

    z: Vector  # signed spreads from the canon, per feature
    similarity: float  # mean cosine similarity to the nearest canon posts
    similarity_z: float
    anomaly: float
    ratio: float  # anomaly over the character's threshold: above 1 is outside the canon's own range
    families: dict[str, float]  # per kind of evidence (FAMILIES), the same ratio against that kind's own threshold
    cues: int = 0  # mood and register phrases found in the draft


def evidence(z: Vector, similarity_z: float) -> dict[str, float]:
    """Return, per kind of evidence, the deviations beyond the dead zone in the directions that matter, combined."""
    directed = np.maximum(np.where(_HIGH, z, 0.0), np.where(_LOW, -z, 0.0))
    weighted = _WEIGHT * np.clip(directed - DEAD_ZONE, 0.0, EVIDENCE_CAP) ** ANOMALY_NORM
    dissimilarity = min(max(0.0, -similarity_z - DEAD_ZONE), EVIDENCE_CAP)
    return {
        "habits": float(weighted[~_TONE].sum()) ** (1.0 / ANOMALY_NORM),
        "wording": dissimilarity,
        "tone": float(weighted[_TONE].sum()) ** (1.0 / ANOMALY_NORM),
    }


def anomaly(parts: dict[str, float]) -> float:
    """Combine the kinds of evidence into one number (root-sum-square)."""
    return float(sum(value**ANOMALY_NORM for value in parts.values()) ** (1.0 / ANOMALY_NORM))


def signs(reading: Reading) -> list[str]:
    """Return the separate pieces of evidence against the draft: each habit clearly off, wording, tone.

    Habits count one by one (a long sentence and a burst of '!' are two things noticed); tone counts up to three
    times, as its ratio takes several separate mood or register phrases to reach 3 and 6.
    """
    directed = np.maximum(np.where(_HIGH, reading.z, 0.0), np.where(_LOW, -reading.z, 0.0))
    found = [FEATURES[i].name for i in np.flatnonzero((directed > SIGN_Z) & ~_TONE)]
    if reading.families["wording"] > SIGN_RATIO:
        found.append("wording")
    tone = reading.families["tone"]
    # Tone counts again only for separate phrases: one "fool" is one thing noticed, however rare in the canon.
    again = min(int(tone >= STRONG_TONE) + int(tone >= 2 * STRONG_TONE), max(0, reading.cues - 1))
    found += ["tone"] * (tone > SIGN_RATIO) + ["tone, again"] * again
    return found


@dataclass(frozen=True, slots=True)
class VoiceModel:
    """A character's voice: canon habits, n-gram space and the calibrated thresholds."""

    name: str
    stats: ProfileStats
    space: NgramSpace
    similarity_centre: float
    similarity_spread: float
    canon: tuple[Draft, ...]
    canon_ratios: Vector  # each canon post's ratio against the other canon posts (leave-one-out)
    canon_similarities: Vector  # each canon post's n-gram similarity to the other canon posts (leave-one-out)
    threshold: float
    family_thresholds: dict[str, float]
    canon_range: tuple[Vector, Vector]  # per feature, the canon's 10th and 90th percentile in readable units
    words: "WordCounts"  # the canon's word counts, for the word lean towards another character

    @property
    def usable(self) -> bool:
        """Return True when the canon is large enough to judge a voice by."""
        return len(self.canon) >= MIN_CANON

    @property
    def fail_ratio(self) -> float:
        """Return the ratio beyond which a draft is outside the canon's range, corrected for a small canon."""
        return small_sample_factor(len(self.canon)) * FAIL_RATIO

    def read(self, draft: Draft) -> Reading:
        """Compare a draft with the canon."""
        z = self.stats.z(draft.values, draft.exposures)
        similarity = top_k_mean(self.space.similarities(draft.grams, draft.tf))
        similarity_z = (similarity - self.similarity_centre) / self.similarity_spread
        parts = evidence(z, similarity_z)
        score = anomaly(parts)
        families = {name: parts[name] / self.family_thresholds[name] for name in FAMILIES}
        cues = int(draft.values[_CUE].max())  # phrases of one register agree; a joke and a tip are two moods
        return Reading(z, similarity, similarity_z, score, score / self.threshold, families, cues)


def _similarity_stats(similarities: Vector) -> tuple[float, float]:
    """Return the median and robust spread of canon similarities."""
    q75, q25 = np.percentile(similarities, [75, 25])
    return float(np.median(similarities)), max(float(q75 - q25) / 1.349, 0.01)


def _readable(values: Vector) -> Vector:
    """Return canon rows in the units a message shows (characters, words per sentence, counts per post)."""
    rows = np.array([[f.shown(float(v)) for f, v in zip(FEATURES, row, strict=True)] for row in values])
    return rows.reshape(len(values), len(FEATURES))


def fit_voice_model(name: str, canon_posts: Sequence[str]) -> VoiceModel:
    """Fit the voice of a canon and calibrate its thresholds by leaving each canon post out in turn."""
    posts = [post for post in canon_posts if post.strip()]
    drafts = tuple(Draft.of(post) for post in posts)
    values = np.array([d.values for d in drafts]).reshape(len(drafts), len(FEATURES))
    exposures = np.array([d.exposures for d in drafts]).reshape(len(drafts), len(FEATURES))
    similarities = leave_one_out_similarities(posts)
    parts = np.zeros((len(posts), len(FAMILIES)))
    if len(posts) >= 3:
        for i in range(len(posts)):
            rest = np.arange(len(posts)) != i
            centre, spread = _similarity_stats(similarities[rest])
            z = ProfileStats.fit(values[rest], exposures[rest]).z(values[i], exposures[i])
            found = evidence(z, (similarities[i] - centre) / spread)
            parts[i] = [found[family] for family in FAMILIES]
    anomalies = np.sqrt((parts**ANOMALY_NORM).sum(axis=1)) if len(posts) else np.zeros(0)
    threshold = max(_quantile(anomalies, THRESHOLD_QUANTILE), MIN_THRESHOLD)
    family_thresholds = {
        family: max(_quantile(parts[:, i], THRESHOLD_QUANTILE), MIN_FAMILY_THRESHOLD)
        for i, family in enumerate(FAMILIES)
    }
    centre, spread = _similarity_stats(similarities) if len(posts) else (0.0, 1.0)
    readable = _readable(values)
    low, high = np.percentile(readable, [10, 90], axis=0) if len(posts) else (np.zeros(len(FEATURES)),) * 2
    return VoiceModel(
        name=name,
        stats=ProfileStats.fit(values, exposures),
        space=fit_space(posts),
        similarity_centre=centre,
        similarity_spread=spread,
        canon=drafts,
        canon_ratios=anomalies / threshold,
        canon_similarities=similarities,
        threshold=threshold,
        family_thresholds=family_thresholds,
        canon_range=(low, high),
        words=WordCounts.of(drafts),
    )


@lru_cache(maxsize=64)
def small_sample_factor(n: int) -> float:
    """Return how much wider a threshold learnt from n posts (leave-one-out) must be to hold for new posts.

    The 90th percentile of n values is itself uncertain; a Student-t prediction interval for one new value,
    over the normal one, widens it: 1.13 at n=10, 1.06 at n=20, 1.03 at n=40.
    """
    from scipy.stats import norm, t

    if n < 3:
        return math.inf
    return float(math.sqrt(1.0 + 1.0 / n) * t.ppf(THRESHOLD_QUANTILE, n - 1) / norm.ppf(THRESHOLD_QUANTILE))


def _quantile(values: Vector, share: float) -> float:
    """Return the quantile of the values (0 for none)."""
    return float(np.quantile(values, share)) if len(values) else 0.0


@dataclass(frozen=True, slots=True)
class PairCalibration:
    """How close `model`'s own canon posts come to sounding like one other character."""

    threshold: float  # a draft's margin beyond this sounds more like the other than the canon ever does
    excess: Vector  # each canon post's margin less the threshold (for calibrating several others at once)
    word_threshold: float = math.inf  # the word lean towards the other 90 % of canon posts stay under (leave-one-out)
    # How much closer in character n-grams to the other's canon than to its own 90 % of canon posts come (leave-one-out)
    wording_threshold: float = math.inf


def calibrate_pair(model: VoiceModel, other: VoiceModel) -> PairCalibration:
    """Return how much closer to `other` than to `model` a draft may sound before it sounds like `other`.

    The margin is ratio(model)^2 - ratio(other)^2; the threshold is its high quantile over `model`'s own canon,
    so two characters who share an office and a vocabulary get a wider margin than two who share nothing.
    """
    if not model.canon:
        return PairCalibration(math.inf, np.zeros(0))
    theirs = [other.read(draft) for draft in model.canon]
    margins = np.array([own**2 - read.ratio**2 for own, read in zip(model.canon_ratios, theirs, strict=True)])
    threshold = float(np.quantile(margins, PAIR_QUANTILE))
    leans = [word_lean(draft.tokens, model.words, other.words, without=draft.tokens)[0] for draft in model.canon]
    closer = [read.similarity - own for read, own in zip(theirs, model.canon_similarities, strict=True)]
    return PairCalibration(
        threshold,
        margins - threshold,
        _quantile(np.array(leans), PAIR_QUANTILE),
        _quantile(np.array(closer), PAIR_QUANTILE),
    )


def workspace_offset(pairs: Sequence[PairCalibration]) -> float:
    """Return the extra margin a workspace of several other characters needs.

    Each pair alone would flag a tenth of the canon; against many characters the closest one would flag far
    more. The offset is the same quantile of each canon post's largest excess over all the others.
    """
    usable = [pair.excess for pair in pairs if len(pair.excess)]
    if len(usable) < 2:
        return 0.0
    return max(0.0, float(np.quantile(np.max(np.vstack(usable), axis=0), PAIR_QUANTILE)))


# Word lean: which character's canon a draft's own words come from. Each word both canons know adds
# log p(word | other) - log p(word | this), add-half smoothed; a word neither canon uses says nothing. The
# pair's threshold is the 90th percentile of the leans this character's own canon posts show, each left out of
# the counts, so characters who share a vocabulary need more before a draft leans.
WORD_SMOOTHING = 0.5
WORD_VOCABULARY = 1000.0  # the smoothing's pseudo-vocabulary size, so one unseen word is not infinitely rare


# Function words say more about style (the habits measure it) than about whose world a post is from.
_FUNCTION_WORDS = frozenset(
    """a about above after again against all am an and any are as at be because been before being below between
    both but by can could did do does doing down during each few for from further had has have having he her here
    hers herself him himself his how i if in into is it its itself just me more most my myself no nor not now of
    off on once only or other our ours ourselves out over own same she should so some such than that the their
    theirs them themselves then there these they this those through to too under until up very was we were what
    when where which while who whom why will with would you your yours yourself yourselves i'm i've i'll i'd it's
    that's there's he's she's we're we've you're they're don't didn't can't won't isn't wasn't let's one two half
    got get go went still never always also even back""".split()
)


def word_tokens(text: str) -> tuple[str, ...]:
    """Return the content words of a text in lower case, apostrophes normalised."""
    lowered = (w.lower() for w in words(normalise_apostrophes(text)))
    return tuple(w for w in lowered if w not in _FUNCTION_WORDS and not w.isdigit())


@dataclass(frozen=True, slots=True)
class WordCounts:
    """How often each word occurs in a canon."""

    counts: Counter[str]
    total: int

    @classmethod
    def of(cls, drafts: Sequence["Draft"]) -> "WordCounts":
        """Count the words of the canon posts."""
        counts = Counter(token for draft in drafts for token in draft.tokens)
        return cls(counts, sum(counts.values()))


def word_lean(
    tokens: Sequence[str], mine: WordCounts, theirs: WordCounts, *, without: Sequence[str] = ()
) -> tuple[float, list[str]]:
    """Return how much more the draft's distinct words suggest `theirs` than `mine`, and the most telling ones.

    `without` is a canon post of `mine` to leave out of its counts (calibration).
    """
    left_out = Counter(without)
    mine_total = mine.total - len(without) + WORD_SMOOTHING * WORD_VOCABULARY
    theirs_total = theirs.total + WORD_SMOOTHING * WORD_VOCABULARY
    lean = 0.0
    telling: dict[str, float] = {}
    for token in dict.fromkeys(tokens):  # a word said twice is still one piece of evidence
        own = mine.counts.get(token, 0) - left_out.get(token, 0)
        other = theirs.counts.get(token, 0)
        if own + other == 0:
            continue
        weight = math.log((other + WORD_SMOOTHING) / theirs_total) - math.log((own + WORD_SMOOTHING) / mine_total)
        lean += weight
        if weight > 1.0 and own == 0:
            telling[token] = weight
    return lean, sorted(telling, key=lambda token: -telling[token])


@dataclass(frozen=True, slots=True)
class Hint:
    """One habit that sits clearly outside the canon, in words an editor reads."""

    check: str
    family: str
    strength: float  # spreads from the canon
    message: str
    span: tuple[int, int] | None = None  # the first quoted phrase, for cues


def explain(model: VoiceModel, text: str, draft: Draft, reading: Reading, who: str, min_z: float) -> list[Hint]:
    """Return the habits at least `min_z` spreads outside the canon, strongest first, saying what was noticed."""
    found: list[Hint] = []
    cues = cue_spans(normalise_apostrophes(text)) if any(reading.z[_TONE] >= min_z) else {}
    low, high = model.canon_range
    for i, feature in enumerate(FEATURES):
        z = float(reading.z[i])
        wording = feature.more if z > 0 else feature.less
        if abs(z) < min_z or not wording:
            continue
        usual = _range(float(low[i]), float(high[i]), feature.kind == "count")
        value = feature.unit.format(v=_number(feature.shown(float(draft.values[i]))))
        spans = cues.get(feature.name.removeprefix("cue_"), [])
        if spans:
            quotes = ", ".join(f'"{text[start:end].strip()}"' for start, end in spans[:3])
            message = f"{wording.format(who=who)}: {quotes} ({who}'s canon: {usual})"
        else:
            message = f"{wording.format(who=who)} ({value}; {who}'s canon: {usual})"
        found.append(Hint(feature.check, feature.family, abs(z), message, spans[0] if spans else None))
    if reading.similarity_z < -min_z:
        message = f"Shares little wording with {who}'s canon posts"
        found.append(Hint("voice.similarity", "wording", -reading.similarity_z, message))
    found.sort(key=lambda hint: -hint.strength)
    return found


_CUE_INDEX = {f.name.removeprefix("cue_"): i for i, f in enumerate(FEATURES) if f.name.startswith("cue_")}


# A register the canon uses in at most one post in ten is still foreign to the character, but the canon's own
# occasional phrase ("community" in a teacher's post) is allowed: a draft needs one phrase more to show it.
RARE_REGISTER = 0.1  # phrases per canon post


def foreign_registers(model: VoiceModel, text: str) -> dict[str, list[tuple[int, int]]]:
    """Return the draft's cue phrases in registers the character's canon never or rarely uses, with spans."""
    found = cue_spans(normalise_apostrophes(text))
    return {name: spans for name, spans in found.items() if spans and register_rate(model, name) <= RARE_REGISTER}


def register_rate(model: VoiceModel, name: str) -> float:
    """Return how many phrases of the register the character's canon has per post."""
    return float(model.stats.centre[_CUE_INDEX[name]])


def stance_phrases(model: VoiceModel, foreign: dict[str, list[tuple[int, int]]]) -> dict[str, int]:
    """Count the separate foreign phrases per stance (`cues.STANCES`), less one for a register the canon has used.

    Overlapping phrases of one stance count once.
    """
    grouped: dict[str, list[tuple[int, int]]] = {}
    allowed: dict[str, int] = {}
    for name, spans in foreign.items():
        stance = STANCES[name]
        grouped.setdefault(stance, []).extend(spans)
        allowed[stance] = max(allowed.get(stance, 0), int(register_rate(model, name) > 0.0))
    counts: dict[str, int] = {}
    for stance, spans in grouped.items():
        end, separate = -1, 0
        for start, stop in sorted(spans):
            if start >= end:
                separate, end = separate + 1, stop
        counts[stance] = max(0, separate - allowed[stance])
    return counts


def register_message(text: str, foreign: dict[str, list[tuple[int, int]]], who: str) -> str:
    """Say which registers the canon never uses the draft writes in, quoting their phrases."""
    parts = []
    for name, spans in sorted(foreign.items(), key=lambda item: -len(item[1])):
        quotes = ", ".join(f'"{text[start:end].strip()}"' for start, end in spans[:3])
        parts.append(f"{CUE_WORDING[name][0].format(who=who)}: {quotes}")
    return "; ".join(parts)


def _range(low: float, high: float, count: bool) -> str:
    """Say where the canon's values usually lie (its 10th to 90th percentile)."""
    if count:
        low, high = math.floor(low), math.ceil(high)
        if high == 0:
            return "none"
    suffix = " a post" if count else ""
    if _number(low) == _number(high):
        return f"about {_number(low)}{suffix}"
    joiner = " to " if low < 0 else "-"
    return f"{_number(low)}{joiner}{_number(high)}{suffix}"


def _number(value: float) -> str:
    """Format a measurement for a message: whole numbers from 10 on, otherwise up to two significant digits."""
    if abs(value) >= 10 or value == round(value):
        return f"{value:,.0f}"
    return f"{value:.2g}"
