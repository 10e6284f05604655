"""Fuzz parse_card: whatever the bytes, it returns an ImportedCard or raises CardError, nothing else."""

import base64
import io
import json
import os
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image
from PIL.PngImagePlugin import PngInfo

from characters.bibles.cards import CardError, ImportedCard, export_card_json, parse_card

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "cards"
SEEDS = [path.read_bytes() for path in sorted(FIXTURES.iterdir()) if path.suffix in {".json", ".png", ".charx"}]
# CARD_FUZZ_EXAMPLES=5000 for a deeper run; the default keeps the suite to a few seconds.
FUZZ = settings(
    max_examples=int(os.environ.get("CARD_FUZZ_EXAMPLES", "200")),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(),
    lambda children: st.lists(children, max_size=5) | st.dictionaries(st.text(max_size=12), children, max_size=5),
    max_leaves=30,
)
card_keys = st.sampled_from(
    [
        "name",
        "description",
        "first_mes",
        "mes_example",
        "tags",
        "alternate_greetings",
        "character_book",
        "extensions",
        "entries",
        "keys",
        "content",
        "greenroom",
        "canon_posts",
        "voice",
        "pov",
        "assets",
        "spec",
    ]
)
card_like = st.fixed_dictionaries(
    {"spec": st.sampled_from(["chara_card_v2", "chara_card_v3", "chara_card_v1", "other"])},
    optional={"spec_version": st.text(max_size=4)},
).flatmap(
    lambda envelope: st.builds(
        lambda data, name: {**envelope, "data": {"name": name, **data} if isinstance(data, dict) else data},
        st.dictionaries(card_keys, json_values, max_size=6) | json_values,
        st.text(max_size=20) | st.integers(),
    )
)


def _check(raw: bytes) -> None:
    """The only allowed outcomes: a card (which then exports and re-imports) or a CardError."""
    try:
        imported = parse_card(raw)
    except CardError as exc:
        # The catch-all in parse_card is a last resort: every failure here should be a named one.
        problem: CardError | None = exc
    else:
        problem = None
    if problem is not None:
        assert str(problem), repr(problem.__cause__)
        assert "could not be read" not in str(problem), repr(problem.__cause__)
        return
    assert isinstance(imported, ImportedCard)
    again = parse_card(export_card_json(imported.card))
    assert again.card.name == imported.card.name


def _png_with(texts: dict[str, str]) -> bytes:
    info = PngInfo()
    for key, value in texts.items():
        info.add_text(key, value)
    out = io.BytesIO()
    Image.new("RGB", (2, 2)).save(out, format="PNG", pnginfo=info)
    return out.getvalue()


@FUZZ
@given(st.binary(max_size=4096))
def test_arbitrary_bytes(raw: bytes) -> None:
    _check(raw)


@FUZZ
@given(
    st.sampled_from([b"\x89PNG\r\n\x1a\n", b"PK\x03\x04", b"{", b"\xef\xbb\xbf{", b"\xff\xd8\xff", b""]), st.binary()
)
def test_bytes_behind_a_magic_prefix(prefix: bytes, tail: bytes) -> None:
    _check(prefix + tail)


@FUZZ
@given(json_values | card_like)
def test_arbitrary_json(value: Any) -> None:
    _check(json.dumps(value).encode("utf-8"))


@FUZZ
@given(card_like, st.sampled_from(["chara", "ccv3"]))
def test_arbitrary_json_in_a_png_chunk(value: Any, keyword: str) -> None:
    _check(_png_with({keyword: base64.b64encode(json.dumps(value).encode()).decode()}))


@FUZZ
@given(st.sampled_from(SEEDS), st.data())
def test_mutated_valid_cards(seed: bytes, data: st.DataObject) -> None:
    raw = bytearray(seed)
    for _ in range(data.draw(st.integers(1, 8))):
        action = data.draw(st.sampled_from(["flip", "insert", "delete", "truncate"]))
        at = data.draw(st.integers(0, max(len(raw) - 1, 0)))
        if action == "flip" and raw:
            raw[at] ^= data.draw(st.integers(1, 255))
        elif action == "insert":
            raw[at:at] = data.draw(st.binary(min_size=1, max_size=16))
        elif action == "delete":
            del raw[at : at + data.draw(st.integers(1, 16))]
        else:
            del raw[at:]
    _check(bytes(raw))
