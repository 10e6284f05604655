"""The post lifecycle, enforced on the server: who may move a post from which status to which.

draft → in_review → approved (with a due time) → publishing → published | failed | unconfirmed;
reject sends a post back to draft, cancel ends it, editing an approved post sends it back to review.
Every transition is one conditional UPDATE (`WHERE id = … AND version = … AND status IN …`), so two
people (or a person and the scheduler) racing on the same post cannot both win, and a stale form
is refused instead of silently overwriting someone else's work.
"""

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import CursorResult, func, update
from sqlalchemy import select as sa_select
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session as OrmSession
from sqlalchemy.orm import object_session
from sqlmodel import Session, col, select

from characters.accounts.workspaces import Action, Member
from characters.audit.log import record_event
from characters.audit.notifications import moment, notify, post_label
from characters.bibles.bible import Bible, current_bible, current_bibles, list_characters
from characters.bibles.card_data import CardData
from characters.consistency import card_key, check_text
from characters.consistency.judge import LlmJudge
from characters.core.db import DatabaseBusy, immediate, is_busy
from characters.core.errors import Conflict, DomainError, NotFound, PermissionDenied
from characters.core.models import (
    AuditEvent,
    Character,
    Comment,
    Delivery,
    DeliveryStatus,
    Post,
    PostPart,
    PostRevision,
    PostStatus,
    RecurringRule,
    Scene,
    Workspace,
    require_id,
    utcnow,
)
from characters.posting.posts import (
    EDITABLE,
    LOCKED,
    PostContent,
    add_revision,
    checked_campaign_id,
    deliveries_of,
    parts_of,
    platforms_of,
    set_channels,
    write_parts,
)
from characters.publishing.channels import ensure_feed_channel

MAX_REASON_CHARS = 2000
RECENT_PUBLISHED = 50  # published parts a post is compared with by the copy guard
MAX_OTHER_CARDS = 20  # "sounds like X" compares with at most this many workspace characters
IN_FLIGHT = frozenset({DeliveryStatus.PUBLISHING, DeliveryStatus.PUBLISHED, DeliveryStatus.UNCONFIRMED})
_VERDICT_RANK = {"pass": 0, "warn": 1, "fail": 2}


@dataclass(frozen=True)
class PostCheck:
    """The consistency result of a whole post: every part on every target network, folded together."""

    score: int
    verdict: str
    findings: list[dict[str, Any]] = field(default_factory=list)

    @property
    def failed(self) -> bool:
        """Return True when any part fails a check."""
        return self.verdict == "fail"

    def to_dict(self) -> dict[str, Any]:
        """Return the result as plain JSON types."""
        return {"score": self.score, "verdict": self.verdict, "findings": self.findings}


class StaleVersion(Conflict):
    """Someone saved the post (or scene, or rule) after the form was loaded; carries the row as it is now."""

    def __init__(self, post: Any, expected: int) -> None:
        what = type(post).__name__.lower().replace("recurringrule", "rule")
        super().__init__(f"This {what} changed while you were working on it (you had version {expected}, "
                         f"it is now version {post.version}).", field="version")
        self.post = post
        self.expected = expected


class CheckFailed(DomainError):
    """The post fails the in-character check and nobody gave a reason to approve it anyway."""

    def __init__(self, check: PostCheck) -> None:
        super().__init__("This post fails the in-character check. Fix it, or give a written reason to "
                         "approve it anyway.", field="override_reason")
        self.check = check


def check_texts(session: Session, character: Character, texts: list[str], platforms: Iterable[str | None],
                card: CardData | None = None, judge: LlmJudge | None = None) -> PostCheck:
    """Check every part on every network and fold the results (lowest score, worst verdict)."""
    if card is None:
        bible = current_bible(session, character)
        card, cache_key = bible.card, bible.key  # names the version: no hashing of the card on every check
    else:
        cache_key = card_key(card)  # a card not saved as a version: its content names it
    others = _other_bibles(session, character)
    other_cards, other_keys = [other.card for other in others], [other.key for other in others]
    published = recent_published(session, character)  # a post must not repeat what already went out
    score, verdict = 100, "pass"
    findings: list[dict[str, Any]] = []
    seen: set[tuple[Any, ...]] = set()
    platforms = list(platforms)
    for number, text in enumerate(texts or [""], start=1):
        for index, platform in enumerate(platforms):
            # The judge reads the text, not the network: ask it once per part.
            result = check_text(card, text, platform, others=other_cards, cache_key=cache_key, other_keys=other_keys,
                                judge=judge if index == 0 else None, published=published)
            score = min(score, result.score)
            if _VERDICT_RANK[result.verdict] > _VERDICT_RANK[verdict]:
                verdict = result.verdict
            for finding in result.findings:
                item = finding.to_dict()
                key = (number, item["check"], item["message"], item["start"], item["end"])
                if key not in seen:
                    seen.add(key)
                    findings.append({**item, "part": number, "platform": platform})
    return PostCheck(score=score, verdict=verdict, findings=findings)


