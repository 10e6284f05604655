"""Posts: list (filtered, paged), create, read, replace or change (with a version check), delete drafts, comments."""

import base64
import binascii

from flask import Response, make_response

from characters.bibles.bible import get_character
from characters.core.errors import DomainError
from characters.core.models import Post, PostStatus, require_id
from characters.posting.posts import (
    PartInput,
    PostContent,
    add_comment,
    create_draft,
    deliveries_of,
    get_post,
    history_of,
    page_posts,
    parts_of,
    process_post_image,
)
from characters.posting.workflow import cancel_post, save_post
from web.api import bp
from web.api.auth import api_member
from web.api.errors import ApiError
from web.api.present import post_out, post_summaries
from web.api.schemas import VersionHeaders
from web.api.schemas_posts import (
    CommentIn,
    CommentList,
    CommentOut,
    HistoryItem,
    HistoryOut,
    PartIn,
    PostCreate,
    PostListQuery,
    PostOut,
    PostPage,
    PostPatch,
    PostUpdate,
)
from web.api.spec import operation
from web.api.versions import etag, expected_version
from web.database import get_session, unit_of_work

TAG = "posts"


def post_response(post: Post, status: int = 200) -> Response:
    """Return the post as JSON with its version as the ETag."""
    response = make_response(post_out(get_session(), api_member(), post).model_dump(mode="json"), status)
    response.headers["ETag"] = etag(post.version)
    return response


def _part_input(part: PartIn) -> PartInput:
    image, mime = None, None
    if part.image_base64:
        try:
            raw = base64.b64decode(part.image_base64, validate=True)
        except (binascii.Error, ValueError):
            raise DomainError("The image is not valid base64.", field="image_base64") from None
        image, mime = process_post_image(raw)
    return PartInput(text=part.text, image=image, image_mime=mime, image_alt=part.image_alt,
                     keep_image_of=part.keep_image_of)


def _content(parts: list[PartIn], channel_ids: list[int] | None, campaign_id: int | None) -> PostContent:
    return PostContent(parts=[_part_input(part) for part in parts], channel_ids=channel_ids, campaign_id=campaign_id)


@bp.get("/posts")
@operation(TAG, PostPage)
def list_posts(query: PostListQuery) -> PostPage:
    """List posts newest first, filtered by status, character, campaign and due time, a page at a time."""
    db = get_session()
    workspace = api_member().workspace
    character = get_character(db, workspace, query.character) if query.character else None
    page = page_posts(db, workspace, status=query.status, character=character, campaign_id=query.campaign_id,
                      due_from=query.due_from, due_to=query.due_to, cursor=query.cursor, limit=query.limit)
    return PostPage(items=post_summaries(db, page.rows), next_cursor=page.next_cursor)


@bp.post("/posts")
@operation(TAG, PostOut, status=201, writes=True)
def create_post(json: PostCreate) -> Response:
    """Save a new draft for a character (its own feed unless channels are given)."""
    member = api_member()
    with unit_of_work() as db:
        character = get_character(db, member.workspace, json.character)
        post = create_draft(session=db, member=member, character=character,
                            content=_content(json.parts, json.channel_ids, json.campaign_id))
    return post_response(post, 201)


@bp.get("/posts/<int:post_id>")
@operation(TAG, PostOut)
def get_one_post(post_id: int) -> Response:
    """Return one post with its parts, deliveries and check; the ETag is its version."""
    return post_response(get_post(get_session(), api_member().workspace, post_id))


@bp.put("/posts/<int:post_id>")
@operation(TAG, PostOut, writes=True, errors=[428])
def replace_post(post_id: int, json: PostUpdate, headers: VersionHeaders) -> Response:
    """Save new content as the next version; an approved post goes back to review and off the schedule."""
    version = expected_version(json.version, headers)
    return _save(post_id, version, _content(json.parts, json.channel_ids, json.campaign_id))


