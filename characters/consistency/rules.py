"""Hard rules: banned words, anachronisms, breaks of character, point of view and the format policy."""

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import regex

from characters.bibles.card_data import CardData, GreenroomExtension
from characters.consistency.lexicon import AnachronismLexicon, TermMatcher, adverbs, future_years, inflections
from characters.consistency.result import Finding, Severity
from characters.consistency.text import emoji_spans, hashtag_spans, normalise_apostrophes, words
from characters.core.platforms import Span, grapheme_count, grapheme_offset, platform_named, url_spans

MAX_FINDINGS_PER_RULE = 10  # a 100 KB paste should not produce thousands of identical findings
MAX_REPLACEMENTS = 4  # one-click fixes offered per finding: enough choice, not a thesaurus

# When each kind of post furniture first existed, for characters whose era ends earlier.
_FURNITURE_FIRST_YEAR = {"emoji": 1999, "hashtag": 2007, "URL": 1991}

_I = regex.IGNORECASE | regex.MULTILINE
_AI_NOUN = (
    r"(?:large\s+)?(?:ai|a\.i\.|artificial\s+intelligence|(?:ai\s+)?language\s+model|llm|chat\s?bot|bot"
    r"|(?:ai|virtual|digital|helpful|friendly|personal)\s+assistant|ai\s+model|computer\s+program"
    r"|machine\s+learning\s+model)"
)
_REFUSAL_VERB = r"(?:help|assist|provide|generate|fulfil|fulfill|comply|engage|produce|create)"
# General shapes of an assistant breaking the fourth wall, by what they reveal. Written from how assistants
# talk, not from any character's posts, so they carry over to characters the checker has never seen. Merely
# naming AI is a topic a present-day character may have, so it only warns; speaking as one fails.
_BREAK_PATTERNS: dict[str, tuple[Severity, tuple[str, ...]]] = {
    "speaks as an AI": (
        "fail",
        (
            rf"\bas\s+(?:just\s+|only\s+|merely\s+|simply\s+)?(?:an?|your)\s+(?:[\w-]+\s+){{0,2}}?{_AI_NOUN}\b",
            rf"\b(?:i'm|i\s+am|being)\s+(?:just\s+|only\s+|merely\s+|simply\s+|really\s+)?(?:an?\s+|your\s+)?"
            rf"(?:[\w-]+\s+)?{_AI_NOUN}\b",
            r"\bmy\s+(?:training\s+data|programming|knowledge\s+cut-?off|(?:content|safety|usage)\s+guidelines)\b",
        ),
    ),
    "mentions AI": (
        "warn",
        (
            r"\b(?:large\s+)?language\s+models?\b|\bLLMs?\b|\bAI\s+(?:models?|assistants?|chatbots?)\b",
            r"\bchat\s?GPT\b|\bGPT-?\d\w*\b|\bOpenAI\b|\bAnthropic\b|\btraining\s+data\b|\bcontent\s+polic(?:y|ies)\b",
        ),
    ),
    "leaks the prompt or instructions": (
        "fail",
        (
            r"\bsystem\s+(?:prompt|message|instructions?)\b|\b(?:your|this|my)\s+prompt\b|\bprompt\s*:",
            r"\b(?:per|following|based\s+on)\s+(?:your|the)\s+(?:prompt|instructions?|request)\b",
            r"\bas\s+(?:requested|instructed)\s*:|(?:^|[.!?]\s+)(?:response|output|assistant|user)\s*:",
            r"\b(?:stay|stays|staying|remain|remains|remaining|break|breaks|breaking|out)\s+(?:in|of)\s+character\b",
            r"\{\{\s*(?:char|user)\s*\}\}|\[\s*(?:system|inst|ooc|assistant|user|end|tone|style|output)\b",
            # Instructions pasted along with the post: "[Persona: …]", "Ignore previous instructions", "Keep it
            # under 280 characters", "Draft: …".
            r"\[\s*(?:persona|character|role|voice|instructions?|prompt|brief|context|rules?)\s*:",
            r"\bignore\s+(?:all\s+)?(?:the\s+|your\s+|any\s+)?(?:previous|prior|above|earlier)\s+(?:instructions?|prompts?"
            r"|rules|messages)\b",
            r"(?:^|[.!?(\[]\s*)(?:keep|make)\s+it\s+(?:under|below|within|less\s+than|at\s+most|no\s+more\s+than)\s+\d[\d,]*\s+"
            r"(?:characters|chars|words|graphemes)\b",
            r"(?:^|[.!?]\s+)(?:draft|tweet|caption|final\s+(?:post|version|draft))\s*:",
            r"<\|?\s*(?:system|im_start|im_end)",
            # "Here's a terse post in Walt's voice:" -- an assistant introducing what it generated.
            r"\b(?:here|below)(?:'s|\s+is|\s+are)\s+(?:a|an|your)\s+(?:[\w'-]+[\s,]+){0,5}?(?:post|tweet|caption|draft"
            r"|toot|skeet|thread|response|rewrite|version|status\s+update|item|blurb|snippet|sample|caption)s?\b[^.!?\n]{0,80}?:",
            r"\b(?:here|below)(?:'s|\s+is)\s+your\s+(?:[\w'-]+\s+){0,3}(?:post|tweet|caption|draft|update|rewrite|version)",
            r"\bgenerated\s+(?:post|text|content|response|caption|tweet|draft)s?\b",
            r"\b(?:certainly|sure|absolutely|of\s+course)\s*[!,.]\s*(?:here(?:'s|\s+is)|below\s+is)\b",
            r"\b(?:word|character)\s+count\s*:",
            r"\bnote\s+to\s+(?:the\s+)?(?:editor|user|reviewer)\b",
        ),
    ),
    "refuses or offers like an assistant": (
        "fail",
        (
            r"\bI(?:'m|\s+am)\s+(?:sorry|afraid),?\s+but\s+(?:as\s+an?\s+[\w\s]{1,30}?,?\s+)?I\s+(?:can(?:'t|not)"
            r"|can\s+not|am\s+(?:not\s+able|unable)|'m\s+(?:not\s+able|unable)|won't|will\s+not|must\s+decline)\b",
            r"\bI\s+apologi[sz]e,?\s+but\s+I\b",
            rf"\bI\s+(?:can(?:'t|not)|can\s+not|am\s+(?:not\s+able|unable)\s+to|'m\s+(?:not\s+able|unable)\s+to)\s+"
            rf"{_REFUSAL_VERB}\s+(?:you\s+)?(?:with\s+)?(?:that|this|your|such|content|requests?|information|details"
            r"|opinions?)\b",
            r"\bI(?:'m|\s+am)\s+not\s+comfortable\s+(?:writing|creating|generating|producing|providing|helping)\b",
            r"\b(?:perhaps|maybe)\s+I\s+(?:could|can)\s+(?:write|create|draft|generate|help)\b[^.?!]{0,200}?\binstead\b",
            r"\bwould\s+you\s+like\s+(?:me\s+to\s+(?:write|generate|create|draft|try)|(?:an?|some)\s+(?:post|description"
            r"|version|tweet|caption|different\s+post|tips|ideas|suggestions|information|advice|list|poem|summary|overview)\b"
            r"[^.?!]{0,200}?\binstead)",
            r"\blet\s+me\s+know\s+if\s+you(?:'d|\s+would)\s+(?:like|prefer|want)\s+(?:it|this|me\s+to|any|a\s+(?:different"
            r"|shorter|longer))\b",
            r"\banything\s+else\s+I\s+(?:can|may|could)\s+(?:help|assist)|\bhow\s+(?:can|may)\s+I\s+(?:help|assist)\s+you",
            r"\b(?:could|might|may)\s+be\s+(?:harmful|offensive|inappropriate)\b",
            r"\bI\s+hope\s+this\s+helps\b|\bfeel\s+free\s+to\s+(?:adjust|tweak|edit|modify|change)\b",
            r"\bnot\s+able\s+to\s+(?:share|express|give)\s+(?:personal\s+)?opinions\b",
            r"\bI\s+(?:don't|do\s+not)\s+have\s+(?:personal\s+)?(?:opinions|feelings|a\s+(?:physical\s+)?body)\b",
        ),
    ),
}
_BREAKS = tuple(
    (what, severity, regex.compile("|".join(parts), _I)) for what, (severity, parts) in _BREAK_PATTERNS.items()
)

