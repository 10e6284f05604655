"""Export: V2 JSON, and PNG cards carrying both a `chara` (V2) and a `ccv3` (V3) chunk."""

import base64
import json
import time
from typing import Any

from PIL import ImageOps
from PIL.PngImagePlugin import PngInfo

from characters.bibles.card_data import GREENROOM_EXTENSION_KEY, CardData
from characters.bibles.cards.errors import AvatarError
from characters.bibles.cards.examples import merge_canon_posts
from characters.bibles.cards.images import ImageProblem, decode_image, encode_png, placeholder_avatar, sniff_image
from characters.bibles.cards.importer import V3_DEFAULT_ASSETS

_UNSET = object()


def _drop_unset_nulls(full: Any, explicit: Any) -> Any:
    """Drop None values the card never set (model defaults) but keep nulls it carried in."""
    if isinstance(full, dict):
        given = explicit if isinstance(explicit, dict) else {}
        return {
            key: _drop_unset_nulls(value, given.get(key, _UNSET))
            for key, value in full.items()
            if value is not None or key in given
        }
    if isinstance(full, list):
        given_items = explicit if isinstance(explicit, list) and len(explicit) == len(full) else []
        return [
            _drop_unset_nulls(value, given_items[index] if given_items else _UNSET) for index, value in enumerate(full)
        ]
    return full


def card_v2_data(card: CardData) -> dict[str, Any]:
    """Return the V2 `data` object: every field, unknown keys kept, canon posts merged into examples."""
    # to_json_dict's exclude_none would also drop nulls that other tools wrote on purpose.
    data: dict[str, Any] = _drop_unset_nulls(
        card.model_dump(mode="json", by_alias=True),
        card.model_dump(mode="json", by_alias=True, exclude_unset=True),
    )
    for name in CardData.model_fields:
        if data.get(name, "") is None:
            del data[name]  # V2 has no null for its own fields (an unset character_book)
    greenroom = card.extensions.get(GREENROOM_EXTENSION_KEY)
    posts = greenroom.get("canon_posts") if isinstance(greenroom, dict) else None
    if isinstance(posts, list):
        texts = [post for post in posts if isinstance(post, str)]
        data["mes_example"] = merge_canon_posts(card.mes_example, texts, card.name)
    return data


def card_v3_data(card: CardData, modified: int | None = None) -> dict[str, Any]:
    """Return the V3 `data` object: the V2 data plus V3's required fields and a modification stamp."""
    data = card_v2_data(card)
    data.setdefault("group_only_greetings", [])
    data.setdefault("assets", [dict(asset) for asset in V3_DEFAULT_ASSETS])
    book = data.get("character_book")
    if isinstance(book, dict) and isinstance(book.get("entries"), list):
        book["entries"] = [
            {**entry, "use_regex": entry.get("use_regex", False)} if isinstance(entry, dict) else entry
            for entry in book["entries"]
        ]
    # creation_date is only written when known: inventing one here would change the card on re-import.
    data["modification_date"] = int(time.time()) if modified is None else modified
    return data


def _v2_envelope(card: CardData) -> dict[str, Any]:
    """Wrap the data as a Character Card V2."""
    return {"spec": "chara_card_v2", "spec_version": "2.0", "data": card_v2_data(card)}


def _v3_envelope(card: CardData, modified: int | None) -> dict[str, Any]:
    """Wrap the data as a Character Card V3."""
    return {"spec": "chara_card_v3", "spec_version": "3.0", "data": card_v3_data(card, modified)}


def export_card_json(card: CardData) -> bytes:
    """Export a card as pretty-printed UTF-8 V2 JSON."""
    return (json.dumps(_v2_envelope(card), ensure_ascii=False, indent=2) + "\n").encode("utf-8")


def _b64_json(value: dict[str, Any]) -> str:
    """Encode a card for a PNG text chunk: base64 of compact UTF-8 JSON."""
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    return base64.b64encode(text.encode("utf-8")).decode("ascii")


def export_card_png(card: CardData, avatar: bytes | None, *, modified: int | None = None) -> bytes:
    """Export a PNG card (`chara` V2 + `ccv3` V3 chunks) on the avatar, or a placeholder; AvatarError if unusable."""
    # `modified` (Unix seconds) pins the V3 modification_date, for reproducible output.
    info = PngInfo()
    # Re-encoding drops every chunk of the source image, so an old card never rides along.
    info.add_text("chara", _b64_json(_v2_envelope(card)))
    info.add_text("ccv3", _b64_json(_v3_envelope(card, modified)))
    if avatar is None:
        return encode_png(placeholder_avatar(card.name), pnginfo=info)
    fmt = sniff_image(avatar)
    if fmt is None:
        raise AvatarError("the avatar must be a PNG, JPEG or WebP image")
    try:
        return encode_png(ImageOps.exif_transpose(decode_image(avatar, [fmt])), pnginfo=info)
    except ImageProblem as exc:
        raise AvatarError(f"the avatar cannot be used: {exc}") from exc
    except Exception as exc:  # decodable, but in a mode or with EXIF Pillow cannot turn into a PNG
        raise AvatarError(f"the avatar cannot be used: unsupported image ({exc.__class__.__name__})") from exc
