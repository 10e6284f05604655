"""Parse the post editor's form (a variable number of thread parts, each with an optional image)."""

import re
from dataclasses import dataclass, field
from typing import Any

from flask import Request
from pydantic import ValidationError

from characters.core.errors import DomainError
from characters.core.models import PostPart
from characters.posting.posts import MAX_THREAD_PARTS, PostContent, process_post_image
from web.formtools import validation_errors
from web.posts.present import int_arg

_PART_KEY = re.compile(r"^parts-(\d{1,3})-text$")


@dataclass
class PartView:
    """One part as the editor shows it."""

    text: str = ""
    alt: str = ""
    keep: int | None = None  # id of the saved part whose image is kept
    had_upload: bool = False


@dataclass
class EditorState:
    """What the editor template needs to redraw the form, with the errors per field."""

    parts: list[PartView]
    channel_ids: list[int]
    campaign_id: int | None
    version: int | None
    op: str = "save"
    due_local: str = ""  # the planned time as typed, in the character's zone
    errors: dict[str, list[str]] = field(default_factory=dict)

    def error(self, name: str, message: str) -> None:
        """Attach a message to a field ("form" for the form as a whole)."""
        self.errors.setdefault(name, []).append(message)

    @property
    def has_errors(self) -> bool:
        """Return True when any field has an error."""
        return bool(self.errors)


def state_from_parts(parts: list[PostPart], channel_ids: list[int], campaign_id: int | None,
                     version: int | None) -> EditorState:
    """Return the editor's state for saved parts."""
    views = [PartView(part.text, part.image_alt or "", part.id if part.image is not None else None) for part in parts]
    return EditorState(views or [PartView()], channel_ids, campaign_id, version)


def parse_editor(request: Request) -> tuple[EditorState, list[bytes | None]]:
    """Read the form into an EditorState plus each part's uploaded image (raw, unchecked)."""
    form = request.form
    indexes = sorted({int(match.group(1)) for key in form if (match := _PART_KEY.match(key))})[:MAX_THREAD_PARTS]
    parts: list[PartView] = []
    uploads: list[bytes | None] = []
    for index in indexes:
        upload = request.files.get(f"parts-{index}-image")
        raw = upload.read() if upload is not None and upload.filename else None
        keep = None if form.get(f"parts-{index}-drop_image") else int_arg(form.get(f"parts-{index}-keep"))
        parts.append(PartView(form.get(f"parts-{index}-text", ""), form.get(f"parts-{index}-alt", ""), keep,
                              raw is not None))
        uploads.append(raw)
    channel_ids = [value for value in (int_arg(v) for v in form.getlist("channels")) if value is not None]
    state = EditorState(parts or [PartView()], channel_ids, int_arg(form.get("campaign")),
                        int_arg(form.get("version")), form.get("op", "save")[:32], form.get("due_local", "")[:40])
    if not parts:
        uploads = [None]
    _apply_part_ops(state, uploads)
    return state, uploads


def _apply_part_ops(state: EditorState, uploads: list[bytes | None]) -> None:
    """Handle "add a part" / "remove part N" buttons (used when JavaScript is off)."""
    if state.op == "add_part" and len(state.parts) < MAX_THREAD_PARTS:
        state.parts.append(PartView())
        uploads.append(None)
    elif state.op.startswith("remove_part-") and len(state.parts) > 1:
        index = int_arg(state.op.removeprefix("remove_part-"))
        if index is not None and index < len(state.parts):
            del state.parts[index]
            del uploads[index]


def content_of(state: EditorState, uploads: list[bytes | None]) -> PostContent | None:
    """Validate the state into PostContent; on problems record them on `state` and return None."""
    items: list[dict[str, Any]] = []
    for index, (part, raw) in enumerate(zip(state.parts, uploads, strict=True)):
        item: dict[str, Any] = {"text": part.text, "image_alt": part.alt, "keep_image_of": part.keep}
        if raw is not None:
            try:
                item["image"], item["image_mime"] = process_post_image(raw)
                item["keep_image_of"] = None
            except DomainError as error:
                state.error(f"parts-{index}-image", error.message)
        items.append(item)
    try:
        content = PostContent.model_validate({"parts": items, "channel_ids": state.channel_ids or None,
                                              "campaign_id": state.campaign_id})
    except ValidationError as error:
        for name, messages in validation_errors(error, _field_name).items():
            for message in messages:
                state.error(name, message)
        return None
    return None if state.has_errors else content


def _field_name(loc: tuple[int | str, ...]) -> str:
    """Map a pydantic error location onto the editor's field name."""
    if len(loc) >= 2 and loc[0] == "parts" and isinstance(loc[1], int):
        sub = str(loc[2]) if len(loc) > 2 else "image_alt"  # a part-level error is the alt-text rule
        return f"parts-{loc[1]}-{'alt' if sub == 'image_alt' else 'text'}"
    return "form"