_TITLES = (
    "mr mrs ms miss mister madam madame dr doctor prof professor inspector sergeant sgt detective officer "
    "constable captain capt lieutenant lt colonel major general sir dame lady lord chief agent father sister "
    "brother aunt uncle"
).split()
_PARTICLES = frozenset("de da di del la le van von der den the of and y".split())
_AUXILIARY = (
    r"is|was|has|had|does|did|isn't|wasn't|hasn't|hadn't|doesn't|didn't|will|won't|would|wouldn't|can|can't|cannot"
    r"|could|couldn't|should|shouldn't|may|might|must|shall|went|said|made|took|got|saw|came|ran|wrote|thought|felt"
    r"|knew|found|gave|told|left|kept|held|brought|bought|sat|stood|won|lost|drank|ate|slept|sold|sent|spent|met"
    r"|paid|heard|began|became|broke|caught|chose|drove|fell|flew|forgot|grew|hid|led|meant|rode|rose|sang|shook"
    r"|spoke|stole|swore|taught|threw|woke|wore|lit|rewound|wound|hung|hit|cut|put|shut|quit|let|laid|lay|beat|bent"
    r"|bit|blew|built|burnt|caught|clung|crept|dealt|dug|drew|dreamt|fed|fought|fled|flung|forgave|froze|hurt|knelt"
    r"|leapt|lent|overslept|rang|sank|shot|shone|slid|sped|spun|spat|sprang|stuck|struck|swam|swept|swung|tore"
    r"|understood|wept|withdrew|undid"
)
# "Library cards are free": an -s word followed by a plural verb is a plural noun, not the name's verb.
_PLURAL_SUBJECT = r"\s+(?:are|were|aren't|weren't|have|haven't|do|don't)\b"
_ADVERB = r"(?:\w+ly|just|also|still|never|always|now|then|even|only|already|once|again|too)"
_AUXILIARY_WORDS = frozenset(_AUXILIARY.split("|"))
_ADVERB_WORD = regex.compile(_ADVERB)
_NICKNAME = regex.compile(r"[\"'‘“](\p{Lu}[\p{L}-]{1,20})[\"'’”]")
# "handle LyleB", "CB handle Tumbleweed", "known as Birdie": another name the description gives the character.
_HANDLE = regex.compile(
    r"\b(?:handle|nicknamed|nickname|username|screen\s+name|call\s+sign|known\s+as|goes\s+by)\s+[\"'‘“]?"
    r"(\p{Lu}[\p{L}\p{N}_-]{1,20})"
)
# The capitalised words that open the description ("Rita Mae Sutter, 24, ..."), for a middle name the card omits.
_OPENING_NAME = regex.compile(r"(?:\p{Lu}[\p{L}'-]*\.?\s+){1,4}\p{Lu}[\p{L}'-]*(?=\s*,)")
_SELF_INTRO = regex.compile(
    r"(?:\bI'm|\bI\s+am|\bname\s+is|\bname's|\bcalls?\s+me|\bcalled\s+me|\bme,?)\s*[\"'‘“]?$", _I
)

# Bounded so that a text full of unmatched opening quotes cannot make the search quadratic.
_QUOTED = regex.compile(r"(?<!\w)[\"“'‘][^\n\"“”]{1,300}?[\"”'’](?!\w)")
_SINGULAR = frozenset("i me my mine myself i'm i've i'll i'd".split())
_PLURAL = frozenset("we us our ours ourselves we're we've we'll we'd".split())
_INSTITUTIONAL_WE = regex.compile(
    r"\b[Ww]e\s+(?:here\s+)?(?:at|of|from)\s+(?:the\s+)?\p{Lu}[\w&'-]*"
    r"|\b(?:[Ww]e(?:'re|\s+are)|[Oo]ur\s+\w+\s+(?:is|are))\s+(?:so\s+|very\s+)?(?:proud|pleased|excited|thrilled"
    r"|delighted|happy|honou?red|committed|dedicated)\s+to\b"
    r"|\b(?:[Tt]hank\s+you|[Tt]hanks)\s+for\s+(?:choosing|supporting|trusting)\s+us\b"
)


@dataclass(frozen=True, slots=True)
class RuleSet:
    """A character's hard rules, compiled once per bible version."""

    name: str
    greenroom: GreenroomExtension
    banned: TermMatcher
    preferred: TermMatcher
    preferred_uses: tuple[str, ...]
    preferred_avoided: tuple[str, ...]  # the word each `preferred` match stands for, to inflect its replacement
    self_reference: regex.Pattern[str] | None
    voice_of: regex.Pattern[str]  # "in Walt's voice": a prompt leaking into the post
    plural_voice_in_canon: bool
    singular_voice_in_canon: bool


