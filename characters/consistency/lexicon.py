"""Term matching with inflections and hyphen/space variants, and the anachronism lexicon and year finder."""

import csv
import itertools
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import regex

from characters.consistency.text import normalise_apostrophes

ANACHRONISMS_CSV = Path(__file__).with_name("data") / "anachronisms.csv"

_TOKEN = regex.compile(r"\w+(?:'\w+)*")
_TERM_SEPARATOR = regex.compile(r"[\s\-‐‑–—/]+")
# A slash joins like a hyphen, so that "24/7" and "9/11" can be terms.
_HYPHEN_GAP = regex.compile(r"[-‐‑/]")
# Spaces, possibly with an ampersand or the quotes of "rock 'n' roll", separate the words of a term.
_SPACE_GAP = regex.compile(r"[ \t\u00a0]+(?:'[ \t\u00a0]*)?|'[ \t\u00a0]+|[ \t\u00a0]*&[ \t\u00a0]*")
_VOWELS = frozenset("aeiou")
# Words that open or close phrase terms ("the war in Korea", "since 9/11") and have no inflections.
_FUNCTION_WORDS = frozenset(
    "a an the my your his her its our their this that these those of in on at to for from with by since after "
    "before during post out".split()
)
_CONNECTORS = ("and", "n", "")  # "" stands for "&", which is not a word token
# Irregular forms for verbs that head common multi-word terms ("go viral" -> "went viral").
_IRREGULAR: dict[str, tuple[str, ...]] = {
    "be": ("is", "was", "were", "been", "being", "am", "are"),
    "buy": ("bought",),
    "come": ("came",),
    "do": ("did", "done", "does"),
    "drive": ("drove", "driven"),
    "fly": ("flew", "flown"),
    "get": ("got", "gotten"),
    "go": ("went", "gone", "goes"),
    "have": ("has", "had"),
    "make": ("made",),
    "ride": ("rode", "ridden"),
    "run": ("ran",),
    "see": ("saw", "seen"),
    "sell": ("sold",),
    "send": ("sent",),
    "take": ("took", "taken"),
    "write": ("wrote", "written"),
}


