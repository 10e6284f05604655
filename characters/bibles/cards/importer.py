"""parse_card: any V1/V2/V3 card (JSON, PNG, CHARX) in, a validated CardData out."""

import base64
import binascii
import json
import math
import re
from dataclasses import dataclass, field
from pathlib import PurePath
from typing import Any

from pydantic import ValidationError

from characters.bibles.card_data import GREENROOM_EXTENSION_KEY, CardData, GreenroomExtension
from characters.bibles.cards.containers import PNG_SIGNATURE, ZIP_SIGNATURES, CharxArchive, open_charx, read_png
from characters.bibles.cards.errors import (
    MAX_CARD_BYTES,
    MAX_JSON_DEPTH,
    MAX_LIST_ITEMS,
    MAX_TEXT_CHARS,
    CardError,
)
from characters.bibles.cards.examples import canon_posts_from
from characters.bibles.cards.images import ImageProblem, ImageTooLarge, decode_image, sniff_image
from characters.core.errors import readable_validation_message

V3_DEFAULT_ASSETS: list[dict[str, str]] = [{"type": "icon", "uri": "ccdefault:", "name": "main", "ext": "png"}]
"""What a V3 reader assumes when `assets` is absent: the card's own image is the main icon."""

_V1_ALIASES = {
    "char_name": "name",
    "char_persona": "description",
    "world_scenario": "scenario",
    "char_greeting": "first_mes",
    "example_dialogue": "mes_example",
    "creatorcomment": "creator_notes",
}
_TEXT_FIELDS = (
    "description",
    "personality",
    "scenario",
    "first_mes",
    "mes_example",
    "creator_notes",
    "system_prompt",
    "post_history_instructions",
    "creator",
    "character_version",
    "nickname",
)
_TEXT_LIST_FIELDS = ("alternate_greetings", "group_only_greetings", "tags", "source")
_ENTRY_TEXT_FIELDS = ("content", "name", "comment")
_ENTRY_LIST_FIELDS = ("keys", "secondary_keys")
_EXTENSIONS = {".png": "png", ".json": "json", ".charx": "charx", ".zip": "charx"}


@dataclass
class ImportedCard:
    """A parsed card: its data, its avatar image (if the file carried one), and what we noticed."""

    card: CardData
    avatar: bytes | None
    source_format: str
    warnings: list[str] = field(default_factory=list)


def _kind(value: object) -> str:
    """Name a JSON value's type the way a person would."""
    names = {dict: "an object", list: "a list", str: "a string", bool: "true/false", type(None): "null"}
    return names.get(type(value), "a number")


def _sniff(raw: bytes) -> str:
    """Detect the container from magic bytes: "png", "charx" or "json"; refuse anything else."""
    if raw.startswith(PNG_SIGNATURE):
        return "png"
    if raw.startswith(ZIP_SIGNATURES):
        return "charx"
    if raw.removeprefix(b"\xef\xbb\xbf").lstrip()[:1] in (b"{", b"["):
        return "json"
    image = sniff_image(raw)
    if image is not None:
        raise CardError(
            f"this is a {image} image, which cannot hold a character card; cards come as PNG, JSON or CHARX files"
        )
    raise CardError("this is not a character card: expected a PNG, JSON or CHARX (zip) file")


def _reject_constant(name: str) -> Any:
    """Refuse NaN/Infinity, which Python's json accepts but JSON does not."""
    raise ValueError(f"{name} is not a valid JSON value")


def _finite_float(text: str) -> float:
    """Parse a JSON number, refusing ones too large for a float (they would export as Infinity)."""
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"the number {text[:20]} is too large")
    return value


def _check_depth(value: Any, where: str) -> None:
    """Refuse absurd nesting before pydantic or json.dumps recurse into it."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if depth > MAX_JSON_DEPTH:
            raise CardError(f"{where} is nested more than {MAX_JSON_DEPTH} levels deep")
        if isinstance(item, dict):
            stack.extend((child, depth + 1) for child in item.values())
        elif isinstance(item, list):
            stack.extend((child, depth + 1) for child in item)


def _load_json(data: bytes, where: str) -> Any:
    """Decode UTF-8 JSON with readable errors."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise CardError(f"{where} is not UTF-8 text (bad byte at position {exc.start})") from exc
    try:
        value = json.loads(text, parse_constant=_reject_constant, parse_float=_finite_float)
    except json.JSONDecodeError as exc:
        raise CardError(f"{where} is not valid JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}") from exc
    except RecursionError as exc:
        raise CardError(f"{where} is nested more than {MAX_JSON_DEPTH} levels deep") from exc
    except ValueError as exc:  # our NaN/float refusals, or an integer with thousands of digits
        raise CardError(f"{where} is not valid JSON: {exc}") from exc
    _check_depth(value, where)
    return value