def _name_parts(card: CardData) -> tuple[list[str], list[str]]:
    """Return (names, surnames-for-titles): the card name, its parts without titles, and nicknames."""
    raw = [part.strip(".,") for part in card.name.split()]
    parts = [p for p in raw if p and p.lower().rstrip(".") not in _TITLES and p.lower() not in _PARTICLES]
    names = {" ".join(parts), *parts} if parts else {card.name}
    intro = card.description[:300]
    for nickname in [*_NICKNAME.findall(intro), *_HANDLE.findall(intro)]:
        if any(part in intro for part in parts):
            names.add(nickname)
    opening = _OPENING_NAME.match(card.description)
    if opening and len(parts) >= 2:
        # "Rita Mae Sutter" for a card named "Rita Sutter": she may also be "Rita Mae".
        full = [w.rstrip(".") for w in opening.group(0).split() if w.lower().rstrip(".") not in _TITLES]
        if len(full) > len(parts) and full[0] == parts[0] and full[-1] == parts[-1]:
            names.update({" ".join(full), " ".join(full[:-1])})
    names = {name for name in names if len(name) >= 2}
    return sorted(names, key=len, reverse=True), parts[-1:] if parts else []


def _writes_in_lowercase(canon: Sequence[str]) -> bool:
    """Return True when the canon hardly uses capitals (then names are written in lower case too)."""
    letters = "".join(ch for post in canon for ch in post if ch.isalpha())
    return len(letters) >= 200 and sum(ch.isupper() for ch in letters) / len(letters) < 0.01


def _self_reference_pattern(names: Sequence[str], lowercase: bool) -> regex.Pattern[str] | None:
    """Compile 'Name (adverb) verb' / "Name's" for the character's names, titled or not."""
    if not names:
        return None
    # Capitalised (or shouted) names only, so "the crane was" is not Inspector Crane, unless the character
    # writes everything in lower case.
    alternatives = "|".join(regex.escape(n) for n in [*names, *(n.upper() for n in names)])
    if lowercase:
        alternatives = f"(?i:{alternatives})"
    titles = "|".join(t.capitalize() for t in _TITLES)
    return regex.compile(
        rf"(?<![\w@#])(?:(?:{titles})\.?\s+)?(?:{alternatives})(?![\w-])"
        rf"(?:'s\s+(?=\p{{L}})|\s+(?:{_ADVERB}\s+)?(?:{_AUXILIARY}|\p{{Ll}}+ed|\p{{Ll}}+s\b(?!{_PLURAL_SUBJECT}))\b)"
    )


def _self_names(card: CardData, canon: Sequence[str], lowercase: bool) -> list[str]:
    """Return the names whose 'Name verb' use marks third-person self-reference.

    A name the canon itself uses that way is an ordinary word for this character (a "Sunny" whose canon says
    "Sunny days are back"), so it is left out rather than failing every such post.
    """
    names, _ = _name_parts(card)
    kept = []
    for name in names:
        pattern = _self_reference_pattern([name], lowercase)
        if pattern is not None and not any(pattern.search(normalise_apostrophes(post)) for post in canon):
            kept.append(name)
    return kept


def _voice_share(canon: Sequence[str], mine: frozenset[str], theirs: frozenset[str], at_least: int = 2) -> float:
    """Return the share of canon posts that use `mine` pronouns at least `at_least` times and `theirs` never."""
    if not canon:
        return 0.0
    hits = 0
    for post in canon:
        tokens = [w.lower() for w in words(normalise_apostrophes(post)) if w != "US"]
        if sum(t in mine for t in tokens) >= at_least and not any(t in theirs for t in tokens):
            hits += 1
    return hits / len(canon)


def compile_rules(card: CardData) -> RuleSet:
    """Compile the card's hard rules."""
    greenroom = card.greenroom
    vocabulary = greenroom.vocabulary
    preferred_pairs = [(p.use, avoid) for p in vocabulary.preferred for avoid in p.instead_of]
    names, _ = _name_parts(card)
    alternatives = "|".join(regex.escape(n) for n in names)
    lowercase = _writes_in_lowercase(greenroom.canon_posts)
    return RuleSet(
        name=card.name,
        greenroom=greenroom,
        banned=TermMatcher((term.term for term in vocabulary.banned), with_adverbs=True),
        preferred=TermMatcher(avoid for _, avoid in preferred_pairs),
        preferred_uses=tuple(use for use, _ in preferred_pairs),
        preferred_avoided=tuple(avoid for _, avoid in preferred_pairs),
        self_reference=_self_reference_pattern(_self_names(card, greenroom.canon_posts, lowercase), lowercase),
        voice_of=regex.compile(
            rf"\bin\s+(?:(?:{alternatives})(?:'s)?\s+(?:voice|style|tone)|the\s+(?:voice|style|tone)\s+of\s+"
            rf"(?:{alternatives}))\b|\b(?:write|post|respond|reply|answer|speak|talk)\s+as\s+(?:if\s+you\s+were\s+)?"
            rf"(?:{alternatives})\b",
            regex.IGNORECASE,
        ),
        # One canon post that speaks as "we" and never "I" ("We got them home.") shows a team voice the
        # character has: a short canon may hold no post that says "we" twice.
        plural_voice_in_canon=_voice_share(greenroom.canon_posts, _PLURAL, _SINGULAR, at_least=1) > 0,
        singular_voice_in_canon=_voice_share(greenroom.canon_posts, _SINGULAR, _PLURAL) > 0.05,
    )


def short_name(card: CardData) -> str:
    """Return the name the messages use for the character ("Walt" for "Walt Hadley")."""
    parts = [p for p in card.name.split() if p.lower().rstrip(".") not in _TITLES]
    return parts[0] if parts else card.name


def _capped(findings: Iterable[Finding]) -> list[Finding]:
    """Return at most MAX_FINDINGS_PER_RULE of the findings."""
    out: list[Finding] = []
    for finding in findings:
        if len(out) == MAX_FINDINGS_PER_RULE:
            break
        out.append(finding)
    return out


# --- one-click fixes: replacements shaped like the words they replace --------------------------------------