def recent_published(session: Session, character: Character, limit: int = RECENT_PUBLISHED) -> list[str]:
    """Return the text of the character's latest published post parts, newest first (one bounded query)."""
    return list(session.exec(
        select(PostPart.text)
        .join(Post, col(Post.id) == col(PostPart.post_id))
        .where(Post.character_id == character.id, Post.status == PostStatus.PUBLISHED)
        .order_by(col(Post.published_at).desc(), col(Post.id).desc())
        .limit(limit)
    ).all())


def _other_bibles(session: Session, character: Character) -> list[Bible]:
    """Return the current bibles of the workspace's other characters (at most MAX_OTHER_CARDS), in two queries."""
    workspace = session.get(Workspace, character.workspace_id)
    if workspace is None:
        return []
    others = [other for other in list_characters(session, workspace) if other.id != character.id][:MAX_OTHER_CARDS]
    bibles = current_bibles(session, others)
    return [bibles[require_id(other)] for other in others if require_id(other) in bibles]


def check_post(session: Session, post: Post, judge: LlmJudge | None = None) -> PostCheck:
    """Check the post's saved parts against its character's current bible, on each of its networks."""
    character = character_of(session, post)
    return check_texts(session, character, [part.text for part in parts_of(session, post)],
                       platforms_of(session, post), judge=judge)


def character_of(session: Session, post: Post) -> Character:
    """Return the post's character, or raise NotFound when it is gone."""
    character = session.get(Character, post.character_id)
    if character is None:
        raise NotFound("This post's character no longer exists.")
    return character


Versioned = Post | Scene | RecurringRule


def conditional_update(session: Session, post: Versioned, *, expected_version: int,
                       from_statuses: Iterable[PostStatus], verb: str, values: dict[str, Any]) -> None:
    """UPDATE the row only if it still has `expected_version` and one of `from_statuses`; refuse otherwise."""
    table = type(post)
    allowed = [status.value for status in from_statuses]
    statement = (update(table)
                 .where(col(table.id) == post.id, col(table.version) == expected_version,
                        col(table.status).in_(allowed))
                 .values(**values)
                 .execution_options(synchronize_session=False))
    if table is not RecurringRule:
        statement = statement.values(updated_at=utcnow())
    try:
        result = cast(CursorResult[Any], session.execute(statement))
    except OperationalError as error:
        # A deferred SQLite transaction cannot write while, or once, another writer wrote after its first read
        # (writing web requests begin IMMEDIATE, so only other callers get here). Refuse only if that writer
        # changed what the WHERE checks; otherwise the database was merely busy, and a conflict would be false.
        if not is_busy(error):
            raise
        version, status = _settled_row(session, post)
        if version != expected_version:
            raise Conflict("Someone else saved a newer version meanwhile; nothing was changed. Reload and try again.",
                           field="version") from error
        if status in allowed:
            raise DatabaseBusy from error
        raise DomainError(refusal(status, verb, _noun(post))) from error
    session.refresh(post)
    if result.rowcount == 1:
        return
    if post.version != expected_version:
        raise StaleVersion(post, expected_version)
    raise DomainError(refusal(post.status, verb, _noun(post)))


def _noun(item: Versioned) -> str:
    """Name the kind of item in a refusal: post, scene or rule."""
    return type(item).__name__.lower().replace("recurringrule", "rule")


def _settled_row(session: Session, item: Versioned) -> tuple[int, str]:
    """Return the row's version and status once the other writer is done: read under the write lock, apart."""
    table = type(item)
    with immediate(session.get_bind().engine).begin() as connection:
        version, status = connection.execute(select(table.version, table.status).where(col(table.id) == item.id)).one()
    return version, status