# British and American spellings: a term in either spelling matches both ("cat's pajamas" finds "pyjamas",
# "technicolor" finds "technicolour"). Whole-word pairs, then stems with their endings; each rule is narrow enough
# that the other spelling is never an everyday word of its own ("tour" does not become "tor", "filled" not "filed").
_SPELLING_PAIRS = (
    ("pyjama", "pajama"),
    ("grey", "gray"),
    ("programme", "program"),
    ("doughnut", "donut"),
    ("aeroplane", "airplane"),
    ("aluminium", "aluminum"),
    ("moustache", "mustache"),
    ("mould", "mold"),
    ("plough", "plow"),
    ("cosy", "cozy"),
    ("sceptic", "skeptic"),
    ("whisky", "whiskey"),
    ("yoghurt", "yogurt"),
    ("sulphur", "sulfur"),
    ("artefact", "artifact"),
    ("ageing", "aging"),
    ("judgement", "judgment"),
    ("jewellery", "jewelry"),
    ("manoeuvre", "maneuver"),
    ("mediaeval", "medieval"),
    ("archaeolog", "archeolog"),
    ("encyclopaedia", "encyclopedia"),
    ("paediatric", "pediatric"),
    ("anaesthe", "anesthe"),
    ("haemo", "hemo"),
    ("oestrogen", "estrogen"),
    ("foetus", "fetus"),
    ("diarrhoea", "diarrhea"),
    ("defence", "defense"),
    ("offence", "offense"),
    ("licence", "license"),
    ("pretence", "pretense"),
    ("tyre", "tire"),
    ("kerb", "curb"),
    ("storey", "story"),
    ("omelette", "omelet"),
    ("cheque", "check"),
    ("gaol", "jail"),
    ("enrol", "enroll"),
    ("fulfil", "fulfill"),
    ("instalment", "installment"),
    ("skilful", "skillful"),
    ("woollen", "woolen"),
)
_SPELLING_RULES = tuple(
    (regex.compile(pattern), british, american)
    for pattern, british, american in (
        # colour/color, flavour/flavor, neighbourhood/neighborhood, behavioural/behavioral ...
        (
            r"^(col|flav|hum|hon|lab|od|arm|harb|parl|rum|vap|behavi|neighb|fav|vig|rig|sav|val|endeav|clam|glam"
            r"|ard|cand|splend|tum)(our|or)(s|ed|ing|ful|less|ite|ites|able|ably|al|ally|ist|ists|hood|hoods|ly|y|er|ers)?$",
            r"\1our\3",
            r"\1or\3",
        ),
        # realise/realize, organisation/organization, analyse/analyze (not wise/rise/noise: too short a stem).
        (r"^(\w{3,}[^aeiouw])i(s|z)(e|ed|es|ing|ation|ations|er|ers)$", r"\1is\3", r"\1iz\3"),
        (r"^(\w{2,}l)y(s|z)(e|ed|es|ing|er|ers)$", r"\1ys\3", r"\1yz\3"),
        # theatre/theater, centre/center, fibreglass/fiberglass, kilometre/kilometer ...
        (
            r"^(cent|theat|met|lit|fib|calib|sab|spect|meag|lust|somb|kilomet|centimet|millimet|millilit|goit)"
            r"(re|er)(s|d|ed|fold|folds|piece|pieces|glass|line|lines)?$",
            r"\1re\3",
            r"\1er\3",
        ),
        # catalogue/catalog, dialogue/dialog, analogue/analog ...
        (r"^(catal|dial|anal|prol|epil|monol|homol|travel)(ogue|og)(s|ed|ing)?$", r"\1ogue\3", r"\1og\3"),
        # traveller/traveler, cancelled/canceled, modelling/modeling ...
        (
            r"^(trave|cance|labe|mode|fue|signa|jewe|dia|marsha|counse|tota|leve|pane|channe|tunne|due|shove"
            r"|snorke|peda|riva|equa|barre|funne|quarre|yode)(ll|l)(ed|ing|er|ers|or|ors)$",
            r"\1ll\3",
            r"\1l\3",
        ),
    )
)


@lru_cache(maxsize=8192)
def spellings(word: str) -> frozenset[str]:
    """Return the word in its British and American spellings (the word alone when it has no other spelling)."""
    word = word.lower()
    forms = {word}
    for british, american in _SPELLING_PAIRS:
        for one, other in ((british, american), (american, british)):
            if word.startswith(one) and word[len(one) :] in ("", "s", "es", "ed", "ing", "er", "ers", "ical", "ist"):
                forms.add(other + word[len(one) :])
    for pattern, british, american in _SPELLING_RULES:
        if pattern.match(word):
            forms.update((pattern.sub(british, word), pattern.sub(american, word)))
    return frozenset(forms)


def _middles(parts: Sequence[str]) -> set[str]:
    """Return the inner words of a term joined, in either spelling, "and"/"n"/"&" being interchangeable."""
    options = [_CONNECTORS if part.strip("'") in _CONNECTORS else spellings(part) for part in parts]
    return {"".join(choice) for choice in itertools.product(*options)}


@lru_cache(maxsize=8192)
def _verb_forms(word: str) -> frozenset[str]:
    """Return the word's inflections without the possessives ("go viral" -> "goes", "went", "going" viral)."""
    return frozenset(form for form in inflections(word) if form == word.lower() or not form.endswith(("'s", "'")))