_WORD_OF = regex.compile(r"\w+(?:'\w+)*")
_PUNCTUATED = regex.compile(r"[(),/;:]")
_POSSESSIVE_TAIL = regex.compile(r"'s(\s+)$")
_NEXT_WORD = regex.compile(r"(\s+)([\w']+)")
_WE_AT = regex.compile(r"[Ww]e\s+(?:here\s+)?(?:at|of|from)\b")
_PRONOUN_WORD = regex.compile(r"\w+(?:'\w+)?")
# The rest of "We at the Corliss Bakery are": more of the name, then the verb that must become "am".
_ORGANISATION_REST = regex.compile(
    r"(?:\s+(?:\p{Lu}[\w&'-]*|&|of|and)(?=\s|[,.!?]|$))*(?:,?\s+(are|were|have|will|'re))?"
)
_VOWEL = frozenset("aeiou")
_LEADING_ARTICLE = regex.compile(r"(?i)^(?:the|an?)\s+(?=\S)")
_DETERMINER_BEFORE = regex.compile(
    r"(?i)(?<!\w)(?:the|an?|my|your|his|her|its|our|their|this|that|these|those|every|no|one)\s+$"
)
_OPENERS = "\"“‘'([*_"
# Past tenses of verbs that period alternatives tend to start with ("rang up", "wrote to", "sent a wire").
_IRREGULAR_PAST = dict(
    pair.split(":")
    for pair in (
        "be:was bring:brought buy:bought catch:caught come:came do:did draw:drew drink:drank drive:drove eat:ate "
        "fall:fell feel:felt find:found fly:flew get:got give:gave go:went grow:grew have:had hear:heard hold:held "
        "keep:kept know:knew leave:left lend:lent lose:lost make:made meet:met pay:paid put:put read:read ride:rode "
        "ring:rang run:ran say:said see:saw sell:sold send:sent set:set sing:sang sit:sat sleep:slept speak:spoke "
        "spend:spent stand:stood swim:swam take:took teach:taught tell:told think:thought throw:threw wear:wore "
        "win:won write:wrote spread:spread cast:cast hit:hit hurt:hurt let:let shut:shut split:split cost:cost "
        "beat:beat burst:burst quit:quit"
    ).split()
)
_PAST_WORDS = frozenset(_IRREGULAR_PAST.values())


def _doubles(word: str) -> bool:
    """Return True for a one-syllable consonant-vowel-consonant word that doubles its last letter (chat, dig)."""
    return (
        len(word) >= 3
        and sum(ch in _VOWEL for ch in word) == 1
        and word[-1] not in _VOWEL | set("wxy")
        and word[-2] in _VOWEL
        and word[-3] not in _VOWEL
    )


def _s_form(word: str, verb: bool) -> str:
    """Return the plural of a noun, or the he/she form of a verb ("goes")."""
    low = word.lower()
    if low.endswith("y") and len(low) > 1 and low[-2] not in _VOWEL:
        return word[:-1] + "ies"
    if low.endswith(("s", "x", "z", "ch", "sh")) or (verb and low.endswith("o")):
        return word + "es"
    return word + "s"


def _ing_form(word: str) -> str:
    """Return the -ing form of a verb."""
    low = word.lower()
    if low.endswith("ie"):
        return word[:-2] + "ying"
    if low.endswith("e") and not low.endswith(("ee", "ye", "oe")) and len(low) > 2:
        return word[:-1] + "ing"
    return word + word[-1] + "ing" if _doubles(low) else word + "ing"


def _past_form(word: str) -> str:
    """Return the past tense of a verb."""
    low = word.lower()
    if low in _IRREGULAR_PAST:
        past = _IRREGULAR_PAST[low]
        return past.capitalize() if word[:1].isupper() else past
    if low.endswith("e"):
        return word + "d"
    if low.endswith("y") and len(low) > 1 and low[-2] not in _VOWEL:
        return word[:-1] + "ied"
    return word + word[-1] + "ed" if _doubles(low) else word + "ed"


def _suffix_of(word: str, base: str) -> str:
    """Return how `word` inflects `base`: "s", "'s", "ing", "ed", "ly", or "" when it does not."""
    if word != base and word in adverbs(base):
        return "ly"
    if word == base or word not in inflections(base):
        return ""
    if word.endswith(("'s", "s'")):
        return "'s"
    if word.endswith("ing") and not base.endswith("ing"):
        return "ing"
    return "s" if word.endswith("s") else "ed"


def _form_of(surface: str, term: str) -> tuple[str, bool]:
    """Return how the draft inflected a term ("", "s", "'s", "ing", "ed") and whether on its first word."""
    said = [w.lower() for w in _WORD_OF.findall(normalise_apostrophes(surface))]
    bases = {w.lower() for w in _WORD_OF.findall(normalise_apostrophes(term))}
    positions = [len(said) - 1, 0] if len(said) > 1 else [0] if said else []
    for position in positions:  # a noun's plural is on its last word, a verb phrase's tense on its first
        if said[position] in bases:
            continue
        for base in sorted(bases):
            if suffix := _suffix_of(said[position], base):
                return suffix, position == 0 and len(said) > 1
    return "", False


def _inflected(option: str, suffix: str, on_head: bool) -> str:
    """Return a replacement in the form the draft used ("televisions" -> "wireless sets")."""
    parts = option.split(" ")
    if not suffix or not option or len(parts) > 4 or _PUNCTUATED.search(option):
        return option  # a phrase too long or too punctuated to inflect safely: offered as written
    if suffix in ("s", "'s") and not on_head:
        if suffix == "s" and len(parts) > 1 and parts[0].lower() in ("a", "an", "the"):
            parts = parts[1:]  # "a wireless set" -> "wireless sets": plurals go without the article
        index = len(parts) - 1
    else:
        index = 0
    word = parts[index]
    if suffix == "ly":
        # "good" makes "well"; the matcher never reads "well" as a banned "good", only the suggestion needs it.
        return option if len(parts) > 1 else "well" if word.lower() == "good" else min(adverbs(word), key=len,
                                                                                         default=option)
    if suffix == "'s":
        parts[index] = word + ("'" if word.lower().endswith("s") else "'s")
    elif suffix == "s":
        parts[index] = _s_form(word, verb=on_head)
    elif word.lower().endswith("ing"):
        return option  # "wiring" for "texting": its past would need the verb behind the gerund
    else:
        parts[index] = _ing_form(word) if suffix == "ing" else _past_form(word)
    return " ".join(parts)


def _at_sentence_start(text: str, start: int) -> bool:
    """Return True when `start` begins a sentence (after . ! ? …, a line break, or at the very start)."""
    before = text[:start]
    stripped = before.rstrip().rstrip(_OPENERS)
    return not stripped.strip() or stripped[-1] in ".!?…" or "\n" in before[len(stripped) :]


def _cased(surface: str, option: str, at_start: bool, term_has_capitals: bool) -> str:
    """Return the option in the draft's capitalisation; a brand's own capitals say nothing about the draft's."""
    letters = [ch for ch in surface if ch.isalpha()]
    if not option:
        return option
    if not term_has_capitals and len(letters) > 1 and all(ch.isupper() for ch in letters):
        return option.upper()
    if surface[:1].isupper() and (at_start or not term_has_capitals):
        return option[0].upper() + option[1:]
    return option


