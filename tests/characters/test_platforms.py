"""One table of platform limits: the thread splitter and the checker's format rule read it, and nothing else."""

import dataclasses
from types import MappingProxyType

import pytest

from characters.consistency import check_text
from characters.core import platforms
from characters.core.platforms import BLUESKY, MASTODON, PLATFORMS, Counting, X, platform_limits, platform_named
from characters.posting.threads import limit_for, split_for_platform
from tests.factories import make_card

FAMILY = "👩\u200d👩\u200d👧\u200d👦"


def _length_findings(text: str, platform: str) -> list[str]:
    return [f.message for f in check_text(make_card(), text, platform).findings if f.check == "format.length"]


def test_the_table_holds_each_networks_limit_and_count():
    assert {name: (p.max_chars, p.counting) for name, p in PLATFORMS.items()} == {
        "x": (280, Counting.WEIGHTED), "bluesky": (300, Counting.GRAPHEMES), "mastodon": (500, Counting.CODE_POINTS)}
    assert platform_named("webhook") is None
    assert platform_limits()["bluesky"] == {"name": "bluesky", "label": "Bluesky", "max_chars": 300,
                                            "counting": "graphemes", "link_length": None, "max_text_bytes": 3000,
                                            "max_image_bytes": 1_000_000}


def test_each_platform_measures_the_way_it_counts():
    link = "https://example.com/" + "a" * 100
    assert BLUESKY.measure(FAMILY * 3) == 3
    assert MASTODON.measure(f"see {link}") == len("see ") + 23
    assert X.measure(f"see {link} 😷") == len("see ") + 23 + 1 + 2
    assert BLUESKY.overflow_offset("ab" * 200) == 300
    assert MASTODON.overflow_offset("short") == len("short")


@pytest.mark.parametrize("platform", list(PLATFORMS.values()), ids=lambda p: p.name)
def test_threads_split_at_the_tables_limit(platform):
    assert limit_for(platform.name) == platform.max_chars
    fits = "a" * platform.max_chars
    assert split_for_platform(fits, platform.name) == [fits]
    parts = split_for_platform("word " * platform.max_chars, platform.name)
    assert len(parts) > 1
    assert all(platform.measure(part) <= platform.max_chars for part in parts)


@pytest.mark.parametrize("platform", list(PLATFORMS.values()), ids=lambda p: p.name)
def test_the_checker_fails_one_character_over_the_tables_limit(platform):
    assert _length_findings("a" * platform.max_chars, platform.name) == []
    over = _length_findings("a" * (platform.max_chars + 1), platform.name)
    assert over == [f"{platform.max_chars + 1} characters as {platform.name} counts them; "
                    f"the limit is {platform.max_chars}."]


def test_changing_the_table_changes_the_splitter_and_the_checker(monkeypatch):
    tighter = MappingProxyType({**PLATFORMS, "bluesky": dataclasses.replace(BLUESKY, max_chars=40)})
    monkeypatch.setattr(platforms, "PLATFORMS", tighter)
    assert all(len(part) <= 40 for part in split_for_platform("word " * 30, "bluesky"))
    assert _length_findings("a" * 41, "bluesky") == ["41 characters as bluesky counts them; the limit is 40."]
