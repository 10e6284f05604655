"""Autosave: the editor's unsaved text, kept server-side per person and draft until the draft is saved."""

from pydantic import BaseModel, Field
from sqlalchemy import ColumnElement
from sqlmodel import Session, col, delete, select

from characters.accounts.workspaces import Action, Member
from characters.core.errors import DomainError, NotFound
from characters.core.models import Autosave, Character, Post, require_id
from characters.posting.posts import EDITABLE, MAX_ALT_CHARS, MAX_POST_CHARS, MAX_THREAD_PARTS

# Versions kept per draft: enough to step back over a bad paste, few enough to stay small.
KEEP_REVISIONS = 10


class AutosavedPart(BaseModel):
    """One part's text and alt text (images are never autosaved: they are chosen again)."""

    text: str = Field(default="", max_length=MAX_POST_CHARS)
    alt: str = Field(default="", max_length=MAX_ALT_CHARS)


class AutosaveContent(BaseModel):
    """What the editor sends every few seconds while someone types."""

    parts: list[AutosavedPart] = Field(min_length=1, max_length=MAX_THREAD_PARTS)
    channel_ids: list[int] = Field(default_factory=list, max_length=100)
    campaign_id: int | None = None


def _slot(member: Member, post_id: int | None, draft_key: str) -> list[ColumnElement[bool]]:
    """Return the conditions that select one person's autosaves of one draft."""
    conditions = [col(Autosave.user_id) == member.user.id, col(Autosave.workspace_id) == member.workspace.id]
    if post_id is None:
        return [*conditions, col(Autosave.post_id).is_(None), col(Autosave.draft_key) == draft_key]
    return [*conditions, col(Autosave.post_id) == post_id]


def autosave(
    *,
    session: Session,
    member: Member,
    character: Character,
    post: Post | None,
    draft_key: str,
    content: AutosaveContent,
) -> Autosave:
    """Keep `content` as the next autosaved version of this person's draft; drop versions beyond the last few."""
    member.require(Action.DRAFT)
    if character.workspace_id != member.workspace.id:
        raise NotFound("No such character in this workspace.")
    if post is not None:
        if post.workspace_id != member.workspace.id or post.character_id != character.id:
            raise NotFound("No such post in this workspace.")
        if post.status not in EDITABLE:
            raise DomainError("This post can no longer be edited, so there is nothing to autosave.")
    post_id = post.id if post is not None else None
    draft_key = "" if post is not None else draft_key[:64]
    last = session.exec(
        select(Autosave).where(*_slot(member, post_id, draft_key)).order_by(col(Autosave.revision).desc())
    ).first()
    row = Autosave(
        workspace_id=require_id(member.workspace),
        user_id=require_id(member.user),
        post_id=post_id,
        character_id=require_id(character),
        draft_key=draft_key,
        revision=(last.revision + 1) if last else 1,
        base_version=post.version if post else None,
        content=content.model_dump(),
    )
    session.add(row)
    session.flush()
    session.execute(
        delete(Autosave).where(
            *_slot(member, post_id, draft_key), col(Autosave.revision) <= row.revision - KEEP_REVISIONS
        )
    )
    return row


def recoverable(session: Session, member: Member, post: Post | None) -> Autosave | None:
    """Return the latest autosave worth offering back: of this post, or of any unsaved new draft."""
    which = col(Autosave.post_id).is_(None) if post is None else Autosave.post_id == post.id
    query = select(Autosave).where(
        Autosave.user_id == member.user.id, Autosave.workspace_id == member.workspace.id, which
    )
    return session.exec(query.order_by(col(Autosave.saved_at).desc(), col(Autosave.id).desc())).first()


def get_autosave(session: Session, member: Member, autosave_id: int) -> Autosave:
    """Return one of this person's autosaves in this workspace."""
    row = session.get(Autosave, autosave_id)
    if row is None or row.user_id != member.user.id or row.workspace_id != member.workspace.id:
        raise NotFound("That autosaved text is gone (it was saved or discarded).")
    return row


def discard_autosaves(session: Session, member: Member, post_id: int | None, draft_key: str) -> int:
    """Forget this person's autosaves of one draft (it was saved, or they chose not to keep it)."""
    result = session.execute(delete(Autosave).where(*_slot(member, post_id, draft_key)))
    return int(getattr(result, "rowcount", 0) or 0)
