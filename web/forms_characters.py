"""Character forms: the bible editor (rows a person can add and remove), avatar upload and card import.

The forms only parse; characters.bibles.editing validates and says what is wrong.
"""

import re
from typing import Any

from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import (
    BooleanField,
    FieldList,
    Form,
    FormField,
    HiddenField,
    IntegerField,
    SelectChoice,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import Optional

from characters.bibles.editing import MAX_JITTER_MINUTES

POV_CHOICES = [SelectChoice("any", "Any point of view"),
               SelectChoice("first_singular", "First person: “I”"),
               SelectChoice("first_plural", "First person plural: “we”"),
               SelectChoice("third", "Third person: speaks of themself by name")]
EMOJI_CHOICES = [SelectChoice("often", "Often: emoji are welcome"),
                 SelectChoice("rare", "Rarely: at most one per post"),
                 SelectChoice("never", "Never")]
POSITION_CHOICES = [SelectChoice("", "Not set (the drafting default)"),
                    SelectChoice("before_char", "Before the character description"),
                    SelectChoice("after_char", "After the character description")]
TIMEZONE_LIST_ID = "timezone-names"


class CommaListField(StringField):
    """A one-line text input holding a list: "a, b, c" in, ["a", "b", "c"] out."""

    def __init__(self, *args: Any, separators: str = r",", **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.separators = separators

    def process_data(self, value: Any) -> None:
        self.data = [str(item) for item in value] if isinstance(value, list | tuple) else []

    def process_formdata(self, valuelist: list[Any]) -> None:
        if valuelist:
            self.data = [item.strip() for item in re.split(self.separators, str(valuelist[0])) if item.strip()]

    def _value(self) -> str:
        return ", ".join(self.data or [])


class LinesField(TextAreaField):
    """A text area holding a list, one item per line."""

    def process_data(self, value: Any) -> None:
        self.data = [str(item) for item in value] if isinstance(value, list | tuple) else []

    def process_formdata(self, valuelist: list[Any]) -> None:
        if valuelist:
            self.data = [line.strip() for line in str(valuelist[0]).splitlines() if line.strip()]

    def _value(self) -> str:
        return "\n".join(self.data or [])


class RowForm(Form):
    """One row of a list: `source` is the index of the card item it shows (blank for a new row)."""

    source = HiddenField()
    remove = BooleanField("Remove this row")


class CanonPostRow(RowForm):
    text = TextAreaField("Post")


class GreetingRow(RowForm):
    text = TextAreaField("Greeting")


class BannedRow(RowForm):
    term = StringField("Word or phrase to avoid")
    suggest = CommaListField("Suggest instead")
    reason = StringField("Why")


class PreferredRow(RowForm):
    use = StringField("Say")
    instead_of = CommaListField("Instead of")


class SlotRow(RowForm):
    days = StringField("Days", render_kw={"autocomplete": "off", "spellcheck": "false", "placeholder": "mon-fri"})
    time = StringField("Time", render_kw={"type": "time", "placeholder": "09:15"})


class LoreRow(RowForm):
    name = StringField("Title")
    keys = CommaListField("Keywords")
    secondary_keys = CommaListField("Secondary keywords")
    selective = BooleanField("Only when a secondary keyword appears too")
    constant = BooleanField("Always include, keywords or not")
    enabled = BooleanField("Enabled", default=True)
    insertion_order = IntegerField("Order", default=100, validators=[Optional()],
                                   description="Lower numbers come first.")
    position = SelectField("Position", choices=POSITION_CHOICES, default="")
    content = TextAreaField("What the model should know")
    comment = StringField("Note for editors")


ROW_FORMS: dict[str, type[RowForm]] = {
    "alternate_greetings": GreetingRow, "banned": BannedRow, "preferred": PreferredRow,
    "canon_posts": CanonPostRow, "slots": SlotRow, "lore": LoreRow,
}


def _rows(row_form: type[RowForm], label: str) -> Any:
    return FieldList(FormField(row_form), label=label)


class BibleForm(FlaskForm):
    """Every editable part of a bible; list fields are rows of sub-forms."""

    base_version = HiddenField()
    overwrite = BooleanField("Save anyway, replacing the newer version")

    name = StringField("Name", render_kw={"autocomplete": "off"})
    description = TextAreaField("Description", description="Who they are, in full: the drafting prompt always "
                                                           "includes it.")
    personality = StringField("Personality", description="Their temperament in one line.")
    scenario = TextAreaField("Scenario", description="Their “now”: the setting and situation.")
    first_mes = TextAreaField("Signature post", description="An introduction post in their voice.")
    alternate_greetings = _rows(GreetingRow, "Other introduction posts")

    era_label = StringField("Era", description="e.g. “Madison Avenue, 1962” or “present day”.")
    era_start_year = IntegerField("From year", validators=[Optional()])
    era_end_year = IntegerField("Until year", validators=[Optional()],
                                description="The latest year they know about; leave empty for the present day.")
    timezone = StringField("Time zone", description="Where their clock runs, e.g. Europe/London.",
                           render_kw={"list": TIMEZONE_LIST_ID, "autocomplete": "off", "spellcheck": "false"})
    bluesky = StringField("Bluesky handle", description="e.g. name.bsky.social",
                          render_kw={"autocomplete": "off", "spellcheck": "false"})
    mastodon = StringField("Mastodon handle", description="e.g. @name@example.social",
                           render_kw={"autocomplete": "off", "spellcheck": "false"})

    pov = SelectField("Point of view", choices=POV_CHOICES)
    voice_register = TextAreaField("How they sound", description="e.g. “terse, dry, confident; short "
                                                                 "declaratives”.")
    catchphrases = LinesField("Catchphrases", description="One per line.")
    signoff = StringField("Sign-off", description="A closing line some posts end with; optional.")
    emoji = SelectField("Emoji", choices=EMOJI_CHOICES)
    hashtags_max = IntegerField("Most hashtags", validators=[Optional()], description="In one post.")
    hashtags_required = CommaListField("Hashtags every post carries (at least one of)", separators=r"[,\s]+",
                                       description="Separate with spaces or commas.")
    hashtags_allowed = CommaListField("Only these hashtags are allowed", separators=r"[,\s]+",
                                      description="Leave empty to allow any.")
    urls = BooleanField("Links allowed in posts")
    max_chars = IntegerField("Longest post", validators=[Optional()],
                             description="In characters; empty for no limit.")

    banned = _rows(BannedRow, "Words they never use")
    preferred = _rows(PreferredRow, "Words they prefer")
    canon_posts = _rows(CanonPostRow, "Canon posts")
    slots = _rows(SlotRow, "Usual posting times")
    jitter_minutes = IntegerField("Vary each time by up to (minutes)", validators=[Optional()],
                                  description=f"So posts do not land on the dot; at most {MAX_JITTER_MINUTES}.")
    lore = _rows(LoreRow, "Lore entries")

    tags = CommaListField("Tags", description="Separate with commas.")
    creator = StringField("Creator")
    character_version = StringField("Card version", description="Your own label, e.g. 1.2.")
    creator_notes = TextAreaField("Notes for editors", description="Never sent to a model.")
    system_prompt = TextAreaField("System prompt override", description="Leave empty for Greenroom's default.")
    post_history_instructions = TextAreaField("Post-history instructions",
                                              description="Leave empty for Greenroom's default.")

    note = StringField("What changed?", description="Optional; shown in the history.",
                       render_kw={"maxlength": 500})


class AvatarForm(FlaskForm):
    avatar = FileField("New picture", description="PNG, JPEG or WebP, up to 2 MB.",
                       validators=[FileRequired("Choose a picture to upload.")],
                       render_kw={"accept": "image/png,image/jpeg,image/webp"})


class ImportForm(FlaskForm):
    file = FileField("Card file", description="A Character Card V1, V2 or V3: JSON, PNG or CHARX, up to 8 MB.",
                     validators=[FileRequired("Choose a card file to import.")],
                     render_kw={"accept": ".json,.png,.charx,application/json,image/png"})
