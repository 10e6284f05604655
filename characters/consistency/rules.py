"""Hard rules: banned words, anachronisms, breaks of character, point of view and the format policy."""

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import regex

from characters.bibles.card_data import CardData, GreenroomExtension
from characters.consistency.lexicon import AnachronismLexicon, TermMatcher, future_years
from characters.consistency.result import Finding, Severity
from characters.consistency.text import emoji_spans, hashtag_spans, normalise_apostrophes, words
from characters.core.platforms import Span, grapheme_count, grapheme_offset, platform_named, url_spans

MAX_FINDINGS_PER_RULE = 10  # a 100 KB paste should not produce thousands of identical findings

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
            r"<\|?\s*(?:system|im_start|im_end)",
            # "Here's a terse post in Walt's voice:" -- an assistant introducing what it generated.
            r"\b(?:here|below)(?:'s|\s+is|\s+are)\s+(?:a|an|your)\s+(?:[\w'-]+[\s,]+){0,5}?(?:post|tweet|caption|draft"
            r"|toot|skeet|thread|response|rewrite|version|status\s+update)s?\b[^.!?\n]{0,80}?:",
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
            r"\bwould\s+you\s+like\s+(?:me\s+to\s+(?:write|generate|create|draft|try)|an?\s+(?:post|description"
            r"|version|tweet|caption|different\s+post)\b[^.?!]{0,200}?\binstead)",
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
    r"|spoke|stole|swore|taught|threw|woke|wore"
)
_ADVERB = r"(?:\w+ly|just|also|still|never|always|now|then|even|only|already|once|again|too)"
_NICKNAME = regex.compile(r"[\"'‘“](\p{Lu}[\p{L}-]{1,20})[\"'’”]")
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
    for nickname in _NICKNAME.findall(intro):
        if any(part in intro for part in parts):
            names.add(nickname)
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
        rf"(?:'s\s+(?=\p{{Ll}})|\s+(?:{_ADVERB}\s+)?(?:{_AUXILIARY}|\p{{Ll}}+(?:s|ed))\b)"
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


def _voice_share(canon: Sequence[str], mine: frozenset[str], theirs: frozenset[str]) -> float:
    """Return the share of canon posts that use `mine` pronouns at least twice and `theirs` never."""
    if not canon:
        return 0.0
    hits = 0
    for post in canon:
        tokens = [w.lower() for w in words(normalise_apostrophes(post)) if w != "US"]
        if sum(t in mine for t in tokens) >= 2 and not any(t in theirs for t in tokens):
            hits += 1
    return hits / len(canon)


def compile_rules(card: CardData) -> RuleSet:
    """Compile the card's hard rules."""
    greenroom = card.greenroom
    vocabulary = greenroom.vocabulary
    preferred_pairs = [(p.use, avoid) for p in vocabulary.preferred for avoid in p.instead_of]
    names, _ = _name_parts(card)
    lowercase = _writes_in_lowercase(greenroom.canon_posts)
    return RuleSet(
        name=card.name,
        greenroom=greenroom,
        banned=TermMatcher(term.term for term in vocabulary.banned),
        preferred=TermMatcher(avoid for _, avoid in preferred_pairs),
        preferred_uses=tuple(use for use, _ in preferred_pairs),
        self_reference=_self_reference_pattern(_self_names(card, greenroom.canon_posts, lowercase), lowercase),
        voice_of=regex.compile(
            rf"\bin\s+(?:{'|'.join(regex.escape(n) for n in names)})(?:'s)?\s+(?:voice|style|tone)\b", regex.IGNORECASE
        ),
        plural_voice_in_canon=_voice_share(greenroom.canon_posts, _PLURAL, _SINGULAR) > 0.05,
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


def check_banned(rules: RuleSet, text: str, who: str) -> list[Finding]:
    """Fail each banned term (inflections included) with the card's suggested replacements."""
    banned = rules.greenroom.vocabulary.banned
    findings = []
    for match in rules.banned.find(text):
        term = banned[match.index]
        reason = f": {term.reason}" if term.reason else ""
        tip = f" Try: {', '.join(term.suggest)}." if term.suggest else ""
        findings.append(
            Finding(
                "vocabulary.banned",
                "fail",
                f"'{match.surface}' is banned for {who}{reason}.{tip}",
                match.start,
                match.end,
                term.suggest[0] if term.suggest else None,
            )
        )
    return _capped(findings)


def check_preferred(rules: RuleSet, text: str, who: str) -> list[Finding]:
    """Warn where the card prefers another word."""
    return _capped(
        Finding(
            "vocabulary.preferred",
            "warn",
            f"{who} says '{rules.preferred_uses[m.index]}' rather than '{m.surface}'.",
            m.start,
            m.end,
            rules.preferred_uses[m.index],
        )
        for m in rules.preferred.find(text)
    )


def check_anachronisms(
    rules: RuleSet, text: str, who: str, lexicon: AnachronismLexicon, taken: Sequence[tuple[int, int]]
) -> list[Finding]:
    """Fail terms and years from after the era's end, and post furniture the format rule did not already fail."""
    end_year = rules.greenroom.era.end_year
    if end_year is None:
        return []
    findings = []
    for entry, match in lexicon.find(text, end_year):
        note = f" ({entry.note})" if entry.note else ""
        findings.append(
            Finding(
                "era.anachronism",
                "fail",
                f"'{match.surface}' dates from {entry.first_year}{note}; {who}'s world ends in {end_year}.",
                match.start,
                match.end,
            )
        )
    for year, start, end in future_years(text, end_year):
        findings.append(
            Finding(
                "era.anachronism",
                "fail",
                f"{year} is after {end_year}, the last year {who} knows about.",
                start,
                end,
            )
        )
    furniture = [("emoji", span) for span in emoji_spans(text)]
    furniture += [("hashtag", span) for span in hashtag_spans(text)]
    furniture += [("URL", span) for span in url_spans(text)]
    for kind, span in furniture:
        if end_year < _FURNITURE_FIRST_YEAR[kind] and not _covered(span, taken):
            findings.append(
                Finding(
                    "era.anachronism",
                    "fail",
                    f"{who} lives in {end_year}: there is no such thing as a {kind} yet.",
                    span.start,
                    span.end,
                    "",
                )
            )
    return _capped(sorted(findings, key=lambda f: f.start or 0))


def _covered(span: Span, taken: Sequence[tuple[int, int]]) -> bool:
    """Return True when an earlier finding already spans `span`."""
    return any(start <= span.start and span.end <= end for start, end in taken)


def check_breaks(rules: RuleSet, text: str) -> list[Finding]:
    """Fail mentions of being an AI, prompt leaks and assistant-style refusals."""
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
        if start < last_end:
            continue  # one finding per stretch of text, however many patterns agree
        last_end = end
        verb = "Breaks character" if severity == "fail" else "May break character"
        findings.append(Finding("character.break", severity, f"{verb}: {what} ('{text[start:end]}').", start, end, ""))
    return _capped(findings)


def _pronoun_spans(text: str, pronouns: frozenset[str]) -> list[Span]:
    """Return the spans of the given pronouns ("US" the country excluded)."""
    normalised = normalise_apostrophes(text)
    return [
        Span(m.start(), m.end(), m.group())
        for m in regex.finditer(r"\w+(?:'\w+)?", normalised)
        if m.group().lower() in pronouns and m.group() != "US"
    ]


def check_pov(rules: RuleSet, text: str, who: str) -> list[Finding]:
    """Fail a point of view the card does not allow."""
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
        findings.append(
            Finding(
                "voice.pov", "fail", f"Speaks as 'I'; {who} speaks as we.", singular[0].start, singular[0].end, "we"
            )
        )
    elif pov == "third" and singular:
        findings.append(
            Finding(
                "voice.pov",
                "fail",
                f"First person ('{singular[0].text}'); {who} speaks of themself by name.",
                singular[0].start,
                singular[0].end,
            )
        )
    return _capped(findings)


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
            )
        )
    return findings


