"""Posts: their content (thread parts, images, channels), lookups and history, always inside one workspace."""

import difflib
import io
from dataclasses import dataclass
from datetime import datetime

from PIL import Image, ImageOps
from pydantic import BaseModel, Field, field_validator, model_validator
from sqlalchemy import exists as sa_exists
from sqlalchemy import func
from sqlalchemy import select as sa_select
from sqlmodel import Session, col, delete, select

from characters.accounts.workspaces import Action, Member
from characters.bibles.cards.images import ImageProblem, decode_image, sniff_image
from characters.core.errors import DomainError, NotFound
from characters.core.models import (
    AuditEvent,
    Campaign,
    Channel,
    ChannelKind,
    Character,
    Comment,
    Delivery,
    DeliveryStatus,
    Post,
    PostPart,
    PostRevision,
    PostStatus,
    User,
    Workspace,
    require_id,
)
from characters.publishing.channels import channels_of, ensure_feed_channel

MAX_POST_CHARS = 20_000
MAX_THREAD_PARTS = 50
MAX_ALT_CHARS = 2_000
MAX_IMAGE_BYTES = 5 * 1024 * 1024
MAX_IMAGE_SIDE = 2048
IMAGE_FORMATS = {"PNG": "image/png", "JPEG": "image/jpeg", "WEBP": "image/webp"}

# Statuses a person may still change the text of; "publishing" and later belong to the scheduler.
EDITABLE = frozenset({PostStatus.DRAFT, PostStatus.IN_REVIEW, PostStatus.APPROVED, PostStatus.FAILED,
                      PostStatus.MISSED})
LOCKED = frozenset({PostStatus.PUBLISHING, PostStatus.PUBLISHED, PostStatus.UNCONFIRMED})
PLATFORM_OF_KIND = {ChannelKind.BLUESKY: "bluesky", ChannelKind.MASTODON: "mastodon"}


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


class PartInput(BaseModel):
    """One thread part as a form sends it: text, and an image that is new, kept from a part, or none."""

    text: str = Field(default="", max_length=MAX_POST_CHARS)
    image: bytes | None = None
    image_mime: str | None = None
    image_alt: str = Field(default="", max_length=MAX_ALT_CHARS)
    keep_image_of: int | None = None  # the id of this post's part whose image stays

    @model_validator(mode="after")
    def _alt_with_image(self) -> "PartInput":
        has_image = self.image is not None or self.keep_image_of is not None
        if has_image and not self.image_alt.strip():
            raise ValueError("describe the image in its alt text, for people who cannot see it")
        return self


class PostContent(BaseModel):
    """Everything a writer edits on a post: the parts, the channels and the campaign."""

    parts: list[PartInput] = Field(min_length=1, max_length=MAX_THREAD_PARTS)
    channel_ids: list[int] | None = None  # None: the character's own feed
    campaign_id: int | None = None

    @classmethod
    def of_texts(cls, texts: list[str], **fields: object) -> "PostContent":
        """Return content made of plain text parts."""
        return cls.model_validate({"parts": [{"text": text} for text in texts], **fields})


def process_post_image(raw: bytes) -> tuple[bytes, str]:
    """Check an uploaded PNG/JPEG/WebP (at most 5 MB) and re-encode it without metadata; return (bytes, mime)."""
    if not raw:
        raise DomainError("The image file is empty.", field="image")
    if len(raw) > MAX_IMAGE_BYTES:
        raise DomainError(f"The image is {len(raw) / 1024 / 1024:.1f} MB; the limit is 5 MB.", field="image")
    fmt = sniff_image(raw)
    if fmt is None:
        raise DomainError("Images must be PNG, JPEG or WebP.", field="image")
    try:
        image = ImageOps.exif_transpose(decode_image(raw, [fmt]))
        image.thumbnail((MAX_IMAGE_SIDE, MAX_IMAGE_SIDE), Image.Resampling.LANCZOS)
        out = io.BytesIO()
        if fmt == "JPEG":
            image.convert("RGB").save(out, format="JPEG", quality=88, optimize=True)
        else:
            has_alpha = "A" in image.getbands() or "transparency" in image.info
            image.convert("RGBA" if has_alpha else "RGB").save(out, format=fmt, **({"lossless": False,
                                                                                   "quality": 88}
                                                                                  if fmt == "WEBP" else {}))
    except ImageProblem as error:
        raise DomainError(f"This image cannot be used: {error}.", field="image") from error
    except Exception as error:  # Pillow raises many types on odd but decodable files
        raise DomainError(f"This image cannot be used ({error.__class__.__name__}).", field="image") from error
    return out.getvalue(), IMAGE_FORMATS[fmt]


