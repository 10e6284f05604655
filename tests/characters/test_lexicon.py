"""The shipped anachronism lexicon: its shape, its period alternatives, phrase patterns and no false alarms in voice."""

import csv
import json
from pathlib import Path

import pytest

from characters.consistency.lexicon import (
    ANACHRONISMS_CSV,
    Anachronism,
    AnachronismLexicon,
    anachronism_lexicon,
    expand_pattern,
    spellings,
)
from characters.demo.seed import DEMO_CARDS_DIR

FIXTURES = Path(__file__).parent / "fixtures"
UNSEEN_SET = FIXTURES / "consistency-unseen"
CATEGORIES = {
    "slang",
    "technology",
    "media",
    "product",
    "sports",
    "fashion",
    "food",
    "politics",
    "event",
    "institution",
    "science",
    "transport",
}


@pytest.fixture(scope="module")
def rows() -> list[dict[str, str]]:
    with ANACHRONISMS_CSV.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


@pytest.fixture(scope="module")
def lexicon() -> AnachronismLexicon:
    return anachronism_lexicon()


def test_every_row_is_well_formed(rows: list[dict[str, str]], lexicon: AnachronismLexicon) -> None:
    assert len(rows) >= 2000
    assert len(lexicon) == len(rows), "the loader skipped a row"
    for row in rows:
        assert row["term"] == row["term"].strip().lower(), row
        assert 1800 <= int(row["first_year"]) <= 2025, row
        assert row["category"] in CATEGORIES, row
        assert row["note"].strip(), row


def test_terms_are_unique_as_phrases(lexicon: AnachronismLexicon) -> None:
    owner: dict[str, str] = {}
    for entry in lexicon.entries:
        for phrase in expand_pattern(entry.term):
            key = " ".join(phrase.replace("-", " ").split())
            assert key not in owner, (entry.term, owner.get(key))
            owner[key] = entry.term


def test_every_entry_has_an_alternative_from_before_it(lexicon: AnachronismLexicon) -> None:
    later: list[tuple[str, str, list[str]]] = []
    for entry in lexicon.entries:
        assert entry.alternatives, entry.term
        for alternative in entry.alternatives:
            # An alternative must not itself be an anachronism wherever the term is one.
            newer = [found.term for found, _ in lexicon.find(alternative, entry.first_year - 1)]
            if newer:
                later.append((entry.term, alternative, newer))
    assert later == []


def test_every_phrase_matches_itself(lexicon: AnachronismLexicon) -> None:
    unmatched = [
        phrase
        for entry in lexicon.entries
        for phrase in expand_pattern(entry.term)
        if not lexicon.find(phrase, entry.first_year - 1)
    ]
    assert unmatched == []


def test_alternatives_are_exposed_in_order(tmp_path: Path) -> None:
    path = tmp_path / "lexicon.csv"
    path.write_text(
        "term,first_year,category,alternatives,note\ntelevision,1927,technology,the wireless| the radio |,Baird\n",
        encoding="utf-8",
    )
    (entry,) = AnachronismLexicon.from_csv(path).entries
    assert entry == Anachronism("television", 1927, "technology", "Baird", ("the wireless", "the radio"))


def test_alternatives_for_an_era_leave_out_what_it_had_not_got_yet(lexicon: AnachronismLexicon) -> None:
    (cell_phone,) = (entry for entry in lexicon.entries if entry.term == "cell phone")
    assert cell_phone.alternatives[0] == "telephone"
    assert lexicon.alternatives_for(cell_phone, 1962) == cell_phone.alternatives
    assert lexicon.alternatives_for(cell_phone, 1870) == ("telegram",)  # no telephone before 1876


def test_patterns_expand_required_and_optional_groups() -> None:
    assert expand_pattern("[the|a] war in (korea|vietnam)") == [
        "the war in korea",
        "the war in vietnam",
        "a war in korea",
        "a war in vietnam",
        "war in korea",
        "war in vietnam",
    ]
    assert expand_pattern("email") == ["email"]
    assert expand_pattern("(since|after) {9/11}") == ["since 9/11", "after 9/11"]


