"""Card interchange: import V1/V2/V3 (JSON, PNG, CHARX), export V2 JSON and PNG, avatar processing."""

import ast
import base64
import io
import json
import struct
import zipfile
import zlib
from pathlib import Path
from typing import Any

import pytest
import tavern_card
from PIL import Image
from PIL.PngImagePlugin import PngImageFile, PngInfo

from characters.bibles.card_data import CardData
from characters.bibles.cards import (
    MAX_AVATAR_BYTES,
    MAX_CARD_BYTES,
    AvatarError,
    CardError,
    ImportedCard,
    export_card_json,
    export_card_png,
    parse_card,
    process_avatar,
)

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "cards"
# CI clones the repo next to a copy of shared/, so the personas live in the repo root's sibling.
PERSONAS = Path(__file__).resolve().parents[2] / ".." / "shared" / "eval" / "consistency-dev" / "personas"
CARD_FILES = sorted(path for path in FIXTURES.iterdir() if path.suffix in {".json", ".png", ".charx"})
PERSONA_FILES = sorted(PERSONAS.glob("*.json"))
ALL_CARDS = CARD_FILES + PERSONA_FILES
FOREIGN = {"depth_prompt", "talkativeness", "world", "fav", "chub"}


def _ids(path: Path) -> str:
    return path.name


def _load(path: Path) -> ImportedCard:
    return parse_card(path.read_bytes(), path.name)


def _png_chunks(png: bytes) -> list[tuple[bytes, bytes]]:
    """Return (type, body) of every chunk, read independently of the code under test."""
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    chunks, offset = [], 8
    while offset < len(png):
        length, kind = struct.unpack(">I4s", png[offset : offset + 8])
        chunks.append((kind, png[offset + 8 : offset + 8 + length]))
        offset += 12 + length
    return chunks


def _text_chunks(png: bytes) -> dict[str, list[tuple[bytes, str]]]:
    """Map keyword -> [(chunk type, text)] for tEXt chunks."""
    found: dict[str, list[tuple[bytes, str]]] = {}
    for kind, body in _png_chunks(png):
        if kind in (b"tEXt", b"zTXt", b"iTXt"):
            keyword, _, text = body.partition(b"\x00")
            found.setdefault(keyword.decode("latin-1"), []).append((kind, text.decode("latin-1")))
    return found


def _chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def _without_chunk(png: bytes, keyword: str) -> bytes:
    """Rebuild a PNG without the text chunks of one keyword."""
    out = png[:8]
    for kind, body in _png_chunks(png):
        if kind in (b"tEXt", b"zTXt", b"iTXt") and body.split(b"\x00", 1)[0] == keyword.encode():
            continue
        out += _chunk(kind, body)
    return out


def _chunk_json(png: bytes, keyword: str) -> dict[str, Any]:
    (entry,) = _text_chunks(png)[keyword]
    decoded: dict[str, Any] = json.loads(base64.b64decode(entry[1]))
    return decoded


def _png(size: tuple[int, int] = (8, 8), texts: dict[str, str] | None = None, colour: str = "red") -> bytes:
    info = PngInfo()
    for key, value in (texts or {}).items():
        info.add_text(key, value)
    out = io.BytesIO()
    Image.new("RGB", size, colour).save(out, format="PNG", pnginfo=info)
    return out.getvalue()


def _b64(card: Any) -> str:
    return base64.b64encode(json.dumps(card).encode()).decode()


def _v2(data: dict[str, Any]) -> bytes:
    return json.dumps({"spec": "chara_card_v2", "spec_version": "2.0", "data": data}).encode()


def _raises(raw: bytes, *fragments: str) -> str:
    with pytest.raises(CardError) as caught:
        parse_card(raw)
    message = str(caught.value)
    for fragment in fragments:
        assert fragment in message, message
    return message


# --- the personas are required, not optional -------------------------------------------------


