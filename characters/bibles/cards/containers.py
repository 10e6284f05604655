"""Byte-level containers a card travels in: PNG text chunks and CHARX zip archives."""

import io
import struct
import zipfile
import zlib
from dataclasses import dataclass, field

from characters.bibles.cards.errors import MAX_DECOMPRESSED_BYTES, CardError

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
ZIP_SIGNATURES = (b"PK\x03\x04", b"PK\x05\x06")
CARD_KEYWORDS = ("ccv3", "chara")
_TEXT_CHUNKS = (b"tEXt", b"zTXt", b"iTXt")


@dataclass
class PngCard:
    """What a PNG holds for us: the card text chunks and the image without any text chunks."""

    texts: dict[str, str] = field(default_factory=dict)
    image: bytes = b""
    warnings: list[str] = field(default_factory=list)


def _inflate(data: bytes, what: str) -> bytes:
    """Decompress zlib data, refusing to inflate past MAX_DECOMPRESSED_BYTES."""
    inflater = zlib.decompressobj()
    try:
        out = inflater.decompress(data, MAX_DECOMPRESSED_BYTES + 1)
    except zlib.error as exc:
        raise CardError(f"the {what} is not valid compressed data ({exc})") from exc
    if len(out) > MAX_DECOMPRESSED_BYTES:
        raise CardError(
            f"the {what} inflates to more than {MAX_DECOMPRESSED_BYTES // (1024 * 1024)} MB (a decompression bomb?)"
        )
    return out


def _latin_or_utf8(data: bytes) -> str:
    """Decode tEXt/zTXt text: Latin-1 by the PNG spec, but some tools write raw UTF-8 JSON there."""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("latin-1")


def _decode_text_chunk(kind: bytes, body: bytes) -> tuple[str, str] | None:
    """Return (keyword, text) of a card text chunk, or None when it is not one of ours."""
    keyword_raw, sep, rest = body.partition(b"\x00")
    if not sep:
        return None
    keyword = keyword_raw.decode("latin-1").lower()
    if keyword not in CARD_KEYWORDS:
        return None  # other metadata: never decompressed, so it cannot be a bomb for us
    what = f"`{keyword}` {kind.decode('ascii')} chunk"
    if kind == b"tEXt":
        return keyword, _latin_or_utf8(rest)
    if kind == b"zTXt":
        return keyword, _ztxt_text(rest, what)
    return keyword, _itxt_text(rest, what)


def _ztxt_text(rest: bytes, what: str) -> str:
    """Decode a zTXt chunk after its keyword: compression method 0 (zlib), then Latin-1 (or UTF-8) text."""
    if rest[:1] != b"\x00":
        raise CardError(f"the {what} uses an unknown compression method")
    return _latin_or_utf8(_inflate(rest[1:], what))


def _itxt_text(rest: bytes, what: str) -> str:
    """Decode an iTXt chunk after its keyword: flag, method, NUL-ended language tag and keyword, UTF-8 text."""
    if len(rest) < 2:
        raise CardError(f"the {what} is truncated")
    flag, method, tail = rest[0], rest[1], rest[2:]
    parts = tail.split(b"\x00", 2)
    if len(parts) != 3:
        raise CardError(f"the {what} is malformed")
    text = parts[2]
    if flag:
        if method != 0:
            raise CardError(f"the {what} uses an unknown compression method")
        text = _inflate(text, what)
    try:
        return text.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise CardError(f"the {what} is not valid UTF-8 text") from exc


def read_png(raw: bytes) -> PngCard:
    """Walk the PNG chunks: collect card text chunks, keep every other chunk as the image."""
    result = PngCard()
    image = bytearray(PNG_SIGNATURE)
    offset = len(PNG_SIGNATURE)
    seen_iend = False
    while offset < len(raw):
        if offset + 12 > len(raw):
            result.warnings.append("the PNG file is truncated")
            break
        length, kind = struct.unpack(">I4s", raw[offset : offset + 8])
        end = offset + 12 + length
        if end > len(raw):
            result.warnings.append("the PNG file is truncated")
            break
        body = raw[offset + 8 : offset + 8 + length]
        (crc,) = struct.unpack(">I", raw[end - 4 : end])
        chunk = raw[offset:end]
        offset = end
        if kind in _TEXT_CHUNKS:
            if zlib.crc32(kind + body) != crc:
                result.warnings.append(f"skipped a corrupted {kind.decode('latin-1')} chunk (bad checksum)")
                continue
            decoded = _decode_text_chunk(kind, body)
            if decoded is None:
                continue
            keyword, text = decoded
            if keyword in result.texts:
                result.warnings.append(f"the PNG has more than one `{keyword}` chunk; used the first")
            else:
                result.texts[keyword] = text
            continue
        image += chunk
        if kind == b"IEND":
            seen_iend = True
            break
    if not seen_iend and not result.warnings:
        result.warnings.append("the PNG file has no end marker")
    result.image = bytes(image)
    return result


def _read_member(archive: zipfile.ZipFile, info: zipfile.ZipInfo) -> bytes:
    """Read one zip member without ever inflating more than MAX_DECOMPRESSED_BYTES."""
    what = f"`{info.filename}` in the CHARX archive"
    if info.file_size > MAX_DECOMPRESSED_BYTES:
        raise CardError(f"{what} is larger than {MAX_DECOMPRESSED_BYTES // (1024 * 1024)} MB unpacked")
    try:
        with archive.open(info) as member:
            # The declared size can lie; the read limit is what actually bounds memory.
            data = member.read(MAX_DECOMPRESSED_BYTES + 1)
    except (zipfile.BadZipFile, zlib.error, EOFError, OSError, ValueError, struct.error) as exc:
        # A damaged archive surfaces as any of these, depending on which header lies.
        raise CardError(f"{what} is corrupted ({exc})") from exc
    except RuntimeError as exc:  # zipfile's way of saying "encrypted"
        raise CardError(f"{what} is encrypted") from exc
    except NotImplementedError as exc:
        raise CardError(f"{what} uses an unsupported compression method") from exc
    if len(data) > MAX_DECOMPRESSED_BYTES:
        raise CardError(
            f"{what} inflates to more than {MAX_DECOMPRESSED_BYTES // (1024 * 1024)} MB (a decompression bomb?)"
        )
    return data


@dataclass
class CharxArchive:
    """An opened CHARX archive: its card.json bytes and a reader for embedded assets."""

    archive: zipfile.ZipFile
    card_json: bytes

    def read_asset(self, path: str) -> bytes | None:
        """Return an embedded file's bytes, or None when the archive does not hold it."""
        try:
            info = self.archive.getinfo(path.lstrip("/"))
        except KeyError:
            return None
        return _read_member(self.archive, info)

    def names(self) -> list[str]:
        """Return the archive's member names."""
        return self.archive.namelist()


def open_charx(raw: bytes) -> CharxArchive:
    """Open a CHARX (zip) archive and read its card.json."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(raw))
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError, ValueError, struct.error) as exc:
        raise CardError(f"the file looks like a zip archive but cannot be opened ({exc})") from exc
    try:
        info = archive.getinfo("card.json")
    except KeyError:
        raise CardError("the zip archive has no card.json, so it is not a CHARX character card") from None
    return CharxArchive(archive=archive, card_json=_read_member(archive, info))