def refusal(status: PostStatus | str, verb: str, what: str = "post") -> str:
    """Explain why a post (scene, rule) in `status` cannot be `verb` (e.g. "approved")."""
    status = PostStatus(status)
    if status in LOCKED:
        return (f"This {what} is already {status.value.replace('_', ' ')}; it can no longer be edited, "
                "rescheduled or cancelled.")
    if status is PostStatus.CANCELLED:
        return f"This {what} was cancelled; it cannot be changed any more."
    return f"A {what} that is {status.value.replace('_', ' ')} cannot be {verb}."


def edited_posts(session: OrmSession, member: Member, posts: Iterable[Post]) -> set[int]:
    """Return the ids of `posts` whose text this member wrote or changed (saved any revision of), in one query."""
    ids = [post.id for post in posts if post.id is not None]
    if not ids:
        return set()
    return set(session.scalars(sa_select(col(PostRevision.post_id)).distinct().where(
        col(PostRevision.post_id).in_(ids), col(PostRevision.edited_by_id) == member.user.id)))


def _hand_in(member: Member, items: tuple[Versioned, ...], edited: set[int] | None) -> str | None:
    """Say how this member had a hand in `items` ("wrote or submitted", "changed"), or None if they did not."""
    # Every saved revision counts, not only the latest: whoever changed any version shaped the text there now.
    me = member.user.id
    if any(me in {getattr(item, "author_id", None), getattr(item, "submitted_by_id", None)} for item in items):
        return "wrote or submitted"
    posts = [item for item in items if isinstance(item, Post)]
    if edited is None and posts:  # a list passes `edited` read once for all; one post reads it here, one query
        session = object_session(posts[0])
        if session is None:
            raise RuntimeError("The two-person rule reads a post's revisions through its session; this post has none.")
        edited = edited_posts(session, member, posts)
    return "changed" if any(post.id in (edited or set()) for post in posts) else None


def own_work(member: Member, *items: Versioned, edited: set[int] | None = None) -> bool:
    """Return whether the two-person rule bars this member from approving `items`: they wrote, submitted or edited."""
    return member.workspace.two_person_rule and _hand_in(member, items, edited) is not None


def require_reviewer(member: Member, item: Versioned, *lines: Post) -> None:
    """Refuse approval without the right, or by anyone who wrote, submitted or changed the item or its lines."""
    member.require(Action.APPROVE)
    if not member.workspace.two_person_rule:
        return
    hand = _hand_in(member, (item, *lines), None)
    if hand == "changed":
        raise PermissionDenied(f"You changed this {_noun(item)}'s text, and this workspace has the two-person rule: "
                               "another editor must approve it.")
    if hand:
        raise PermissionDenied("You wrote or submitted this, and this workspace has the two-person rule: "
                               "another editor must approve it.")


def ensure_not_in_flight(session: Session, post: Post) -> None:
    """Refuse when the scheduler has claimed or published any of the post's deliveries."""
    statuses = {delivery.status for delivery in deliveries_of(session, post)}
    if statuses & IN_FLIGHT:
        raise Conflict("The scheduler has already started publishing this post; it can no longer be changed.")


def schedule_deliveries(session: Session, post: Post, due_at: datetime) -> None:
    """Give every not-yet-published delivery the due time and this version's idempotency key."""
    deliveries = deliveries_of(session, post)
    if not deliveries:
        character = character_of(session, post)
        feed = ensure_feed_channel(session, character)
        deliveries = [Delivery(post_id=require_id(post), channel_id=require_id(feed))]
    for delivery in deliveries:
        if delivery.status in IN_FLIGHT:
            continue
        delivery.status = DeliveryStatus.PENDING
        delivery.due_at = due_at
        delivery.idempotency_key = f"gr-{post.id}-v{post.version}-c{delivery.channel_id}"
        delivery.attempts = 0
        delivery.next_attempt_at = None
        delivery.last_error = None
        session.add(delivery)
    session.flush()


def _pending_deliveries(post_id: int) -> Any:
    return update(Delivery).where(col(Delivery.post_id) == post_id,
                                    col(Delivery.status) == DeliveryStatus.PENDING.value)