def test_context_words_match_but_only_the_core_is_flagged(tmp_path: Path) -> None:
    path = tmp_path / "lexicon.csv"
    path.write_text(
        "term,first_year,category,alternatives,note\n"
        "(go|went) {jogging} (in|before),1968,sports,running,fitness\n"
        "(since|after) {9/11},2001,event,the attacks,2001\n",
        encoding="utf-8",
    )
    lexicon = AnachronismLexicon.from_csv(path)
    text = "We went jogging in the park after 9/11."
    spans = [(entry.alternatives[0], text[match.start : match.end]) for entry, match in lexicon.find(text, 1950)]
    assert spans == [("running", "jogging"), ("the attacks", "9/11")]
    assert lexicon.find("The cart went jogging down the lane.", 1950) == []


@pytest.mark.parametrize(
    ("text", "end_year", "surface"),
    [
        ("Nobody has slept right since the airlift.", 1944, "airlift"),
        ("He came home after the war in Korea.", 1949, "the war in Korea"),
        ("My brother is in the Korean War.", 1949, "Korean War"),
        ("The Cuban missile crisis kept us up.", 1961, "Cuban missile crisis"),
        ("Everything changed after Pearl Harbor.", 1940, "Pearl Harbor"),
        ("We all went jogging before the broadcast.", 1960, "jogging"),
        ("The network ran an instant replay of the catch.", 1955, "instant replay"),
        ("She teaches an aerobics class on Tuesdays.", 1950, "aerobics class"),
        ("Since 9/11 nobody flies for fun.", 1999, "9/11"),
        ("Her new bonnet is the bee's knees.", 1874, "bee's knees"),
        ("The women's lib meeting ran late.", 1950, "women's lib"),
    ],
)
def test_events_and_fads_match_as_phrases(lexicon: AnachronismLexicon, text: str, end_year: int, surface: str) -> None:
    assert [match.surface for _, match in lexicon.find(text, end_year)] == [surface]


@pytest.mark.parametrize(
    "text",
    [
        "The cart went jogging down the lane to market.",
        "On 9/11/1890 we sailed from Liverpool.",
        "The wave broke over the bow and the sea was cool.",
        "The teaching aids and the first aids were on the table.",
        "The Greeks ran from Marathon; the vat of cider was cool.",
    ],
)
def test_older_senses_are_not_anachronisms(lexicon: AnachronismLexicon, text: str) -> None:
    assert lexicon.find(text, 1893) == []


def test_an_older_phrase_does_not_hide_a_newer_term_inside_it(tmp_path: Path) -> None:
    path = tmp_path / "lexicon.csv"
    path.write_text(
        "term,first_year,category,alternatives,note\n"
        "march on washington,1894,event,the march,Coxey\n"
        "washington monument,1995,event,the obelisk,invented for the test\n",
        encoding="utf-8",
    )
    lexicon = AnachronismLexicon.from_csv(path)
    text = "the march on Washington Monument"
    assert [match.surface for _, match in lexicon.find(text, 1950)] == ["Washington Monument"]
    assert [match.surface for _, match in lexicon.find(text, 1890)] == ["march on Washington"]


def in_voice_posts(directory: Path) -> list[tuple[str, int, str]]:
    """Return (persona, era end year, text) for each canon and heldout post of a character with an era."""
    eras: dict[str, int] = {}
    posts: list[tuple[str, int, str]] = []
    for path in sorted((directory / "personas").glob("*.json")):
        greenroom = json.loads(path.read_text(encoding="utf-8"))["data"]["extensions"]["greenroom"]
        end_year = (greenroom.get("era") or {}).get("end_year")
        if end_year is not None:
            eras[path.stem] = end_year
            posts += [(path.stem, end_year, text) for text in greenroom.get("canon_posts", [])]
    for line in (directory / "posts.jsonl").read_text(encoding="utf-8").splitlines():
        post = json.loads(line)
        if post["kind"] == "heldout" and post["persona"] in eras:
            posts.append((post["persona"], eras[post["persona"]], post["text"]))
    return posts