def shaped_replacements(text: str, start: int, end: int, term: str, options: Iterable[str]) -> tuple[str, ...]:
    """Return the options as drop-in replacements for text[start:end]: inflected, cased and de-duplicated.

    `term` is the dictionary form the span matched ("television" for "Televisions"); "" among the options
    means deleting the span.
    """
    surface = text[start:end]
    suffix, on_head = _form_of(surface, term)
    at_start = _at_sentence_start(text, start)
    after_determiner = bool(_DETERMINER_BEFORE.search(text[max(0, start - 12) : start]))
    term_has_capitals = any(ch.isupper() for ch in term)
    curly = "’" in surface
    shaped: list[str] = []
    for option in options:
        option = " ".join(option.split())
        replacement = _inflected(option, suffix, on_head)
        if after_determiner:  # "the television" -> "the wireless", not "the the wireless"
            replacement = _LEADING_ARTICLE.sub("", replacement, count=1)
        replacement = _cased(surface, replacement, at_start, term_has_capitals)
        if curly:
            replacement = replacement.replace("'", "’")
        if replacement != surface and replacement not in shaped:
            shaped.append(replacement)
    return tuple(shaped[:MAX_REPLACEMENTS])


def apply_replacement(text: str, start: int | None, end: int | None, replacement: str) -> tuple[str, int]:
    """Return the text with text[start:end] replaced, and where the caret goes (just after the new words).

    A deletion takes one neighbouring space with it so no double space or space before punctuation is left;
    without a span (a missing hashtag) the replacement is appended after a space.
    """
    if start is None or end is None:
        body = text.rstrip()
        joined = f"{body} {replacement}" if body else replacement
        return joined + text[len(body) :], len(joined)
    if not 0 <= start <= end <= len(text):
        raise ValueError("the span is outside the text")
    before, after = text[:start], text[end:]
    if not replacement:
        if before[-1:] in (" ", "\t") and (not after or after[0] in " \t\n.,;:!?…)"):
            before = before[:-1]
        elif not before.strip() and after[:1] in (" ", "\t"):
            after = after[1:]
    return before + replacement + after, len(before) + len(replacement)


def _alternatives(lexicon: AnachronismLexicon, term: str) -> tuple[str, ...]:
    """Return the lexicon's period alternatives for a term (none when it is not in the lexicon)."""
    for entry, match in lexicon.find(term, -(10**6)):
        if match.start == 0 and match.end == len(term):  # the whole term, not a word inside it
            return entry.alternatives
    return ()


def _usable(options: Iterable[str], *matchers: TermMatcher) -> list[str]:
    """Return the options none of the matchers flags (a suggestion must not be another banned word)."""
    return [option for option in options if not any(matcher.find(option) for matcher in matchers)]


def check_banned(rules: RuleSet, text: str, who: str, lexicon: AnachronismLexicon) -> list[Finding]:
    """Fail each banned term (inflections included), offering the card's own words for it.

    The card's suggestions come first, then words the card prefers instead of this one; a term with neither
    gets the lexicon's neutral alternatives, and deleting it is always offered last.
    """
    vocabulary = rules.greenroom.vocabulary
    findings = []
    for match in rules.banned.find(text)[:MAX_FINDINGS_PER_RULE]:
        term = vocabulary.banned[match.index]
        reason = f": {term.reason}" if term.reason else ""
        key = term.term.lower()
        preferred = [p.use for p in vocabulary.preferred if key in (avoid.lower() for avoid in p.instead_of)]
        own = _usable([*term.suggest, *preferred], rules.banned)
        options = own or _usable(_alternatives(lexicon, term.term), rules.banned)
        replacements = shaped_replacements(text, match.start, match.end, term.term, [*options, ""])
        findings.append(
            Finding(
                "vocabulary.banned",
                "fail",
                f"'{match.surface}' is banned for {who}{reason}.",
                match.start,
                match.end,
                term.suggest[0] if term.suggest else _say_instead(replacements, match.surface),
                replacements,
            )
        )
    return _capped(findings)


def _say_instead(replacements: Sequence[str], surface: str) -> str:
    """Return a suggestion sentence for replacements that are not the card's own words."""
    words = [f"'{r}'" for r in replacements if r]
    if not words:
        return f"Delete '{surface}' or rephrase."
    return f"Say {' or '.join(words[:2])} instead, or delete it."


def check_preferred(rules: RuleSet, text: str, who: str, taken: Sequence[tuple[int, int]]) -> list[Finding]:
    """Warn where the card prefers another word (unless a failed rule already covers that word)."""
    return _capped(
        Finding(
            "vocabulary.preferred",
            "warn",
            f"{who} says '{rules.preferred_uses[m.index]}' rather than '{m.surface}'.",
            m.start,
            m.end,
            rules.preferred_uses[m.index],
            shaped_replacements(
                text, m.start, m.end, rules.preferred_avoided[m.index], [rules.preferred_uses[m.index]]
            ),
        )
        for m in rules.preferred.find(text)
        if not _covered(m.start, m.end, taken)
    )


def check_anachronisms(
    rules: RuleSet, text: str, who: str, lexicon: AnachronismLexicon, taken: Sequence[tuple[int, int]]
) -> list[Finding]:
    """Fail terms and years from after the era's end, and post furniture the format rule did not already fail."""
    end_year = rules.greenroom.era.end_year
    if end_year is None:
        return []
    findings = []
    # Only the first few of each kind can survive the cap below, so only they are worth fixes.
    matches = [(entry, m) for entry, m in lexicon.find(text, end_year) if not _covered(m.start, m.end, taken)]
    for entry, match in matches[:MAX_FINDINGS_PER_RULE]:
        note = f" ({entry.note})" if entry.note else ""
        # An alternative must itself be of the period (and allowed): the lexicon is checked against itself.
        options = [
            option
            for option in _usable(entry.alternatives, rules.banned)
            if not lexicon.find(option, end_year) and not future_years(option, end_year)
        ]
        replacements = shaped_replacements(text, match.start, match.end, entry.term, options)
        findings.append(
            Finding(
                "era.anachronism",
                "fail",
                f"'{match.surface}' dates from {entry.first_year}{note}; {who}'s world ends in {end_year}.",
                match.start,
                match.end,
                replacements[0] if replacements else f"Say it as someone in {end_year} would.",
                replacements,
            )
        )
    for year, start, end in future_years(text, end_year)[:MAX_FINDINGS_PER_RULE]:
        findings.append(
            Finding(
                "era.anachronism",
                "fail",
                f"{year} is after {end_year}, the last year {who} knows about.",
                start,
                end,
                f"Name a year up to {end_year}, or leave the year out.",
                (str(end_year),),
            )
        )
    furniture = [("emoji", span) for span in emoji_spans(text)]
    furniture += [("hashtag", span) for span in hashtag_spans(text)]
    furniture += [("URL", span) for span in url_spans(text)]
    for kind, span in furniture:
        if end_year < _FURNITURE_FIRST_YEAR[kind] and not _covered(span.start, span.end, taken):
            findings.append(
                Finding(
                    "era.anachronism",
                    "fail",
                    f"{who} lives in {end_year}: there is no such thing as a {kind} yet.",
                    span.start,
                    span.end,
                    f"Delete the {kind}.",
                    ("",),
                )
            )
    return _capped(sorted(findings, key=lambda f: f.start or 0))


