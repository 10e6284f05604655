"""Errors and size limits of the card interchange."""

MAX_CARD_BYTES = 8 * 1024 * 1024
"""Largest card file accepted, checked before any parsing."""

MAX_DECOMPRESSED_BYTES = 16 * 1024 * 1024
"""Largest inflated payload (a zTXt/iTXt chunk or a CHARX member): caps decompression bombs."""

MAX_TEXT_CHARS = 100_000
"""Longest single text field (description, a greeting, a lore entry's content, ...)."""

MAX_LIST_ITEMS = 2_000
"""Most items in one card list (lore entries, greetings, tags, keys, canon posts)."""

MAX_JSON_DEPTH = 64
"""Deepest JSON nesting accepted; real cards stay under ten levels."""

MAX_AVATAR_BYTES = 2 * 1024 * 1024
"""Largest uploaded avatar file."""

MAX_AVATAR_SIDE = 1024
"""Processed avatars are downscaled to fit in a square of this many pixels."""

MAX_IMAGE_PIXELS = 4096 * 4096
"""Largest decoded image (width x height) we agree to decode, well below Pillow's bomb threshold."""


class CardError(ValueError):
    """A character card we cannot import; the message is fit to show the person who uploaded it."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class AvatarError(ValueError):
    """An avatar image we cannot accept; the message is fit to show the person who uploaded it."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message
