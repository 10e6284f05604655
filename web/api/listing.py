"""The post list's query: the filters of the web list plus a due-time range, paged by a keyset cursor.

It lives here, not in characters.posting.posts, because only the API pages (the web list shows the newest 200);
the cursor is the last id of a page, so pages stay stable while posts are added or change status.
"""

from datetime import datetime

from sqlmodel import Session, col, select

from characters.core.models import Character, Post, PostStatus, Workspace


def page_posts(session: Session, workspace: Workspace, *, status: PostStatus | None = None,
               character: Character | None = None, campaign_id: int | None = None,
               due_from: datetime | None = None, due_to: datetime | None = None, before_id: int | None = None,
               limit: int = 50) -> tuple[list[tuple[Post, Character]], int | None]:
    """Return one page of the workspace's posts (newest first) and the cursor of the next page (None: last)."""
    query = (select(Post, Character).join(Character, col(Character.id) == col(Post.character_id))
             .where(Post.workspace_id == workspace.id))
    if status is not None:
        query = query.where(Post.status == status)
    if character is not None:
        query = query.where(Post.character_id == character.id)
    if campaign_id is not None:
        query = query.where(Post.campaign_id == campaign_id)
    if due_from is not None:
        query = query.where(col(Post.due_at) >= due_from)
    if due_to is not None:
        query = query.where(col(Post.due_at) < due_to)
    if before_id is not None:
        query = query.where(col(Post.id) < before_id)
    rows = [(post, owner) for post, owner in session.exec(query.order_by(col(Post.id).desc()).limit(limit + 1))]
    next_cursor = rows[limit - 1][0].id if len(rows) > limit else None
    return rows[:limit], next_cursor