def create_draft(*, session: Session, member: Member, character: Character, draft: PostDraft | None = None,
                 content: PostContent | None = None) -> Post:
    """Save a new draft for `character` by the current member (with its channels and first revision)."""
    member.require(Action.DRAFT)
    if character.workspace_id != member.workspace.id:
        raise NotFound("No such character in this workspace.")
    if character.archived_at is not None:
        raise DomainError("This character is archived; restore it before drafting.", field="character")
    if content is None:
        content = PostContent.of_texts(draft.parts if draft is not None else [""])
    campaign_id = checked_campaign_id(session, member.workspace, content.campaign_id)
    post = Post(workspace_id=require_id(member.workspace), character_id=require_id(character),
                author_id=member.user.id, status=PostStatus.DRAFT, bible_version=character.current_version,
                campaign_id=campaign_id)
    session.add(post)
    session.flush()
    write_parts(session, post, content.parts, previous=[])
    set_channels(session, post, character, content.channel_ids)
    add_revision(session, post, member.user)
    return post


def checked_campaign_id(session: Session, workspace: Workspace, campaign_id: int | None) -> int | None:
    """Return `campaign_id` if it is a campaign of this workspace (or None); refuse others."""
    if campaign_id is None:
        return None
    campaign = session.get(Campaign, campaign_id)
    if campaign is None or campaign.workspace_id != workspace.id:
        raise DomainError("Pick one of this workspace's campaigns.", field="campaign")
    return campaign_id


def write_parts(session: Session, post: Post, parts: list[PartInput], previous: list[PostPart]) -> None:
    """Replace the post's parts with `parts`, keeping images the form asked to keep."""
    kept = {require_id(part): part for part in previous}
    rows = []
    for position, part in enumerate(parts):
        row = PostPart(post_id=require_id(post), position=position, text=part.text,
                       image_alt=part.image_alt.strip() or None)
        if part.image is not None:
            row.image, row.image_mime = part.image, part.image_mime
        elif part.keep_image_of is not None:
            source = kept.get(part.keep_image_of)
            if source is None or source.image is None:
                raise DomainError(f"Part {position + 1}: the image to keep is gone; upload it again.",
                                  field="parts")
            row.image, row.image_mime = source.image, source.image_mime
        else:
            row.image_alt = None
        rows.append(row)
    # Delete before inserting: (post_id, position) is unique.
    session.execute(delete(PostPart).where(col(PostPart.post_id) == post.id))
    session.flush()
    session.add_all(rows)
    session.flush()


def set_channels(session: Session, post: Post, character: Character, channel_ids: list[int] | None) -> None:
    """Make the post's deliveries match the chosen channels; only still-pending deliveries are removed."""
    wanted = _valid_channels(session, character, channel_ids)
    existing = {delivery.channel_id: delivery for delivery in deliveries_of(session, post)}
    for channel_id, delivery in existing.items():
        if channel_id not in wanted and delivery.status == DeliveryStatus.PENDING:
            session.delete(delivery)
    for channel_id in wanted:
        if channel_id not in existing:
            session.add(Delivery(post_id=require_id(post), channel_id=channel_id, status=DeliveryStatus.PENDING))
    session.flush()


def _valid_channels(session: Session, character: Character, channel_ids: list[int] | None) -> list[int]:
    if not channel_ids:
        return [require_id(ensure_feed_channel(session, character))]
    allowed = {require_id(channel) for channel in channels_of(session, character)}
    unknown = [channel_id for channel_id in channel_ids if channel_id not in allowed]
    if unknown:
        raise DomainError(f"Pick channels of {character.name} only.", field="channels")
    return list(dict.fromkeys(channel_ids))


def add_revision(session: Session, post: Post, editor: User | None) -> PostRevision:
    """Record the post's current text as the revision of its current version."""
    texts = [part.text for part in parts_of(session, post)]
    revision = PostRevision(post_id=require_id(post), version=post.version, parts=texts,
                            edited_by_id=editor.id if editor else None)
    session.add(revision)
    session.flush()
    return revision


@dataclass(frozen=True)
class PostPage:
    """One page of posts with their characters, newest first; `next_cursor` pages on (None: this is the last)."""

    rows: list[tuple[Post, Character]]
    next_cursor: int | None