def _decode_chunk(text: str, keyword: str) -> Any:
    """Decode a PNG card chunk: base64 of UTF-8 JSON (raw JSON tolerated)."""
    where = f"the `{keyword}` PNG chunk"
    stripped = text.strip()
    if stripped.startswith("{"):
        return _load_json(stripped.encode("utf-8"), where)
    compact = re.sub(r"\s+", "", stripped)
    compact += "=" * (-len(compact) % 4)  # some writers drop the padding
    try:
        data = base64.b64decode(compact, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise CardError(f"{where} is not valid base64") from exc
    return _load_json(data, f"{where} (after base64 decoding)")


def _v1_to_data(card: dict[str, Any]) -> dict[str, Any]:
    """Map a flat V1 card (and the older TavernAI/Pygmalion names) to V2 `data` keys."""
    data = {key: value for key, value in card.items() if key not in _V1_ALIASES}
    for alias, target in _V1_ALIASES.items():
        if alias not in card:
            continue
        if data.get(target) in (None, ""):
            data[target] = card[alias]
        else:
            data[alias] = card[alias]  # both spellings present: keep the alias as an unknown key
    return data


def _from_v3(data: dict[str, Any]) -> dict[str, Any]:
    """Map V3 data onto V2 fields, keeping V3-only fields as extra keys."""
    # Fields the exporter regenerates anyway are dropped when they hold exactly that value (empty
    # group greetings, the default icon asset, use_regex false, the modification stamp), so an
    # import -> export -> import cycle leaves the stored card unchanged.
    data = dict(data)
    data.pop("modification_date", None)
    if data.get("group_only_greetings") == []:
        del data["group_only_greetings"]
    if data.get("assets") == V3_DEFAULT_ASSETS:
        del data["assets"]
    book = data.get("character_book")
    if isinstance(book, dict) and isinstance(book.get("entries"), list):
        entries = [
            {k: v for k, v in entry.items() if not (k == "use_regex" and v is False)}
            if isinstance(entry, dict)
            else entry
            for entry in book["entries"]
        ]
        data["character_book"] = {**book, "entries": entries}
    return data


def _cap_text(value: Any, path: str) -> None:
    """Refuse an absurdly long text field, naming it."""
    if isinstance(value, str) and len(value) > MAX_TEXT_CHARS:
        raise CardError(f"`{path}` is {len(value):,} characters long; the limit is {MAX_TEXT_CHARS:,}")


def _cap_list(value: Any, path: str, noun: str = "items") -> None:
    """Refuse an absurdly long list and any overlong text inside it, naming the field."""
    if not isinstance(value, list):
        return
    if len(value) > MAX_LIST_ITEMS:
        raise CardError(f"`{path}` has {len(value):,} {noun}; the limit is {MAX_LIST_ITEMS:,}")
    for index, item in enumerate(value):
        _cap_text(item, f"{path}[{index}]")


def _check_limits(data: dict[str, Any]) -> None:
    """Apply the per-field size caps before validation."""
    for name in _TEXT_FIELDS:
        _cap_text(data.get(name), name)
    for name in _TEXT_LIST_FIELDS:
        _cap_list(data.get(name), name)
    book = data.get("character_book")
    if isinstance(book, dict):
        _cap_text(book.get("description"), "character_book.description")
        entries = book.get("entries")
        _cap_list(entries, "character_book.entries", "lore entries")
        for index, entry in enumerate(entries if isinstance(entries, list) else []):
            if not isinstance(entry, dict):
                continue
            for name in _ENTRY_TEXT_FIELDS:
                _cap_text(entry.get(name), f"character_book.entries[{index}].{name}")
            for name in _ENTRY_LIST_FIELDS:
                _cap_list(entry.get(name), f"character_book.entries[{index}].{name}")
    extensions = data.get("extensions")
    if isinstance(extensions, dict) and isinstance(extensions.get(GREENROOM_EXTENSION_KEY), dict):
        greenroom = extensions[GREENROOM_EXTENSION_KEY]
        _cap_list(greenroom.get("canon_posts"), "extensions.greenroom.canon_posts", "canon posts")


def _describe(exc: ValidationError, prefix: str = "") -> str:
    """Turn pydantic errors into "field X: problem" sentences."""
    problems = []
    errors = exc.errors(include_url=False, include_input=False)
    for error in errors[:3]:
        path = prefix
        for part in error["loc"]:
            path += f"[{part}]" if isinstance(part, int) else (f".{part}" if path else str(part))
        message = "is required" if error["type"] == "missing" else str(error["msg"])
        message = readable_validation_message(message)
        problems.append(f"field `{path or 'data'}`: {message[:1].lower()}{message[1:]}")
    more = f" (and {len(errors) - 3} more problems)" if len(errors) > 3 else ""
    return "the card is invalid: " + "; ".join(problems) + more


def _card_from_object(obj: Any) -> tuple[CardData, str, list[str]]:
    """Validate a decoded card object; return the card, its version ("v1"...) and warnings."""
    if not isinstance(obj, dict):
        raise CardError(f"the card must be a JSON object, not {_kind(obj)}")
    if "spec" in obj:
        version, data = _spec_data(obj)
    elif "data" in obj:
        raise CardError('the card has a `data` object but no `spec`: expected "chara_card_v2" or "chara_card_v3"')
    else:
        version, data = "v1", _v1_to_data(obj)

    # Null in a known field means "not set"; V1 exporters write that a lot.
    for name in CardData.model_fields:
        if name in data and data[name] is None:
            del data[name]
    _check_limits(data)
    try:
        card = CardData.model_validate(data)
    except ValidationError as exc:
        raise CardError(_describe(exc)) from exc
    warnings = _check_greenroom(card)
    return _with_greenroom(card), version, warnings


def _spec_data(obj: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """Return the version ("v2", "v3") and the `data` object of a card that names its spec, V3 data as V2."""
    spec = obj["spec"]
    if not isinstance(spec, str):
        raise CardError(f'`spec` must be a string such as "chara_card_v2", not {_kind(spec)}')
    versions = {"chara_card_v3": "v3", "chara_card_v2": "v2", "chara_card_v1": "v1"}
    if spec not in versions:
        raise CardError(f'unsupported spec "{spec[:60]}": expected "chara_card_v2" or "chara_card_v3"')
    version = versions[spec]
    if "data" not in obj:
        raise CardError(f"the {spec} card has no `data` object")
    if not isinstance(obj["data"], dict):
        raise CardError(f"`data` must be an object, not {_kind(obj['data'])}")
    return version, _from_v3(obj["data"]) if version == "v3" else dict(obj["data"])


def _check_greenroom(card: CardData) -> list[str]:
    """Validate an existing `extensions.greenroom`; say what we assume about it."""
    existing = card.extensions.get(GREENROOM_EXTENSION_KEY)
    if existing is None:
        return [
            "the card has no Greenroom settings: added defaults (no era, any point of view, UTC) "
            "and canon posts taken from its example lines and greeting"
        ]
    if not isinstance(existing, dict):
        raise CardError(f"`extensions.greenroom` must be an object, not {_kind(existing)}")
    try:
        extension = GreenroomExtension.model_validate(existing)
    except ValidationError as exc:
        raise CardError(_describe(exc, "extensions.greenroom")) from exc
    warnings = []
    if "schema" not in existing:
        warnings.append("`extensions.greenroom` has no schema number; read it as schema 1")
    elif extension.schema_ > 1:
        warnings.append(
            f"`extensions.greenroom` uses schema {extension.schema_}, newer than this Greenroom "
            "understands; unknown settings are kept as they are"
        )
    return warnings


def _with_greenroom(card: CardData) -> CardData:
    """Give a card without Greenroom settings the defaults, canon posts derived from its examples."""
    if card.extensions.get(GREENROOM_EXTENSION_KEY) is not None:
        return card  # written back exactly as it came: never normalised or filled in
    posts = canon_posts_from(card.mes_example, card.first_mes, card.name)[:MAX_LIST_ITEMS]
    return card.with_greenroom(GreenroomExtension(canon_posts=posts))


def _format_warning(detected: str, filename: str | None) -> list[str]:
    """Note when the file name's extension disagrees with what the bytes are."""
    if not filename:
        return []
    expected = _EXTENSIONS.get(PurePath(filename).suffix.lower())
    if expected is None or expected == detected:
        return []
    return [f"{PurePath(filename).name} is named like a {expected.upper()} file but holds a {detected.upper()} card"]


def _image_avatar(raw: bytes, what: str, warnings: list[str]) -> bytes | None:
    """Check that `raw` decodes as an image; bombs are refused, other damage only drops the avatar."""
    fmt = sniff_image(raw)
    if fmt is None:
        warnings.append(f"{what} is not a PNG, JPEG or WebP image; imported without an avatar")
        return None
    try:
        decode_image(raw, [fmt])
    except ImageTooLarge as exc:
        raise CardError(f"{what}: {exc}") from exc
    except ImageProblem as exc:
        warnings.append(f"{what} cannot be used ({exc}); imported without an avatar")
        return None
    return raw


def _from_png(raw: bytes) -> ImportedCard:
    """Read a PNG card, preferring the `ccv3` chunk over `chara`."""
    png = read_png(raw)
    warnings = list(png.warnings)
    keywords = [keyword for keyword in ("ccv3", "chara") if keyword in png.texts]
    if not keywords:
        raise CardError("this PNG has no character card in it (no `chara` or `ccv3` text chunk)")
    first_error: CardError | None = None
    for keyword in keywords:
        try:
            card, version, card_warnings = _card_from_object(_decode_chunk(png.texts[keyword], keyword))
        except CardError as exc:
            first_error = first_error or exc
            continue
        if first_error is not None:
            warnings.append(f"the `ccv3` chunk is unusable ({first_error}); used the `chara` chunk instead")
        avatar = _image_avatar(png.image, "the card's image", warnings)
        return ImportedCard(card, avatar, f"{version}-png", warnings + card_warnings)
    raise first_error or CardError("this PNG has no usable character card in it")


def _charx_avatar(charx: CharxArchive, obj: Any, warnings: list[str]) -> bytes | None:
    """Find the main icon among the CHARX assets (`embeded://` URIs, as the spec spells it)."""
    data = obj.get("data") if isinstance(obj, dict) else None
    assets = data.get("assets") if isinstance(data, dict) else None
    icons = [
        asset
        for asset in (assets if isinstance(assets, list) else [])
        if isinstance(asset, dict) and asset.get("type") == "icon" and isinstance(asset.get("uri"), str)
    ]
    icons.sort(key=lambda asset: asset.get("name") != "main")  # the main icon first
    for icon in icons:
        uri: str = icon["uri"]
        for scheme in ("embeded://", "embedded://"):
            if uri.startswith(scheme):
                image = charx.read_asset(uri.removeprefix(scheme))
                if image is None:
                    warnings.append(f"the CHARX icon {uri} is missing from the archive")
                    return None
                return _image_avatar(image, f"the CHARX icon {uri}", warnings)
    return None


def _from_charx(raw: bytes) -> ImportedCard:
    """Read a CHARX archive: card.json plus its main icon."""
    charx = open_charx(raw)
    with charx.archive:
        obj = _load_json(charx.card_json, "card.json in the CHARX archive")
        card, version, warnings = _card_from_object(obj)
        avatar = _charx_avatar(charx, obj, warnings)
    return ImportedCard(card, avatar, f"{version}-charx", warnings)


def _parse(raw: bytes, filename: str | None) -> ImportedCard:
    """Dispatch on the container found in the magic bytes."""
    if len(raw) > MAX_CARD_BYTES:
        raise CardError(
            f"the file is {len(raw) / (1024 * 1024):.1f} MB; character cards are limited to "
            f"{MAX_CARD_BYTES // (1024 * 1024)} MB"
        )
    if not raw:
        raise CardError("the file is empty")
    detected = _sniff(raw)
    if detected == "png":
        imported = _from_png(raw)
    elif detected == "charx":
        imported = _from_charx(raw)
    else:
        card, version, warnings = _card_from_object(_load_json(raw, "the file"))
        imported = ImportedCard(card, None, f"{version}-json", warnings)
    imported.warnings[:0] = _format_warning(detected, filename)
    return imported


def parse_card(raw: bytes, filename: str | None = None) -> ImportedCard:
    """Parse a V1/V2/V3 card from JSON, PNG or CHARX bytes; raise CardError on anything unusable."""
    try:
        return _parse(bytes(raw), filename)
    except CardError:
        raise
    except RecursionError as exc:
        raise CardError("the card is nested too deeply to read") from exc
    except Exception as exc:  # last line of defence: callers rely on CardError being the only failure
        raise CardError(f"the card could not be read ({exc.__class__.__name__})") from exc