def assert_no_alarms(lexicon: AnachronismLexicon, directory: Path) -> None:
    """Check every in-voice post of the directory's characters with an era, at that era's end year."""
    posts = in_voice_posts(directory)
    assert len(posts) >= 55
    alarms = [
        (persona, entry.term, match.surface)
        for persona, end_year, text in posts
        for entry, match in lexicon.find(text, end_year)
    ]
    assert alarms == []


def test_in_voice_dev_posts_raise_nothing(lexicon: AnachronismLexicon, eval_dev_set: Path) -> None:
    assert_no_alarms(lexicon, eval_dev_set)


@pytest.mark.parametrize("name", ["unseen", "holdout", "fresh", "blind2", "blind3"])
def test_in_voice_posts_of_every_fixture_set_raise_nothing(lexicon: AnachronismLexicon, name: str) -> None:
    assert_no_alarms(lexicon, FIXTURES / f"consistency-{name}")


def test_demo_canon_and_short_demo_posts_raise_nothing(lexicon: AnachronismLexicon) -> None:
    cards = [json.loads(path.read_text(encoding="utf-8"))["data"] for path in sorted(DEMO_CARDS_DIR.glob("*.json"))]
    # A present-day character has no era end: check it at its era's start, so that older terms cannot hide either.
    eras = {card["name"]: card["extensions"]["greenroom"]["era"] for card in cards}
    years = {name: era["end_year"] or era["start_year"] for name, era in eras.items()}
    posts = [(card["name"], text) for card in cards for text in card["extensions"]["greenroom"]["canon_posts"]]
    for line in (FIXTURES / "demo-short-posts.jsonl").read_text(encoding="utf-8").splitlines():
        post = json.loads(line)
        posts.append((post["character"], post["text"]))
    assert len(posts) >= 90
    assert [(name, entry.term) for name, text in posts for entry, _ in lexicon.find(text, years[name])] == []


def test_the_2010s_and_2020s_are_covered_in_every_main_category(rows: list[dict[str, str]]) -> None:
    recent = [row for row in rows if int(row["first_year"]) >= 2010]
    assert len(recent) >= 400
    per_category: dict[str, int] = {}
    for row in recent:
        per_category[row["category"]] = per_category.get(row["category"], 0) + 1
    for category in ("slang", "technology", "media", "product", "sports", "food", "politics", "event", "institution"):
        assert per_category.get(category, 0) >= 6, (category, per_category)
    assert sum(int(row["first_year"]) >= 2020 for row in rows) >= 100


@pytest.mark.parametrize(
    ("text", "end_year", "surface"),
    [
        ("We played Wordle over breakfast.", 2019, "Wordle"),
        ("She zelled me the rent.", 2015, "zelled"),
        ("He posted it to his Instagram stories.", 2014, "Instagram stories"),
        ("Three Theraguns on the counter.", 2012, "Theraguns"),
        ("They have been on a hot girl walk since noon.", 2018, "hot girl walk"),
        ("We watched Stranger Things again.", 2015, "Stranger Things"),
        ("The Ever Given is still stuck.", 2020, "Ever Given"),
        ("Nobody talks about anything but the war in Ukraine.", 2012, "the war in Ukraine"),
        ("Since the invasion of Ukraine prices went up.", 2020, "invasion of Ukraine"),
        ("The 5G towers went up on the hill.", 2015, "5G towers"),
        ("We binged Squid Game all weekend.", 2020, "Squid Game"),
        ("We whipped up dalgona coffee in the kitchen.", 2019, "dalgona coffee"),
        ("He signed up for the Tough Mudder.", 2008, "Tough Mudder"),
        ("The Capitol riot was on every channel.", 2019, "Capitol riot"),
        ("The Space Force recruiter called.", 2015, "Space Force"),
    ],
)
def test_recent_terms_match_with_their_inflections(
    lexicon: AnachronismLexicon, text: str, end_year: int, surface: str
) -> None:
    assert [match.surface for _, match in lexicon.find(text, end_year)] == [surface]


