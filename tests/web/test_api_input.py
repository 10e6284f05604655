"""Bad input never gets a 500: empty, malformed, huge, wrongly typed, odd unicode, out-of-range ids, unknown routes."""

import json

import pytest

from tests.web.test_api_helpers import make_api_world

pytestmark = pytest.mark.usefixtures("fresh_checker")


@pytest.fixture
def world(session):
    return make_api_world(session)


def _post(client, world, body, **kwargs):
    return client.post("/api/v1/posts", headers=world.headers("writer"), data=body,
                       content_type=kwargs.pop("content_type", "application/json"), **kwargs)


def _error(response, status, code=None):
    assert response.status_code == status, response.data
    error = response.json["error"]
    assert set(error) == {"code", "message", "details"}
    assert error["message"]
    if code:
        assert error["code"] == code
    return error


@pytest.mark.parametrize(("body", "status", "code"), [
    (b"", 422, "validation_error"),
    (b"{", 400, "invalid_json"),
    (b"{'single': 'quotes'}", 400, "invalid_json"),
    (b"\xff\xfe\x00garbage", 400, "invalid_json"),
    (b"[" * 100_000 + b"]" * 100_000, 400, "invalid_json"),
    (b"null", 422, "validation_error"),
    (b"[1, 2]", 422, "validation_error"),
    (b'"a string"', 422, "validation_error"),
    (b"{}", 422, "validation_error"),
    (b'{"character": 5, "parts": [{"text": "x"}]}', 422, "validation_error"),
    (b'{"character": "pip-the-otter", "parts": "x"}', 422, "validation_error"),
    (b'{"character": "pip-the-otter", "parts": [{"text": 1}]}', 422, "validation_error"),
    (b'{"character": "pip-the-otter", "parts": [{"text": "x"}], "channel_ids": ["1"]}', 422, "validation_error"),
    (b'{"character": "pip-the-otter", "parts": [{"text": "x"}], "campaign_id": 99999999999}', 422, None),
    (b'{"character": "pip-the-otter", "parts": [{"text": "x"}], "surprise": true}', 422, None),
    (b'{"character": "pip-the-otter", "parts": [{"text": "a\\u0000b"}]}', 422, None),
    (b'{"character": "pip-the-otter", "parts": [{"text": "\\ud800"}]}', 422, None),
])
def test_malformed_or_mistyped_bodies_are_400_or_422(client, world, body, status, code):
    _error(_post(client, world, body), status, code)


def test_unicode_text_is_stored_as_sent(client, world):
    text = "Ça va? 🦦 — Zürich, 東京, עברית, e\u0301, 👩🏽‍🚀"
    response = _post(client, world, json.dumps({"character": "pip-the-otter", "parts": [{"text": text}]}))
    assert response.status_code == 201
    assert response.json["parts"][0]["text"] == text


def test_text_past_the_limits_is_refused(client, world):
    long_part = {"character": "pip-the-otter", "parts": [{"text": "x" * 20_001}]}
    _error(_post(client, world, json.dumps(long_part)), 422)
    too_many = {"character": "pip-the-otter", "parts": [{"text": "x"}] * 51}
    _error(_post(client, world, json.dumps(too_many)), 422)
    huge = b'{"character": "pip-the-otter", "parts": [{"text": "' + b"x" * (10 * 1024 * 1024) + b'"}]}'
    _error(_post(client, world, huge), 413, "too_large")


def test_a_body_in_another_media_type_is_415(client, world):
    _error(_post(client, world, b"character=pip", content_type="application/x-www-form-urlencoded"), 415)
    _error(_post(client, world, b'{"character": "pip-the-otter"}', content_type="text/plain"), 415)


@pytest.mark.parametrize("query", ["limit=0", "limit=201", "limit=x", "cursor=-1", "cursor=1.5", "status=nope",
                                   "due_from=yesterday", "due_from=0", "due_from=2026-01-01T00:00:00",
                                   "due_from=99999-01-01T00:00:00Z", "character=%00", "campaign_id=99999999999"])
def test_bad_query_parameters_are_422(client, world, query):
    _error(client.get(f"/api/v1/posts?{query}", headers=world.headers("viewer")), 422)


@pytest.mark.parametrize("path", ["/api/v1/posts/99999999999", "/api/v1/posts/2147483648/comments",
                                  "/api/v1/campaigns/2147483648", "/api/v1/scenes/99999999999999999999",
                                  "/api/v1/channels/0", "/api/v1/characters/%00", "/api/v1/characters/%F0%9F%A6%A6"])
def test_ids_and_slugs_that_cannot_exist_are_404(client, world, path):
    _error(client.get(path, headers=world.headers("viewer")), 404, "not_found")


def test_unknown_api_routes_and_methods_answer_json(client, world):
    _error(client.get("/api/v1/nothing/here", headers=world.headers("viewer")), 404, "not_found")
    _error(client.get("/api/v2/posts"), 404)
    wrong_method = client.patch("/api/v1/me", headers=world.headers("viewer"))
    _error(wrong_method, 405, "method_not_allowed")
    assert "GET" in wrong_method.headers["Allow"]
    assert client.get("/w/nowhere/nothing").mimetype == "text/html"


def test_times_must_carry_a_zone_and_be_in_the_future(client, world):
    post = _post(client, world, b'{"character": "pip-the-otter", "parts": [{"text": "Splash!"}]}').json
    client.post(f"/api/v1/posts/{post['id']}/submit", headers=world.headers("writer"), json={"version": 1})
    approve = f"/api/v1/posts/{post['id']}/approve"
    for due in ("2030-01-01T09:00:00", "2001-01-01T09:00:00Z", "2030-02-30T09:00:00Z", "9999-12-31T23:59:59-12:00"):
        _error(client.post(approve, headers=world.headers("editor"), json={"version": 1, "due_at": due}), 422)
    _error(client.post(approve, headers=world.headers("editor"), json={"version": 1}), 422)
    _error(client.post(approve, headers=world.headers("editor"),
                       json={"version": 1, "due_at": "2030-01-01T09:00:00Z", "next_slot": True}), 422)
