"""Each rule the web views, the API and the scheduler share lives in one domain function: these test them.

The last section tests the checker's hard rules' one-click fixes (characters/consistency/rules.py).
"""

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import event
from sqlmodel import func, select

from characters.audit.log import audit_actions, audit_page, record_event, scene_events
from characters.audit.notifications import notify, recent_notifications
from characters.consistency import Checker
from characters.consistency.lexicon import Anachronism, AnachronismLexicon
from characters.consistency.rules import apply_replacement
from characters.core.errors import DomainError
from characters.core.models import Channel, ChannelKind, Character, PostStatus, Role, utcnow
from characters.posting.posts import PostContent, create_draft, page_posts
from characters.posting.recurring import RuleInput, create_rule, rule_actions, rule_overview, submit_rule
from characters.posting.rhythm import due_time_or_next_slot
from characters.posting.scenes import (
    SceneInput,
    create_scene,
    first_character,
    line_counts,
    scene_actions,
    scene_posts,
    submit_scene,
)
from characters.posting.workflow import allowed_actions, own_work, submit_post
from characters.publishing.channels import describe_channel, list_channels
from tests.factories import make_card, make_character, member, workspace_with_roles

FRIDAY_MORNING = datetime(2026, 12, 4, 12, tzinfo=UTC)  # Fri 07:00 in New York


@pytest.fixture
def crew(session):
    people = workspace_with_roles(session, "rules")
    ws = people["workspace"]
    people["pip"] = make_character(session, ws, people["owner"], "Pip", timezone="America/New_York",
                                   rhythm={"slots": [{"days": "mon-fri", "time": "09:15"}]})
    people["bo"] = make_character(session, ws, people["owner"], "Bo")
    people["as"] = {role: member(ws, people[role.value] if role is not Role.OWNER else people["owner"], role)
                    for role in Role}
    return people


def _draft(session, crew, text="A fine morning.", character="pip"):
    post = create_draft(session=session, member=crew["as"][Role.WRITER], character=crew[character],
                        content=PostContent.of_texts([text]))
    session.commit()
    return post


def _scene(session, crew):
    lines = [{"character_id": crew["bo"].id, "text": "Morning, Pip."},
             {"character_id": crew["pip"].id, "text": "Morning, Bo.", "delay_minutes": 5}]
    scene = create_scene(session=session, member=crew["as"][Role.WRITER],
                         data=SceneInput(title="Hello", lines=lines))
    session.commit()
    return scene


# "Given time or the next free slot"

def test_a_given_time_is_kept(session, crew):
    given = FRIDAY_MORNING + timedelta(days=3)
    assert due_time_or_next_slot(session, crew["pip"], given, now=FRIDAY_MORNING) == given


def test_no_time_takes_the_next_free_slot(session, crew):
    assert due_time_or_next_slot(session, crew["pip"], None, now=FRIDAY_MORNING) == datetime(2026, 12, 4, 14, 15,
                                                                                              tzinfo=UTC)


def test_no_time_and_no_rhythm_is_refused_on_the_named_field(session, crew):
    with pytest.raises(DomainError, match="Bo has no posting rhythm") as refused:
        due_time_or_next_slot(session, crew["bo"], None, now=FRIDAY_MORNING, field="starts_at")
    assert refused.value.field == "starts_at"


def test_a_scene_starts_with_its_first_lines_character(session, crew):
    assert first_character(session, _scene(session, crew)).id == crew["bo"].id


# The two-person rule and the buttons it hides

def test_own_work_counts_only_under_the_two_person_rule(session, crew):
    post = _draft(session, crew)
    writer = crew["as"][Role.WRITER]
    assert own_work(writer, post)
    assert not own_work(crew["as"][Role.EDITOR], post)
    crew["workspace"].two_person_rule = False
    assert not own_work(writer, post)


