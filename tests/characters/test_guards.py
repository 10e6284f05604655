"""Guards on every post: copies of canon or published posts (a planted set, all flagged) and meta-talk."""

import pytest

from characters.consistency import Checker
from characters.consistency.evaluation import load_card
from characters.consistency.guards import copy_findings, find_copy, meta_findings, strip_framing
from characters.core.models import Post, PostPart, PostStatus, require_id
from characters.demo.seed import DEMO_CARDS_DIR
from characters.posting.workflow import check_texts, recent_published
from tests.factories import make_card, make_character, workspace_with_roles

DEMO = {path.stem: load_card(path) for path in sorted(DEMO_CARDS_DIR.glob("*.json"))}
CANON = [(slug, post) for slug, card in DEMO.items() for post in card.greenroom.canon_posts]


def planted(post: str, how: int) -> str:
    """Return a new post that reuses a canon post in one of the ways a model copies its examples."""
    words = post.split()
    middle = " ".join(words[len(words) // 4 : len(words) // 4 + 12])
    return [
        post,  # verbatim
        f"Tonight, again: {middle} And that was that.",  # a stretch inside new words
        post.replace(".", "!", 1).upper().lower(),  # re-punctuated and re-cased
        " ".join(words[:-2] + ["anyway."]) if len(words) > 10 else post + " Anyway.",  # the ending changed
    ][how]


@pytest.mark.parametrize("how", range(4))
def test_every_planted_copy_of_a_demo_canon_post_is_flagged_quoting_its_source(how: int) -> None:
    missed = []
    for slug, post in CANON:
        if len(post) < 45:
            continue  # shorter than a copied stretch: catchphrase territory
        text = planted(post, how)
        findings = copy_findings(text, DEMO[slug].greenroom.canon_posts)
        if not findings or post[:30] not in findings[0].message.replace("…", ""):
            missed.append((slug, text))
    assert missed == []


def test_the_planted_set_is_the_whole_demo_canon() -> None:
    assert len([post for _, post in CANON if len(post) >= 45]) >= 55


@pytest.mark.parametrize(
    "text",
    [
        "Lantern's lit.",  # a catchphrase is the voice, not a copy
        "Water you waiting for? Kayaks are ready! 🛶 #PaddleWithPip",
        "The receiver sang all night. A fine, patient radio source near Cassiopeia. Tea at midnight.",
        "Nurse T came in at six, in scrubs, and asked for something hot. I made it.",
    ],
)
def test_own_words_and_catchphrases_are_not_copies(text: str) -> None:
    for card in DEMO.values():
        assert copy_findings(text, card.greenroom.canon_posts) == []


def test_a_copy_finding_marks_the_copied_stretch_in_the_draft() -> None:
    source = "The first snow came down over the boathouse at noon and nobody wanted to leave the stove."
    text = "Big news! The first snow came down over the boathouse at noon, so hot cocoa for all."
    copy = find_copy(text, source)
    assert copy is not None
    assert not copy.whole
    assert text[copy.start : copy.end].startswith("The first snow came down over the boathouse at noon")


def test_the_checker_flags_copies_of_canon_and_of_recent_published_posts() -> None:
    card = DEMO["dez-okafor"]
    post = card.greenroom.canon_posts[1]
    result = Checker().check(card, post)
    [copy] = [f for f in result.findings if f.check == "originality.canon"]
    assert copy.severity == "warn"  # a typed repeat is the editor's call; drafting asks the model again
    assert "canon post 2" in copy.message
    published = "Rain on Ninth Avenue all night and the ambulance crews are soaked right through to the socks."
    again = Checker().check(card, published + " Coffee's on.", published=[published])
    assert "originality.published" in [f.check for f in again.findings]
    assert "originality.published" not in [f.check for f in Checker().check(card, published + " Coffee's on.").findings]


@pytest.mark.parametrize(
    ("raw", "post"),
    [
        ("Sure! Here's a post in Dez's voice: \"Lantern's lit.\"", "Lantern's lit."),
        ("Here is a tweet:\n\nFog on the moor. I hope this helps!", "Fog on the moor."),
        ("**Post:** Kayaks are ready!", "Kayaks are ready!"),
        ("Post: Fog again.\n\n(16 characters)", "Fog again."),
        ('{"text": "Fog on the \\"moor\\"."}', 'Fog on the "moor".'),
        ("“Tea at midnight.”", "Tea at midnight."),
        ("```\nTea at midnight.\n```", "Tea at midnight."),
    ],
)
def test_framing_around_a_models_post_is_stripped(raw: str, post: str) -> None:
    stripped = strip_framing(raw)
    assert stripped.text == post
    assert stripped.removed


@pytest.mark.parametrize(
    "text",
    [
        "Sure! Pup Paddle is on Saturday.",  # a character may say "Sure!"
        "Great job everyone! The clean-up was a success.",
        'She said "tea" and meant it.',
        "Ok. Fine. I'll go.",
    ],
)
def test_a_characters_own_words_are_not_framing(text: str) -> None:
    assert strip_framing(text).text == text


def test_meta_talk_inside_a_post_is_a_finding_with_a_deletion() -> None:
    text = "Fog on the moor.\nPost: the aerials sing.\n(42 characters)"
    findings = meta_findings(text)
    assert [f.check for f in findings] == ["character.meta", "character.meta"]
    assert all(f.severity == "fail" and f.replacements == ("",) for f in findings)
    assert text[findings[1].start : findings[1].end] == "(42 characters)"
    result = Checker().check(make_card("Walt Test"), text)
    assert result.verdict == "fail"
    assert "character.meta" in [f.check for f in result.findings]


def test_meta_talk_the_rules_already_caught_is_not_reported_twice() -> None:
    result = Checker().check(make_card("Walt Test"), "Here's a post in Walt's voice: Post: coffee first.")
    spans = [(f.start, f.end) for f in result.findings if f.check.startswith("character.")]
    assert len(spans) == len(set(spans))


def test_a_posts_check_compares_it_with_the_characters_recent_published_posts(session) -> None:
    people = workspace_with_roles(session)
    character = make_character(session, people["workspace"], people["owner"], "Walt Test")
    sent = "The Lucky Strike campaign went out this morning and the client called twice before nine o'clock."
    for status, text in ((PostStatus.PUBLISHED, sent), (PostStatus.DRAFT, "A draft nobody has seen, about coffee.")):
        post = Post(workspace_id=require_id(people["workspace"]), character_id=require_id(character), status=status)
        session.add(post)
        session.flush()
        session.add(PostPart(post_id=require_id(post), position=0, text=text))
    session.commit()
    assert recent_published(session, character) == [sent]
    check = check_texts(session, character, [sent + " Coffee first."], [None])
    [copy] = [f for f in check.findings if f["check"] == "originality.published"]
    assert "The Lucky Strike campaign" in copy["message"]
    assert check.verdict != "fail"


def test_a_remark_about_the_post_itself_goes_with_its_sentence() -> None:
    text = "The first frost. This is where it starts, and this post will be edited to reflect it. Coffee is on."
    [finding] = meta_findings(text)
    assert text[finding.start : finding.end] == "This is where it starts, and this post will be edited to reflect it."
    assert meta_findings("I wrote this post at 3 a.m. for the night owls.") == []