@lru_cache(maxsize=8192)
def inflections(word: str) -> frozenset[str]:
    """Return the word with its plural, possessive, -ed and -ing forms (lower case); function words as they are."""
    word = word.lower()
    if word in _FUNCTION_WORDS:
        return frozenset({word})
    forms = {word, word + "s", word + "'s", word + "s'"}
    forms.update(_IRREGULAR.get(word, ()))
    if not word.isalpha() or len(word) < 2:
        return frozenset(forms)
    if word.endswith(("s", "x", "z", "ch", "sh", "o")):
        forms.update((word + "es", word + "es'"))
    if word.endswith("e"):
        forms.update((word + "d", word[:-1] + "ing"))
    else:
        forms.update((word + "ed", word + "ing"))
    if word.endswith("ing") and len(word) > 5:
        forms.add(word[:-3] + "ed")  # a gerund term ("texting") also stands for its past tense ("texted")
    if word.endswith("y") and word[-2] not in _VOWELS:
        forms.update((word[:-1] + "ies", word[:-1] + "ied", word[:-1] + "ies'"))
    if word.endswith("ic"):
        forms.update((word + "ked", word + "king"))  # panic -> panicked, panicking; picnic -> picnicked
    # Consonant-vowel-consonant endings double before a vowel suffix: zip -> zipped, zipping.
    if len(word) >= 3 and word[-1] not in _VOWELS | set("wxy") and word[-2] in _VOWELS and word[-3] not in _VOWELS:
        forms.update((word + word[-1] + "ed", word + word[-1] + "ing"))
    return frozenset(forms)


@lru_cache(maxsize=8192)
def adverbs(word: str) -> frozenset[str]:
    """Return the adverbs an adjective makes (amazing -> amazingly, simple -> simply, basic -> basically)."""
    word = word.lower()
    if not word.isalpha() or len(word) < 3 or word in _FUNCTION_WORDS:
        return frozenset()
    if word.endswith("ic"):
        return frozenset({word + "ally", word + "ly"})
    if word.endswith("le") and word[-3] not in _VOWELS:
        return frozenset({word[:-1] + "y"})
    if word.endswith("y") and word[-2] not in _VOWELS:
        return frozenset({word[:-1] + "ily"})
    if word.endswith("ll"):
        return frozenset({word + "y"})
    return frozenset({word + "ly"})


def _end_forms(parts: list[str], *, standalone: bool, with_adverbs: bool) -> tuple[frozenset[str], frozenset[str]]:
    """Return the forms a term's first and last words take ("" for the last word of a one-word term)."""
    separators = len(parts) > 1
    heads, tails = spellings(parts[0]), spellings(parts[-1])
    if standalone:
        # A word said on its own ("Bummer.", "Not!") is an interjection: it has no inflections.
        return heads, tails if separators else frozenset({""})
    # A phrase's first word inflects as a verb ("went viral"); its possessive goes on the last word.
    first = frozenset().union(*(_verb_forms(h) if separators else inflections(h) for h in heads))
    if with_adverbs and not separators:
        first = first.union(*(adverbs(h) for h in heads))
    last = frozenset().union(*(inflections(tail) for tail in tails)) if separators else frozenset({""})
    return first, last


@dataclass(frozen=True, slots=True)
class Token:
    """A word of the text, lower-cased, and what separates it from the previous word."""

    start: int
    end: int
    lower: str
    gap: str  # "space", "hyphen" or "other" (punctuation: a term never spans it)


@lru_cache(maxsize=8)
def tokenize(text: str) -> tuple[Token, ...]:
    """Split the text into words for term matching (cached: every matcher of one check reads the same text)."""
    normalised = normalise_apostrophes(text)
    tokens: list[Token] = []
    previous_end = 0
    for m in _TOKEN.finditer(normalised):
        gap = normalised[previous_end : m.start()]
        kind = "space" if _SPACE_GAP.fullmatch(gap) else "hyphen" if _HYPHEN_GAP.fullmatch(gap) else "other"
        tokens.append(Token(m.start(), m.end(), m.group().lower(), kind))
        previous_end = m.end()
    return tuple(tokens)


@dataclass(frozen=True, slots=True)
class TermMatch:
    """One occurrence of a lexicon term in a text."""

    index: int
    start: int
    end: int
    surface: str


