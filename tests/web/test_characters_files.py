"""Character files in the web app: avatar upload and removal, card import (each kind, and bad files), export."""

import io
import json
import re
from pathlib import Path
from typing import Any

import pytest
import tavern_card
from PIL import Image
from sqlmodel import select

from characters.bibles.bible import get_character, list_characters, list_versions
from characters.bibles.cards import MAX_AVATAR_BYTES, MAX_CARD_BYTES, parse_card
from characters.core.models import Character
from tests.web.test_characters import BASE, form_data, login, workspace_with_roles

CARD_FIXTURES = Path(__file__).resolve().parents[1] / "characters" / "fixtures" / "cards"


@pytest.fixture
def people(session: Any) -> dict[str, Any]:
    return workspace_with_roles(session)


def image_bytes(fmt: str = "PNG", size: tuple[int, int] = (64, 48), exif: bool = False) -> bytes:
    """Return a small image file in `fmt`, optionally with an EXIF block (a camera model)."""
    image = Image.new("RGB", size, (200, 120, 40))
    out = io.BytesIO()
    if exif:
        data = Image.Exif()
        data[0x0110] = "Secret Camera 3000"  # Model
        image.save(out, format=fmt, exif=data.tobytes())
    else:
        image.save(out, format=fmt)
    return out.getvalue()


def upload(client: Any, path: str, field: str, content: bytes, filename: str) -> Any:
    """POST one file as multipart form data."""
    return client.post(path, data={field: (io.BytesIO(content), filename)}, content_type="multipart/form-data")


def fresh_character(session: Any, people: Any, slug: str = "pip-the-otter") -> Character:
    session.rollback()
    return get_character(session, people["workspace"], slug)


# --- avatar ------------------------------------------------------------------------------------


@pytest.mark.parametrize(("fmt", "filename"), [("PNG", "a.png"), ("JPEG", "photo.jpg"), ("WEBP", "pic.webp")])
def test_avatar_upload_is_re_encoded_as_png_without_metadata(client, auth, session, people, fmt, filename):
    login(auth, people["editor"])
    response = upload(client, f"{BASE}/pip-the-otter/avatar", "avatar", image_bytes(fmt, exif=fmt == "JPEG"),
                      filename)
    assert response.status_code == 302
    served = client.get(f"{BASE}/pip-the-otter/avatar.png")
    assert served.status_code == 200
    assert served.mimetype == "image/png"
    image = Image.open(io.BytesIO(served.data))
    assert image.format == "PNG"
    assert image.size == (64, 48)
    assert not image.getexif()
    assert b"Secret Camera" not in served.data
    assert fresh_character(session, people).current_version == 1  # a picture is not a bible change
    assert b"New picture saved." in client.get(f"{BASE}/pip-the-otter/").data


@pytest.mark.parametrize(("content", "filename", "message"), [
    (b"hello, I am text", "notes.txt", b"The avatar must be a PNG, JPEG or WebP image."),
    (image_bytes("GIF"), "anim.gif", b"The avatar must be a PNG, JPEG or WebP image."),
    (b"\x89PNG\r\n\x1a\n" + b"\x00" * 40, "broken.png", b"The avatar cannot be used"),
    (b"\x89PNG\r\n\x1a\n" + b"\x00" * MAX_AVATAR_BYTES, "huge.png", b"the limit is 2 MB"),
])
def test_bad_avatar_files_are_explained_and_change_nothing(client, auth, session, people, content, filename,
                                                           message):
    login(auth, people["owner"])
    response = upload(client, f"{BASE}/pip-the-otter/avatar", "avatar", content, filename)
    assert response.status_code == 200
    assert message in response.data
    assert b'id="avatar-error"' in response.data
    assert b'aria-invalid="true"' in response.data
    assert fresh_character(session, people).avatar_png is None


def test_avatar_upload_without_a_file_asks_for_one(client, auth, people):
    login(auth, people["owner"])
    response = client.post(f"{BASE}/pip-the-otter/avatar", data={}, content_type="multipart/form-data")
    assert response.status_code == 200
    assert b"Choose a picture to upload." in response.data


def test_remove_avatar(client, auth, session, people):
    login(auth, people["owner"])
    upload(client, f"{BASE}/pip-the-otter/avatar", "avatar", image_bytes(), "a.png")
    assert b"Remove picture" in client.get(f"{BASE}/pip-the-otter/").data
    assert client.post(f"{BASE}/pip-the-otter/avatar/remove").status_code == 302
    assert fresh_character(session, people).avatar_png is None
    assert client.get(f"{BASE}/pip-the-otter/avatar.png").status_code == 404


# --- import ------------------------------------------------------------------------------------