def test_eval_personas_are_present() -> None:
    assert len(PERSONA_FILES) >= 4, f"no eval personas found in {PERSONAS.resolve()}"


# --- import ----------------------------------------------------------------------------------


def test_v1_json_gets_greenroom_defaults_and_canon_posts_from_examples() -> None:
    imported = _load(FIXTURES / "v1-marlow.json")
    card = imported.card
    assert imported.source_format == "v1-json"
    assert imported.avatar is None
    assert card.name == "Captain Oriel Marlow"
    assert card.creator_notes == "Works best with slow, atmospheric scenes."  # V1 `creatorcomment`
    greenroom = card.greenroom
    assert greenroom.schema_ == 1
    assert greenroom.era.end_year is None
    assert greenroom.voice.pov == "any"
    assert greenroom.timezone == "UTC"
    # Only the character's own lines, prefixes stripped, deduped, macros made readable, greeting last.
    assert greenroom.canon_posts == [
        "Two trawlers and a ghost, and only one of the trawlers paid its respects.",
        "Fog's coming in low. The gulls know before I do.",
        "Wrote you into the ledger today,\nright under the mackerel.",
        "Evening, you. Captain Oriel Marlow at your service; mind the third step, it bites.",
    ]
    assert any("no Greenroom settings" in warning for warning in imported.warnings)
    # V1 keys we do not know ride along as unknown data keys.
    exported = json.loads(export_card_json(card))["data"]
    assert exported["talkativeness"] == "0.5"
    assert exported["fav"] is False
    assert exported["chat"] == "Captain Oriel Marlow - 2024-03-02"


def test_v2_json_with_lorebook() -> None:
    imported = _load(FIXTURES / "v2-fennick-lorebook.json")
    original = json.loads((FIXTURES / "v2-fennick-lorebook.json").read_text())["data"]
    assert imported.source_format == "v2-json"
    book = imported.card.character_book
    assert book is not None
    assert [entry.keys for entry in book.entries] == [["harbour", "Saltmarsh"], ["Mrs. Abernathy"]]
    assert book.entries[1].constant is True
    exported = json.loads(export_card_json(imported.card))["data"]
    assert exported["character_book"] == original["character_book"]  # entry extras like display_index kept
    assert exported["x_unknown_tool_field"] == {"kept": [1, 2, 3], "nothing": None}
    assert exported["alternate_greetings"] == original["alternate_greetings"]


def test_v3_png_prefers_ccv3_and_keeps_v3_fields() -> None:
    imported = _load(FIXTURES / "v3-quill.png")
    card = imported.card
    assert imported.source_format == "v3-png"
    assert card.name == "Quill Ashgrove"  # not "Quill (old)" from the stale chara chunk
    assert imported.avatar is not None
    with Image.open(io.BytesIO(imported.avatar)) as avatar:
        assert avatar.size == (64, 80)
    assert b"ccv3" not in imported.avatar
    assert b"chara" not in imported.avatar
    extras = card.model_extra or {}
    assert extras["nickname"] == "Quill"
    assert extras["group_only_greetings"] == ["Everyone, please, no crumbs near the folios."]
    assert extras["creation_date"] == 1700000000
    assert extras["source"] == ["https://example.invalid/quill"]
    assert extras["creator_notes_multilingual"] == {"fr": "Fiche V3."}

    v3 = _chunk_json(export_card_png(card, imported.avatar, modified=1700009999), "ccv3")
    assert (v3["spec"], v3["spec_version"]) == ("chara_card_v3", "3.0")
    data = v3["data"]
    assert data["nickname"] == "Quill"
    assert data["group_only_greetings"] == ["Everyone, please, no crumbs near the folios."]
    assert data["creation_date"] == 1700000000
    assert data["modification_date"] == 1700009999
    assert data["assets"] == [{"type": "icon", "uri": "ccdefault:", "name": "main", "ext": "png"}]
    assert [entry["use_regex"] for entry in data["character_book"]["entries"]] == [False, True]