class TermMatcher:
    """Find terms on word boundaries, case-insensitively, in inflected and hyphen/space variants.

    A term that starts with "^" matches only at the start of the text or after punctuation, and one that ends
    with "$" only at its end or before punctuation: "^bummer$" is the interjection "Bummer.", not "a bummer".
    """

    def __init__(self, terms: Iterable[str], *, with_adverbs: bool = False) -> None:
        """Index the surface forms of each term; `TermMatch.index` is the term's position in `terms`.

        `with_adverbs` also matches a one-word term's adverbs ("amazingly" for a banned "amazing").
        """
        self._surfaces: dict[str, list[tuple[int, int]]] = {}
        # The inner nodes of the token trie: a term's first words joined, so a window stops growing as soon as
        # no term continues it (a word the text splits at a hyphen, "e-mail", is let through in _longest_at).
        self._prefixes: set[str] = set()
        self._window = 1
        # Terms that must stand alone before (after) them: the text starts (ends) there or punctuation does.
        self._opening: set[int] = set()
        self._closing: set[int] = set()
        for index, term in enumerate(terms):
            spelled = normalise_apostrophes(term).lower().replace("&", " and ").strip()
            if spelled.startswith("^"):
                self._opening.add(index)
            if spelled.endswith("$"):
                self._closing.add(index)
            spelled = spelled.strip("^$ ")
            # A word's leading or trailing apostrophe is never part of a text token ("citizens' council").
            parts = [p.strip("'") for p in _TERM_SEPARATOR.split(spelled) if p.strip("'")]
            if not parts:
                continue
            separators = len(parts) - 1
            # Room for the text to split a one-word term at hyphens ("e-mail" for "email").
            self._window = max(self._window, len(parts) + 2)
            standalone = index in self._opening and index in self._closing
            first, last = _end_forms(parts, standalone=standalone, with_adverbs=with_adverbs)
            inner = parts[1:-1]
            entry = (index, separators)
            for surface in {"".join(forms) for forms in itertools.product(first, _middles(inner), last)}:
                entries = self._surfaces.get(surface)
                if entries is None:
                    self._surfaces[surface] = [entry]
                elif entry not in entries:
                    entries.append(entry)
            if separators:
                leads = {lead for k in range(len(inner) + 1) for lead in _middles(inner[:k])}
                self._prefixes.update(head + lead for head in first for lead in leads)

    def __bool__(self) -> bool:
        """Return True when the matcher knows at least one term."""
        return bool(self._surfaces)

    def find(self, text: str, keep: Callable[[int], bool] | None = None) -> list[TermMatch]:
        """Return non-overlapping matches, longest first at each position, in text order (only terms `keep` takes)."""
        if not self._surfaces:
            return []
        tokens = tokenize(text)
        found = (self._longest_at(text, tokens, i, keep) for i in range(len(tokens)))
        return _without_overlaps([match for match in found if match is not None])

    def _longest_at(
        self, text: str, tokens: Sequence[Token], i: int, keep: Callable[[int], bool] | None
    ) -> TermMatch | None:
        """Return the longest term starting at token `i`, growing the window while some term still extends it."""
        first = tokens[i]
        opens = i == 0 or first.gap == "other"
        key = ""
        spaces = 0
        best: TermMatch | None = None
        for j in range(i, min(i + self._window, len(tokens))):
            token = tokens[j]
            if j > i:
                if token.gap == "space":
                    spaces += 1
                elif token.gap != "hyphen":
                    break
            key += token.lower
            closes = j + 1 == len(tokens) or tokens[j + 1].gap == "other"
            for index, separators in self._surfaces.get(key, ()):
                if index in self._opening and not opens or index in self._closing and not closes:
                    continue
                if spaces <= separators and (keep is None or keep(index)):
                    best = TermMatch(index, first.start, token.end, text[first.start : token.end])
                    break
            hyphen_next = j + 1 < len(tokens) and tokens[j + 1].gap == "hyphen"
            if not hyphen_next and key not in self._prefixes:
                break
        return best


def _without_overlaps(matches: Sequence[TermMatch]) -> list[TermMatch]:
    """Keep the longest match where matches overlap."""
    kept: list[TermMatch] = []
    for match in sorted(matches, key=lambda m: (m.start, -(m.end - m.start))):
        if kept and match.start < kept[-1].end:
            continue
        kept.append(match)
    return kept