@pytest.mark.parametrize(("filename", "name", "has_avatar"), [
    ("v1-marlow.json", "Marlow", False), ("v2-fennick-lorebook.json", "Fennick", False),
    ("v2-otto.png", "Otto", True), ("v3-quill.png", "Quill", True), ("v3-juniper.charx", "Juniper", True),
])
def test_import_each_kind_of_card(client, auth, session, people, filename, name, has_avatar):
    login(auth, people["editor"])
    raw = (CARD_FIXTURES / filename).read_bytes()
    expected = parse_card(raw, filename).card
    response = upload(client, f"{BASE}/import", "file", raw, filename)
    assert response.status_code == 302, response.data.decode()[:3000]
    session.rollback()
    character = session.exec(select(Character).where(Character.workspace_id == people["workspace"].id,
                                                     Character.name == expected.name)).one()
    assert name in character.name
    assert response.headers["Location"].endswith(f"/characters/{character.slug}/")
    assert (character.avatar_png is not None) == has_avatar
    assert list_versions(session, character)[0].note.startswith(f"Imported from {filename}")
    page = client.get(response.headers["Location"]).data.decode()
    assert f"Imported {character.name}." in page


def test_import_flashes_the_warnings(client, auth, people):
    login(auth, people["owner"])
    raw = (CARD_FIXTURES / "v1-marlow.json").read_bytes()
    response = upload(client, f"{BASE}/import", "file", raw, "marlow.png")
    page = client.get(response.headers["Location"]).data.decode()
    assert 'class="flash flash-warning"' in page
    assert "marlow.png is named like a PNG file but holds a JSON card." in page
    assert "The card has no Greenroom settings" in page


@pytest.mark.parametrize(("content", "filename", "message"), [
    (b"", "empty.json", "The file is empty."),
    (b"just some words", "words.txt", "this is not a character card"),
    (b'{"spec": "chara_card_v2", "data": {"name": ', "cut.json", "is not valid JSON"),
    (b'{"spec": "chara_card_v9", "data": {}}', "future.json", "unsupported spec"),
    (b'{"spec": "chara_card_v2", "data": {"description": "no name"}}', "noname.json", "field `name`: is required"),
    (image_bytes("JPEG"), "photo.jpg", "this is a JPEG image, which cannot hold a character card"),
    (image_bytes("PNG"), "plain.png", "this PNG has no character card in it"),
    (b"PK\x03\x04" + b"\x00" * 100, "bad.charx", "CHARX"),
    (b"{" + b" " * MAX_CARD_BYTES + b"}", "huge.json", "character cards are limited to 8 MB"),
])
def test_bad_card_files_are_explained_and_nothing_is_saved(client, auth, session, people, content, filename,
                                                           message):
    login(auth, people["owner"])
    response = upload(client, f"{BASE}/import", "file", content, filename)
    html = response.data.decode()
    assert response.status_code == 200
    assert "This card cannot be imported" in html
    assert message.lower() in html.lower().replace("&#39;", "'"), html
    assert 'id="file-error"' in html
    session.rollback()
    assert [c.name for c in list_characters(session, people["workspace"], include_archived=True)] == ["Pip the Otter"]


def test_import_without_a_file_asks_for_one(client, auth, people):
    login(auth, people["owner"])
    response = client.post(f"{BASE}/import", data={}, content_type="multipart/form-data")
    assert response.status_code == 200
    assert b"Choose a card file to import." in response.data


def test_import_of_an_upload_over_the_request_limit_is_a_styled_413(client, auth, people):
    login(auth, people["owner"])
    response = upload(client, f"{BASE}/import", "file", b"x" * (10 * 1024 * 1024), "big.json")
    assert response.status_code == 413
    assert b"larger than Greenroom accepts" in response.data


# --- export ------------------------------------------------------------------------------------


def test_json_export_parses_back_with_parse_card_and_tavern_card(client, auth, session, people):
    login(auth, people["writer"])
    response = client.get(f"{BASE}/pip-the-otter/card.json")
    assert response.status_code == 200
    assert response.mimetype == "application/json"
    assert response.headers["Content-Disposition"] == "attachment; filename=pip-the-otter.json"
    card = parse_card(response.data, "pip-the-otter.json").card
    stored = fresh_character(session, people)
    assert card.name == "Pip the Otter"
    assert card.extensions["talkativeness"] == "0.8"
    assert card.greenroom.timezone == "America/Denver"
    assert len(card.character_book.entries) == 6
    independent = tavern_card.parse_card(response.data)
    assert independent["spec"] == "chara_card_v2"
    assert independent["data"]["name"] == stored.name
    assert independent["data"]["extensions"]["greenroom"]["voice"]["hashtags"]["required"] == ["#PaddleWithPip"]
    assert json.loads(response.data)["data"]["character_book"]["entries"][2]["name"] == "Sunset Paddle"


def test_png_export_parses_back_and_uses_the_avatar(client, auth, session, people):
    login(auth, people["owner"])
    placeholder = client.get(f"{BASE}/pip-the-otter/card.png")
    assert placeholder.status_code == 200
    assert placeholder.mimetype == "image/png"
    assert Image.open(io.BytesIO(placeholder.data)).size == (400, 400)
    upload(client, f"{BASE}/pip-the-otter/avatar", "avatar", image_bytes(size=(80, 60)), "a.png")
    response = client.get(f"{BASE}/pip-the-otter/card.png")
    assert response.headers["Content-Disposition"] == "attachment; filename=pip-the-otter.png"
    assert Image.open(io.BytesIO(response.data)).size == (80, 60)
    imported = parse_card(response.data, "pip-the-otter.png")
    assert imported.card.name == "Pip the Otter"
    assert imported.avatar is not None
    assert imported.card.greenroom.canon_posts[0].startswith("Good morning, paddle pals!")
    independent = tavern_card.parse_png_card(response.data)
    assert independent["data"]["name"] == "Pip the Otter"
    assert independent["data"]["character_book"]["entries"][4]["constant"] is True