def test_charx_reads_card_json_and_main_icon() -> None:
    imported = _load(FIXTURES / "v3-juniper.charx")
    assert imported.source_format == "v3-charx"
    assert imported.card.name == "Juniper Vale"
    assert imported.avatar is not None
    with zipfile.ZipFile(FIXTURES / "v3-juniper.charx") as archive:
        assert imported.avatar == archive.read("assets/icon/images/main.png")
    assert imported.card.extensions["talkativeness"] == "0.3"


def test_v2_png_with_greenroom_is_kept_exactly() -> None:
    imported = _load(FIXTURES / "v2-otto.png")
    assert imported.source_format == "v2-png"
    assert imported.warnings == []
    greenroom = imported.card.extensions["greenroom"]
    # Partial settings are not filled in, unknown keys and nulls stay.
    assert greenroom["voice"] == {"pov": "first_singular", "emoji": "never", "future_key": "kept"}
    assert greenroom["x_future"] == {"a": None}
    assert "rhythm" not in greenroom


def test_format_is_detected_from_bytes_not_the_name() -> None:
    raw = (FIXTURES / "v3-quill.png").read_bytes()
    imported = parse_card(raw, "quill.json")
    assert imported.source_format == "v3-png"
    assert any("named like a JSON file but holds a PNG card" in warning for warning in imported.warnings)
    assert parse_card((FIXTURES / "v1-marlow.json").read_bytes(), "card.png").source_format == "v1-json"


def test_png_card_with_ztxt_and_itxt_chunks() -> None:
    card = {"spec": "chara_card_v2", "spec_version": "2.0", "data": {"name": "Zed"}}
    for zip_it in (False, True):
        info = PngInfo()
        info.add_itxt("chara", _b64(card), zip=zip_it)
        out = io.BytesIO()
        Image.new("RGB", (4, 4)).save(out, format="PNG", pnginfo=info)
        assert parse_card(out.getvalue()).card.name == "Zed"


def test_broken_ccv3_falls_back_to_chara_with_a_warning() -> None:
    raw = _png(texts={"ccv3": "%%%not base64%%%", "chara": _b64({"spec": "chara_card_v2", "data": {"name": "Ada"}})})
    imported = parse_card(raw)
    assert imported.card.name == "Ada"
    assert imported.source_format == "v2-png"
    assert any("ccv3" in warning and "used the `chara` chunk" in warning for warning in imported.warnings)


def test_null_known_fields_mean_unset() -> None:
    card = parse_card(json.dumps({"name": "Nul", "personality": None, "tags": None}).encode()).card
    assert card.personality == ""
    assert card.tags == []
    nulled = parse_card(_v2({"name": "Nul", "first_mes": "Hi.", "extensions": {"greenroom": None}})).card
    assert nulled.extensions["greenroom"]["canon_posts"] == ["Hi."]


# --- export ----------------------------------------------------------------------------------


@pytest.mark.parametrize("path", ALL_CARDS, ids=_ids)
def test_json_export_parses_with_tavern_card(path: Path) -> None:
    card = _load(path).card
    exported = export_card_json(card)
    assert exported.decode("utf-8").startswith('{\n  "spec": "chara_card_v2"')
    parsed = tavern_card.parse_card(exported)
    assert parsed["spec"] == "chara_card_v2"
    _assert_same_card(parsed["data"], card)


@pytest.mark.parametrize("path", ALL_CARDS, ids=_ids)
def test_png_export_parses_with_tavern_card_from_both_chunks(path: Path) -> None:
    imported = _load(path)
    png = export_card_png(imported.card, imported.avatar)
    chunks = _text_chunks(png)
    assert [kind for kind, _ in chunks["chara"]] == [b"tEXt"]
    assert [kind for kind, _ in chunks["ccv3"]] == [b"tEXt"]
    v3 = tavern_card.parse_png_card(png)  # tavern-card prefers ccv3
    assert v3["spec"] == "chara_card_v3"
    _assert_same_card(v3["data"], imported.card)
    v2 = tavern_card.parse_png_card(_without_chunk(png, "ccv3"))
    assert v2["spec"] == "chara_card_v2"
    _assert_same_card(v2["data"], imported.card)