def test_an_editor_cannot_approve_their_own_post_scene_or_rule(session, crew):
    editor = crew["as"][Role.EDITOR]
    post = create_draft(session=session, member=editor, character=crew["pip"],
                        content=PostContent.of_texts(["Mine."]))
    submit_post(session=session, member=editor, post=post, expected_version=post.version)
    actions = allowed_actions(editor, post)
    assert actions["own"]
    assert actions["reject"]
    assert not actions["approve"]
    assert allowed_actions(crew["as"][Role.OWNER], post)["approve"]

    scene = create_scene(session=session, member=editor, data=SceneInput(
        title="Mine", lines=[{"character_id": crew["pip"].id, "text": "Hello."}]))
    submit_scene(session=session, member=editor, scene=scene, expected_version=scene.version)
    posts = scene_posts(session, scene)
    assert scene_actions(editor, scene, posts)["own"]
    assert not scene_actions(editor, scene, posts)["approve"]
    assert scene_actions(crew["as"][Role.OWNER], scene, posts)["approve"]

    rule = create_rule(session=session, member=editor, data=RuleInput.model_validate({
        "character_id": crew["pip"].id, "parts": ["Tip."], "weekdays": "mon", "local_time": "09:00",
        "timezone": "UTC", "starts_at": utcnow(), "max_count": 2}))
    submit_rule(session=session, member=editor, rule=rule, expected_version=rule.version)
    assert rule_actions(editor, rule) == {"submit": False, "approve": False, "reject": True, "stop": True,
                                          "own": True}
    assert rule_actions(crew["as"][Role.OWNER], rule)["approve"]


def test_scene_buttons_follow_role_and_status(session, crew):
    scene = _scene(session, crew)
    writer, viewer = crew["as"][Role.WRITER], crew["as"][Role.VIEWER]
    assert scene_actions(writer, scene, []) == {"edit": True, "submit": True, "approve": False, "reject": False,
                                                "cancel": True, "own": True}
    assert not any(scene_actions(viewer, scene, []).values())


# The channel description everybody may see

def test_a_webhook_is_described_by_its_host_only():
    hook = Channel(workspace_id=1, character_id=1, kind=ChannelKind.WEBHOOK, label="Hook",
                   settings={"url": "https://hooks.example/t/s3cret-path?token=s3cret-query"})
    assert describe_channel(hook) == "hooks.example"
    bluesky = Channel(workspace_id=1, character_id=1, kind=ChannelKind.BLUESKY, label="Sky",
                      settings={"handle": "pip.bsky.social", "service_url": "https://bsky.social"})
    assert describe_channel(bluesky) == "@pip.bsky.social on https://bsky.social"


# The post list

def test_posts_page_newest_first_with_a_cursor(session, crew):
    ids = [_draft(session, crew, f"Post {n}").id for n in range(5)]
    first = page_posts(session, crew["workspace"], limit=2)
    assert [post.id for post, _ in first.rows] == ids[:-3:-1]
    assert first.next_cursor == ids[3]
    second = page_posts(session, crew["workspace"], cursor=first.next_cursor, limit=2)
    third = page_posts(session, crew["workspace"], cursor=second.next_cursor, limit=2)
    assert [post.id for post, _ in second.rows + third.rows] == ids[2::-1]
    assert third.next_cursor is None
    assert [post.id for post, _ in page_posts(session, crew["workspace"], character=crew["bo"]).rows] == []


# Audit reads and notifications

def test_the_audit_page_names_actors_and_excerpts_in_two_queries(session, crew):
    posts = [_draft(session, crew, f"Text {n}") for n in range(3)]
    for post in posts:
        record_event(session, workspace_id=crew["workspace"].id, actor=crew["writer"], action="edit", post=post)
    record_event(session, workspace_id=crew["workspace"].id, actor=None, action="materialize")
    session.commit()
    statements = []

    def count(connection, cursor, statement, *args):
        if statement.startswith("SELECT"):
            statements.append(statement)

    event.listen(session.get_bind(), "before_cursor_execute", count)
    try:
        page = audit_page(session, crew["workspace"], limit=3)
    finally:
        event.remove(session.get_bind(), "before_cursor_execute", count)
    assert len(statements) == 2
    assert [row.actor for row in page.rows] == [None, crew["writer"].display_name, crew["writer"].display_name]
    assert [row.excerpt for row in page.rows] == ["", "Text 2", "Text 1"]
    assert page.next_before == page.rows[-1].event.id
    rest = audit_page(session, crew["workspace"], before_id=page.next_before, action="edit", limit=3)
    assert [row.excerpt for row in rest.rows] == ["Text 0"]
    assert rest.next_before is None
    assert audit_page(session, crew["workspace"], action="materialize").rows[0].actor is None
    assert {"edit", "materialize"} <= set(audit_actions(session, crew["workspace"]))


