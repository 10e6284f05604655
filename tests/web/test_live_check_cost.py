"""What one keystroke's live check costs: no bible parsed again, and SQL statements that do not grow with the others.

Counts, never timings (speed is measured in bench/live_check_bench.py).
"""

from collections.abc import Iterator
from contextlib import contextmanager
from unittest.mock import patch

import pytest
from sqlalchemy import event

from characters.bibles import bible
from characters.bibles.bible import current_bible, current_bibles, get_character, save_bible
from characters.bibles.card_data import CardData, CharacterBook, LoreEntry
from characters.core.models import Role
from tests.factories import DEFAULT_PASSWORD, make_card, make_character, member

BODY = {"character": "walt-test", "parts": ["A fine morning for a walk, and an awesome one."]}


@contextmanager
def counted(app) -> Iterator[dict[str, int]]:
    """Count the SQL statements the app runs and the bible cards parsed inside the block."""
    counts = {"statements": 0, "parsed": 0}
    engine = app.extensions["greenroom.engine"]

    def record(*args):
        counts["statements"] += 1

    event.listen(engine, "before_cursor_execute", record)
    try:
        with patch.object(CardData, "model_validate", wraps=CardData.model_validate) as parse:
            yield counts
    finally:
        event.remove(engine, "before_cursor_execute", record)
        counts["parsed"] = parse.call_count


def _add_others(session, people, count: int, start: int = 0) -> None:
    for number in range(start, start + count):
        make_character(session, people["workspace"], people["owner"], f"Other {number}")


def _lorebook(entries: int) -> CharacterBook:
    return CharacterBook(entries=[LoreEntry(keys=[f"key {n}"], content=f"Entry {n}.") for n in range(entries)])


def _check(client) -> dict:
    response = client.post("/w/fans/posts/check", json=BODY)
    assert response.status_code == 200
    return response.json


def test_a_repeated_live_check_parses_no_bible_and_its_statements_do_not_grow_with_the_others(
    app, client, auth, session, people
):
    _add_others(session, people, 3)
    auth.login("writer@fans.example", DEFAULT_PASSWORD)
    first = _check(client)
    with counted(app) as few:
        assert _check(client) == first
    _add_others(session, people, 12, start=3)
    _check(client)  # the new characters' bibles are parsed once
    with counted(app) as many:
        _check(client)
    assert few["parsed"] == many["parsed"] == 0
    assert many["statements"] == few["statements"]
    assert many["statements"] <= 12


def test_a_two_thousand_entry_lorebook_is_parsed_once_per_version(app, client, auth, session, people):
    owner = member(people["workspace"], people["owner"], Role.OWNER)
    walt = get_character(session, people["workspace"], "walt-test")
    card = make_card("Walt Test", vocabulary={"banned": [{"term": "awesome"}]})
    save_bible(
        session=session, member=owner, character=walt, card=card.model_copy(update={"character_book": _lorebook(2_000)})
    )
    session.commit()
    auth.login("writer@fans.example", DEFAULT_PASSWORD)
    with counted(app) as counts:
        for _ in range(3):
            _check(client)
    assert counts["parsed"] == 1


def test_a_new_bible_version_is_checked_at_once(app, client, auth, session, people):
    auth.login("writer@fans.example", DEFAULT_PASSWORD)
    assert _check(client)["verdict"] == "fail"  # "awesome" is banned in version 1
    owner = member(people["workspace"], people["owner"], Role.OWNER)
    walt = get_character(session, people["workspace"], "walt-test")
    save_bible(session=session, member=owner, character=walt, card=make_card("Walt Test"))
    session.commit()
    assert not [f for f in _check(client)["findings"] if f["check"] == "vocabulary.banned"]


def test_current_bibles_share_one_parsed_card_per_version_and_name_each_version(session, people):
    walt = get_character(session, people["workspace"], "walt-test")
    with patch.object(CardData, "model_validate", wraps=CardData.model_validate) as parse:
        first, again = current_bible(session, walt), current_bibles(session, [walt])[walt.id]
        assert again.card is first.card
        assert again.key == first.key
        owner = member(people["workspace"], people["owner"], Role.OWNER)
        save_bible(session=session, member=owner, character=walt, card=make_card("Walt Test", timezone="Europe/Paris"))
        newer = current_bible(session, walt)
    assert newer.key != first.key
    assert newer.card.greenroom.timezone == "Europe/Paris"
    assert parse.call_count <= 2


@pytest.mark.parametrize("cached", [True, False])
def test_current_bibles_answers_for_every_character_asked(session, people, cached):
    _add_others(session, people, 4)
    characters = list(bible.list_characters(session, people["workspace"]))
    if not cached:
        bible._parsed_cards.clear()
    bibles = current_bibles(session, characters)
    assert sorted(bibles) == sorted(character.id for character in characters)
    assert {b.card.name for b in bibles.values()} == {character.name for character in characters}