def test_recent_terms_leave_older_everyday_words_alone(lexicon: AnachronismLexicon) -> None:
    texts = [
        "The threads on the forum ran long; we went fishing for catfish and the white lotus bloomed in the pond.",
        "Stranger things have happened. It was the finest speech ever given, on a prime day for sailing.",
        "The bear's white claw; 75 hard miles; the Spartan race; she was very demure; the lightning cable on the barn.",
        "We stopped mid-journey; the coals glow up the chimney; a butter board for the dairy.",
        "We walked the old town road home.",
        "Since the coronation of King Charles; the annexation of Crimea; the dog ate and left no crumbs.",
    ]
    assert [lexicon.find(text, 1990) for text in texts] == [[]] * len(texts)


@pytest.mark.parametrize(
    ("word", "other"),
    [
        ("pajamas", "pyjamas"),
        ("colourful", "colorful"),
        ("neighborhood", "neighbourhood"),
        ("realized", "realised"),
        ("organisation", "organization"),
        ("analyze", "analyse"),
        ("theatre", "theater"),
        ("centerfold", "centrefold"),
        ("catalogue", "catalog"),
        ("travelling", "traveling"),
        ("programme", "program"),
        ("grey", "gray"),
        ("doughnuts", "donuts"),
        ("aeroplane", "airplane"),
        ("defence", "defense"),
    ],
)
def test_spellings_go_both_ways(word: str, other: str) -> None:
    assert other in spellings(word)
    assert word in spellings(other)


@pytest.mark.parametrize(
    "word", ["tour", "four", "your", "wise", "rise", "noise", "prize", "filled", "laboratory", "literature", "size"]
)
def test_spellings_never_turn_one_everyday_word_into_another(word: str) -> None:
    assert spellings(word) == {word}


def test_a_row_in_one_spelling_matches_the_other(tmp_path: Path) -> None:
    path = tmp_path / "lexicon.csv"
    path.write_text(
        "term,first_year,category,alternatives,note\n"
        "cat's pajamas,1922,slang,the tops,1920s\n"
        "colour commentator,1950,media,announcer,1950s\n"
        "(flew|fly) in an {aeroplane},1903,transport,balloon,1903\n",
        encoding="utf-8",
    )
    lexicon = AnachronismLexicon.from_csv(path)
    text = "The cat's pyjamas! The color commentators said we flew in an airplane."
    assert [m.surface for _, m in lexicon.find(text, 1900)] == ["cat's pyjamas", "color commentators", "airplane"]


def test_frames_and_stand_alone_markers(tmp_path: Path) -> None:
    path = tmp_path / "lexicon.csv"
    path.write_text(
        "term,first_year,category,alternatives,note\n"
        "^{bummer}$,1966,slang,a pity,interjection\n"
        "{bummer} <of-a>,1966,slang,a wretched,frame\n"
        "<such-a> {downer},1970,slang,a gloomy business,frame\n"
        "(had|having) a {blast}$,1950,slang,a grand time,only at the end\n"
        "^{not}$,1989,slang,not at all,interjection\n",
        encoding="utf-8",
    )
    lexicon = AnachronismLexicon.from_csv(path)
    assert "bummer of a night" in expand_pattern("{bummer} <of-a>")
    assert "what a downer" in expand_pattern("<such-a> {downer}")
    found = ["Bummer.", "Oh, bummer!", "Bummer of a night.", "What a downer", "We had a blast!", "having a blast"]
    assert [[m.surface for _, m in lexicon.find(text, 1900)] for text in found] == [
        ["Bummer"],
        ["bummer"],
        ["Bummer"],
        ["downer"],
        ["blast"],
        ["blast"],
    ]
    # The older senses: a bummer is a loafer, a blast of wind, and a lone word does not inflect ("Noted.").
    for text in ["He was a bummer.", "A bummer came by", "We had a blast of wind.", "Noted.", "Not I, said he."]:
        assert lexicon.find(text, 1900) == [], text


@pytest.mark.parametrize(
    ("text", "end_year", "surface"),
    [
        ("The cat's pyjamas, darling.", 1910, "cat's pyjamas"),
        ("Bummer of a night.", 1950, "Bummer"),
        ("Catch me on Threads.", 2020, "Threads"),
        ("Posted it on X.", 2020, "X"),
        ("Off to the Klondike with Pa.", 1890, "Klondike"),
        ("Sherlock Holmes could not have solved it.", 1880, "Sherlock Holmes"),
        ("I bought Sandow's exercises by post.", 1880, "Sandow's exercises"),
        ("We binged Breaking Bad.", 2005, "Breaking Bad"),
        ("Totally rad!", 1975, "rad"),
    ],
)
def test_everyday_knowledge_matches(lexicon: AnachronismLexicon, text: str, end_year: int, surface: str) -> None:
    assert surface in [match.surface for _, match in lexicon.find(text, end_year)]