# A lexicon term may be a pattern: "(a|b)" is one of the choices, "[a|b]" one of them or nothing, so that
# "[the|a] war in (Korea|Vietnam)" stands for eight phrases ("the war in Korea", "war in Vietnam", ...). Braces mark
# the part a finding points at when the rest is context: "(since|after) {9/11}" matches "since 9/11" but flags
# "9/11", so that an alternative ("the attacks") replaces just that.
_GROUP = regex.compile(r"\(([^()\[\]]*)\)|\[([^()\[\]]*)\]")
# Named frames for slang whose bare word has an older sense, so that a row names the phrasing only the new sense
# uses: "<such-a> {downer}" (what a downer, a total downer) or "{bummer} <of-a>" (a bummer of a night).
FRAMES = {
    "<such-a>": "(such a|what a|a total|a real|a major|a complete|an absolute|total|major|kind of a|kinda a)",
    "<of-a>": "of a (day|night|week|weekend|year|month|morning|afternoon|evening|time|game|match|show|trip|ride"
    "|party|drive|job|shift|film|movie|song|season|summer|winter|class|date|test|flight|meeting)",
}
_CORE = regex.compile(r"^(.*)\{(.*)\}(.*)$")


@dataclass(frozen=True, slots=True)
class Phrase:
    """One phrase of a term: its words, and how many of them before and after the flagged part are context."""

    text: str
    lead: int
    trail: int


def _phrases(term: str) -> list[Phrase]:
    """Return the phrases a lexicon term stands for, with their context words counted."""
    for name, frame in FRAMES.items():
        term = term.replace(name, frame)
    opening, closing = term.startswith("^"), term.endswith("$")
    term = term.strip("^$")
    pieces: list[tuple[str, ...]] = []
    position = 0
    for group in _GROUP.finditer(term):
        pieces.append((term[position : group.start()],))
        required, optional = group.group(1), group.group(2)
        choices = (required if required is not None else optional).split("|")
        pieces.append(tuple(choice.strip() for choice in choices) + (() if required is not None else ("",)))
        position = group.end()
    pieces.append((term[position:],))
    phrases: dict[str, Phrase] = {}
    for choice in itertools.product(*pieces):
        spelled = " ".join("".join(choice).split())
        core = _CORE.match(spelled)
        before, after = (core.group(1), core.group(3)) if core else ("", "")
        text = " ".join(spelled.replace("{", " ").replace("}", " ").split())
        if text:
            text = "^" * opening + text + "$" * closing
            phrases.setdefault(text, Phrase(text, _word_count(before), _word_count(after)))
    return list(phrases.values())


def _word_count(words: str) -> int:
    """Return the number of words the matcher sees in `words`."""
    return len([part for part in _TERM_SEPARATOR.split(normalise_apostrophes(words)) if part])


def expand_pattern(term: str) -> list[str]:
    """Return the phrases a lexicon term stands for (the term itself when it has no groups)."""
    return [phrase.text for phrase in _phrases(term)]


@dataclass(frozen=True, slots=True)
class Anachronism:
    """A lexicon row: a term, the first year it existed (or was current), and period replacements for it."""

    term: str
    first_year: int
    category: str
    note: str
    alternatives: tuple[str, ...] = ()


class AnachronismLexicon:
    """The anachronism terms with a matcher over every phrase they stand for."""

    def __init__(self, entries: Sequence[Anachronism]) -> None:
        """Index the entries."""
        self.entries = tuple(entries)
        self._phrases = [(index, phrase) for index, entry in enumerate(self.entries) for phrase in _phrases(entry.term)]
        self._years = [self.entries[owner].first_year for owner, _ in self._phrases]
        self._matcher = TermMatcher(phrase.text for _, phrase in self._phrases)

    def __len__(self) -> int:
        """Return the number of terms."""
        return len(self.entries)

    def find(self, text: str, end_year: int) -> list[tuple[Anachronism, TermMatch]]:
        """Return the terms in the text that first appeared after `end_year`."""
        # Filter by year before overlaps are resolved, so an older long phrase does not hide a newer term inside it.
        matches = self._matcher.find(text, keep=lambda index: self._years[index] > end_year)
        return [(self.entries[self._phrases[m.index][0]], _core(text, m, self._phrases[m.index][1])) for m in matches]

    def alternatives_for(self, entry: Anachronism, end_year: int) -> tuple[str, ...]:
        """Return the entry's alternatives that are not anachronisms themselves by `end_year`, in order."""
        return tuple(alternative for alternative in entry.alternatives if not self.find(alternative, end_year))

    @classmethod
    def from_csv(cls, path: Path) -> "AnachronismLexicon":
        """Read a CSV with columns term, first_year, category, alternatives ("a|b"), note; skip malformed rows."""
        entries: list[Anachronism] = []
        with path.open(encoding="utf-8", newline="") as handle:
            for row in csv.DictReader(handle):
                term = (row.get("term") or "").strip()
                year = (row.get("first_year") or "").strip()
                if not term or not year.lstrip("-").isdigit():
                    continue
                alternatives = tuple(a.strip() for a in (row.get("alternatives") or "").split("|") if a.strip())
                category, note = (row.get("category") or "").strip(), (row.get("note") or "").strip()
                entries.append(Anachronism(term, int(year), category, note, alternatives))
        return cls(entries)


