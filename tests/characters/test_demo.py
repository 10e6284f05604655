from sqlmodel import select

from characters.accounts.users import authenticate
from characters.bibles.bible import current_card, list_characters
from characters.core.models import Post
from characters.demo.seed import DEMO_LOGINS, DEMO_PASSWORD, load_demo_cards, seed_demo


def test_demo_cards_are_complete_original_personas():
    cards = load_demo_cards()
    assert len(cards) == 3
    for card in cards:
        greenroom = card.greenroom
        assert card.description
        assert card.personality
        assert card.scenario
        assert card.first_mes
        assert card.mes_example
        assert card.character_book is not None
        assert len(card.character_book.entries) >= 4
        assert len(greenroom.canon_posts) >= 10
        assert greenroom.timezone
        assert greenroom.voice.pov != "any"
        assert greenroom.rhythm.slots
        assert greenroom.vocabulary.banned


def test_seed_demo_twice_creates_everything_once(session):
    first = seed_demo(session)
    session.commit()
    second = seed_demo(session)
    session.commit()
    assert first.id == second.id
    characters = list_characters(session, first)
    assert sorted(c.name for c in characters) == ["Dez Okafor", "Pip the Otter", "Professor Elinor Marsh"]
    assert all(current_card(session, c).greenroom.canon_posts for c in characters)
    assert len(session.exec(select(Post)).all()) == 3
    for login in DEMO_LOGINS:
        assert authenticate(session, login.email, DEMO_PASSWORD) is not None