def test_new_rows_leave_older_everyday_words_alone(lexicon: AnachronismLexicon) -> None:
    texts = [
        "My friends watched the cheers go up in Dallas; the shark's jaws closed. We were lost in the office.",
        "The sopranos sang; the crown jewels; the bear at the fair; a season of lost hopes.",
        "We had a blast of cold air. The rope hung on threads.",
        "The sugar bowl and the rose bowl were on the table; the cutting season began; my foot is swole.",
        "The armistice was signed; the war in the Transvaal; the hindenburg of the hills.",
        "What a square! The town square was busy. What a bust of Caesar. Such a babe in arms.",
        "The storm was so awesome. The wine needs to chill. Noted.",
        "The scarlet pimpernel in the meadow; a catch of 22 trout; the terminator of the moon.",
        "We rewatched the rehearsal; the X factor is unknown; posted a letter on the door.",
    ]
    assert [[(e.term, m.surface) for e, m in lexicon.find(text, 1890)] for text in texts] == [[]] * len(texts)


@pytest.mark.parametrize(
    ("text", "end_year", "surface"),
    [
        ("We watched I Love Lucy after supper.", 1947, "I Love Lucy"),
        ("Paid with my Diners Club card.", 1947, "Diners Club card"),
        ("Shipped to Korea with the rest of the boys.", 1944, "Shipped to Korea"),
        ("Tuned in to Radio 1 this morning!", 1966, "Radio 1"),
        ("We watched men on the moon, my lovelies!", 1966, "men on the moon"),
        ("Angel Delight for pudding tonight.", 1966, "Angel Delight"),
        ("This tune is a banger, my lovelies.", 1966, "banger"),
        ("Cracked open a Zima after close.", 1991, "Zima"),
        ("Doing the 12-3-30 workout before the game!", 2019, "12-3-30 workout"),
        ("We stayed socially distanced, friends!", 2019, "socially distanced"),
        ("Set the type for the crossword puzzle.", 1912, "crossword puzzle"),
        ("The Berlin Wall came down last night.", 1988, "The Berlin Wall came down"),
        ("The Dodgers moved to Los Angeles, can you believe it.", 1956, "The Dodgers moved to Los Angeles"),
    ],
)
def test_famous_dated_things_of_each_decade_match(
    lexicon: AnachronismLexicon, text: str, end_year: int, surface: str
) -> None:
    assert surface in [match.surface for _, match in lexicon.find(text, end_year)]


def test_famous_titles_and_names_leave_their_older_senses_alone(lexicon: AnachronismLexicon) -> None:
    texts = [
        "I love Lucy, she is my sister. Happy days are here again; we were saved by the bell.",
        "The twin peaks above the bay; the west wing of the house; the walking dead rose at dusk.",
        "We watched the prisoner and the boys in the square; the bill passed; the porridge boiled.",
        "They will put men on the moon one day. The man in the moon smiled down on us.",
        "Gunsmoke rose over the ridge. A purple haze over the hills. Sweet Caroline, come home.",
        "The sausage was a banger; the old car is a banger. He wore no cap to church.",
        "The oaks were throwing shade. A low-key evening. The boomers hopped away.",
        "We saw jaws of the beast and frozen ponds; she saw black panther tracks near Casablanca.",
        "The cold snap between the brothers; we went over the top of the hill; a trivial round.",
        "A day of remembrance for the fallen of Waterloo. The Great War with Napoleon. The cenotaph.",
        "The red bull in the field; a little chef in the kitchen; we played skittles and ate smarties.",
        "The famous five of the club; the fat controller of the yard; back to the future we go.",
    ]
    assert [[(e.term, m.surface) for e, m in lexicon.find(text, 1890)] for text in texts] == [[]] * len(texts)