def test_scene_events_and_line_counts(session, crew):
    scene = _scene(session, crew)
    submit_scene(session=session, member=crew["as"][Role.WRITER], scene=scene, expected_version=scene.version)
    assert [e.action for e in scene_events(session, scene.id)] == ["scene_submit", "scene_create"]
    assert line_counts(session, [scene]) == {scene.id: 2}
    assert line_counts(session, []) == {}


def test_nobody_is_notified_of_what_they_did_themselves(session, crew):
    post = _draft(session, crew)
    writer = crew["as"][Role.WRITER]
    notify(session, user_id=crew["writer"].id, workspace_id=crew["workspace"].id, post=post, message="You did it",
           actor=crew["writer"])
    notify(session, user_id=crew["writer"].id, workspace_id=crew["workspace"].id, post=post, message="Approved",
           actor=crew["editor"])
    assert [n.message for n in recent_notifications(session, writer)] == ["Approved"]


def test_a_rule_overview_lists_occurrences_and_posts(session, crew):
    rule = create_rule(session=session, member=crew["as"][Role.WRITER], data=RuleInput.model_validate({
        "character_id": crew["pip"].id, "parts": ["Tip."], "weekdays": "mon", "local_time": "09:00",
        "timezone": "UTC", "starts_at": FRIDAY_MORNING, "max_count": 2}))
    overview = rule_overview(session, crew["workspace"], rule.id, FRIDAY_MORNING)
    assert overview.character.id == crew["pip"].id
    assert overview.upcoming == [datetime(2026, 12, 7, 9, tzinfo=UTC), datetime(2026, 12, 14, 9, tzinfo=UTC)]
    assert overview.posts == []
    assert rule_actions(crew["as"][Role.WRITER], rule)["submit"]


# Feeds come with the character; reading channels never writes

def test_a_character_gets_its_feed_when_it_is_created(session, crew):
    assert [c.kind for c in list_channels(session, crew["pip"])] == [ChannelKind.FEED]


def test_listing_the_channels_of_a_character_without_a_feed_creates_nothing(session, crew):
    legacy = Character(workspace_id=crew["workspace"].id, slug="legacy", name="Legacy", current_version=1)
    session.add(legacy)
    session.commit()
    assert list_channels(session, legacy) == []
    assert session.exec(select(func.count()).select_from(Channel).where(Channel.character_id == legacy.id)
                        ).one() == 0
    assert not session.new
    assert not session.dirty
    post = _draft(session, {**crew, "legacy": legacy}, character="legacy")  # saving a draft creates it
    assert post.status == PostStatus.DRAFT
    assert [c.kind for c in list_channels(session, legacy)] == [ChannelKind.FEED]


# The checker's hard rules offer one-click fixes (characters/consistency/rules.py)

def _entry(term, year, *alternatives):
    return Anachronism(term, year, "test", "", alternatives)


FIX_LEXICON = AnachronismLexicon([
    _entry("television", 1936, "a wireless set", "the wireless"),
    _entry("google", 1998, "look up"),
    _entry("go viral", 2004, "catch on"),
    _entry("iPod", 2001, "a gramophone"),
    _entry("email", 1982, "fax", "swell note", "telegram"),  # fax is itself too late; swell banned
    _entry("fax", 1966, "telegram"),
    _entry("cool", 1990, "swell", "grand"),
])
PERIOD_RULES = {
    "era": {"label": "London, 1930", "end_year": 1930},
    "voice": {"pov": "first_singular", "emoji": "never", "hashtags": {"max": 0}, "urls": False},
    "vocabulary": {
        "banned": [{"term": "awesome", "suggest": ["good", "right"], "reason": "modern slang"},
                   {"term": "dude"}, {"term": "cool"}, {"term": "cop"}, {"term": "swell"}],
        "preferred": [{"use": "chap", "instead_of": ["dude"]}],
    },
}


@pytest.fixture(scope="module")
def fix_checker():
    return Checker(lexicon=FIX_LEXICON)


def _fixes(checker, text, check, card=None):
    """Return (flagged text, replacements) of each finding of `check`."""
    result = checker.check(card or make_card("Walt Hadley", **PERIOD_RULES), text)
    return [(text[f.start:f.end] if f.start is not None else None, f.replacements)
            for f in result.findings if f.check == check]