def _assert_same_card(parsed: dict[str, Any], card: CardData) -> None:
    assert parsed["name"] == card.name
    assert parsed["description"] == card.description
    assert parsed["first_mes"] == card.first_mes
    assert parsed["extensions"] == card.extensions
    if card.character_book is None:
        assert parsed["character_book"] is None
    else:
        entries = parsed["character_book"]["entries"]
        assert [(e["keys"], e["content"]) for e in entries] == [
            (e.keys, e.content) for e in card.character_book.entries
        ]


@pytest.mark.parametrize("path", CARD_FILES, ids=_ids)
def test_foreign_extensions_and_unknown_keys_survive_unchanged(path: Path) -> None:
    imported = _load(path)
    original = dict(imported.card.extensions)
    for exported in (export_card_json(imported.card), export_card_png(imported.card, imported.avatar)):
        again = parse_card(exported).card
        assert again.extensions == original
        assert again.model_extra == imported.card.model_extra


def test_fixture_foreign_extensions_match_the_source_files() -> None:
    source = json.loads((FIXTURES / "v2-fennick-lorebook.json").read_text())["data"]["extensions"]
    assert source.keys() >= FOREIGN
    for path in (FIXTURES / "v2-fennick-lorebook.json", FIXTURES / "v2-otto.png"):
        card = _load(path).card
        exported = json.loads(export_card_json(card))["data"]["extensions"]
        assert {key: exported[key] for key in FOREIGN} == {key: source[key] for key in FOREIGN}


@pytest.mark.parametrize("path", ALL_CARDS, ids=_ids)
def test_round_trip_is_stable(path: Path) -> None:
    first = _load(path)
    json_1 = export_card_json(first.card)
    png_1 = export_card_png(first.card, first.avatar, modified=1)
    from_json, from_png = parse_card(json_1), parse_card(png_1)
    assert export_card_json(from_json.card) == json_1
    png_2 = export_card_png(from_png.card, from_png.avatar, modified=1)
    for keyword in ("chara", "ccv3"):
        assert _chunk_json(png_2, keyword) == _chunk_json(png_1, keyword)
    assert json.loads(json_1)["data"] == _chunk_json(png_1, "chara")["data"]
    assert from_json.warnings == []
    assert from_png.warnings == []


@pytest.mark.parametrize("path", PERSONA_FILES, ids=_ids)
def test_eval_personas_round_trip(path: Path) -> None:
    original = json.loads(path.read_text(encoding="utf-8"))["data"]
    imported = _load(path)
    assert imported.warnings == []
    for exported in (
        json.loads(export_card_json(imported.card))["data"],
        _chunk_json(export_card_png(imported.card, None), "chara")["data"],
    ):
        assert {k: v for k, v in exported.items() if k != "mes_example"} == {
            k: v for k, v in original.items() if k != "mes_example"
        }
        # Canon posts join the examples after the card's own blocks, each exactly once.
        assert exported["mes_example"].startswith(original["mes_example"])
        blocks = [block.strip() for block in exported["mes_example"].split("<START>") if block.strip()]
        for post in original["extensions"]["greenroom"]["canon_posts"]:
            assert blocks.count("{{char}}: " + post) == 1


def test_canon_posts_merge_into_examples_without_duplicates() -> None:
    card = CardData(
        name="Mira",
        mes_example="<START>\n{{user}}: hi\n{{char}}: Hello, {{user}}!",
        extensions={"greenroom": {"schema": 1, "canon_posts": ["Hello, you!", "Second post.", "Odd\n<START>\npost"]}},
    )
    mes = json.loads(export_card_json(card))["data"]["mes_example"]
    assert mes == (
        "<START>\n{{user}}: hi\n{{char}}: Hello, {{user}}!\n"
        "<START>\n{{char}}: Second post.\n<START>\n{{char}}: Odd\n<START>\npost"
    )
    again = parse_card(export_card_json(card)).card
    assert json.loads(export_card_json(again))["data"]["mes_example"] == mes


