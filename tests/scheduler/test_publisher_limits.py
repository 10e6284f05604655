"""The publishers refuse, before sending, what the platform table says the network would refuse."""

import pytest

from characters.core.platforms import BLUESKY
from scheduler.publishers.base import PartContent, PublishError
from scheduler.publishers.bluesky import check_part

ACCENTED = "e\u0301"  # one grapheme, two code points


def test_bluesky_accepts_the_tables_limit_in_graphemes_and_refuses_one_more():
    check_part(PartContent(ACCENTED * BLUESKY.max_chars), 0)
    with pytest.raises(PublishError) as caught:
        check_part(PartContent("x" * (BLUESKY.max_chars + 1)), 1)
    assert not caught.value.retryable
    assert caught.value.message == f"Part 2 has {BLUESKY.max_chars + 1} characters; Bluesky allows {BLUESKY.max_chars}."


def test_bluesky_refuses_images_over_the_tables_size():
    assert BLUESKY.max_image_bytes is not None
    with pytest.raises(PublishError, match="Bluesky accepts up to 1,000,000"):
        check_part(PartContent("hi", image=b"\0" * (BLUESKY.max_image_bytes + 1), image_mime="image/png"), 0)
