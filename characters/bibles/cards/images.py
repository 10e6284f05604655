"""Image handling: safe decoding, upload processing, and the placeholder avatar."""

import hashlib
import io

from PIL import Image, ImageDraw, ImageFont, ImageOps, UnidentifiedImageError

from characters.bibles.cards.errors import MAX_AVATAR_BYTES, MAX_AVATAR_SIDE, MAX_IMAGE_PIXELS, AvatarError

_MAGIC = {
    b"\x89PNG\r\n\x1a\n": "PNG",
    b"\xff\xd8\xff": "JPEG",
}


def sniff_image(raw: bytes) -> str | None:
    """Return "PNG", "JPEG" or "WEBP" from the magic bytes, else None."""
    for magic, fmt in _MAGIC.items():
        if raw.startswith(magic):
            return fmt
    if raw[:4] == b"RIFF" and raw[8:12] == b"WEBP":
        return "WEBP"
    return None


class ImageProblem(Exception):
    """Why an image was refused; callers re-raise it as their own error type."""


class ImageTooLarge(ImageProblem):
    """The image would decode to more pixels than we allow (a decompression bomb)."""


def decode_image(raw: bytes, formats: list[str]) -> Image.Image:
    """Decode an image of the given formats fully, refusing decompression bombs and corrupt data."""
    try:
        # Our pixel cap sits below Pillow's bomb thresholds, so Pillow's own check (an error, or a
        # warning that `-W error` turns into one) only fires for images we refuse anyway.
        image = Image.open(io.BytesIO(raw), formats=formats)
        width, height = image.size
        if width * height > MAX_IMAGE_PIXELS:
            raise ImageTooLarge(
                f"the image is {width}x{height} pixels, more than we decode "
                f"({MAX_IMAGE_PIXELS:,} pixels; a decompression bomb?)"
            )
        if image.format == "JPEG":
            # Let the JPEG decoder skip detail we would throw away when downscaling.
            image.draft("RGB", (MAX_AVATAR_SIDE, MAX_AVATAR_SIDE))
        image.load()
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise ImageTooLarge("the image is too large to decode safely (a decompression bomb?)") from exc
    except UnidentifiedImageError as exc:
        raise ImageProblem("the file is not a readable image") from exc
    except ImageProblem:
        raise
    except Exception as exc:  # Pillow raises OSError, SyntaxError, ValueError, struct.error... on bad data
        raise ImageProblem(f"the image data is corrupt or truncated ({exc.__class__.__name__})") from exc
    return image


def _flatten_mode(image: Image.Image) -> Image.Image:
    """Convert to RGB, or RGBA when the image has any transparency."""
    has_alpha = "A" in image.getbands() or "transparency" in image.info
    return image.convert("RGBA" if has_alpha else "RGB")


def encode_png(image: Image.Image, **save_args: object) -> bytes:
    """Encode as PNG with no metadata beyond what `save_args` adds (e.g. pnginfo)."""
    out = io.BytesIO()
    _flatten_mode(image).save(out, format="PNG", optimize=False, **save_args)
    return out.getvalue()


def process_avatar(raw: bytes, *, max_bytes: int = MAX_AVATAR_BYTES) -> bytes:
    """Validate an uploaded PNG/JPEG/WebP avatar and return it as a clean PNG of at most 1024 px."""
    if not raw:
        raise AvatarError("the avatar file is empty")
    if len(raw) > max_bytes:
        raise AvatarError(
            f"the avatar is {len(raw) / (1024 * 1024):.1f} MB; the limit is {max_bytes / (1024 * 1024):g} MB"
        )
    fmt = sniff_image(raw)
    if fmt is None:
        raise AvatarError("the avatar must be a PNG, JPEG or WebP image")
    try:
        image = decode_image(raw, [fmt])
        # Phones store rotation as an EXIF flag; bake it in since the EXIF block is dropped.
        image = ImageOps.exif_transpose(image)
        image.thumbnail((MAX_AVATAR_SIDE, MAX_AVATAR_SIDE), Image.Resampling.LANCZOS)
        return encode_png(image)
    except ImageProblem as exc:
        raise AvatarError(f"the avatar cannot be used: {exc}") from exc
    except Exception as exc:  # a decodable image Pillow still cannot transform (odd modes, bad EXIF)
        raise AvatarError(f"the avatar cannot be used: unsupported image ({exc.__class__.__name__})") from exc


def _initials(name: str) -> str:
    """Return up to two initials of a name, for the placeholder avatar."""
    words = [word for word in name.split() if word[:1].isalnum()]
    return "".join(word[0] for word in words[:2]).upper() or name.strip()[:1].upper() or "?"


def placeholder_avatar(name: str, size: int = 400) -> Image.Image:
    """Draw a square avatar: a colour derived from the name with the initials on top."""
    digest = hashlib.sha256(name.encode("utf-8")).digest()
    # Keep the colour mid-dark so white initials always read.
    background = tuple(64 + byte % 128 for byte in digest[:3])
    image = Image.new("RGB", (size, size), background)
    draw = ImageDraw.Draw(image)
    font = ImageFont.load_default(size=size * 0.4)
    draw.text((size / 2, size / 2), _initials(name), fill=(255, 255, 255), font=font, anchor="mm")
    return image