def test_png_export_without_avatar_draws_a_placeholder() -> None:
    card = parse_card(_v2({"name": "Wren Hollis"})).card
    png = export_card_png(card, None)
    with Image.open(io.BytesIO(png)) as image:
        assert image.size == (400, 400)
        assert len(image.convert("RGB").getcolors(maxcolors=100_000) or []) > 1  # initials drawn on the background
    other = export_card_png(parse_card(_v2({"name": "Someone Else"})).card, None)
    with Image.open(io.BytesIO(png)) as a, Image.open(io.BytesIO(other)) as b:
        assert a.convert("RGB").getpixel((2, 2)) != b.convert("RGB").getpixel((2, 2))
    v3 = _chunk_json(png, "ccv3")["data"]
    assert v3["group_only_greetings"] == []
    assert isinstance(v3["modification_date"], int)
    assert "creation_date" not in v3  # unknown: not invented


def test_png_export_on_an_imported_png_replaces_its_card_chunks() -> None:
    imported = _load(FIXTURES / "v3-quill.png")
    png = export_card_png(imported.card, imported.avatar)
    chunks = _text_chunks(png)
    assert sorted(chunks) == ["ccv3", "chara"]
    assert len(chunks["chara"]) == len(chunks["ccv3"]) == 1
    with Image.open(io.BytesIO(png)) as image:
        assert image.size == (64, 80)


def test_png_export_accepts_a_jpeg_avatar_and_refuses_junk() -> None:
    jpeg = io.BytesIO()
    Image.new("RGB", (30, 20), "blue").save(jpeg, format="JPEG")
    card = parse_card(_v2({"name": "J"})).card
    with Image.open(io.BytesIO(export_card_png(card, jpeg.getvalue()))) as image:
        assert (image.format, image.size) == ("PNG", (30, 20))
    with pytest.raises(AvatarError, match="PNG, JPEG or WebP"):
        export_card_png(card, b"GIF89a....")


# --- bad input -------------------------------------------------------------------------------


def test_rejects_things_that_are_not_cards() -> None:
    _raises(b"", "the file is empty")
    _raises(b"hello there", "not a character card", "PNG, JSON or CHARX")
    jpeg = io.BytesIO()
    Image.new("RGB", (4, 4)).save(jpeg, format="JPEG")
    _raises(jpeg.getvalue(), "this is a JPEG image", "cannot hold a character card")


def test_rejects_png_without_card_chunk() -> None:
    _raises(_png(texts={"Comment": "just a picture"}), "no character card in it", "`chara` or `ccv3`")


def test_rejects_bad_base64() -> None:
    _raises(_png(texts={"chara": "not*base64!"}), "`chara` PNG chunk is not valid base64")


def test_rejects_bad_json() -> None:
    _raises(b'{"name": "x",', "the file is not valid JSON", "line 1")
    _raises(b'{"name": "\xff"}', "not UTF-8 text")
    _raises(_png(texts={"chara": base64.b64encode(b"{oops").decode()}), "`chara` PNG chunk", "not valid JSON")
    _raises(b'{"name": "x", "depth": NaN}', "NaN is not a valid JSON value")
    _raises(b"[1, 2]", "must be a JSON object, not a list")
    _raises(b"[" * 70 + b"]" * 70, "nested more than 64 levels deep")
    _raises(b'{"a":' * 5000 + b"1" + b"}" * 5000, "nested")


def test_rejects_wrong_or_missing_spec() -> None:
    _raises(json.dumps({"spec": "chara_card_v9", "data": {"name": "x"}}).encode(), 'unsupported spec "chara_card_v9"')
    _raises(json.dumps({"spec": 2, "data": {"name": "x"}}).encode(), "`spec` must be a string", "not a number")
    _raises(json.dumps({"data": {"name": "x"}}).encode(), "has a `data` object but no `spec`")
    _raises(json.dumps({"spec": "chara_card_v2"}).encode(), "chara_card_v2 card has no `data` object")


