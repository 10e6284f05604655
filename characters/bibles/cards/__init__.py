"""Character card interchange: import V1/V2/V3 cards (JSON, PNG, CHARX), export V2 JSON and PNG.

A pure domain module: bytes in, `CardData` out and back; no Flask, no database.
"""

from characters.bibles.cards.errors import (
    MAX_AVATAR_BYTES,
    MAX_AVATAR_SIDE,
    MAX_CARD_BYTES,
    MAX_DECOMPRESSED_BYTES,
    MAX_IMAGE_PIXELS,
    MAX_JSON_DEPTH,
    MAX_LIST_ITEMS,
    MAX_TEXT_CHARS,
    AvatarError,
    CardError,
)
from characters.bibles.cards.exporter import card_v2_data, card_v3_data, export_card_json, export_card_png
from characters.bibles.cards.images import process_avatar
from characters.bibles.cards.importer import ImportedCard, parse_card

__all__ = [
    "MAX_AVATAR_BYTES",
    "MAX_AVATAR_SIDE",
    "MAX_CARD_BYTES",
    "MAX_DECOMPRESSED_BYTES",
    "MAX_IMAGE_PIXELS",
    "MAX_JSON_DEPTH",
    "MAX_LIST_ITEMS",
    "MAX_TEXT_CHARS",
    "AvatarError",
    "CardError",
    "ImportedCard",
    "card_v2_data",
    "card_v3_data",
    "export_card_json",
    "export_card_png",
    "parse_card",
    "process_avatar",
]
