"""The editor's autosave through HTTP: versions kept per person and draft, recovery offered, cleared by a save."""

from sqlmodel import select

from characters.core.models import Autosave, Post, PostStatus
from characters.posting.autosave import KEEP_REVISIONS
from tests.factories import DEFAULT_PASSWORD

URL = "/w/fans/posts/autosave"


def _autosave(client, text, **extra):
    body = {
        "character": "walt-test",
        "parts": [{"text": text, "alt": ""}],
        "channel_ids": [],
        "draft_key": "tab-1",
        **extra,
    }
    return client.post(URL, json=body)


def _rows(session) -> list[Autosave]:
    session.rollback()
    session.expire_all()
    return list(session.exec(select(Autosave).order_by(Autosave.revision)))


def _new_post(client, session, text="Saved once.") -> Post:
    client.post("/w/fans/posts/new", data={"character": "walt-test", "parts-0-text": text, "draft_key": "x"})
    session.rollback()
    return session.exec(select(Post)).one()


def test_each_autosave_is_a_new_version_and_only_the_last_few_are_kept(client, auth, session, people):
    auth.login("writer@fans.example", DEFAULT_PASSWORD)
    for number in range(1, KEEP_REVISIONS + 4):
        answer = _autosave(client, f"Take {number}")
        assert answer.status_code == 200
        assert answer.json["revision"] == number
        assert answer.json["message"].startswith("Autosaved at ")
    rows = _rows(session)
    assert [row.revision for row in rows] == list(range(4, KEEP_REVISIONS + 4))
    assert rows[-1].content["parts"][0]["text"] == f"Take {KEEP_REVISIONS + 3}"


def test_the_new_draft_page_offers_the_autosave_back_and_restores_it(client, auth, session, people):
    auth.login("writer@fans.example", DEFAULT_PASSWORD)
    _autosave(client, "Lost when the laptop died.")
    page = client.get("/w/fans/posts/new").get_data(as_text=True)
    assert "Unsaved text from" in page
    assert "Lost when the laptop died." in page
    row = _rows(session)[-1]
    restored = client.get(f"/w/fans/posts/new?restore={row.id}").get_data(as_text=True)
    assert ">Lost when the laptop died.</textarea>" in restored
    assert 'name="draft_key" value="tab-1"' in restored
    # Saving under that key clears the autosave: nothing is offered any more.
    client.post("/w/fans/posts/new", data={"character": "walt-test", "parts-0-text": "Kept.", "draft_key": "tab-1"})
    assert _rows(session) == []
    assert "Unsaved text from" not in client.get("/w/fans/posts/new").get_data(as_text=True)


def test_someone_elses_autosave_is_neither_offered_nor_restorable(client, auth, session, people):
    auth.login("writer@fans.example", DEFAULT_PASSWORD)
    _autosave(client, "Private thoughts.")
    row = _rows(session)[-1]
    auth.logout()
    auth.login("editor@fans.example", DEFAULT_PASSWORD)
    assert "Private thoughts." not in client.get("/w/fans/posts/new").get_data(as_text=True)
    assert client.get(f"/w/fans/posts/new?restore={row.id}").status_code == 404


def test_an_edit_is_autosaved_per_post_and_a_save_clears_it(client, auth, session, people):
    auth.login("writer@fans.example", DEFAULT_PASSWORD)
    post = _new_post(client, session)
    assert _autosave(client, "Saved once, then more.", post_id=post.id).status_code == 200
    page = client.get(f"/w/fans/posts/{post.id}/edit").get_data(as_text=True)
    assert "Unsaved text from" in page
    assert "Saved once, then more." in page
    client.post(f"/w/fans/posts/{post.id}/edit", data={"parts-0-text": "Saved twice.", "version": "1"})
    assert _rows(session) == []


def test_an_unchanged_autosave_is_not_offered(client, auth, session, people):
    auth.login("writer@fans.example", DEFAULT_PASSWORD)
    post = _new_post(client, session, "Same words.")
    _autosave(client, "Same words.", post_id=post.id)
    assert "Unsaved text from" not in client.get(f"/w/fans/posts/{post.id}/edit").get_data(as_text=True)


def test_bad_autosaves_get_clear_errors_and_write_nothing(client, auth, session, people):
    auth.login("writer@fans.example", DEFAULT_PASSWORD)
    assert client.post(URL, data="not json", content_type="application/json").status_code == 400
    assert _autosave(client, "x" * 20_001).status_code == 400
    assert client.post(URL, json={"character": "walt-test", "parts": []}).status_code == 400
    missing = _autosave(client, "Hello", character="nobody")
    assert missing.status_code == 404
    assert "character" in missing.json["error"]
    post = _new_post(client, session)
    session.get(Post, post.id).status = PostStatus.PUBLISHED
    session.commit()
    locked = _autosave(client, "Too late.", post_id=post.id)
    assert locked.status_code == 409
    assert _rows(session) == []


def test_viewers_cannot_autosave(client, auth, session, people):
    auth.login("viewer@fans.example", DEFAULT_PASSWORD)
    assert _autosave(client, "Hello").status_code == 403
    assert _rows(session) == []