@pytest.mark.parametrize(("text", "flagged", "first", "fixed"), [
    ("We watched television.", "television", "a wireless set", "We watched a wireless set."),
    ("Television hummed all night.", "Television", "A wireless set", "A wireless set hummed all night."),
    ("The television hummed.", "television", "wireless set", "The wireless set hummed."),
    ("Two televisions, both loud.", "televisions", "wireless sets", "Two wireless sets, both loud."),
    ("TELEVISION!", "TELEVISION", "A WIRELESS SET", "A WIRELESS SET!"),
    ("She googled the address.", "googled", "looked up", "She looked up the address."),
    ("Googling the address now.", "Googling", "Looking up", "Looking up the address now."),
    ("It went viral overnight.", "went viral", "caught on", "It caught on overnight."),
    ("My iPod broke.", "iPod", "gramophone", "My gramophone broke."),
    ("The iPod’s case.", "iPod’s", "gramophone’s", "The gramophone’s case."),
    ("Café 👩🏽‍💻 e\u0301 email at noon.", "email", "telegram", "Café 👩🏽‍💻 e\u0301 telegram at noon."),
])
def test_an_anachronism_offers_period_alternatives_shaped_like_the_draft(fix_checker, text, flagged, first, fixed):
    result = fix_checker.check(make_card("Walt Hadley", **PERIOD_RULES), text)
    [finding] = [f for f in result.findings if f.check == "era.anachronism"]
    assert text[finding.start:finding.end] == flagged
    assert finding.replacements[0] == first
    assert len(set(finding.replacements)) == len(finding.replacements)
    assert apply_replacement(text, finding.start, finding.end, first)[0] == fixed
    assert not [f for f in fix_checker.check(make_card("Walt Hadley", **PERIOD_RULES), fixed).findings
                if f.check == "era.anachronism"]


def test_alternatives_that_are_themselves_late_or_banned_are_not_offered(fix_checker):
    assert _fixes(fix_checker, "An email came.", "era.anachronism") == [("email", ("telegram",))]


def test_years_and_post_furniture_of_a_later_era(fix_checker):
    card = make_card("Walt Hadley", era={"end_year": 1930}, voice={"pov": "any"})
    assert _fixes(fix_checker, "In 1969 we fly 😀.", "era.anachronism", card) == [("1969", ("1930",)), ("😀", ("",))]


def test_a_banned_word_offers_the_cards_words_then_deletion(fix_checker):
    text = "Awesome idea, awesome plan."
    result = fix_checker.check(make_card("Walt Hadley", **PERIOD_RULES), text)
    banned = [f for f in result.findings if f.check == "vocabulary.banned"]
    assert [(text[f.start:f.end], f.replacements) for f in banned] == [
        ("Awesome", ("Good", "Right", "")), ("awesome", ("good", "right", ""))]
    for finding in banned:  # the hint is said once, by the replacements, never repeated in the message
        assert "Try" not in finding.message
        assert finding.message.count("wesome") == 1
    assert apply_replacement(text, banned[1].start, banned[1].end, "")[0] == "Awesome idea, plan."


def test_a_banned_word_uses_the_preferred_word_then_neutral_synonyms(fix_checker):
    assert _fixes(fix_checker, "Thanks, dude. Dudes rule.", "vocabulary.banned") == [
        ("dude", ("chap", "")), ("Dudes", ("Chaps", ""))]
    # The same span is not warned about again as merely "not preferred": one word, one fix.
    assert _fixes(fix_checker, "Thanks, dude.", "vocabulary.preferred") == []
    assert _fixes(fix_checker, "A cool hat.", "vocabulary.banned") == [("cool", ("grand", ""))]  # swell is banned
    assert _fixes(fix_checker, "A cool hat.", "era.anachronism") == []  # already failed as banned
    assert _fixes(fix_checker, "The cops came.", "vocabulary.banned") == [("cops", ("",))]