def page_posts(session: Session, workspace: Workspace, *, status: PostStatus | None = None,
               character: Character | None = None, campaign_id: int | None = None,
               due_from: datetime | None = None, due_to: datetime | None = None, cursor: int | None = None,
               text: str | None = None, channel_kind: ChannelKind | None = None, limit: int = 50) -> PostPage:
    """Return one page of the workspace's posts, newest (highest id) first, after `cursor` (a post id).

    Keyset paging on the unique id: a page stays the same while posts are added, edited or change status.
    `text` finds posts with it in any part (case-insensitive); `channel_kind` posts going to such a channel.
    """
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
    if text:
        pattern = "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        # Checked post by post while walking the workspace's posts newest first, so a page of a common word stops
        # after a few thousand parts (an IN list matched every part of the workspace first: 90 ms at 100k posts).
        query = query.where(sa_exists().where(col(PostPart.post_id) == col(Post.id),
                                              col(PostPart.text).ilike(pattern, escape="\\")))
    if channel_kind is not None:
        query = query.where(col(Post.id).in_(select(Delivery.post_id)
                                             .join(Channel, col(Channel.id) == col(Delivery.channel_id))
                                             .where(Channel.kind == channel_kind)))
    if cursor is not None:
        query = query.where(col(Post.id) < cursor)
    rows = [(post, owner) for post, owner in session.exec(query.order_by(col(Post.id).desc()).limit(limit + 1))]
    return PostPage(rows=rows[:limit], next_cursor=rows[limit - 1][0].id if len(rows) > limit else None)


def list_posts(session: Session, workspace: Workspace, *, character: Character | None = None,
               status: PostStatus | None = None, campaign_id: int | None = None,
               limit: int = 200) -> list[tuple[Post, Character]]:
    """Return the first page of the workspace's posts with their characters, newest first (see page_posts)."""
    return page_posts(session, workspace, character=character, status=status, campaign_id=campaign_id,
                      limit=limit).rows


def status_counts(session: Session, workspace: Workspace) -> dict[PostStatus, int]:
    """Return how many of the workspace's posts are in each status (every status, zeros included)."""
    # One count per status, each an index-only range of ix_post_workspace_status_due: PostgreSQL grouped every post
    # of the workspace by a sequential scan and a hash (38 ms at 100,000 posts; 16 ms this way).
    statuses = list(PostStatus)
    row = session.exec(select(*(
        select(func.count()).where(Post.workspace_id == workspace.id, Post.status == status).scalar_subquery()
        .label(f"n_{number}") for number, status in enumerate(statuses)))).one()
    return {status: int(count) for status, count in zip(statuses, row, strict=True)}


def parts_of(session: Session, post: Post) -> list[PostPart]:
    """Return a post's parts in thread order."""
    return list(session.exec(select(PostPart).where(PostPart.post_id == post.id).order_by(col(PostPart.position))))


def parts_by_post(session: Session, posts: list[Post]) -> dict[int, list[PostPart]]:
    """Return each post's parts in thread order, keyed by post id, in one query."""
    parts: dict[int, list[PostPart]] = {require_id(post): [] for post in posts}
    if parts:
        for part in session.exec(select(PostPart).where(col(PostPart.post_id).in_(list(parts)))
                                 .order_by(col(PostPart.post_id), col(PostPart.position))):
            parts[part.post_id].append(part)
    return parts


def first_texts(session: Session, posts: list[Post]) -> dict[int, str]:
    """Return each post's first part text, keyed by post id, in one query."""
    ids = [require_id(post) for post in posts]
    if not ids:
        return {}
    rows = session.exec(select(PostPart.post_id, PostPart.text)
                        .where(col(PostPart.post_id).in_(ids), PostPart.position == 0)).all()
    return dict(rows)


def part_markers(session: Session, posts: list[Post]) -> dict[int, tuple[int, bool]]:
    """Return, per post id, how many parts it has and whether any carries an image, in one query."""
    ids = [require_id(post) for post in posts]
    if not ids:
        return {}
    rows = session.execute(sa_select(col(PostPart.post_id), func.count(), func.count(col(PostPart.image_mime)))
                           .where(col(PostPart.post_id).in_(ids)).group_by(col(PostPart.post_id))).all()
    return {post_id: (int(parts), bool(images)) for post_id, parts, images in rows}


def get_post(session: Session, workspace: Workspace, post_id: int) -> Post:
    """Return a post of this workspace or raise NotFound."""
    post = session.get(Post, post_id)
    if post is None or post.workspace_id != workspace.id:
        raise NotFound("No such post in this workspace.")
    return post


def get_part(session: Session, workspace: Workspace, post_id: int, part_id: int) -> PostPart:
    """Return one part of a post of this workspace or raise NotFound."""
    get_post(session, workspace, post_id)
    part = session.get(PostPart, part_id)
    if part is None or part.post_id != post_id:
        raise NotFound("No such part.")
    return part


def deliveries_of(session: Session, post: Post) -> list[Delivery]:
    """Return the post's deliveries, one per channel."""
    return list(session.exec(select(Delivery).where(Delivery.post_id == post.id).order_by(col(Delivery.id))))