def _core(text: str, match: TermMatch, phrase: Phrase) -> TermMatch:
    """Narrow a match to the flagged part of its phrase, leaving out the context words around it."""
    if not (phrase.lead or phrase.trail):
        return match
    words = [token for token in tokenize(text) if match.start <= token.start and token.end <= match.end]
    if phrase.lead + phrase.trail >= len(words):
        return match
    start, end = words[phrase.lead].start, words[len(words) - 1 - phrase.trail].end
    return TermMatch(match.index, start, end, text[start:end])


@lru_cache(maxsize=4)
def _load(path: Path, mtime_ns: int) -> AnachronismLexicon:
    """Read and index the CSV (cached per path and modification time)."""
    del mtime_ns  # part of the cache key only: an edited file is read again
    return AnachronismLexicon.from_csv(path)


def anachronism_lexicon(path: Path = ANACHRONISMS_CSV) -> AnachronismLexicon:
    """Return the lexicon at `path` (empty when the file is missing), cached until the file changes."""
    try:
        mtime = path.stat().st_mtime_ns
    except OSError:
        return AnachronismLexicon(())
    return _load(path, mtime)


# A 4-digit year: not part of a larger number ("1,900", "19:30", "$1999", "#2001") or a code ("A1999").
_YEAR = regex.compile(r"(?<![\w$£€¥#.,:/+])(1\d{3}|2[01]\d{2})(?:'?s)?(?![\w%°]|[.,:/]\d)")
_WORD_BEFORE = regex.compile(r"(\w+)\W*$")
_WORD_AFTER = regex.compile(r"^\W*?(\w+)")
# Numbers that count things or label things are not years: "1999 dollars", "room 2001", "at 2100 hours".
_NOT_YEAR_AFTER = frozenset(
    "dollars dollar bucks pounds pound quid guineas shillings pence cents francs marks yen euros "
    "people men women souls persons copies words pages miles mile feet foot yards inches acres tons "
    "pounds kilos grams metres meters hours hrs minutes seconds degrees times units items pieces "
    "votes readers subscribers customers followers horses cars homes houses rooms steps calories "
    "points runs sheep head dogs cats odd".split()
)
_NOT_YEAR_BEFORE = frozenset(
    "room page no number flight apartment suite route highway platform car train bus box apt "
    "model code pin account extension ext ward cell locker badge unit lot".split()
)


def future_years(text: str, end_year: int) -> list[tuple[int, int, int]]:
    """Return (year, start, end) for each year mentioned in the text that is later than `end_year`."""
    found: list[tuple[int, int, int]] = []
    for match in _YEAR.finditer(text):
        year = int(match.group(1))
        if year <= end_year:
            continue
        after = _WORD_AFTER.match(text[match.end() : match.end() + 40])
        before = _WORD_BEFORE.search(text[max(0, match.start() - 40) : match.start()])
        if after and after.group(1).lower() in _NOT_YEAR_AFTER:
            continue
        if before and before.group(1).lower() in _NOT_YEAR_BEFORE:
            continue
        found.append((year, match.start(), match.end()))
    return found