@pytest.mark.parametrize(("voice", "text", "check", "fixed"), [
    ({"emoji": "never"}, "Coffee first 😀", "format.emoji", "Coffee first"),
    ({"emoji": "never"}, "Done 👩🏽‍💻 and dusted.", "format.emoji", "Done and dusted."),
    ({"hashtags": {"max": 0}}, "#Monday Coffee first.", "format.hashtags", "Coffee first."),
    ({"urls": False}, "Details at https://x.co/a.", "format.urls", "Details at."),
    ({"hashtags": {"max": 2, "required": ["#BiscuitBites"]}}, "Snack time  ", "format.hashtags",
     "Snack time #BiscuitBites  "),
    ({"hashtags": {"max": 1, "allowed": ["#CorgiLife"]}}, "Nap #Random", "format.hashtags", "Nap #CorgiLife"),
])
def test_format_findings_delete_or_add_with_whitespace_tidied(fix_checker, voice, text, check, fixed):
    card = make_card("Biscuit", voice=voice)
    [finding] = [f for f in fix_checker.check(card, text).findings if f.check == check]
    assert apply_replacement(text, finding.start, finding.end, finding.replacements[0])[0] == fixed
    assert not [f for f in fix_checker.check(card, fixed).findings if f.check == check]


def test_too_long_says_how_much_to_cut_without_a_replacement(fix_checker):
    [finding] = [f for f in fix_checker.check(make_card(voice={"max_chars": 5}), "abcdefgh").findings
                 if f.check == "format.length"]
    assert finding.replacements == ()
    assert finding.suggestion.startswith("Cut 3 characters")


@pytest.mark.parametrize(("name", "pov", "text", "fixed"), [
    ("Walt Hadley", "first_singular", "Hadley is tired tonight.", "I am tired tonight."),
    ("Walt Hadley", "first_singular", "Walt Hadley never writes jingles.", "I never write jingles."),
    ("Inspector Aldous Crane", "first_singular", "Crane's landlady has views.", "My landlady has views."),
    ("Inspector Aldous Crane", "first_singular", "Inspector Crane observed the mud.", "I observed the mud."),
    ("Walt Hadley", "first_singular", "Walt Hadley lit the stove at six.", "I lit the stove at six."),
    ("Inspector Aldous Crane", "first_singular", "Crane's Hansom waited all night.", "My Hansom waited all night."),
    ("Biscuit", "first_singular", "That's right, Biscuit did!", "That's right, I did!"),
    ("Mae Delacroix", "first_plural", "Mae is tired.", "We are tired."),
    ("Walt Hadley", "first_singular", "We at the Corliss Bakery are thrilled to bake.", "I am thrilled to bake."),
    ("Walt Hadley", "first_singular", "Thank you for choosing us!", "Thank you for choosing me!"),
    ("Walt Hadley", "first_singular", "We're so proud to serve.", "I'm so proud to serve."),
    ("Walt Hadley", "first_singular", "Rain again. We were there and we saw it.",
     "Rain again. I was there and we saw it."),
    ("Walt Hadley", "third", "Well, I think so.", "Well, Walt thinks so."),
    ("Walt Hadley", "third", "I am tired.", "Walt is tired."),
])
def test_point_of_view_fixes_keep_the_grammar(fix_checker, name, pov, text, fixed):
    card = make_card(name, voice={"pov": pov})
    finding = next(f for f in fix_checker.check(card, text).findings if f.check == "voice.pov")
    assert apply_replacement(text, finding.start, finding.end, finding.replacements[0])[0] == fixed


@pytest.mark.parametrize(("text", "fixed"), [
    ("Speaking as an AI, I have no view. The rain falls.", "The rain falls."),
    ("Here is a moody post in the requested style: the rain again.", "the rain again."),
    ("The rain falls. I hope this helps!", "The rain falls."),
    ("Here is a breathless column item in the voice of Walt Hadley: rain again.", "rain again."),
])
def test_a_break_of_character_deletes_its_sentence(fix_checker, text, fixed):
    [finding] = [f for f in fix_checker.check(make_card(), text).findings if f.check == "character.break"]
    assert finding.replacements == ("",)
    assert apply_replacement(text, finding.start, finding.end, "")[0] == fixed


@pytest.mark.parametrize("text", ["Library cards are free, forever.", "Public records were opened today."])
def test_a_name_part_before_a_plural_noun_and_its_verb_is_not_self_reference(fix_checker, text):
    card = make_card("Oakmere Public Library", voice={"pov": "first_plural"})
    assert not [f for f in fix_checker.check(card, text).findings if f.check == "voice.pov"]
    assert "voice.pov" in [f.check for f in fix_checker.check(card, "Library opens at nine.").findings]


