"""Characters through the API: fields in, bible versions, conflicts, archive, card import and export, check."""

import io
import json
from pathlib import Path

import pytest
from PIL import Image

from characters.bibles.cards import parse_card
from tests.web.test_api_helpers import make_api_world

pytestmark = pytest.mark.usefixtures("fresh_checker")

CARDS = Path(__file__).resolve().parents[1] / "characters" / "fixtures" / "cards"
WALT = {"name": "Walt Hadley", "description": "Copywriter at a Madison Avenue agency, 1962.",
        "timezone": "America/New_York", "era_label": "1962", "era_start_year": 1960, "era_end_year": 1963,
        "canon_posts": [{"text": "Another martini, another tagline."}], "banned": [{"term": "smartphone"}],
        "slots": [{"days": "weekdays", "time": "9:15"}], "hashtags_allowed": ["madmen"], "note": "From the wiki"}


@pytest.fixture
def world(session):
    return make_api_world(session, character=None)


def _create(client, world, **fields):
    response = client.post("/api/v1/characters", headers=world.headers("editor"), json={**WALT, **fields})
    assert response.status_code == 201, response.json
    return response.json


def test_a_character_is_created_from_fields_and_read_back(client, world):
    walt = _create(client, world)
    assert (walt["slug"], walt["current_version"], walt["timezone"]) == ("walt-hadley", 1, "America/New_York")
    assert walt["bible"]["slots"][0]["time"] == "09:15"
    assert walt["bible"]["hashtags_allowed"] == ["#madmen"]
    greenroom = walt["card"]["extensions"]["greenroom"]
    assert greenroom["era"]["start_year"] == 1960
    assert greenroom["vocabulary"]["banned"][0]["term"] == "smartphone"
    listed = client.get("/api/v1/characters", headers=world.headers("viewer")).json["items"]
    assert [(c["slug"], c["id"]) for c in listed] == [("walt-hadley", walt["id"])]
    assert client.get("/api/v1/characters/walt-hadley", headers=world.headers("read")).json["card"] == walt["card"]


def test_writers_may_not_create_characters_unless_the_workspace_allows(client, world):
    response = client.post("/api/v1/characters", headers=world.headers("writer"), json=WALT)
    assert response.status_code == 403


@pytest.mark.parametrize(("fields", "field"), [({"timezone": "Mars/Olympus"}, "timezone"),
                                               ({"era_start_year": 1970, "era_end_year": 1960}, "era_end_year"),
                                               ({"name": "   "}, "name"), ({"colour": "blue"}, "colour"),
                                               ({"slots": [{"days": "someday", "time": "9"}]}, "slots.0.days")])
def test_invalid_fields_are_422_naming_the_field(client, world, fields, field):
    response = client.post("/api/v1/characters", headers=world.headers("editor"), json={**WALT, **fields})
    assert response.status_code == 422
    assert any(item["field"] == field for item in response.json["error"]["details"]), response.json


def test_put_and_patch_save_new_versions_and_stale_ones_conflict(client, world):
    _create(client, world)
    put = client.put("/api/v1/characters/walt-hadley", headers=world.headers("editor"),
                     json={**WALT, "description": "Now head of copy.", "version": 1})
    assert put.status_code == 200
    assert put.json["current_version"] == 2
    patched = client.patch("/api/v1/characters/walt-hadley", headers={**world.headers("owner"), "If-Match": '"2"'},
                           json={"catchphrases": ["Sell the sizzle."], "note": "Catchphrase"})
    assert patched.status_code == 200
    assert patched.json["current_version"] == 3
    assert patched.json["bible"]["description"] == "Now head of copy."
    assert patched.json["bible"]["catchphrases"] == ["Sell the sizzle."]
    stale = client.patch("/api/v1/characters/walt-hadley", headers=world.headers("editor"),
                         json={"version": 2, "description": "Lost update"})
    assert stale.status_code == 409
    details = stale.json["error"]["details"]
    assert (details["your_version"], details["current_version"]) == (2, 3)
    assert details["current"]["bible"]["catchphrases"] == ["Sell the sizzle."]
    versions = client.get("/api/v1/characters/walt-hadley/versions", headers=world.headers("viewer")).json["items"]
    assert [(v["number"], v["note"], v["created_by"]) for v in versions][0] == (3, "Catchphrase", "Owner")
    assert client.patch("/api/v1/characters/walt-hadley", headers=world.headers("editor"),
                        json={"name": "Walt"}).status_code == 428