def unschedule_deliveries(session: Session, post: Post) -> None:
    """Take the post's pending deliveries off the clock (the scheduler claims only due_at <= now)."""
    session.execute(_pending_deliveries(require_id(post)).values(due_at=None)
                    .execution_options(synchronize_session=False))


def cancel_deliveries(session: Session, post: Post) -> None:
    """Cancel the post's pending deliveries."""
    session.execute(_pending_deliveries(require_id(post)).values(status=DeliveryStatus.CANCELLED.value)
                    .execution_options(synchronize_session=False))


def move_deliveries(session: Session, post: Post, due_at: datetime) -> None:
    """Move the post's pending deliveries to a new due time."""
    session.execute(_pending_deliveries(require_id(post)).values(due_at=due_at)
                    .execution_options(synchronize_session=False))


def _not_scene_part(post: Post, what: str) -> None:
    if post.scene_id is not None:
        raise DomainError(f"This post is part of a scene; {what} the scene as a whole.")


def _clean_reason(reason: str | None, what: str, *, required: bool) -> str | None:
    text = (reason or "").strip()
    if required and not text:
        raise DomainError(f"Write {what}.", field="reason")
    if len(text) > MAX_REASON_CHARS:
        raise DomainError(f"Keep it under {MAX_REASON_CHARS:,} characters.", field="reason")
    return text or None


def save_post(*, session: Session, member: Member, post: Post, expected_version: int, content: PostContent) -> Post:
    """Save new content as the next version; an approved post goes back to review and off the clock."""
    member.require(Action.DRAFT)
    _not_scene_part(post, "edit")
    character = character_of(session, post)
    previous = parts_of(session, post)
    old_status = PostStatus(post.status)
    leaving_schedule = old_status in (PostStatus.APPROVED, PostStatus.FAILED, PostStatus.MISSED)
    values: dict[str, Any] = {
        "version": col(Post.version) + 1,
        "campaign_id": checked_campaign_id(session, member.workspace, content.campaign_id),
    }
    if leaving_schedule:
        values.update(status=PostStatus.IN_REVIEW.value, due_at=None, approved_by_id=None, approved_at=None,
                      submitted_by_id=member.user.id)
    conditional_update(session, post, expected_version=expected_version, from_statuses=EDITABLE, verb="edited",
                       values=values)
    if leaving_schedule:
        ensure_not_in_flight(session, post)
        unschedule_deliveries(session, post)
    write_parts(session, post, content.parts, previous)
    if post.conversation_id is None:  # a reply to the audience goes only where the conversation is
        set_channels(session, post, character, content.channel_ids)
    add_revision(session, post, member.user)
    new_status = PostStatus(post.status)
    if new_status is PostStatus.IN_REVIEW:  # the inbox shows the check of the text that is there now
        check = check_post(session, post)
        post.check_score, post.check_verdict, post.check_findings = check.score, check.verdict, check.findings
        session.add(post)
        session.flush()
    record_event(session, workspace_id=post.workspace_id, actor=member.user, action="edit", post=post,
                 from_status=old_status.value, to_status=new_status.value,
                 reason="Edited after approval: back to review." if leaving_schedule else None,
                 details={"version": post.version})
    return post


def submit_post(*, session: Session, member: Member, post: Post, expected_version: int,
                note: str | None = None, judge: LlmJudge | None = None) -> PostCheck:
    """Send a draft to review; its check result is stored so editors see it in the inbox."""
    member.require(Action.SUBMIT)
    _not_scene_part(post, "submit")
    texts = [part.text for part in parts_of(session, post)]
    empty = [str(number) for number, text in enumerate(texts, start=1) if not text.strip()]
    if empty:
        raise DomainError(f"Write something in part {', '.join(empty)} before submitting.", field="parts")
    check = check_post(session, post, judge)
    conditional_update(session, post, expected_version=expected_version, from_statuses=[PostStatus.DRAFT],
                       verb="submitted", values={
                           "status": PostStatus.IN_REVIEW.value, "submitted_by_id": member.user.id,
                           "check_score": check.score, "check_verdict": check.verdict,
                           "check_findings": check.findings})
    note = _clean_reason(note, "a note", required=False)
    if note:
        session.add(Comment(post_id=require_id(post), author_id=member.user.id, body=note))
    record_event(session, workspace_id=post.workspace_id, actor=member.user, action="submit", post=post,
                 from_status=PostStatus.DRAFT.value, to_status=PostStatus.IN_REVIEW.value, reason=note,
                 details={"score": check.score, "verdict": check.verdict})
    return check


