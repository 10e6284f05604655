"""Which version a write was based on: the body's `version` or an `If-Match` header (the ETag of GET)."""

from web.api.errors import ApiError, field_detail
from web.api.schemas import VersionHeaders


def etag(version: int) -> str:
    """Return the ETag that stands for `version`."""
    return f'"{version}"'


def expected_version(body_version: int | None, headers: VersionHeaders) -> int:
    """Return the version the client edited; 428 when it gave none, 422 when the two disagree."""
    header_version = int(headers.if_match.removeprefix("W/").strip('"')) if headers.if_match else None
    if body_version is not None and header_version is not None and body_version != header_version:
        raise ApiError(422, "The body's version and If-Match disagree; send one of them.",
                       details=[field_detail("version", "Differs from If-Match", "version")])
    version = body_version if body_version is not None else header_version
    if version is None:
        raise ApiError(428, "Say which version you edited: a `version` field or an If-Match header.")
    return version