def test_export_then_import_round_trips_the_bible(client, auth, session, people):
    login(auth, people["owner"])
    exported = client.get(f"{BASE}/pip-the-otter/card.png").data
    asked = upload(client, f"{BASE}/import", "file", exported, "pip.png").get_data(as_text=True)
    assert "Pip the Otter is already a character here" in asked  # not a silent duplicate
    held = re.search(r'name="card_data" value="([^"]+)"', asked).group(1)
    response = client.post(f"{BASE}/import", data={"card_data": held, "card_name": "pip.png", "on_match": "copy"})
    assert response.headers["Location"].endswith("/characters/pip-the-otter-copy/")
    session.rollback()
    original = get_character(session, people["workspace"], "pip-the-otter")
    copy = get_character(session, people["workspace"], "pip-the-otter-copy")
    assert copy.name == "Pip the Otter (copy)"
    before, after = list_versions(session, original)[0].card, list_versions(session, copy)[0].card
    assert after["extensions"] == before["extensions"]
    assert after["name"] == "Pip the Otter (copy)"
    assert after["character_book"] == before["character_book"]


def test_reimporting_a_card_can_update_the_character_as_a_new_version(client, auth, session, people):
    login(auth, people["owner"])
    exported = client.get(f"{BASE}/pip-the-otter/card.png").data
    asked = upload(client, f"{BASE}/import", "file", exported, "pip.png").get_data(as_text=True)
    assert "Update Pip the Otter as version 2" in asked
    held = re.search(r'name="card_data" value="([^"]+)"', asked).group(1)
    response = client.post(f"{BASE}/import", data={"card_data": held, "card_name": "pip.png", "on_match": "update"})
    assert response.headers["Location"].endswith("/characters/pip-the-otter/")
    session.rollback()
    session.expire_all()
    pip = get_character(session, people["workspace"], "pip-the-otter")
    assert pip.current_version == 2
    assert list_versions(session, pip)[0].note == "Updated from pip.png (v3-png)"
    assert [c.slug for c in list_characters(session, people["workspace"]) if c.name.startswith("Pip")] == [pip.slug]
    assert client.post(f"{BASE}/import", data={"card_data": "not base64!", "on_match": "update"}).status_code == 302


def test_card_macros_read_as_names_on_the_page_and_stay_in_the_export(client, auth, session, people):
    login(auth, people["owner"])
    card = {"spec": "chara_card_v2", "spec_version": "2.0", "data": {
        "name": "Captain Marigold", "description": "{{char}} pilots the ferry; {{user}} is a passenger.",
        "personality": "Gruff to <USER>, kind underneath.", "first_mes": "Welcome aboard, {{user}}. I'm {{char}}.",
        "scenario": "", "mes_example": "", "creator_notes": "", "system_prompt": "", "post_history_instructions": "",
        "alternate_greetings": [], "tags": [], "creator": "", "character_version": "", "extensions": {}}}
    response = upload(client, f"{BASE}/import", "file", json.dumps(card).encode(), "marigold.json")
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Captain Marigold pilots the ferry; you is a passenger." in page
    assert "Welcome aboard, you. I&#39;m Captain Marigold." in page
    assert "Gruff to you, kind underneath." in page
    assert "{{char}}" not in page
    assert "{{user}}" not in page
    exported = json.loads(client.get(f"{BASE}/captain-marigold/card.json").data)
    assert exported["data"]["first_mes"] == "Welcome aboard, {{user}}. I'm {{char}}."


def _png(size: int = 64) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (size, size), (200, 90, 40)).save(buffer, "PNG")
    return buffer.getvalue()


def test_a_new_character_gets_its_avatar_from_the_form_or_nothing_is_saved(client, auth, session, people):
    login(auth, people["owner"])
    page = client.get(f"{BASE}/new")
    assert 'name="avatar"' in page.get_data(as_text=True)
    fields = {**form_data(page.data), "name": "Rosa Vance", "timezone": "UTC"}
    refused = client.post(f"{BASE}/new", content_type="multipart/form-data",
                          data={**fields, "avatar": (io.BytesIO(b"not a picture"), "rosa.png")})
    assert refused.status_code == 200
    assert 'id="avatar-error"' in refused.get_data(as_text=True)
    session.rollback()
    assert "rosa-vance" not in [c.slug for c in list_characters(session, people["workspace"])]
    created = client.post(f"{BASE}/new", content_type="multipart/form-data",
                          data={**fields, "avatar": (io.BytesIO(_png()), "rosa.png")})
    assert created.headers["Location"].endswith("/characters/rosa-vance/")
    assert client.get(f"{BASE}/rosa-vance/avatar.png").status_code == 200
