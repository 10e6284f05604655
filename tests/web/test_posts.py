import pytest

from tests.factories import DEFAULT_PASSWORD, make_character, workspace_with_roles


@pytest.fixture
def people(session):
    people = workspace_with_roles(session)
    make_character(session, people["workspace"], people["owner"], "Walt Test")
    return people


def test_writer_saves_a_draft(client, auth, people):
    auth.login("writer@fans.example", DEFAULT_PASSWORD)
    response = client.post("/w/fans/posts/new", data={"character": "walt-test", "text": "Say less. 🎩 עברית"})
    assert response.status_code == 302
    page = client.get("/w/fans/posts/?status=draft")
    assert "Say less. 🎩 עברית".encode() in page.data


@pytest.mark.parametrize("data, message", [
    ({"character": "nobody", "text": "x"}, b"Not a valid choice"),
    ({"character": "walt-test", "text": "x" * 20_001}, b"Field cannot be longer"),
    ({}, b"Pick a character."),
])
def test_bad_drafts_are_refused_with_a_message(client, auth, people, data, message):
    auth.login("writer@fans.example", DEFAULT_PASSWORD)
    response = client.post("/w/fans/posts/new", data=data)
    assert response.status_code == 200
    assert message in response.data
    assert b"No posts here yet" in client.get("/w/fans/posts/").data


def test_viewer_cannot_draft(client, auth, people):
    auth.login("viewer@fans.example", DEFAULT_PASSWORD)
    assert client.get("/w/fans/posts/new").status_code == 403
    assert client.post("/w/fans/posts/new", data={"character": "walt-test", "text": "x"}).status_code == 403
    assert b"New draft" not in client.get("/w/fans/posts/").data


def test_unknown_status_filter_shows_everything(client, auth, people):
    auth.login("writer@fans.example", DEFAULT_PASSWORD)
    assert client.get("/w/fans/posts/?status=%00bogus").status_code == 200