def test_patch_keeps_what_the_editor_does_not_show(client, world):
    card = json.loads((CARDS / "v2-fennick-lorebook.json").read_text())
    imported = client.post("/api/v1/character-cards", headers=world.headers("editor"),
                           data={"file": (io.BytesIO(json.dumps(card).encode()), "fennick.json")})
    slug = imported.json["character"]["slug"]
    patched = client.patch(f"/api/v1/characters/{slug}", headers=world.headers("editor"),
                           json={"version": 1, "personality": "Sly."})
    assert patched.status_code == 200
    assert patched.json["card"]["personality"] == "Sly."
    before, after = imported.json["character"]["card"], patched.json["card"]
    assert after["character_book"]["entries"] == before["character_book"]["entries"]
    assert {k: v for k, v in after.items() if k != "personality"} == \
        {k: v for k, v in before.items() if k != "personality"}


def test_archive_and_restore(client, world):
    _create(client, world)
    archived = client.post("/api/v1/characters/walt-hadley/archive", headers=world.headers("editor"))
    assert archived.status_code == 200
    assert archived.json["archived"] is True
    assert client.get("/api/v1/characters", headers=world.headers("viewer")).json["items"] == []
    everyone = client.get("/api/v1/characters?include_archived=true", headers=world.headers("viewer")).json
    assert len(everyone["items"]) == 1
    drafting = client.post("/api/v1/posts", headers=world.headers("writer"),
                           json={"character": "walt-hadley", "parts": [{"text": "Hi"}]})
    assert drafting.status_code == 422
    assert "archived" in drafting.json["error"]["message"]
    restored = client.post("/api/v1/characters/walt-hadley/restore", headers=world.headers("editor"))
    assert restored.json["archived"] is False


@pytest.mark.parametrize("name", ["v1-marlow.json", "v2-fennick-lorebook.json", "v2-otto.png", "v3-juniper.charx",
                                  "v3-quill.png"])
def test_cards_of_every_format_import(client, world, name):
    response = client.post("/api/v1/character-cards", headers=world.headers("editor"),
                           data={"file": (io.BytesIO((CARDS / name).read_bytes()), name)})
    assert response.status_code == 201, response.json
    assert response.json["character"]["name"] == parse_card((CARDS / name).read_bytes(), name).card.name
    assert isinstance(response.json["warnings"], list)


def test_a_bad_card_is_a_422_and_other_shapes_are_415(client, world):
    bad = client.post("/api/v1/character-cards", headers=world.headers("editor"),
                      data={"file": (io.BytesIO(b"{not json"), "broken.json")})
    assert bad.status_code == 422
    assert bad.json["error"]["details"][0]["field"] == "file"
    for fields in ({"other": "x"}, {"file": "just text"}):
        assert client.post("/api/v1/character-cards", headers=world.headers("editor"), data=fields,
                           content_type="multipart/form-data").status_code == 422
    assert client.post("/api/v1/character-cards", headers=world.headers("editor"),
                       data={"file": "x"}).status_code == 415
    assert client.post("/api/v1/character-cards", headers=world.headers("editor"),
                       json={"file": "x"}).status_code == 415
    assert client.post("/api/v1/character-cards", headers=world.headers("viewer"),
                       data={"file": (io.BytesIO((CARDS / "v1-marlow.json").read_bytes()), "m.json")}
                       ).status_code == 403


def test_cards_export_as_json_and_png_that_import_again(client, world):
    walt = _create(client, world)
    exported = client.get("/api/v1/characters/walt-hadley/card", headers=world.headers("viewer"))
    assert exported.status_code == 200
    assert exported.mimetype == "application/json"
    assert "walt-hadley.json" in exported.headers["Content-Disposition"]
    assert exported.json["data"]["extensions"]["greenroom"] == walt["card"]["extensions"]["greenroom"]
    png = client.get("/api/v1/characters/walt-hadley/card?format=png", headers=world.headers("viewer"))
    assert png.mimetype == "image/png"
    assert Image.open(io.BytesIO(png.data)).format == "PNG"
    assert parse_card(png.data, "walt.png").card.name == "Walt Hadley"
    assert client.get("/api/v1/characters/walt-hadley/card?format=gif", headers=world.headers("viewer")
                      ).status_code == 422


def test_any_text_is_checked_against_the_bible(client, world):
    _create(client, world)
    response = client.post("/api/v1/characters/walt-hadley/check", headers=world.headers("writer"),
                           json={"text": "Just got a new smartphone! 📱", "platform": "bluesky"})
    assert response.status_code == 200
    assert response.json["verdict"] == "fail"
    assert any("smartphone" in finding["message"] for finding in response.json["findings"])
    assert client.post("/api/v1/characters/walt-hadley/check", headers=world.headers("writer"),
                       json={"text": "x", "platform": "myspace"}).status_code == 422
    assert client.post("/api/v1/characters/walt-hadley/check", headers=world.headers("read"),
                       json={"text": "x"}).status_code == 403
