"""Models of the character endpoints: the bible edit the web form sends, as JSON, and what comes back."""

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field, StringConstraints, create_model
from spectree.model_adapter.pydantic_adapter import BaseFile

from characters.bibles.editing import MAX_NAME_CHARS, BibleEdit
from characters.posting.posts import MAX_POST_CHARS
from web.api.schemas import BODY_CONFIG, Body, Version

# A character's feed channel is labelled "<name>'s feed" in a 200-character column (characters.publishing.channels.
# ensure_feed_channel does not shorten it), so the API leaves room for the suffix.
MAX_API_NAME_CHARS = MAX_NAME_CHARS - len("'s feed")
ApiName = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=MAX_API_NAME_CHARS)]


class CharacterCreate(BibleEdit):
    """A new character's bible: the fields of the web editor (lists are rows; `source` is unused here)."""

    model_config = BODY_CONFIG

    name: ApiName

    note: str = Field(default="", max_length=500, description="Why, for the version history.")


class CharacterUpdate(CharacterCreate):
    """A whole new bible version; `version` (or If-Match) is the version you edited."""

    version: Version | None = None


def _optional(annotation: Any) -> Any:
    """Return `annotation` or null (a null sets the field to null, as in a JSON merge patch)."""
    return annotation | None


# PATCH: every editable field optional; what is sent replaces that field of the version edited, rows keep
# their `source` (the index of the card item they edit) so fields the editor does not show survive.
_PATCH_FIELDS: dict[str, Any] = {
    "version": (_optional(Version), None),
    "note": (str, Field(default="", max_length=500)),
    **{name: (_optional(field.annotation), None) for name, field in BibleEdit.model_fields.items()},
    "name": (_optional(ApiName), None),
}
CharacterPatch = create_model("CharacterPatch", __config__=BODY_CONFIG,
                              __doc__="Some fields of the bible; the others stay as they are.", **_PATCH_FIELDS)


class CharacterListQuery(BaseModel):
    """Whether archived characters are listed too."""

    include_archived: bool = False


class CharacterSummary(BaseModel):
    """A character as lists show it (scenes and campaigns refer to characters by `id`)."""

    id: int
    slug: str
    name: str
    current_version: int
    archived: bool
    has_avatar: bool
    created_at: datetime
    updated_at: datetime


class CharacterOut(CharacterSummary):
    """A character with its current bible."""

    timezone: str
    bible: dict[str, Any] = Field(description="The editable fields, in the shape of the create/update body.")
    card: dict[str, Any] = Field(description="The whole Character Card V2 `data` object of the current version.")


class CharacterList(BaseModel):
    """The workspace's characters, by name."""

    items: list[CharacterSummary]


class VersionOut(BaseModel):
    """One saved bible version."""

    number: int
    note: str
    created_at: datetime
    created_by: str | None


class VersionList(BaseModel):
    """Every bible version, newest first."""

    items: list[VersionOut]


class CardUpload(BaseModel):
    """A Character Card file: V1/V2/V3 JSON, a PNG card or a CHARX archive."""

    file: BaseFile


class ImportOut(BaseModel):
    """The character a card created, and what was noticed while reading it."""

    character: CharacterOut
    warnings: list[str]


class CardQuery(BaseModel):
    """The export format: V2 JSON, or a PNG card on the avatar."""

    format: Literal["json", "png"] = "json"


class CheckIn(Body):
    """Text to check against the character's current bible, on a network's rules."""

    text: str = Field(max_length=MAX_POST_CHARS)
    platform: Literal["bluesky", "mastodon"] | None = Field(
        default=None, description="The network whose length rules apply; none for no network limit.")
