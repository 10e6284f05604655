"""Characters in the web app: list, create, edit (a new version per save), history and diffs, archiving,
permissions, workspace isolation and awkward inputs. Files (avatar, import, export) are in test_characters_files."""

from html.parser import HTMLParser
from typing import Any

import pytest
from sqlmodel import select
from werkzeug.datastructures import MultiDict

from characters.accounts.workspaces import set_member_role
from characters.bibles.bible import create_character, get_character, get_version, list_characters
from characters.bibles.card_data import CardData
from characters.core.models import Character, CharacterVersion, Role
from characters.demo.seed import load_demo_cards
from tests.factories import DEFAULT_PASSWORD, make_character, make_user, make_workspace, member
from tests.factories import workspace_with_roles as _workspace_with_roles

BASE = "/w/fans/characters"


class FormFields(HTMLParser):
    """Collect what a browser would submit from the form with `form_class`, ignoring <template> rows."""

    def __init__(self, form_class: str) -> None:
        super().__init__()
        self.form_class = form_class
        self.inside = False
        self.template_depth = 0
        self.pairs: list[tuple[str, str]] = []
        self._textarea: str | None = None
        self._text = ""
        self._select: str | None = None
        self._options: list[tuple[str, bool]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = {key: value or "" for key, value in attrs}
        if tag == "form" and self.form_class in attributes.get("class", "").split():
            self.inside = True
        if not self.inside:
            return
        if tag == "template":
            self.template_depth += 1
        if self.template_depth or "name" not in attributes and tag != "option":
            return
        if tag == "input" and attributes.get("type") not in ("submit", "file", "button"):
            if attributes.get("type") != "checkbox" or "checked" in attributes:
                self.pairs.append((attributes["name"], attributes.get("value", "y" if "checked" in attributes else "")))
        elif tag == "textarea":
            self._textarea, self._text = attributes["name"], ""
        elif tag == "select":
            self._select, self._options = attributes["name"], []
        elif tag == "option" and self._select:
            self._options.append((attributes.get("value", ""), "selected" in attributes))

    def handle_data(self, data: str) -> None:
        if self._textarea is not None:
            self._text += data

    def handle_endtag(self, tag: str) -> None:
        if tag == "template" and self.inside:
            self.template_depth -= 1
        elif tag == "textarea" and self._textarea is not None:
            # Browsers drop the one newline that follows <textarea>.
            text = self._text[2:] if self._text.startswith("\r\n") else self._text.removeprefix("\n")
            self.pairs.append((self._textarea, text))
            self._textarea = None
        elif tag == "select" and self._select is not None:
            chosen = [value for value, selected in self._options if selected] or [self._options[0][0]]
            self.pairs.append((self._select, chosen[0]))
            self._select = None
        elif tag == "form":
            self.inside = False


def form_data(html: bytes, form_class: str = "bible-form") -> dict[str, str]:
    """Return the fields of a rendered form as a browser would send them (one value per name)."""
    parser = FormFields(form_class)
    parser.feed(html.decode())
    return dict(parser.pairs)


def workspace_with_roles(session: Any, slug: str = "fans") -> dict[str, Any]:
    """The factories' workspace (a user per role) plus the demo character Pip, rich in unknown keys."""
    people = _workspace_with_roles(session, slug)
    pip = next(card for card in load_demo_cards() if card.name == "Pip the Otter")
    people["pip"] = create_character(session=session, member=member(people["workspace"], people["owner"],
                                                                     Role.OWNER), card=pip)
    session.commit()
    return people


def login(auth: Any, user: Any) -> None:
    """Log in as a test user (all share the factories' password)."""
    assert auth.login(user.email, DEFAULT_PASSWORD).status_code == 302


def card_of(session: Any, character: Character, number: int | None = None) -> dict[str, Any]:
    """Return the stored card JSON of a version (the current one by default), freshly read."""
    session.rollback()  # end the test session's snapshot so it sees what the app committed
    fresh = session.get(Character, character.id)
    return get_version(session, fresh, number).card


def minimal_form(**values: str) -> dict[str, str]:
    """A create/edit form with only a name and the given fields (what a person filling few fields sends)."""
    return {"name": "Walt Hadley", "pov": "any", "emoji": "often", "timezone": "UTC", **values}


@pytest.fixture
def people(session: Any) -> dict[str, Any]:
    return workspace_with_roles(session)


# --- list --------------------------------------------------------------------------------------


def test_list_links_to_each_character_and_offers_new_and_import_to_editors(client, auth, people):
    login(auth, people["editor"])
    page = client.get(f"{BASE}/")
    assert page.status_code == 200
    assert f'href="{BASE}/pip-the-otter/"'.encode() in page.data
    assert b"New character" in page.data
    assert b"Import card" in page.data


def test_writers_and_viewers_see_the_list_without_edit_buttons(client, auth, people):
    for role in ("writer", "viewer"):
        login(auth, people[role])
        page = client.get(f"{BASE}/")
        assert b"Pip the Otter" in page.data
        assert b"New character" not in page.data
        assert b"Import card" not in page.data
        bible = client.get(f"{BASE}/pip-the-otter/")
        assert bible.status_code == 200
        assert b"Edit bible" not in bible.data
        assert b"Archive" not in bible.data
        auth.logout()


# --- the bible page ----------------------------------------------------------------------------


def test_bible_page_reads_like_a_bible(client, auth, people):
    login(auth, people["writer"])
    page = client.get(f"{BASE}/pip-the-otter/")
    text = page.data.decode()
    assert "Writes as “I”." in text
    assert "Emoji are welcome." in text
    assert "Every post carries #PaddleWithPip." in text
    assert "Saturday and Sunday at 08:00" in text
    assert "Wednesday at 17:30" in text
    assert "America/Denver" in text
    assert "give or take 10 minutes" in text
    assert "Knows about the present day." in text
    assert '<strong class="word">cheap</strong> <span>— says great value or budget-friendly instead' in text
    assert "Says <strong>paddle pals</strong>, not customers or clients." in text
    assert "Pip&#39;s river rules" in text
    assert "Always included" in text
    assert "Good morning, paddle pals!" in text
    assert "card.json" in text
    assert "card.png" in text


def test_bible_page_of_an_unknown_character_is_404(client, auth, people):
    login(auth, people["owner"])
    assert client.get(f"{BASE}/nobody/").status_code == 404


# --- create ------------------------------------------------------------------------------------


def test_new_character_form_renders_empty_rows_and_the_timezone_list(client, auth, people):
    login(auth, people["owner"])
    page = client.get(f"{BASE}/new")
    assert page.status_code == 200
    html = page.data.decode()
    assert 'name="canon_posts-0-text"' in html
    assert 'name="canon_posts-1-text"' in html
    assert 'name="lore-0-content"' in html
    assert 'name="lore-__index__-content"' in html
    assert '<option value="Europe/London">' in html
    assert 'list="timezone-names"' in html
    assert "<legend>Voice</legend>" in html
    assert "data-add-row" in html


def test_create_a_character_through_the_form(client, auth, session, people):
    login(auth, people["owner"])
    fields = form_data(client.get(f"{BASE}/new").data)
    fields.update({
        "name": "Walt Hadley", "description": "An ad man.\r\nSecond line.", "timezone": "america/new_york",
        "pov": "first_singular", "emoji": "never", "hashtags_max": "0", "catchphrases": "Make them want it.\r\n",
        "era_label": "Madison Avenue, 1962", "era_start_year": "1958", "era_end_year": "1962",
        "canon_posts-0-text": "Coffee first. Then the copy.", "banned-0-term": "awesome",
        "banned-0-suggest": "swell, keen", "banned-0-reason": "modern slang", "slots-0-days": "Mon-Fri",
        "slots-0-time": "9:15", "lore-0-name": "The agency", "lore-0-keys": "agency, Sterling",
        "lore-0-content": "Sterling Cooper, Madison Avenue.", "mastodon": "walt@example.social",
        "note": "First draft of Walt",
    })
    response = client.post(f"{BASE}/new", data=fields)
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/characters/walt-hadley/")
    walt = get_character(session, people["workspace"], "walt-hadley")
    card = CardData.model_validate(card_of(session, walt))
    greenroom = card.greenroom
    assert card.description == "An ad man.\nSecond line."
    assert greenroom.timezone == "America/New_York"
    assert greenroom.voice.pov == "first_singular"
    assert greenroom.voice.catchphrases == ["Make them want it."]
    assert greenroom.voice.hashtags.max == 0
    assert greenroom.era.end_year == 1962
    assert greenroom.canon_posts == ["Coffee first. Then the copy."]
    assert greenroom.vocabulary.banned[0].suggest == ["swell", "keen"]
    assert greenroom.rhythm.slots[0].days == "mon-fri"
    assert greenroom.rhythm.slots[0].time == "09:15"
    assert greenroom.handles == {"mastodon": "@walt@example.social"}
    assert card.character_book is not None
    assert card.character_book.entries[0].keys == ["agency", "Sterling"]
    assert get_version(session, walt).note == "First draft of Walt"
    assert b"Walt Hadley is created." in client.get(response.headers["Location"]).data


def test_create_without_lore_stores_no_empty_lore_book(client, auth, session, people):
    login(auth, people["owner"])
    assert client.post(f"{BASE}/new", data=minimal_form()).status_code == 302
    walt = get_character(session, people["workspace"], "walt-hadley")
    assert "character_book" not in card_of(session, walt)
    assert get_version(session, walt).note == "Created"


# --- edit --------------------------------------------------------------------------------------


def test_saving_without_changes_keeps_the_card_exactly(client, auth, session, people):
    login(auth, people["editor"])
    before = card_of(session, people["pip"])
    fields = form_data(client.get(f"{BASE}/pip-the-otter/edit").data)
    response = client.post(f"{BASE}/pip-the-otter/edit", data=fields)
    assert response.status_code == 302
    assert card_of(session, people["pip"], 2) == before
    history = client.get(f"{BASE}/pip-the-otter/history").data
    assert b"No differences" in history


def test_edit_replaces_only_the_edited_fields_and_keeps_unknown_keys(client, auth, session, people):
    login(auth, people["editor"])
    fields = form_data(client.get(f"{BASE}/pip-the-otter/edit").data)
    assert fields["lore-2-name"] == "Sunset Paddle"
    fields.update({
        "personality": "Sunny and punny.", "note": "Trim lore, ban a word",
        "lore-2-content": "The Sunset Paddle moved to Thursdays.", "lore-2-secondary_keys": "thursday, evening",
        "lore-0-remove": "y", "banned-6-term": "yolo", "canon_posts-20-text": "A new canon post!",
    })
    del fields["lore-4-constant"]  # untick "Always include" on Pip's river rules
    response = client.post(f"{BASE}/pip-the-otter/edit", data=fields)
    assert response.status_code == 302, response.data.decode()[:2000]
    before, after = card_of(session, people["pip"], 1), card_of(session, people["pip"], 2)
    assert after["personality"] == "Sunny and punny."
    assert after["extensions"]["talkativeness"] == before["extensions"]["talkativeness"]
    assert after["extensions"]["depth_prompt"] == before["extensions"]["depth_prompt"]
    assert after["character_book"]["scan_depth"] == 4
    old_entries, new_entries = before["character_book"]["entries"], after["character_book"]["entries"]
    assert [entry["id"] for entry in new_entries] == [2, 3, 4, 5, 6]
    sunset = new_entries[1]
    assert sunset["content"] == "The Sunset Paddle moved to Thursdays."
    assert sunset["secondary_keys"] == ["thursday", "evening"]
    assert {key: sunset[key] for key in ("priority", "case_sensitive", "extensions", "comment")} == {
        key: old_entries[2][key] for key in ("priority", "case_sensitive", "extensions", "comment")}
    assert new_entries[3]["constant"] is False
    greenroom = after["extensions"]["greenroom"]
    assert greenroom["vocabulary"]["banned"][-1] == {"term": "yolo", "suggest": [], "reason": ""}
    assert greenroom["canon_posts"][-1] == "A new canon post!"
    assert len(greenroom["canon_posts"]) == 21
    assert get_version(session, people["pip"], 2).note == "Trim lore, ban a word"


def test_validation_errors_show_on_their_fields_and_nothing_is_saved(client, auth, session, people):
    login(auth, people["owner"])
    fields = form_data(client.get(f"{BASE}/pip-the-otter/edit").data)
    fields.update({"name": "  ", "timezone": "Mars/Olympus_Mons", "era_start_year": "1990", "era_end_year": "1980",
                   "slots-0-days": "someday", "slots-1-time": "25:00", "lore-5-keys": "", "bluesky": "not a handle",
                   "hashtags_required": "#ok #not-ok", "jitter_minutes": "lots", "banned-6-reason": "no term"})
    response = client.post(f"{BASE}/pip-the-otter/edit", data=fields)
    html = response.data.decode()
    assert response.status_code == 200
    for message in ("A character needs a name", "Pick a time zone from the list", "The era cannot end before it starts",
                    "“someday” is not a day", "Use a 24-hour time", "Add at least one keyword",
                    "A Bluesky handle looks like", "“#not-ok” is not a hashtag", "Not a valid integer value",
                    "Write the word or phrase to avoid"):
        assert message in html, message
    assert 'id="timezone" aria-describedby="timezone-help timezone-error" aria-invalid="true"' in html or \
        ('aria-invalid="true"' in html and 'id="timezone-error"' in html)
    assert 'href="#slots-0-days"' in html
    assert "Nothing was saved yet" in html
    assert 'value="Mars/Olympus_Mons"' in html  # what the person typed is kept
    session.rollback()
    assert session.get(Character, people["pip"].id).current_version == 1


def test_a_stale_edit_is_a_conflict_until_the_person_saves_over_it(client, auth, session, people):
    login(auth, people["owner"])
    stale = form_data(client.get(f"{BASE}/pip-the-otter/edit").data)
    fresh = dict(stale, personality="Edited by someone else first.")
    assert client.post(f"{BASE}/pip-the-otter/edit", data=fresh).status_code == 302
    stale["scenario"] = "Winter on the river."
    response = client.post(f"{BASE}/pip-the-otter/edit", data=stale)
    assert response.status_code == 200
    assert b"saved version 2 while you were editing version 1" in response.data
    assert b'name="overwrite"' in response.data
    response = client.post(f"{BASE}/pip-the-otter/edit", data={**stale, "overwrite": "y"})
    assert response.status_code == 302
    latest = card_of(session, people["pip"], 3)
    assert latest["scenario"] == "Winter on the river."
    assert latest["personality"] == card_of(session, people["pip"], 1)["personality"]


# --- history -----------------------------------------------------------------------------------


def test_history_lists_versions_and_shows_a_readable_diff(client, auth, session, people):
    login(auth, people["owner"])
    fields = form_data(client.get(f"{BASE}/pip-the-otter/edit").data)
    fields.update({"personality": fields["personality"].replace("Playful", "Cheerful"), "note": "Softer temper",
                   "pov": "third"})
    client.post(f"{BASE}/pip-the-otter/edit", data=fields)
    page = client.get(f"{BASE}/pip-the-otter/history")
    html = page.data.decode()
    assert page.status_code == 200
    assert "What changed from version 1 to version 2" in html
    assert "Softer temper" in html
    assert "<h3 id=\"diff-1\">Personality</h3>" in html
    assert "Voice › Point of view" in html
    assert '<del><span class="visually-hidden">Removed: </span><strong class="diff-word">Playful,</strong>' in html
    assert '<ins><span class="visually-hidden">Added: </span><strong class="diff-word">Cheerful,</strong>' in html
    assert "Owner" in html  # who saved it
    same = client.get(f"{BASE}/pip-the-otter/history?a=2&b=2")
    assert b"No differences" in same.data
    backwards = client.get(f"{BASE}/pip-the-otter/history?a=2&b=1").data.decode()
    assert "What changed from version 2 to version 1" in backwards
    assert client.get(f"{BASE}/pip-the-otter/history?a=9").status_code == 404


def test_history_of_a_new_character_has_nothing_to_compare(client, auth, people):
    login(auth, people["viewer"])
    page = client.get(f"{BASE}/pip-the-otter/history")
    assert page.status_code == 200
    assert b"This is the first version" in page.data


# --- archive -----------------------------------------------------------------------------------


def test_archive_hides_a_character_behind_the_filter_and_restore_brings_it_back(client, auth, session, people):
    login(auth, people["editor"])
    response = client.post(f"{BASE}/pip-the-otter/archive")
    assert response.status_code == 302
    assert b"pip-the-otter" not in client.get(f"{BASE}/").data
    archived = client.get(f"{BASE}/?show=archived")
    assert b"pip-the-otter" in archived.data
    assert b"Archived (1)" in archived.data
    assert b"Restore Pip the Otter" in client.get(f"{BASE}/pip-the-otter/").data
    assert list_characters(session, people["workspace"]) == []
    assert client.post(f"{BASE}/pip-the-otter/restore").status_code == 302
    session.rollback()
    assert [c.slug for c in list_characters(session, people["workspace"])] == ["pip-the-otter"]


# --- permissions -------------------------------------------------------------------------------

CHANGE_ROUTES = [
    ("get", "/new"), ("post", "/new"), ("get", "/import"), ("post", "/import"),
    ("get", "/pip-the-otter/edit"), ("post", "/pip-the-otter/edit"), ("post", "/pip-the-otter/avatar"),
    ("post", "/pip-the-otter/avatar/remove"), ("post", "/pip-the-otter/archive"), ("post", "/pip-the-otter/restore"),
]
READ_ROUTES = ["/", "/pip-the-otter/", "/pip-the-otter/history", "/pip-the-otter/card.json",
               "/pip-the-otter/card.png"]


@pytest.mark.parametrize("role", ["writer", "viewer"])
def test_writers_and_viewers_cannot_change_bibles(client, auth, session, people, role):
    login(auth, people[role])
    for method, path in CHANGE_ROUTES:
        response = getattr(client, method)(BASE + path, data=minimal_form(name="Hijack"))
        assert response.status_code == 403, (method, path)
    for path in READ_ROUTES:
        assert client.get(BASE + path).status_code == 200, path
    session.rollback()
    pip = session.get(Character, people["pip"].id)
    assert pip.current_version == 1
    assert pip.archived_at is None
    assert [c.name for c in list_characters(session, people["workspace"])] == ["Pip the Otter"]


def test_editors_may_change_bibles(client, auth, session, people):
    login(auth, people["editor"])
    assert client.get(f"{BASE}/pip-the-otter/edit").status_code == 200
    assert client.post(f"{BASE}/new", data=minimal_form()).status_code == 302
    assert client.post(f"{BASE}/walt-hadley/edit", data=minimal_form(base_version="1")).status_code == 302


def test_the_workspace_setting_lets_writers_edit_bibles(client, auth, session, people):
    workspace = people["workspace"]
    workspace.writers_edit_bibles = True
    session.add(workspace)
    session.commit()
    login(auth, people["writer"])
    assert b"Edit bible" in client.get(f"{BASE}/pip-the-otter/").data
    assert client.post(f"{BASE}/new", data=minimal_form()).status_code == 302
    auth.logout()
    login(auth, people["viewer"])
    assert client.post(f"{BASE}/new", data=minimal_form(name="Viewer's")).status_code == 403


# --- isolation ---------------------------------------------------------------------------------

ISOLATION_GETS = ["/", "/new", "/import", "/{c}/", "/{c}/edit", "/{c}/history", "/{c}/history?a=1&b=1",
                  "/{c}/avatar.png", "/{c}/card.json", "/{c}/card.png"]
ISOLATION_POSTS = ["/new", "/import", "/{c}/edit", "/{c}/avatar", "/{c}/avatar/remove", "/{c}/archive",
                   "/{c}/restore"]


@pytest.fixture
def two_workspaces(session: Any) -> dict[str, Any]:
    """Alice owns team-a (with her own character); Bob owns team-b with a character that has an avatar."""
    alice = make_user(session, "alice@a.example")
    make_character(session, make_workspace(session, alice, "team-a"), alice, "Alice's Own")
    bob = make_user(session, "bob@b.example")
    team_b = make_workspace(session, bob, "team-b")
    secret = make_character(session, team_b, bob, "Bob's Secret")
    secret.avatar_png = b"\x89PNG not really"
    session.add(secret)
    session.commit()
    return {"alice": alice, "bob": bob, "team_b": team_b, "secret": secret}


def test_every_characters_route_of_another_workspace_is_404(client, auth, session, two_workspaces):
    login(auth, two_workspaces["alice"])
    for path in ISOLATION_GETS:
        response = client.get("/w/team-b/characters" + path.format(c="bobs-secret"))
        assert response.status_code == 404, path
        assert b"Bob" not in response.data
    for path in ISOLATION_POSTS:
        response = client.post("/w/team-b/characters" + path.format(c="bobs-secret"),
                               data=minimal_form(name="Hijacked", base_version="1"))
        assert response.status_code == 404, path
    # The other workspace's character is not reachable through Alice's own workspace either.
    for path in ISOLATION_GETS[3:]:
        assert client.get("/w/team-a/characters" + path.format(c="bobs-secret")).status_code == 404, path
    for path in ISOLATION_POSTS[2:]:
        assert client.post("/w/team-a/characters" + path.format(c="bobs-secret")).status_code == 404, path
    session.rollback()
    secret = session.get(Character, two_workspaces["secret"].id)
    assert secret.current_version == 1
    assert secret.archived_at is None
    assert secret.avatar_png is not None
    assert session.exec(select(Character).where(Character.name == "Hijacked")).first() is None


def test_a_member_of_both_workspaces_sees_each_ones_characters_only(client, auth, session, two_workspaces):
    set_member_role(session=session, workspace=two_workspaces["team_b"], user=two_workspaces["alice"],
                    role=Role.VIEWER)
    session.commit()
    login(auth, two_workspaces["alice"])
    team_a = client.get("/w/team-a/characters/").data
    team_b = client.get("/w/team-b/characters/").data
    assert b"Alice&#39;s Own" in team_a
    assert b"Bob" not in team_a
    assert b"Bob&#39;s Secret" in team_b
    assert b"Alice&#39;s Own" not in team_b
    assert client.post("/w/team-b/characters/bobs-secret/archive").status_code == 403


# --- awkward inputs ----------------------------------------------------------------------------


@pytest.mark.parametrize(("name", "slug"), [("Zoë Ōkafor 🦦", "zoe-okafor"), ("鈴木 花子", "character"),
                                        ("  Padded  Name  ", "padded-name")])
def test_unicode_names_get_readable_slugs(client, auth, session, people, name, slug):
    login(auth, people["owner"])
    response = client.post(f"{BASE}/new", data=minimal_form(name=name, description="Ünïcödé ✓ — “quotes” <b>"))
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/characters/{slug}/")
    page = client.get(response.headers["Location"]).data.decode()
    assert name.strip() in page
    assert "Ünïcödé ✓ — “quotes” &lt;b&gt;" in page


def test_empty_form_asks_for_a_name_and_saves_nothing(client, auth, session, people):
    login(auth, people["owner"])
    response = client.post(f"{BASE}/new", data={})
    assert response.status_code == 200
    assert b"A character needs a name" in response.data
    assert len(list_characters(session, people["workspace"])) == 1


def test_blank_and_removed_rows_are_ignored(client, auth, session, people):
    login(auth, people["owner"])
    data = minimal_form(**{"canon_posts-0-text": "   ", "canon_posts-3-text": "Kept.", "canon_posts-7-text": "Gone.",
                           "canon_posts-7-remove": "y", "lore-0-enabled": "y", "lore-0-insertion_order": "100",
                           "banned-0-term": "", "slots-0-days": " ", "slots-0-time": ""})
    assert client.post(f"{BASE}/new", data=data).status_code == 302
    card = CardData.model_validate(card_of(session, get_character(session, people["workspace"], "walt-hadley")))
    assert card.greenroom.canon_posts == ["Kept."]
    assert card.character_book is None
    assert card.greenroom.vocabulary.banned == []
    assert card.greenroom.rhythm.slots == []


def test_huge_inputs_are_refused_with_a_message(client, auth, session, people):
    login(auth, people["owner"])
    too_long = "x" * 100_001
    response = client.post(f"{BASE}/new", data=minimal_form(description=too_long, name="N" * 201,
                                                            **{"canon_posts-0-text": too_long}))
    html = response.data.decode()
    assert response.status_code == 200
    assert "at most 100000 characters" in html
    assert "at most 200 characters" in html
    many = minimal_form(**{f"canon_posts-{index}-text": f"Post {index}" for index in range(2001)})
    response = client.post(f"{BASE}/new", data=many)
    assert response.status_code == 200
    assert b"at most 2000 items" in response.data
    assert len(list_characters(session, people["workspace"])) == 1


def test_many_rows_and_long_texts_within_limits_are_saved(client, auth, session, people):
    login(auth, people["owner"])
    data = minimal_form(description="y" * 100_000, **{f"canon_posts-{index}-text": f"Post {index} ✨"
                                                       for index in range(300)})
    assert client.post(f"{BASE}/new", data=MultiDict(data)).status_code == 302
    versions = session.exec(select(CharacterVersion)).all()
    stored = [v.card for v in versions if v.card["name"] == "Walt Hadley"][0]
    assert len(stored["extensions"]["greenroom"]["canon_posts"]) == 300
    assert len(stored["description"]) == 100_000



def test_character_page_links_channels_and_public_feeds(client, auth, session):
    from tests.factories import make_character, workspace_with_roles

    people = workspace_with_roles(session, "linkers")
    make_character(session, people["workspace"], people["owner"], "Link Test")
    auth.login(people["writer"].email)
    page = client.get("/w/linkers/characters/link-test/")
    assert b'href="/w/linkers/channels/link-test/"' in page.data
    assert b"/feeds/linkers/link-test.atom" in page.data
    assert b"/feeds/linkers/link-test.json" in page.data
