"""Request and response models of the API shared by several areas: ids, times, errors' companions, pages.

Ids and versions are bounded to what the database's integer columns hold, and times must carry a zone and
fit in a UTC datetime, so no schema-valid value can reach the database and fail there.
"""

import re
from collections.abc import Callable
from datetime import UTC, date, datetime
from typing import Annotated, Any

from pydantic import AfterValidator, AwareDatetime, BaseModel, BeforeValidator, ConfigDict, Field
from pydantic.json_schema import SkipJsonSchema

from characters.core.models import Role, TokenScope
from web.judging import score_scale

MAX_DB_INT = 2_147_483_647

DbId = Annotated[int, Field(ge=1, le=MAX_DB_INT)]
Slug = Annotated[str, Field(min_length=1, max_length=64, description="A character's slug.")]
Version = Annotated[int, Field(ge=1, le=MAX_DB_INT, description="The version you read; a newer one is a 409.")]


# Pydantic would also read numbers and other shapes as times; the API takes the one unambiguous spelling.
ISO_DATETIME = re.compile(r"\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?([Zz]|[+-]\d{2}:?\d{2})")
ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def _iso(pattern: re.Pattern[str], parse: Callable[[str], Any], example: str) -> BeforeValidator:
    """Accept only text of `pattern`, parsed here so strict JSON validation (which reads no text as a time) passes."""

    def check(value: Any) -> Any:
        if value is None:
            return None
        if isinstance(value, str) and pattern.fullmatch(value):
            try:
                return parse(value)
            except ValueError:
                pass
        raise ValueError(f"write it in ISO 8601, e.g. {example}")

    return BeforeValidator(check)


def _in_utc(value: datetime) -> datetime:
    try:
        moment = value.astimezone(UTC)
    except OverflowError:
        raise ValueError("the time is out of range") from None
    if not 1900 <= moment.year <= 9000:
        raise ValueError("the time must be between the years 1900 and 9000")
    return moment


Moment = Annotated[AwareDatetime, _iso(ISO_DATETIME, lambda text: datetime.fromisoformat(text.upper()),
                                        "2026-12-03T09:15:00+01:00"),
                   AfterValidator(_in_utc),
                   Field(description="ISO 8601 with a time zone offset, e.g. 2026-12-03T09:15:00+01:00")]

IsoDate = Annotated[date | None, _iso(ISO_DATE, date.fromisoformat, "2026-12-03")]
# Request bodies refuse unknown fields (a typo never goes unnoticed) and are read strictly as JSON: "1" is not
# a number, 0 is not false, and a number is not a time (see spec._SafeAdapter).
BODY_CONFIG = ConfigDict(extra="forbid", strict=True)


class Body(BaseModel):
    """A JSON request body."""

    model_config = BODY_CONFIG


class VersionHeaders(BaseModel):
    """`If-Match: "<version>"` as an alternative to the body's `version` field."""

    if_match: str | SkipJsonSchema[None] = Field(
        default=None, alias="If-Match", pattern=r'^(W/)?"?[1-9][0-9]{0,8}"?$',
        description='The version you read, as the ETag of GET gave it: "3".')


class MeOut(BaseModel):
    """Who a token acts as, where, and with which rights."""

    user_id: int
    display_name: str
    workspace: str
    workspace_name: str
    role: Role = Field(description="The role requests act with: the user's role, or viewer for a read token.")
    scope: TokenScope
    token_name: str
    two_person_rule: bool


class CheckOut(BaseModel):
    """An in-character check: 0-100 (higher is more in character), a verdict and the findings behind it."""

    score: int = Field(description=score_scale())
    verdict: str = Field(description="pass, warn or fail: fail when any finding fails, warn when any warns.")
    findings: list[dict[str, Any]] = Field(description=(
        "Each: check, severity, message, start/end (code-point offsets of the span in the text, or null), "
        "suggestion, and replacements: texts that replace text[start:end] with one click, best first (\"\" "
        "deletes the span; without a span, the text is added at the end)."))


class WorkspaceSettingsOut(BaseModel):
    """The workspace's scheduling settings."""

    late_grace_minutes: int = Field(description="How late the scheduler may still publish a post; later ones are "
                                                "held as missed for an editor.")


class WorkspaceSettingsPatch(BaseModel):
    """New scheduling settings (owners only)."""

    model_config = BODY_CONFIG
    late_grace_minutes: int = Field(description="0 to 1440 minutes.")