def _covered(start: int, end: int, taken: Sequence[tuple[int, int]]) -> bool:
    """Return True when an earlier finding already spans text[start:end] (one word, one finding, one fix)."""
    return any(s <= start and end <= e for s, e in taken)


_SENTENCE_WINDOW = 1_000  # characters searched either side of a leak for its sentence's ends
_SENTENCE_MARK = regex.compile(r"[.!?…]+[\"'”’)\]]*(?=\s|$)|\n")


def _leak_span(text: str, start: int, end: int) -> tuple[int, int, bool]:
    """Return the stretch to delete for a break of character, and whether it is a preamble before a colon.

    The whole sentence goes ("I hope this helps!"); a preamble ("Here's a post in Walt's voice: …") goes up to
    its colon, keeping the post after it.
    """
    window = max(0, start - _SENTENCE_WINDOW)  # bounded, so a 100 KB paste of leaks stays linear
    sentence_start = window
    for mark in _SENTENCE_MARK.finditer(text, window, start):
        sentence_start = mark.end()
    while sentence_start < start and text[sentence_start].isspace():
        sentence_start += 1
    mark = _SENTENCE_MARK.search(text, end, end + _SENTENCE_WINDOW)
    sentence_end = (
        min(len(text), end + _SENTENCE_WINDOW) if mark is None else mark.start() if mark.group() == "\n" else mark.end()
    )
    colon = text.find(":", max(start, end - 1), sentence_end)
    if colon >= 0 and text[colon + 1 : sentence_end].strip(" \t.!?…"):
        cut = colon + 1
        while cut < sentence_end and text[cut] in " \t":
            cut += 1
        return sentence_start, cut, True
    return sentence_start, sentence_end, False


def check_breaks(rules: RuleSet, text: str) -> list[Finding]:
    """Fail mentions of being an AI, prompt leaks and assistant-style refusals; each offers its deletion."""
    normalised = normalise_apostrophes(text)
    matches: list[tuple[int, int, Severity, str]] = []
    for what, severity, pattern in _BREAKS:
        matches.extend((m.start(), m.end(), severity, what) for m in pattern.finditer(normalised))
    matches.extend(
        (m.start(), m.end(), "fail", "leaks the prompt or instructions") for m in rules.voice_of.finditer(normalised)
    )
    findings: list[Finding] = []
    last_end = -1
    for start, end, severity, what in sorted(matches, key=lambda m: (m[0], m[2] != "fail")):
        if len(findings) == MAX_FINDINGS_PER_RULE:
            break
        if start < last_end:
            continue  # one finding per sentence, however many patterns agree
        span_start, span_end, preamble = _leak_span(text, start, end)
        last_end = max(end, span_end)
        verb = "Breaks character" if severity == "fail" else "May break character"
        findings.append(
            Finding(
                "character.break",
                severity,
                f"{verb}: {what} ('{text[start:end]}').",
                span_start,
                span_end,
                "Delete the words before the colon." if preamble else "Delete this sentence.",
                ("",),
            )
        )
    return _capped(findings)


def _pronoun_spans(text: str, pronouns: frozenset[str]) -> list[Span]:
    """Return the spans of the given pronouns ("US" the country excluded)."""
    normalised = normalise_apostrophes(text)
    return [
        Span(m.start(), m.end(), m.group())
        for m in _PRONOUN_WORD.finditer(normalised)
        if m.group().lower() in pronouns and m.group() != "US"
    ]


# Point-of-view swaps: pronouns, and the verb right after a subject pronoun so the grammar still holds.
_TO_SINGULAR = {
    "we": "I", "us": "me", "our": "my", "ours": "mine", "ourselves": "myself",
    "we're": "I'm", "we've": "I've", "we'll": "I'll", "we'd": "I'd",
}  # fmt: skip
_TO_PLURAL = {
    "i": "we", "me": "us", "my": "our", "mine": "ours", "myself": "ourselves",
    "i'm": "we're", "i've": "we've", "i'll": "we'll", "i'd": "we'd",
}  # fmt: skip
_AFTER_I = {"are": "am", "were": "was", "aren't": "am not", "weren't": "wasn't"}
_AFTER_WE = {"am": "are", "was": "were", "wasn't": "weren't"}
_SUBJECTS = frozenset({"i", "we"})
_BE_VERB = regex.compile(r"\s+(?:am|are|was|were|aren't|weren't|wasn't)\b")
# What a verb becomes when "Walt is" turns into "I am" (or "we are"); other verbs drop their -s.
_FROM_THIRD = {
    "first_singular": {"is": "am", "isn't": "am not", "has": "have", "hasn't": "haven't", "does": "do",
                       "doesn't": "don't"},
    "first_plural": {"is": "are", "isn't": "aren't", "was": "were", "wasn't": "weren't", "has": "have",
                     "hasn't": "haven't", "does": "do", "doesn't": "don't"},
}  # fmt: skip
_TO_THIRD = {"am": "is", "have": "has", "do": "does", "don't": "doesn't", "haven't": "hasn't", "'m": "is"}
_MODALS = frozenset(
    "can can't cannot could couldn't will won't would wouldn't shall should shouldn't may might must".split()
)


def _capitalised_like(word: str, new: str, at_start: bool) -> str:
    """Return `new` capitalised as `word` was ("I" always is; an "I" turned "we" only at a sentence start)."""
    if new == "I" or new.startswith("I'") or new.startswith("I "):
        return new
    capital = at_start if word.lower() == "i" or word.lower().startswith("i'") else word[:1].isupper()
    new = new[0].upper() + new[1:] if capital else new
    return new.replace("'", "’") if "’" in word else new


def _swap_person(text: str, start: int, end: int, pronouns: dict[str, str], verbs: dict[str, str]) -> str:
    """Return text[start:end] with its pronouns swapped and each subject's next verb agreeing."""
    segment = normalise_apostrophes(text[start:end])
    out: list[str] = []
    position = 0
    after_subject = False
    for m in _WORD_OF.finditer(segment):
        word = text[start + m.start() : start + m.end()]
        low = m.group().lower()
        new = pronouns.get(low) if low in pronouns else verbs.get(low) if after_subject else None
        after_subject = low in _SUBJECTS or pronouns.get(low, "").lower() in _SUBJECTS
        if new is not None:
            at_start = _at_sentence_start(text, start + m.start())
            out += [text[start + position : start + m.start()], _capitalised_like(word, new, at_start)]
            position = m.end()
    return "".join(out) + text[start + position : end]