def approve_post(*, session: Session, member: Member, post: Post, expected_version: int, due_at: datetime,
                 now: datetime | None = None, override_reason: str | None = None,
                 judge: LlmJudge | None = None) -> PostCheck:
    """Approve a post in review for `due_at` (in the future), recording the bible version and the check."""
    require_reviewer(member, post)
    _not_scene_part(post, "approve")
    if post.status != PostStatus.IN_REVIEW:
        raise DomainError(refusal(post.status, "approved"))
    require_future(due_at, now)
    check = check_post(session, post, judge)
    reason = _clean_reason(override_reason, "why this post may go out anyway", required=False)
    if check.failed and not reason:
        raise CheckFailed(check)
    apply_approval(session, member, post, expected_version=expected_version, due_at=due_at, check=check,
                   override_reason=reason if check.failed else None)
    return check


def require_future(due_at: datetime, now: datetime | None = None) -> None:
    """Refuse a due time that is not timezone-aware or not in the future."""
    if due_at.tzinfo is None:
        raise DomainError("The due time needs a time zone.", field="due_at")
    if due_at <= (now or utcnow()):
        raise DomainError("Pick a time in the future.", field="due_at")


def apply_approval(session: Session, member: Member, post: Post, *, expected_version: int, due_at: datetime,
                   check: PostCheck, override_reason: str | None) -> None:
    """Move one post from review to approved at `due_at` and put its deliveries on the clock."""
    character = character_of(session, post)
    conditional_update(session, post, expected_version=expected_version, from_statuses=[PostStatus.IN_REVIEW],
                       verb="approved", values={
                           "status": PostStatus.APPROVED.value, "due_at": due_at,
                           "bible_version": character.current_version, "check_score": check.score,
                           "check_verdict": check.verdict, "check_findings": check.findings,
                           "override_reason": override_reason, "approved_by_id": member.user.id,
                           "approved_at": utcnow()})
    ensure_not_in_flight(session, post)
    schedule_deliveries(session, post, due_at)
    record_event(session, workspace_id=post.workspace_id, actor=member.user, action="approve", post=post,
                 from_status=PostStatus.IN_REVIEW.value, to_status=PostStatus.APPROVED.value,
                 reason=override_reason, details={"due_at": due_at.isoformat(), "score": check.score,
                                                  "verdict": check.verdict, "bible_version": post.bible_version,
                                                  "override": override_reason is not None})
    if override_reason:
        record_event(session, workspace_id=post.workspace_id, actor=member.user, action="override", post=post,
                     reason=override_reason, details={"score": check.score})
    notify(session, user_id=post.author_id, workspace_id=post.workspace_id, post=post, actor=member.user,
           message=f"Approved: {label_of(session, post)} goes out {moment(due_at)}.")


def reject_post(*, session: Session, member: Member, post: Post, expected_version: int, comment: str) -> None:
    """Send a post in review back to draft with a comment saying why."""
    member.require(Action.APPROVE)
    _not_scene_part(post, "reject")
    reason = _clean_reason(comment, "what needs to change", required=True)
    conditional_update(session, post, expected_version=expected_version, from_statuses=[PostStatus.IN_REVIEW],
                       verb="rejected", values={"status": PostStatus.DRAFT.value})
    session.add(Comment(post_id=require_id(post), author_id=member.user.id, body=reason or ""))
    record_event(session, workspace_id=post.workspace_id, actor=member.user, action="reject", post=post,
                 from_status=PostStatus.IN_REVIEW.value, to_status=PostStatus.DRAFT.value, reason=reason)
    notify(session, user_id=post.author_id, workspace_id=post.workspace_id, post=post, actor=member.user,
           message=f"Changes requested on {label_of(session, post)}: {reason}")


CANCELLABLE = frozenset({PostStatus.DRAFT, PostStatus.IN_REVIEW, PostStatus.APPROVED, PostStatus.FAILED,
                         PostStatus.MISSED})