def deliveries_with_channels(session: Session, post: Post) -> list[tuple[Delivery, Channel | None]]:
    """Return the post's deliveries with their channels (None when the channel was deleted)."""
    rows = session.exec(select(Delivery, Channel)
                        .join(Channel, col(Channel.id) == col(Delivery.channel_id), isouter=True)
                        .where(Delivery.post_id == post.id).order_by(col(Delivery.id))).all()
    return [(delivery, channel) for delivery, channel in rows]


def platforms_of(session: Session, post: Post) -> list[str | None]:
    """Return the networks whose length rules apply to the post (None stands for "no network limit")."""
    kinds = session.exec(select(Channel.kind).join(Delivery, col(Delivery.channel_id) == col(Channel.id))
                         .where(Delivery.post_id == post.id)).all()
    return platforms_for_kinds([ChannelKind(kind) for kind in kinds])


def platforms_for_kinds(kinds: list[ChannelKind]) -> list[str | None]:
    """Return the distinct checker platforms for channel kinds, or [None] when none has a limit."""
    platforms: list[str | None] = list(dict.fromkeys(PLATFORM_OF_KIND[k] for k in kinds if k in PLATFORM_OF_KIND))
    return platforms or [None]


@dataclass(frozen=True)
class HistoryEntry:
    """One line of a post's history: a revision, a comment or an audit event, with who did it."""

    at: datetime
    kind: str  # "revision", "comment" or "event"
    who: str
    revision: PostRevision | None = None
    diff: list[str] | None = None
    comment: Comment | None = None
    event: AuditEvent | None = None


def history_of(session: Session, post: Post) -> list[HistoryEntry]:
    """Return the post's revisions (with diffs), comments and audit events, oldest first."""
    revisions = list(session.exec(select(PostRevision).where(PostRevision.post_id == post.id)
                                  .order_by(col(PostRevision.version), col(PostRevision.id))))
    comments = list(session.exec(select(Comment).where(Comment.post_id == post.id)))
    events = list(session.exec(select(AuditEvent).where(AuditEvent.post_id == post.id)))
    names = user_names(session, {r.edited_by_id for r in revisions} | {c.author_id for c in comments}
                       | {e.actor_id for e in events})
    entries: list[HistoryEntry] = []
    previous: list[str] = []
    for revision in revisions:
        entries.append(HistoryEntry(revision.created_at, "revision", names.get(revision.edited_by_id, "Someone"),
                                    revision=revision, diff=diff_parts(previous, revision.parts)))
        previous = revision.parts
    entries += [HistoryEntry(c.created_at, "comment", names.get(c.author_id, "Someone"), comment=c)
                for c in comments]
    entries += [HistoryEntry(e.created_at, "event", names.get(e.actor_id, "Greenroom"), event=e) for e in events]
    order = {"revision": 0, "event": 1, "comment": 2}
    return sorted(entries, key=lambda entry: (entry.at, order[entry.kind]))


def latest_editor(session: Session, post: Post) -> str:
    """Return the name of whoever saved the post's current version ("Someone" if unknown)."""
    revision = session.exec(select(PostRevision).where(PostRevision.post_id == post.id)
                            .order_by(col(PostRevision.version).desc(), col(PostRevision.id).desc())).first()
    editor_id = revision.edited_by_id if revision else post.author_id
    return user_names(session, {editor_id}).get(editor_id, "Someone")


def user_names(session: Session, ids: set[int | None]) -> dict[int | None, str]:
    """Return display names for the given user ids, in one query."""
    wanted = [user_id for user_id in ids if user_id is not None]
    if not wanted:
        return {}
    return {user.id: user.display_name for user in session.exec(select(User).where(col(User.id).in_(wanted)))}


def diff_parts(before: list[str], after: list[str]) -> list[str]:
    """Return a readable line diff of two thread texts (parts separated by a "— part N —" line)."""
    lines = difflib.unified_diff(_thread_lines(before), _thread_lines(after), lineterm="", n=2)
    return [line for line in list(lines)[2:] if not line.startswith("@@")]


def _thread_lines(parts: list[str]) -> list[str]:
    lines: list[str] = []
    for number, text in enumerate(parts, start=1):
        if len(parts) > 1:
            lines.append(f"— part {number} —")
        lines.extend(text.splitlines() or [""])
    return lines


def add_comment(*, session: Session, member: Member, post: Post, body: str) -> Comment:
    """Add a note to the post's discussion (anyone who may draft, and editors)."""
    member.require(Action.DRAFT)
    if post.workspace_id != member.workspace.id:
        raise NotFound("No such post in this workspace.")
    body = body.strip()
    if not body:
        raise DomainError("Write something first.", field="body")
    if len(body) > 5000:
        raise DomainError("Comments are at most 5,000 characters.", field="body")
    comment = Comment(post_id=require_id(post), author_id=member.user.id, body=body)
    session.add(comment)
    session.flush()
    return comment