def test_rejects_data_that_is_not_an_object() -> None:
    _raises(json.dumps({"spec": "chara_card_v2", "data": ["name"]}).encode(), "`data` must be an object, not a list")


def test_rejects_files_over_the_size_limit_before_parsing() -> None:
    # Not even valid data: the size check must come first.
    _raises(b"\x00" * (MAX_CARD_BYTES + 1), "8.0 MB", "limited to 8 MB")


def test_rejects_absurdly_long_fields_naming_them() -> None:
    _raises(_v2({"name": "x", "description": "a" * 100_001}), "`description` is 100,001 characters long")
    entries = [{"keys": ["k"], "content": "c"}] * 2001
    _raises(
        _v2({"name": "x", "character_book": {"entries": entries}}), "`character_book.entries` has 2,001 lore entries"
    )
    book = {"entries": [{"keys": ["k"], "content": "c"}, {"keys": ["k"], "content": "c" * 100_001}]}
    _raises(_v2({"name": "x", "character_book": book}), "`character_book.entries[1].content` is 100,001")
    _raises(_v2({"name": "x", "alternate_greetings": ["hi"] * 2001}), "`alternate_greetings` has 2,001 items")
    _raises(_v2({"name": "x" * 201}), "field `name`", "at most 200 characters")


def test_rejects_ztxt_and_itxt_decompression_bombs() -> None:
    bomb = zlib.compress(b"A" * (17 * 1024 * 1024), 9)
    base = _png()
    iend = base.rindex(b"IEND") - 4
    for chunk in (
        _chunk(b"zTXt", b"chara\x00\x00" + bomb),
        _chunk(b"iTXt", b"ccv3\x00\x01\x00\x00\x00" + bomb),
    ):
        _raises(base[:iend] + chunk + base[iend:], "inflates to more than 16 MB", "decompression bomb")


def _claiming_size(png: bytes, width: int, height: int) -> bytes:
    """Rewrite a PNG's IHDR to claim another size: a tiny file posing as a huge image."""
    ihdr = bytearray(png[16:29])
    ihdr[0:8] = struct.pack(">II", width, height)
    return png[:8] + _chunk(b"IHDR", bytes(ihdr)) + png[33:]


def test_rejects_image_decompression_bombs() -> None:
    raw = _png(texts={"chara": _b64({"spec": "chara_card_v2", "data": {"name": "Bomb"}})})
    # Over our own cap, and over Pillow's hard limit: both refused before decoding a pixel.
    _raises(_claiming_size(raw, 5000, 5000), "the card's image", "5000x5000 pixels", "decompression bomb")
    _raises(_claiming_size(raw, 30000, 30000), "the card's image", "too large to decode safely", "decompression bomb")


def test_rejects_pydantic_errors_as_readable_fields() -> None:
    book = {"entries": [{"keys": ["a"], "content": "b", "insertion_order": "soon"}]}
    _raises(
        _v2({"name": "x", "character_book": book}), "field `character_book.entries[0].insertion_order`: input should be"
    )
    _raises(_v2({"description": "nameless"}), "field `name`: is required")
    _raises(_v2({"name": "   "}), "field `name`: a character needs a name")
    bad_voice = {"greenroom": {"schema": 1, "voice": {"pov": "second"}}}
    _raises(_v2({"name": "x", "extensions": bad_voice}), "field `extensions.greenroom.voice.pov`")
    _raises(_v2({"name": "x", "extensions": {"greenroom": "yes"}}), "`extensions.greenroom` must be an object")