def cancel_post(*, session: Session, member: Member, post: Post, expected_version: int,
                reason: str | None = None) -> None:
    """Cancel a post and its pending deliveries; writers may cancel only their own unapproved posts."""
    _not_scene_part(post, "cancel")
    _require_canceller(member, post)
    old_status = post.status
    conditional_update(session, post, expected_version=expected_version, from_statuses=CANCELLABLE,
                       verb="cancelled", values={"status": PostStatus.CANCELLED.value, "due_at": None})
    ensure_not_in_flight(session, post)
    cancel_deliveries(session, post)
    record_event(session, workspace_id=post.workspace_id, actor=member.user, action="cancel", post=post,
                 from_status=old_status, to_status=PostStatus.CANCELLED.value,
                 reason=_clean_reason(reason, "a reason", required=False))


def _require_canceller(member: Member, post: Post) -> None:
    if member.can(Action.APPROVE):
        return
    member.require(Action.DRAFT)
    if post.author_id != member.user.id or post.status not in (PostStatus.DRAFT, PostStatus.IN_REVIEW):
        raise PermissionDenied("Writers can cancel only their own drafts and posts in review; ask an editor.")


def reschedule_post(*, session: Session, member: Member, post: Post, expected_version: int, due_at: datetime,
                    now: datetime | None = None) -> list[Post]:
    """Move an approved post (a scene part moves its whole scene) to a new future due time."""
    member.require(Action.SCHEDULE)
    if post.status != PostStatus.APPROVED:
        raise DomainError(refusal(post.status, "rescheduled"))
    require_future(due_at, now)
    old_due = post.due_at
    if old_due is None:
        raise DomainError("This post has no due time to move.")
    moving = [post] if post.scene_id is None else _scene_posts(session, post.scene_id)
    delta = due_at - old_due
    if post.scene_id is not None and min(p.due_at or due_at for p in moving) + delta <= (now or utcnow()):
        raise DomainError("That would move the scene's first line into the past.", field="due_at")
    for part in moving:
        version = expected_version if part.id == post.id else part.version
        new_due = (part.due_at or old_due) + delta
        conditional_update(session, part, expected_version=version, from_statuses=[PostStatus.APPROVED],
                           verb="rescheduled", values={"due_at": new_due})
        ensure_not_in_flight(session, part)
        move_deliveries(session, part, new_due)
    if post.scene_id is not None:
        _shift_scene_start(session, post.scene_id, delta)
    record_event(session, workspace_id=post.workspace_id, actor=member.user, action="reschedule", post=post,
                 from_status=PostStatus.APPROVED.value, to_status=PostStatus.APPROVED.value,
                 details={"from": old_due.isoformat(), "to": due_at.isoformat(), "posts": len(moving)})
    notify(session, user_id=post.author_id, workspace_id=post.workspace_id, post=post, actor=member.user,
           message=f"Moved: {label_of(session, post)} now goes out {moment(due_at)} (was {moment(old_due)}).")
    return moving


def label_of(session: Session, post: Post) -> str:
    """Name a post for a notification: its character and the start of its text."""
    parts = parts_of(session, post)
    return post_label(character_of(session, post).name, parts[0].text if parts else "")


@dataclass(frozen=True)
class ChangeRequest:
    """An editor sent the post back: who, when and what should change."""

    by_id: int | None
    at: datetime
    comment: str


# The events that move a post between people; the latest one says whose turn it is.
_TURNS = ("submit", "reject", "approve", "cancel", "reschedule")


def changes_requested(session: Session, post: Post) -> ChangeRequest | None:
    """Return the editor's request when the post is a draft because it was sent back (and not resubmitted)."""
    if post.status != PostStatus.DRAFT:
        return None
    last = session.exec(select(AuditEvent).where(AuditEvent.post_id == post.id, col(AuditEvent.action).in_(_TURNS))
                        .order_by(col(AuditEvent.id).desc())).first()
    if last is None or last.action != "reject":
        return None
    return ChangeRequest(last.actor_id, last.created_at, last.reason or "")


