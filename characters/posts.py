"""Posts: drafting and listing, always inside one workspace."""

from pydantic import BaseModel, Field
from sqlmodel import Session, col, select

from characters.errors import DomainError, NotFound
from characters.models import Character, Post, PostStatus, Workspace, require_id
from characters.workspaces import Action, Member

MAX_POST_CHARS = 20_000


class PostDraft(BaseModel):
    """A new draft's text, validated before it is saved."""

    text: str = Field(max_length=MAX_POST_CHARS)


def create_draft(*, session: Session, member: Member, character: Character, draft: PostDraft) -> Post:
    """Save a new draft for `character` by the current member."""
    member.require(Action.DRAFT)
    if character.workspace_id != member.workspace.id:
        raise NotFound("No such character in this workspace.")
    if character.archived_at is not None:
        raise DomainError("This character is archived; restore it before drafting.", field="character")
    post = Post(workspace_id=require_id(member.workspace), character_id=require_id(character),
                author_id=member.user.id, text=draft.text, status=PostStatus.DRAFT,
                bible_version=character.current_version)
    session.add(post)
    session.flush()
    return post


def list_posts(session: Session, workspace: Workspace, *, character: Character | None = None,
               status: PostStatus | None = None, limit: int = 200) -> list[tuple[Post, Character]]:
    """Return the workspace's posts with their characters, newest first."""
    query = (select(Post, Character).join(Character, col(Character.id) == col(Post.character_id))
             .where(Post.workspace_id == workspace.id))
    if character is not None:
        query = query.where(Post.character_id == character.id)
    if status is not None:
        query = query.where(Post.status == status)
    rows = session.exec(query.order_by(col(Post.updated_at).desc(), col(Post.id).desc()).limit(limit)).all()
    return [(post, owner) for post, owner in rows]


def get_post(session: Session, workspace: Workspace, post_id: int) -> Post:
    """Return a post of this workspace or raise NotFound."""
    post = session.get(Post, post_id)
    if post is None or post.workspace_id != workspace.id:
        raise NotFound("No such post in this workspace.")
    return post