def _we_for_i(
    rules: RuleSet, text: str, normalised: str, who: str, singular: Sequence[Span], plural: Sequence[Span]
) -> list[Finding]:
    """Fail an institutional 'we', or 'we' throughout, from a character who speaks as I."""
    institutional = list(_INSTITUTIONAL_WE.finditer(normalised))
    findings = [
        Finding(
            "voice.pov",
            "fail",
            f"Institutional 'we' ('{text[m.start() : m.end()]}'): {who} speaks as I, not for an organisation.",
            m.start(),
            m.end(),
            "I",
        )
        for m in institutional
    ]
    if not institutional and len(plural) >= 2 and not singular and not rules.plural_voice_in_canon:
        findings.append(
            Finding(
                "voice.pov",
                "fail",
                f"Speaks as 'we' throughout; {who} speaks as I.",
                plural[0].start,
                plural[0].end,
                "I",
            )
        )
    return findings


def check_format(rules: RuleSet, text: str, who: str, platform: str | None) -> list[Finding]:
    """Fail emoji, hashtags, URLs and lengths the card or the platform does not allow."""
    voice = rules.greenroom.voice
    findings: list[Finding] = []
    emojis = emoji_spans(text)
    allowed_emoji = {"never": 0, "rare": 1}.get(voice.emoji)
    if allowed_emoji is not None:
        limit = "no emoji" if allowed_emoji == 0 else "at most one emoji"
        findings += _capped(
            Finding("format.emoji", "fail", f"{who} uses {limit} ('{s.text}').", s.start, s.end, "")
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
            "",
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
            )
        )
    allowed = {(tag if tag.startswith("#") else f"#{tag}").lower() for tag in policy.allowed}
    if allowed:
        findings += _capped(
            Finding("format.hashtags", "warn", f"'{s.text}' is not one of {who}'s hashtags.", s.start, s.end, None)
            for s in tags[: policy.max]
            if s.text.lower().replace("＃", "#") not in allowed
        )
    urls = url_spans(text)
    if not voice.urls:
        findings += _capped(
            Finding("format.urls", "fail", f"{who}'s posts carry no links ('{s.text}').", s.start, s.end, "")
            for s in urls
        )
    findings += _length_findings(text, who, voice.max_chars, platform)
    return findings


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
            )
        )
    return findings


def check_rules(
    rules: RuleSet, text: str, platform: str | None, who: str, lexicon: AnachronismLexicon
) -> list[Finding]:
    """Run every hard rule on the text."""
    findings = check_format(rules, text, who, platform)
    taken = [(f.start, f.end) for f in findings if f.start is not None and f.end is not None]
    findings += check_banned(rules, text, who)
    findings += check_anachronisms(rules, text, who, lexicon, taken)
    findings += check_breaks(rules, text)
    findings += check_pov(rules, text, who)
    findings += check_preferred(rules, text, who)
    return findings