def changes_requested_count(session: Session, workspace: Workspace, author_id: int | None = None) -> int:
    """Return how many drafts were sent back and wait for their writer (one writer's, or everyone's)."""
    # Per candidate draft, its latest turn (one seek in ix_auditevent_post_id), not all the workspace's events.
    last_turn = (sa_select(col(AuditEvent.action)).where(col(AuditEvent.post_id) == col(Post.id),
                                                         col(AuditEvent.action).in_(_TURNS))
                 .order_by(col(AuditEvent.id).desc()).limit(1).scalar_subquery())
    # Only posts ever sent back are candidates: found through ix_auditevent_workspace_action_id, a few rows.
    rejected = sa_select(col(AuditEvent.post_id)).where(col(AuditEvent.workspace_id) == workspace.id,
                                                        col(AuditEvent.action) == "reject")
    query = (select(func.count()).select_from(Post)
             .where(col(Post.id).in_(rejected), Post.workspace_id == workspace.id, Post.status == PostStatus.DRAFT,
                    last_turn == "reject"))
    if author_id is not None:
        query = query.where(Post.author_id == author_id)
    return int(session.exec(query).one())


def submit_notes(session: Session, posts: list[Post]) -> dict[int, str]:
    """Return each post's note for the editor from its latest submission (posts without one are left out)."""
    ids = [require_id(post) for post in posts]
    if not ids:
        return {}
    events = session.exec(select(AuditEvent).where(col(AuditEvent.post_id).in_(ids), AuditEvent.action == "submit")
                          .order_by(col(AuditEvent.id))).all()
    notes = {event.post_id: event.reason for event in events}
    return {post_id: note for post_id, note in notes.items() if post_id is not None and note}


def _scene_posts(session: Session, scene_id: int) -> list[Post]:
    return list(session.exec(select(Post).where(Post.scene_id == scene_id).order_by(col(Post.scene_position))))


def _shift_scene_start(session: Session, scene_id: int, delta: timedelta) -> None:
    scene = session.get(Scene, scene_id)
    if scene is not None and scene.starts_at is not None:
        scene.starts_at = scene.starts_at + delta
        scene.updated_at = utcnow()
        session.add(scene)
        session.flush()


def allowed_actions(member: Member, post: Post, *, edited: set[int] | None = None) -> dict[str, bool]:
    """Return which buttons to offer this member on this post (the server re-checks every one)."""
    # A page listing many posts passes `edited` (`edited_posts` of them all): one query for the whole list.
    status = PostStatus(post.status)
    in_scene = post.scene_id is not None
    own = own_work(member, post, edited=edited)
    return {
        "edit": member.can(Action.DRAFT) and status in EDITABLE and not in_scene,
        "submit": member.can(Action.SUBMIT) and status is PostStatus.DRAFT and not in_scene,
        "approve": member.can(Action.APPROVE) and status is PostStatus.IN_REVIEW and not in_scene and not own,
        "reject": member.can(Action.APPROVE) and status is PostStatus.IN_REVIEW and not in_scene,
        "reschedule": member.can(Action.SCHEDULE) and status is PostStatus.APPROVED,
        "cancel": status in CANCELLABLE and not in_scene and (
            member.can(Action.APPROVE) or (member.can(Action.DRAFT) and post.author_id == member.user.id
                                           and status in (PostStatus.DRAFT, PostStatus.IN_REVIEW))),
        "comment": member.can(Action.DRAFT),
        "own": own,
    }



def posts_in_review(session: Session, workspace: Workspace, *, offset: int = 0, limit: int | None = None
                    ) -> list[tuple[Post, Character]]:
    """Return single posts waiting for review (scene lines are reviewed with their scene), oldest first."""
    rows = session.exec(select(Post, Character).join(Character, col(Character.id) == col(Post.character_id))
                        .where(Post.workspace_id == workspace.id, Post.status == PostStatus.IN_REVIEW,
                               col(Post.scene_id).is_(None))
                        .order_by(col(Post.updated_at), col(Post.id)).offset(offset).limit(limit)).all()
    return [(post, character) for post, character in rows]


def posts_in_review_count(session: Session, workspace: Workspace) -> int:
    """Return how many single posts wait for review."""
    return int(session.exec(select(func.count()).select_from(Post).where(
        Post.workspace_id == workspace.id, Post.status == PostStatus.IN_REVIEW, col(Post.scene_id).is_(None))).one())


def review_count(session: Session, workspace: Workspace) -> int:
    """Return how many posts and scenes wait for review."""
    scenes = session.exec(select(func.count()).select_from(Scene).where(
        Scene.workspace_id == workspace.id, Scene.status == PostStatus.IN_REVIEW)).one()
    return posts_in_review_count(session, workspace) + int(scenes)
