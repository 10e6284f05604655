"""The persona card: Character Card V2 data plus Greenroom's `extensions.greenroom` (schema 1).

A bible version stores exactly one `CardData` as JSON; everything else (prompts, the consistency
checker, exports) reads from it. Unknown keys anywhere are kept (`extra="allow"`) so other tools'
data survives an import/export round trip untouched.
"""

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

GREENROOM_EXTENSION_KEY = "greenroom"
GREENROOM_SCHEMA = 1

Pov = Literal["first_singular", "first_plural", "third", "any"]
EmojiPolicy = Literal["never", "rare", "often"]


class _Open(BaseModel):
    """A card object that keeps keys it does not know."""

    model_config = ConfigDict(extra="allow", populate_by_name=True)


class Era(_Open):
    label: str = ""
    start_year: int | None = None
    end_year: int | None = None


class HashtagPolicy(_Open):
    max: int = Field(default=30, ge=0)
    required: list[str] = Field(default_factory=list)
    allowed: list[str] = Field(default_factory=list)


class Voice(_Open):
    pov: Pov = "any"
    register_: str = Field(default="", alias="register")
    catchphrases: list[str] = Field(default_factory=list)
    signoff: str | None = None
    emoji: EmojiPolicy = "often"
    hashtags: HashtagPolicy = Field(default_factory=HashtagPolicy)
    urls: bool = True
    max_chars: int | None = Field(default=None, ge=1)


class BannedTerm(_Open):
    term: str
    suggest: list[str] = Field(default_factory=list)
    reason: str = ""


class PreferredTerm(_Open):
    use: str
    instead_of: list[str] = Field(default_factory=list)


class Vocabulary(_Open):
    banned: list[BannedTerm] = Field(default_factory=list)
    preferred: list[PreferredTerm] = Field(default_factory=list)


class RhythmSlot(_Open):
    days: str = "mon-sun"
    time: str = "09:00"


class Rhythm(_Open):
    slots: list[RhythmSlot] = Field(default_factory=list)
    jitter_minutes: int = Field(default=0, ge=0)


class GreenroomExtension(_Open):
    """Everything Greenroom needs beyond the card's own fields."""

    schema_: int = Field(default=GREENROOM_SCHEMA, alias="schema")
    era: Era = Field(default_factory=Era)
    timezone: str = "UTC"
    handles: dict[str, str] = Field(default_factory=dict)
    voice: Voice = Field(default_factory=Voice)
    vocabulary: Vocabulary = Field(default_factory=Vocabulary)
    canon_posts: list[str] = Field(default_factory=list)
    rhythm: Rhythm = Field(default_factory=Rhythm)


class LoreEntry(_Open):
    """One `character_book` entry, activated by keyword when drafting."""

    keys: list[str] = Field(default_factory=list)
    content: str = ""
    extensions: dict[str, Any] = Field(default_factory=dict)
    enabled: bool = True
    insertion_order: int = 100
    case_sensitive: bool | None = None
    name: str | None = None
    priority: int | None = None
    id: int | str | None = None
    comment: str | None = None
    selective: bool | None = None
    secondary_keys: list[str] | None = None
    constant: bool | None = None
    position: Literal["before_char", "after_char"] | None = None


class CharacterBook(_Open):
    name: str | None = None
    description: str | None = None
    scan_depth: int | None = None
    token_budget: int | None = None
    recursive_scanning: bool | None = None
    extensions: dict[str, Any] = Field(default_factory=dict)
    entries: list[LoreEntry] = Field(default_factory=list)


class CardData(_Open):
    """The `data` object of a Character Card V2, the unit a bible version stores."""

    name: str = Field(min_length=1, max_length=200)
    description: str = ""
    personality: str = ""
    scenario: str = ""
    first_mes: str = ""
    mes_example: str = ""
    creator_notes: str = ""
    system_prompt: str = ""
    post_history_instructions: str = ""
    alternate_greetings: list[str] = Field(default_factory=list)
    character_book: CharacterBook | None = None
    tags: list[str] = Field(default_factory=list)
    creator: str = ""
    character_version: str = ""
    extensions: dict[str, Any] = Field(default_factory=dict)

    @field_validator("name")
    @classmethod
    def _strip_name(cls, value: str) -> str:
        stripped = value.strip()
        if not stripped:
            raise ValueError("a character needs a name")
        return stripped

    @property
    def greenroom(self) -> GreenroomExtension:
        """Return the parsed `extensions.greenroom` object (defaults when absent)."""
        return GreenroomExtension.model_validate(self.extensions.get(GREENROOM_EXTENSION_KEY) or {})

    def with_greenroom(self, extension: GreenroomExtension) -> "CardData":
        """Return a copy whose `extensions.greenroom` is `extension`, other extensions untouched."""
        extensions = dict(self.extensions)
        extensions[GREENROOM_EXTENSION_KEY] = extension.model_dump(by_alias=True, mode="json")
        return self.model_copy(update={"extensions": extensions})

    def to_json_dict(self) -> dict[str, Any]:
        """Return the card data as plain JSON types, unknown keys and explicit nulls included."""
        # exclude_unset, not exclude_none: a null another tool wrote on purpose must survive.
        return self.model_dump(by_alias=True, mode="json", exclude_unset=True)