def _base_verb(verb: str) -> str:
    """Return a he/she verb in its I/we form (writes -> write, watches -> watch, tries -> try)."""
    low = verb.lower()
    if low.endswith("ies") and len(low) > 4:
        return verb[:-3] + "y"
    if low.endswith(("ches", "shes", "sses", "xes", "zes", "oes")):
        return verb[:-2]
    if low.endswith("s") and not low.endswith(("ss", "us", "is")):
        return verb[:-1]
    return verb


def _first_person(text: str, start: int, end: int, pov: str) -> str:
    """Return "Walt never writes" as "I never write", "Walt's" as "my" (or the we forms)."""
    matched = normalise_apostrophes(text[start:end])
    possessive = _POSSESSIVE_TAIL.search(matched)
    if possessive:
        word = "my" if pov == "first_singular" else "our"
        if _at_sentence_start(text, start):
            word = word.capitalize()
        return word + str(possessive.group(1))
    words = matched.split()
    verb = words[-1]
    adverb = words[-2:-1] if len(words) >= 3 and _ADVERB_WORD.fullmatch(words[-2]) else []
    verb = _FROM_THIRD[pov].get(verb.lower()) or (verb if verb.lower() in _AUXILIARY_WORDS else _base_verb(verb))
    subject = "I" if pov == "first_singular" else "We" if _at_sentence_start(text, start) else "we"
    return " ".join([subject, *adverb, verb])


def _third_person(text: str, span: Span, name: str) -> tuple[int, tuple[str, ...]]:
    """Return where a first-person span ends once its verb is included, and the by-name replacement."""
    low = span.text.lower()
    forms = {"i": name, "me": name, "my": f"{name}'s", "mine": f"{name}'s", "myself": name,
             "i'm": f"{name}'s", "i've": f"{name} has", "i'll": f"{name} will", "i'd": f"{name} would"}  # fmt: skip
    replacement = forms.get(low, name)
    following = _NEXT_WORD.match(normalise_apostrophes(text[span.end :]))
    if low != "i" or following is None:
        return span.end, (replacement,)
    verb = following.group(2)
    if verb in _TO_THIRD:
        new_verb = _TO_THIRD[verb]
    elif verb in _MODALS or verb.endswith("ed") or verb in _PAST_WORDS or not verb.isalpha() or not verb.islower():
        return span.end, (replacement,)
    else:
        new_verb = _s_form(verb, verb=True)
    return span.end + following.end(), (f"{replacement}{following.group(1)}{new_verb}",)


def check_pov(rules: RuleSet, text: str, who: str) -> list[Finding]:
    """Fail a point of view the card does not allow, offering the words in the right person."""
    pov = rules.greenroom.voice.pov
    if pov == "any":
        return []
    findings: list[Finding] = []
    normalised = normalise_apostrophes(text)
    singular = _pronoun_spans(text, _SINGULAR)
    plural = _pronoun_spans(text, _PLURAL)
    if pov in ("first_singular", "first_plural") and rules.self_reference is not None:
        findings += _third_person_self_references(rules.self_reference, text, normalised, who, pov)
    if pov == "first_singular":
        findings += _we_for_i(rules, text, normalised, who, singular, plural)
    elif pov == "first_plural" and len(singular) >= 2 and not plural and not rules.singular_voice_in_canon:
        first = singular[0]
        end = _subject_verb_end(text, first)
        findings.append(
            Finding(
                "voice.pov",
                "fail",
                f"Speaks as 'I'; {who} speaks as we.",
                first.start,
                end,
                "we",
                (_swap_person(text, first.start, end, _TO_PLURAL, _AFTER_WE),),
            )
        )
    elif pov == "third" and (singular := [span for span in singular if not _address_or_exclamation(normalised, span)]):
        end, replacements = _third_person(text, singular[0], who)
        findings.append(
            Finding(
                "voice.pov",
                "fail",
                f"First person ('{singular[0].text}'); {who} speaks of themself by name.",
                singular[0].start,
                end,
                f"Write '{who}' instead of '{singular[0].text}'.",
                replacements,
            )
        )
    return _capped(findings)


# "Good morning, my lovelies!", "My friends, ...", "Oh my!": a way of addressing people or exclaiming that a
# character who speaks of itself by name still uses; it says nothing about who is speaking.
_ADDRESS_BEFORE = regex.compile(r"(?:^|[,;:.!?…—–-]\s*|\b(?:oh|ah|o)\s+)$", regex.IGNORECASE)
_ADDRESS_AFTER = regex.compile(r"^(?:\s*(?:[,.!?…]|$)|(?:\s+[\p{L}'-]+){1,2}\s*(?:[,!?…]|$))")
_ADDRESS_AFTER_INSIDE = regex.compile(r"^(?:\s+[\p{L}'-]+){1,2}\s*[.]")


def _address_or_exclamation(normalised: str, span: Span) -> bool:
    """Return True for a "my" that addresses the audience or exclaims ("…, my lovelies.", "Oh my!")."""
    if span.text.lower() != "my":
        return False
    before, after = normalised[: span.start], normalised[span.end :]
    if not _ADDRESS_BEFORE.search(before):
        return False
    if _ADDRESS_AFTER.match(after):
        return True
    # "…, my lovelies." ends a sentence as an address; "My show." at a sentence start is a statement.
    return bool(before.strip()) and before.rstrip()[-1:] in ",;—–-" and bool(_ADDRESS_AFTER_INSIDE.match(after))


def _subject_verb_end(text: str, pronoun: Span) -> int:
    """Return the end of a subject pronoun's span, taking in a following be-verb that must change with it."""
    following = _BE_VERB.match(normalise_apostrophes(text[pronoun.end :]))
    if pronoun.text.lower() in _SUBJECTS and following is not None:
        return pronoun.end + int(following.end())
    return pronoun.end


def _third_person_self_references(
    self_reference: regex.Pattern[str], text: str, normalised: str, who: str, pov: str
) -> list[Finding]:
    """Fail a first-person character naming themself, outside introductions and quotations."""
    findings: list[Finding] = []
    quoted = [(q.start(), q.end()) for q in _QUOTED.finditer(normalised)]
    for m in self_reference.finditer(normalised):
        if _SELF_INTRO.search(normalised[max(0, m.start() - 20) : m.start()]):
            continue  # "I'm Biscuit", "my name is Walt Hadley" is the first person
        if any(start <= m.start() < end for start, end in quoted):
            continue  # somebody else's words about the character
        findings.append(
            Finding(
                "voice.pov",
                "fail",
                f"Third-person self-reference ('{text[m.start() : m.end()].strip()}'): {who} speaks as "
                f"{'I' if pov == 'first_singular' else 'we'}.",
                m.start(),
                m.end(),
                "I" if pov == "first_singular" else "we",
                (_first_person(text, m.start(), m.end(), pov),),
            )
        )
    return findings