def test_rejects_bad_charx_archives() -> None:
    _raises(b"PK\x03\x04 this is not really a zip", "looks like a zip archive but cannot be opened")
    empty = io.BytesIO()
    with zipfile.ZipFile(empty, "w") as archive:
        archive.writestr("readme.txt", "hi")
    _raises(empty.getvalue(), "no card.json", "not a CHARX")
    bomb = io.BytesIO()
    with zipfile.ZipFile(bomb, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("card.json", b" " * (17 * 1024 * 1024))
    _raises(bomb.getvalue(), "card.json", "larger than 16 MB unpacked")


def test_unexpected_failures_still_surface_as_card_error(monkeypatch: pytest.MonkeyPatch) -> None:
    import characters.bibles.cards.importer as importer

    def explode(raw: bytes) -> Any:
        raise KeyError("boom")

    monkeypatch.setattr(importer, "_from_png", explode)
    _raises(_png(), "could not be read (KeyError)")


# --- avatars ---------------------------------------------------------------------------------


def _encoded(image: Image.Image, fmt: str, **kwargs: Any) -> bytes:
    out = io.BytesIO()
    image.save(out, format=fmt, **kwargs)
    return out.getvalue()


def test_process_avatar_downscales_and_strips_metadata() -> None:
    info = PngInfo()
    info.add_text("chara", "secret card")
    processed = process_avatar(_encoded(Image.new("RGBA", (2000, 1000), (1, 2, 3, 128)), "PNG", pnginfo=info))
    with Image.open(io.BytesIO(processed)) as image:
        assert isinstance(image, PngImageFile)
        assert (image.format, image.size, image.mode) == ("PNG", (1024, 512), "RGBA")
        assert image.text == {}


def test_process_avatar_applies_exif_orientation_and_drops_exif() -> None:
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 degrees clockwise on display
    exif[0x010F] = "PhoneMaker"
    processed = process_avatar(_encoded(Image.new("RGB", (40, 20), "green"), "JPEG", exif=exif))
    with Image.open(io.BytesIO(processed)) as image:
        assert image.format == "PNG"
        assert image.size == (20, 40)
        assert not image.getexif()
        assert "exif" not in image.info


def test_process_avatar_accepts_webp() -> None:
    processed = process_avatar(_encoded(Image.new("RGB", (10, 12), "white"), "WEBP"))
    with Image.open(io.BytesIO(processed)) as image:
        assert (image.format, image.size) == ("PNG", (10, 12))


def test_process_avatar_rejects_bad_uploads() -> None:
    with pytest.raises(AvatarError, match="must be a PNG, JPEG or WebP"):
        process_avatar(_encoded(Image.new("RGB", (4, 4)), "GIF"))
    with pytest.raises(AvatarError, match="must be a PNG, JPEG or WebP"):
        process_avatar(b"<svg></svg>")
    with pytest.raises(AvatarError, match="empty"):
        process_avatar(b"")
    with pytest.raises(AvatarError, match="the limit is 2 MB"):
        process_avatar(b"\x89PNG\r\n\x1a\n" + b"\x00" * MAX_AVATAR_BYTES)
    png = _encoded(Image.new("RGB", (64, 64), "red"), "PNG")
    with pytest.raises(AvatarError, match="corrupt or truncated"):
        process_avatar(png[: len(png) // 2])
    with pytest.raises(AvatarError, match="decompression bomb"):
        process_avatar(_claiming_size(png, 5000, 5000))
    with pytest.raises(AvatarError, match="decompression bomb"):
        process_avatar(_claiming_size(png, 50000, 50000))


# --- boundaries ------------------------------------------------------------------------------


def test_cards_package_imports_no_web_or_database_code() -> None:
    package = Path(__file__).resolve().parents[2] / "characters" / "cards"
    forbidden = {"flask", "flask_login", "flask_wtf", "sqlalchemy", "sqlmodel", "psycopg", "web", "scheduler"}
    for source in package.glob("*.py"):
        for node in ast.walk(ast.parse(source.read_text())):
            names = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            assert not {name.split(".")[0] for name in names} & forbidden, source.name