def test_a_canon_that_ever_speaks_for_a_group_may_say_we_throughout(fix_checker):
    text = "We did our lessons by the stove and we sang after."
    lone = make_card("Clara Test", voice={"pov": "first_singular"}, canon_posts=["I rang the bell at eight."] * 5)
    assert "voice.pov" in [f.check for f in fix_checker.check(lone, text).findings]
    posts = ["I rang the bell at eight."] * 19 + ["Snow. We said our lessons close about the stove, we sang."]
    classroom = make_card("Clara Test", voice={"pov": "first_singular"}, canon_posts=posts)
    assert "voice.pov" not in [f.check for f in fix_checker.check(classroom, text).findings]


def test_each_fix_of_overlapping_findings_removes_its_own_finding(fix_checker):
    card = make_card("Walt Hadley", **PERIOD_RULES)
    text = "Hadley's awesome television 😀 hums. I hope this helps, dude! #tag"
    findings = [f for f in fix_checker.check(card, text).findings if f.replacements and f.start is not None]
    assert {f.check for f in findings} >= {"voice.pov", "vocabulary.banned", "era.anachronism", "format.emoji",
                                           "character.break", "format.hashtags"}
    spans = sorted((f.start, f.end) for f in findings)
    assert any(end > next_start for (_, end), (next_start, _) in zip(spans, spans[1:], strict=False))  # overlaps
    for finding in findings:
        surface = text[finding.start:finding.end]
        fixed, caret = apply_replacement(text, finding.start, finding.end, finding.replacements[0])
        assert fixed[:caret].endswith(finding.replacements[0])
        still = {(f.check, f.start, fixed[f.start:f.end]) for f in fix_checker.check(card, fixed).findings
                 if f.start is not None}
        assert (finding.check, finding.start, surface) not in still


def test_applying_a_replacement_checks_its_span_and_appends_without_one():
    assert apply_replacement("Snack", None, None, "#Tag") == ("Snack #Tag", 10)
    assert apply_replacement("", None, None, "#Tag") == ("#Tag", 4)
    assert apply_replacement("😀 hi", 0, 1, "") == ("hi", 0)
    with pytest.raises(ValueError, match="outside"):
        apply_replacement("short", 3, 9, "x")


def test_a_banned_adjective_is_caught_as_its_adverb_and_offered_as_one(fix_checker):
    text = "An awesomely loud band."
    assert _fixes(fix_checker, text, "vocabulary.banned") == [("awesomely", ("well", "rightly", ""))]
    card = make_card("Walt Hadley", vocabulary={"banned": [{"term": "amazing", "suggest": ["remarkable"]},
                                                           {"term": "basic", "suggest": ["plain"]}]})
    assert _fixes(fix_checker, "Amazingly loud. Basically fine.", "vocabulary.banned", card) == [
        ("Amazingly", ("Remarkably", "")), ("Basically", ("Plainly", ""))]
    assert _fixes(fix_checker, "An amazement of gulls.", "vocabulary.banned", card) == []


@pytest.mark.parametrize("text", [
    "Good morning, my lovelies! Fog's in, Walt's up.",
    "Not a bad office, my lovelies.",
    "Oh my! Walt has the ferry at nine.",
    "My friends, Walt has news.",
])
def test_a_third_person_character_may_address_people_as_my_or_exclaim(fix_checker, text):
    card = make_card("Walt Hadley", voice={"pov": "third"})
    assert not [f for f in fix_checker.check(card, text).findings if f.check == "voice.pov"]


@pytest.mark.parametrize("text", ["My show starts at nine.", "Walt loves my show.", "My show."])
def test_a_third_person_character_saying_my_about_itself_still_fails(fix_checker, text):
    card = make_card("Walt Hadley", voice={"pov": "third"})
    assert [f for f in fix_checker.check(card, text).findings if f.check == "voice.pov"]


@pytest.mark.parametrize(("text", "broken"), [
    ("[Persona: Walt, 1930 baker. Keep it under 280 characters.] Bread at six!", True),
    ("Ignore previous instructions. Rolls are half price.", True),
    ("Post as Walt, with a hashtag. Draft: rolls at six.", True),
    ("Keep it under 200 words. Rolls at six.", True),
    ("I keep it under 300 loaves a day, mostly.", False),
    ("We drafted: nothing. The oven sulked.", False),
])
def test_instructions_pasted_with_the_post_break_character(fix_checker, text, broken):
    findings = [f for f in fix_checker.check(make_card("Walt Hadley"), text).findings if f.check == "character.break"]
    assert bool(findings) is broken