@bp.patch("/posts/<int:post_id>")
@operation(TAG, PostOut, writes=True, errors=[428])
def update_post(post_id: int, json: PostPatch, headers: VersionHeaders) -> Response:
    """Change some of the content (parts, channels, campaign) as the next version; the rest stays."""
    version = expected_version(json.version, headers)
    db = get_session()
    post = get_post(db, api_member().workspace, post_id)
    given = json.model_fields_set
    parts = ([_part_input(part) for part in json.parts] if json.parts is not None else
             [PartInput(text=part.text, image_alt=part.image_alt or "",
                        keep_image_of=require_id(part) if part.image is not None else None)
              for part in parts_of(db, post)])
    channel_ids = (json.channel_ids if "channel_ids" in given else
                   [delivery.channel_id for delivery in deliveries_of(db, post) if delivery.channel_id is not None])
    campaign_id = json.campaign_id if "campaign_id" in given else post.campaign_id
    return _save(post_id, version, PostContent(parts=parts, channel_ids=channel_ids, campaign_id=campaign_id))


def _save(post_id: int, version: int, content: PostContent) -> Response:
    member = api_member()
    with unit_of_work() as db:
        post = get_post(db, member.workspace, post_id)
        save_post(session=db, member=member, post=post, expected_version=version, content=content)
    return post_response(post)


@bp.delete("/posts/<int:post_id>")
@operation(TAG, None, status=204, writes=True, errors=[428])
def delete_post(post_id: int, headers: VersionHeaders) -> tuple[str, int]:
    """Delete a draft (it is cancelled, its history kept); anything further along must be cancelled instead."""
    member = api_member()
    version = expected_version(None, headers)
    with unit_of_work() as db:
        post = get_post(db, member.workspace, post_id)
        if post.status != PostStatus.DRAFT:
            raise ApiError(409, f"Only drafts can be deleted; this post is {post.status.replace('_', ' ')}. "
                                "Cancel it instead (POST /posts/{id}/cancel).", code="invalid_state")
        cancel_post(session=db, member=member, post=post, expected_version=version, reason="Deleted through the API.")
    return "", 204


@bp.get("/posts/<int:post_id>/comments")
@operation(TAG, CommentList)
def list_comments(post_id: int) -> CommentList:
    """List the post's discussion, oldest first."""
    entries = history_of(get_session(), get_post(get_session(), api_member().workspace, post_id))
    return CommentList(items=[CommentOut(id=require_id(entry.comment), author=entry.who, body=entry.comment.body,
                                         created_at=entry.comment.created_at)
                              for entry in entries if entry.comment is not None])


@bp.post("/posts/<int:post_id>/comments")
@operation(TAG, CommentOut, status=201, writes=True)
def add_post_comment(post_id: int, json: CommentIn) -> tuple[CommentOut, int]:
    """Add a comment to the post's discussion."""
    member = api_member()
    with unit_of_work() as db:
        comment = add_comment(session=db, member=member, post=get_post(db, member.workspace, post_id), body=json.body)
    return CommentOut(id=require_id(comment), author=member.user.display_name, body=comment.body,
                      created_at=comment.created_at), 201


@bp.get("/posts/<int:post_id>/history")
@operation(TAG, HistoryOut)
def post_history(post_id: int) -> HistoryOut:
    """Return the post's revisions (with diffs), comments and audit events, oldest first."""
    entries = history_of(get_session(), get_post(get_session(), api_member().workspace, post_id))
    return HistoryOut(items=[HistoryItem(
        at=entry.at, kind=entry.kind, who=entry.who,
        version=entry.revision.version if entry.revision else None, diff=entry.diff,
        body=entry.comment.body if entry.comment else None,
        action=entry.event.action if entry.event else None,
        from_status=entry.event.from_status if entry.event else None,
        to_status=entry.event.to_status if entry.event else None,
        reason=entry.event.reason if entry.event else None,
        details=entry.event.details if entry.event else None) for entry in entries])