def _institutional_span(text: str, normalised: str, match: regex.Match[str]) -> tuple[int, str]:
    """Return where an institutional 'we' phrase ends and what it becomes in the first person singular.

    "We at the Corliss Bakery are" takes in the rest of the organisation's name and its verb, and becomes
    "I am"; "We're so proud to" and "Thank you for choosing us" swap their pronouns in place.
    """
    if not _WE_AT.match(match.group()):
        return match.end(), _swap_person(text, match.start(), match.end(), _TO_SINGULAR, _AFTER_I)
    rest = _ORGANISATION_REST.match(normalised[match.end() :])
    end = match.end() + (rest.end() if rest else 0)
    verb = rest.group(1) if rest else None
    return end, "I" + {"are": " am", "were": " was", "have": " have", "will": " will", "'re": " am"}.get(verb or "", "")


def _we_for_i(
    rules: RuleSet, text: str, normalised: str, who: str, singular: Sequence[Span], plural: Sequence[Span]
) -> list[Finding]:
    """Fail an institutional 'we', or 'we' throughout, from a character who speaks as I."""
    institutional = list(_INSTITUTIONAL_WE.finditer(normalised))
    findings = []
    for m in institutional:
        end, replacement = _institutional_span(text, normalised, m)
        findings.append(
            Finding(
                "voice.pov",
                "fail",
                f"Institutional 'we' ('{text[m.start() : m.end()]}'): {who} speaks as I, not for an organisation.",
                m.start(),
                end,
                "I",
                (replacement,),
            )
        )
    if not institutional and len(plural) >= 2 and not singular and not rules.plural_voice_in_canon:
        first = plural[0]
        end = _subject_verb_end(text, first)
        findings.append(
            Finding(
                "voice.pov",
                "fail",
                f"Speaks as 'we' throughout; {who} speaks as I.",
                first.start,
                end,
                "I",
                (_swap_person(text, first.start, end, _TO_SINGULAR, _AFTER_I),),
            )
        )
    return findings


_DELETE = "Delete it."


def check_format(rules: RuleSet, text: str, who: str, platform: str | None) -> list[Finding]:
    """Fail emoji, hashtags, URLs and lengths the card or the platform does not allow."""
    voice = rules.greenroom.voice
    findings: list[Finding] = []
    emojis = emoji_spans(text)
    allowed_emoji = {"never": 0, "rare": 1}.get(voice.emoji)
    if allowed_emoji is not None:
        limit = "no emoji" if allowed_emoji == 0 else "at most one emoji"
        findings += _capped(
            Finding("format.emoji", "fail", f"{who} uses {limit} ('{s.text}').", s.start, s.end, _DELETE, ("",))
            for s in emojis[allowed_emoji:]
        )
    tags = hashtag_spans(text)
    policy = voice.hashtags
    findings += _capped(
        Finding(
            "format.hashtags",
            "fail",
            f"{who} uses no hashtags ('{s.text}')."
            if policy.max == 0
            else f"Too many hashtags: {who} uses at most {policy.max} ('{s.text}').",
            s.start,
            s.end,
            _DELETE,
            ("",),
        )
        for s in tags[policy.max :]
    )
    present = {s.text.lower().replace("＃", "#") for s in tags}
    required = [tag if tag.startswith("#") else f"#{tag}" for tag in policy.required]
    if required and not present & {tag.lower() for tag in required}:
        findings.append(
            Finding(
                "format.hashtags",
                "fail",
                f"Missing a required hashtag: {who}'s posts carry {' or '.join(required)}.",
                None,
                None,
                required[0],
                tuple(required[:MAX_REPLACEMENTS]),  # no span: applying one appends it to the post
            )
        )
    own = [tag if tag.startswith("#") else f"#{tag}" for tag in policy.allowed]
    allowed = {tag.lower() for tag in own}
    if allowed:
        unused = [tag for tag in dict.fromkeys(own) if tag.lower() not in present]
        findings += _capped(
            Finding(
                "format.hashtags",
                "warn",
                f"'{s.text}' is not one of {who}'s hashtags.",
                s.start,
                s.end,
                unused[0] if unused else _DELETE,
                (*unused[: MAX_REPLACEMENTS - 1], ""),
            )
            for s in tags[: policy.max]
            if s.text.lower().replace("＃", "#") not in allowed
        )
    urls = url_spans(text)
    if not voice.urls:
        findings += _capped(
            Finding(
                "format.urls", "fail", f"{who}'s posts carry no links ('{s.text}').", s.start, s.end, _DELETE, ("",)
            )
            for s in urls
        )
    findings += _length_findings(text, who, voice.max_chars, platform)
    return findings


def _cut(over: int) -> str:
    """Return what to do about a post `over` characters too long (no single replacement can say it)."""
    return (
        f"Cut {over} character{'s' if over != 1 else ''} (the marked end is over the limit), or split it into a thread."
    )


def _length_findings(text: str, who: str, max_chars: int | None, platform: str | None) -> list[Finding]:
    """Fail texts longer than the card's limit (graphemes) or the platform's own count."""
    findings: list[Finding] = []
    graphemes = grapheme_count(text)
    if max_chars is not None and graphemes > max_chars:
        findings.append(
            Finding(
                "format.length",
                "fail",
                f"{graphemes} characters; {who}'s posts stay within {max_chars}.",
                grapheme_offset(text, max_chars),
                len(text),
                _cut(graphemes - max_chars),
            )
        )
    limits = platform_named(platform)
    if limits is None:
        return findings
    length = limits.measure(text)
    if length > limits.max_chars:
        findings.append(
            Finding(
                "format.length",
                "fail",
                f"{length} characters as {platform} counts them; the limit is {limits.max_chars}.",
                limits.overflow_offset(text),
                len(text),
                _cut(length - limits.max_chars),
            )
        )
    return findings


def check_rules(
    rules: RuleSet, text: str, platform: str | None, who: str, lexicon: AnachronismLexicon
) -> list[Finding]:
    """Run every hard rule on the text."""
    findings = check_format(rules, text, who, platform)
    findings += check_banned(rules, text, who, lexicon)
    findings += check_anachronisms(rules, text, who, lexicon, _spans(findings))
    findings += check_breaks(rules, text)
    findings += check_pov(rules, text, who)
    findings += check_preferred(rules, text, who, _spans(findings))
    return findings


def _spans(findings: Iterable[Finding]) -> list[tuple[int, int]]:
    """Return the spans the findings so far cover."""
    return [(f.start, f.end) for f in findings if f.start is not None and f.end is not None]
