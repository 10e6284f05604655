"""The people and places of a character's world: names another character's draft should not borrow.

A name here is a capitalised word the card and canon use more than once inside a sentence (Eddie, Hattie,
Feeney), or a word of the character's own name, and never in lower case. Days, months, family words,
titles, nationalities and the common words of place names (Street, Hall) are not names: everybody uses them.
"""

from collections import Counter
from dataclasses import dataclass

import regex

from characters.bibles.card_data import CardData

# A capitalised word after a lower-case letter, digit or comma and a space: inside a sentence, so a name.
_INSIDE = regex.compile(r"(?<=[\p{Ll}\d,;:] )\p{Lu}\p{Ll}{2,}")
_CAPITALISED = regex.compile(r"\b\p{Lu}\p{Ll}{2,}")
_WORD = regex.compile(r"\p{L}+")
_COMMON = frozenset(
    """monday tuesday wednesday thursday friday saturday sunday january february march april may june july august
    september october november december christmas easter thanksgiving halloween mom mum dad ma pa mama papa
    mother father grandma grandpa granny nana aunt uncle sis god lord heaven mister miss mrs sir madam ma'am
    doctor captain sergeant officer professor father sister brother reverend judge chief coach boss street road
    avenue lane hall city town new old north south east west bay river lake island station park square church
    school club line company hotel house theater theatre mount point harbor harbour beach center centre county
    state college university bridge market store shop cafe diner bar gallery museum library office english
    american british french german polish irish italian spanish japanese chinese russian mexican canadian
    scottish welsh dutch swedish norwegian european african asian catholic protestant jewish christian the and
    but for not this that with from you your our their okay dear""".split()
)


@dataclass(frozen=True, slots=True)
class World:
    """A character's names (lower case) and every word its card and canon use (lower case)."""

    names: frozenset[str]
    known: frozenset[str]

    @classmethod
    def of(cls, card: CardData) -> "World":
        """Read the names and words of a card and its canon."""
        book = card.character_book.entries if card.character_book else []
        texts = [card.name, card.description, card.scenario, card.first_mes, *card.greenroom.canon_posts]
        texts += [entry.content for entry in book]
        inside = Counter(match.group().lower() for text in texts for match in _INSIDE.finditer(text or ""))
        names = {word for word, count in inside.items() if count >= 2}
        names.update(match.group().lower() for match in _CAPITALISED.finditer(card.name))
        words = [word for text in texts + [k for e in book for k in e.keys] for word in _WORD.findall(text or "")]
        lower_case = {word for word in words if word.islower()}  # "light", "deal": ordinary words inside a title
        names = {name for name in names - lower_case if name not in _COMMON and name.removesuffix("s") not in _COMMON}
        return cls(frozenset(names), frozenset(word.lower() for word in words))


def borrowed_names(text: str, mine: World, theirs: World) -> list[str]:
    """Return the names of `theirs` that the draft uses and `mine`'s card and canon never do, as written."""
    found: dict[str, str] = {}
    for match in _INSIDE.finditer(text):  # inside a sentence: "Evening shift" at the start is not a name
        word = match.group()
        lowered = word.lower()
        if lowered in theirs.names and lowered not in mine.known:
            found.setdefault(lowered, word)
    return list(found.values())
