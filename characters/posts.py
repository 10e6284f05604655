"""Posts: drafting and listing, always inside one workspace."""

from pydantic import BaseModel, Field, field_validator
from sqlmodel import Session, col, select

from characters.errors import DomainError, NotFound
from characters.models import Character, Post, PostPart, PostStatus, Workspace, require_id
from characters.workspaces import Action, Member

MAX_POST_CHARS = 20_000
MAX_THREAD_PARTS = 50


class PostDraft(BaseModel):
    """A new draft's text (one string per thread part), validated before it is saved."""

    parts: list[str] = Field(min_length=1, max_length=MAX_THREAD_PARTS)

    @field_validator("parts")
    @classmethod
    def _limit_parts(cls, parts: list[str]) -> list[str]:
        for number, part in enumerate(parts, start=1):
            if len(part) > MAX_POST_CHARS:
                raise ValueError(f"part {number} is longer than {MAX_POST_CHARS:,} characters")
        return parts


def create_draft(*, session: Session, member: Member, character: Character, draft: PostDraft) -> Post:
    """Save a new draft for `character` by the current member."""
    member.require(Action.DRAFT)
    if character.workspace_id != member.workspace.id:
        raise NotFound("No such character in this workspace.")
    if character.archived_at is not None:
        raise DomainError("This character is archived; restore it before drafting.", field="character")
    post = Post(workspace_id=require_id(member.workspace), character_id=require_id(character),
                author_id=member.user.id, status=PostStatus.DRAFT, bible_version=character.current_version)
    session.add(post)
    session.flush()
    for position, text in enumerate(draft.parts):
        session.add(PostPart(post_id=require_id(post), position=position, text=text))
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


def parts_of(session: Session, post: Post) -> list[PostPart]:
    """Return a post's parts in thread order."""
    return list(session.exec(select(PostPart).where(PostPart.post_id == post.id).order_by(col(PostPart.position))))


def first_texts(session: Session, posts: list[Post]) -> dict[int, str]:
    """Return each post's first part text, keyed by post id, in one query."""
    ids = [require_id(post) for post in posts]
    if not ids:
        return {}
    rows = session.exec(select(PostPart.post_id, PostPart.text)
                        .where(col(PostPart.post_id).in_(ids), PostPart.position == 0)).all()
    return dict(rows)


def get_post(session: Session, workspace: Workspace, post_id: int) -> Post:
    """Return a post of this workspace or raise NotFound."""
    post = session.get(Post, post_id)
    if post is None or post.workspace_id != workspace.id:
        raise NotFound("No such post in this workspace.")
    return post
