"""Recurring (evergreen) posts: an interval or weekly rule in local time, reviewed once, materialized ahead.

A writer drafts a rule and submits it; an editor approves it (two-person rule as for posts). The scheduler
process calls `materialize_recurring(session, now, horizon)` on an interval: it turns each occurrence
within the horizon into an ordinary post with `occurrence_key = rr-<rule id>-<UTC ISO time>`, unique in the
table, so running it twice (or from two processes) creates nothing new.

Decision: posts of an approved rule come out **approved** (the text was reviewed with the rule), stamped
with the rule's approver and the current bible version. If the text now fails the in-character check (the
bible changed since the rule was approved), that occurrence comes out **in review** instead, for an editor.
"""

from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from typing import Literal

from pydantic import BaseModel, Field, field_validator, model_validator
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from characters.accounts.workspaces import Action, Member
from characters.audit.log import record_event
from characters.bibles.editing import parse_days
from characters.core.errors import DomainError, NotFound, PermissionDenied
from characters.core.models import (
    Character,
    Post,
    PostPart,
    PostStatus,
    RecurringRule,
    User,
    Workspace,
    require_id,
    utcnow,
)
from characters.posting.posts import MAX_POST_CHARS, MAX_THREAD_PARTS, add_revision, set_channels
from characters.posting.rhythm import is_zone, local_to_utc, parse_time, zone_named
from characters.posting.workflow import (
    CANCELLABLE,
    cancel_deliveries,
    check_texts,
    conditional_update,
    own_work,
    require_reviewer,
    schedule_deliveries,
)
from characters.publishing.channels import channels_of

DEFAULT_HORIZON = timedelta(days=14)
MIN_INTERVAL_MINUTES = 60
MAX_INTERVAL_MINUTES = 366 * 24 * 60
MAX_OCCURRENCES = 1000
MAX_SPAN = timedelta(days=5 * 366)  # occurrences are counted from the start; never walk further than this


class RuleInput(BaseModel):
    """A recurring rule as its form sends it."""

    character_id: int
    parts: list[str] = Field(min_length=1, max_length=MAX_THREAD_PARTS)
    channel_ids: list[int] | None = None
    kind: Literal["interval", "weekly"] = "weekly"
    interval_minutes: int | None = Field(default=None, ge=MIN_INTERVAL_MINUTES, le=MAX_INTERVAL_MINUTES)
    weekdays: str = Field(default="", max_length=64)
    local_time: str = "09:00"
    timezone: str = "UTC"
    starts_at: datetime
    ends_at: datetime | None = None
    max_count: int | None = Field(default=None, ge=1, le=MAX_OCCURRENCES)

    @field_validator("parts")
    @classmethod
    def _texts(cls, parts: list[str]) -> list[str]:
        for number, part in enumerate(parts, start=1):
            if not part.strip():
                raise ValueError(f"part {number} is empty")
            if len(part) > MAX_POST_CHARS:
                raise ValueError(f"part {number} is longer than {MAX_POST_CHARS:,} characters")
        return parts

    @model_validator(mode="after")
    def _rule(self) -> "RuleInput":
        if self.starts_at.tzinfo is None or (self.ends_at is not None and self.ends_at.tzinfo is None):
            raise ValueError("times need a time zone")
        if self.kind == "interval" and self.interval_minutes is None:
            raise ValueError("an interval rule needs the interval in minutes (at least 60)")
        if self.kind == "weekly" and not parse_days(self.weekdays):
            raise ValueError("pick the weekdays, e.g. mon,wed,fri")
        if self.kind == "weekly" and parse_time(self.local_time) is None:
            raise ValueError("the time must look like 09:15")
        if not is_zone(self.timezone):
            raise ValueError(f"unknown time zone {self.timezone!r}")
        if self.ends_at is None and self.max_count is None:
            raise ValueError("give an end date or a number of posts, so the rule stops")
        if self.ends_at is not None and self.ends_at <= self.starts_at:
            raise ValueError("the end must come after the start")
        return self


def occurrences(rule: RecurringRule, start: datetime, end: datetime) -> list[datetime]:
    """Return the rule's occurrences in [start, end), counting from its start for `max_count`."""
    last = min(end, rule.ends_at or end, rule.starts_at + MAX_SPAN)
    found: list[datetime] = []
    for index, moment in enumerate(_all_from_start(rule, last)):
        if rule.max_count is not None and index >= rule.max_count:
            break
        if moment >= start:
            found.append(moment)
    return found


def _all_from_start(rule: RecurringRule, last: datetime) -> list[datetime]:
    if rule.kind == "interval":
        step = timedelta(minutes=max(rule.interval_minutes or MIN_INTERVAL_MINUTES, MIN_INTERVAL_MINUTES))
        count = int((last - rule.starts_at) / step) + 1 if last > rule.starts_at else 0
        return [m for m in (rule.starts_at + n * step for n in range(count)) if m < last]
    zone = zone_named(rule.timezone)
    days, at = parse_days(rule.weekdays), parse_time(rule.local_time) or time(9)
    day, final = rule.starts_at.astimezone(zone).date(), last.astimezone(zone).date()
    moments: list[datetime] = []
    while day <= final:
        if day.weekday() in days:
            moment = local_to_utc(day, at, zone)
            if rule.starts_at <= moment < last:
                moments.append(moment)
        day += timedelta(days=1)
    return moments


def _character(session: Session, workspace: Workspace, character_id: int) -> Character:
    character = session.get(Character, character_id)
    if character is None or character.workspace_id != workspace.id:
        raise DomainError("Pick one of this workspace's characters.", field="character")
    return character


def _channels(session: Session, character: Character, wanted: list[int] | None) -> list[int]:
    allowed = {require_id(c) for c in channels_of(session, character)}
    if wanted and any(channel_id not in allowed for channel_id in wanted):
        raise DomainError(f"Pick channels of {character.name} only.", field="channels")
    return list(wanted or [])


def create_rule(*, session: Session, member: Member, data: RuleInput) -> RecurringRule:
    """Save a recurring rule as a draft."""
    member.require(Action.DRAFT)
    character = _character(session, member.workspace, data.character_id)
    rule = RecurringRule(workspace_id=require_id(member.workspace), character_id=require_id(character),
                         author_id=member.user.id, parts=data.parts,
                         channel_ids=_channels(session, character, data.channel_ids), kind=data.kind,
                         interval_minutes=data.interval_minutes if data.kind == "interval" else None,
                         weekdays=data.weekdays.strip().lower(), local_time=data.local_time.strip(),
                         timezone=data.timezone, starts_at=data.starts_at, ends_at=data.ends_at,
                         max_count=data.max_count, status=PostStatus.DRAFT)
    session.add(rule)
    session.flush()
    record_event(session, workspace_id=rule.workspace_id, actor=member.user, action="rule_create",
                 to_status=PostStatus.DRAFT.value, details={"rule": rule.id})
    return rule


def submit_rule(*, session: Session, member: Member, rule: RecurringRule, expected_version: int) -> None:
    """Send a draft rule to review."""
    member.require(Action.SUBMIT)
    _transition(session, member, rule, expected_version, PostStatus.DRAFT, PostStatus.IN_REVIEW, "submitted")


def approve_rule(*, session: Session, member: Member, rule: RecurringRule, expected_version: int,
                 override_reason: str | None = None) -> None:
    """Approve a rule in review (not your own); its text must pass the check or carry a written reason."""
    require_reviewer(member, rule)
    character = _character(session, member.workspace, rule.character_id)
    check = check_texts(session, character, rule.parts, [None])
    reason = (override_reason or "").strip()[:2000] or None
    if check.failed and not reason:
        raise DomainError(f"The rule's text fails the in-character check (score {check.score}); fix it or give "
                          "a reason to approve it anyway.", field="override_reason")
    _transition(session, member, rule, expected_version, PostStatus.IN_REVIEW, PostStatus.APPROVED, "approved",
                reason=reason, approved_by_id=member.user.id, approved_at=utcnow())


def reject_rule(*, session: Session, member: Member, rule: RecurringRule, expected_version: int,
                comment: str) -> None:
    """Send a rule in review back to draft with a reason."""
    member.require(Action.APPROVE)
    if not comment.strip():
        raise DomainError("Write what needs to change.", field="reason")
    _transition(session, member, rule, expected_version, PostStatus.IN_REVIEW, PostStatus.DRAFT, "rejected",
                reason=comment.strip()[:2000])


def stop_rule(*, session: Session, member: Member, rule: RecurringRule, expected_version: int) -> int:
    """Stop a rule and cancel its materialized posts that have not gone out; return how many were cancelled."""
    if not member.can(Action.APPROVE) and rule.author_id != member.user.id:
        raise PermissionDenied("Only editors, or the rule's author, can stop a rule.")
    _transition(session, member, rule, expected_version, None, PostStatus.CANCELLED, "stopped", active=False)
    pending = session.exec(select(Post).where(Post.recurring_rule_id == rule.id,
                                              col(Post.status).in_([s.value for s in CANCELLABLE]))).all()
    for post in pending:
        post.status, post.due_at = PostStatus.CANCELLED, None
        session.add(post)
        cancel_deliveries(session, post)
    session.flush()
    return len(pending)


def _transition(session: Session, member: Member, rule: RecurringRule, expected_version: int,
                from_status: PostStatus | None, to_status: PostStatus, verb: str, reason: str | None = None,
                **values: object) -> None:
    old = rule.status
    allowed = [from_status] if from_status else [PostStatus.DRAFT, PostStatus.IN_REVIEW, PostStatus.APPROVED]
    conditional_update(session, rule, expected_version=expected_version, from_statuses=allowed, verb=verb,
                       values={"status": to_status.value, "version": col(RecurringRule.version) + 1, **values})
    record_event(session, workspace_id=rule.workspace_id, actor=member.user, action=f"rule_{verb}",
                 from_status=old, to_status=to_status.value, reason=reason, details={"rule": rule.id})


def rule_actions(member: Member, rule: RecurringRule) -> dict[str, bool]:
    """Return which buttons to offer this member on this rule (the server re-checks every one)."""
    status = PostStatus(rule.status)
    own = own_work(member, rule)
    return {
        "submit": member.can(Action.SUBMIT) and status is PostStatus.DRAFT,
        "approve": member.can(Action.APPROVE) and status is PostStatus.IN_REVIEW and not own,
        "reject": member.can(Action.APPROVE) and status is PostStatus.IN_REVIEW,
        "stop": status in (PostStatus.DRAFT, PostStatus.IN_REVIEW, PostStatus.APPROVED)
        and (member.can(Action.APPROVE) or rule.author_id == member.user.id),
        "own": own,
    }


@dataclass(frozen=True)
class RuleOverview:
    """What a rule's page shows: the rule, its character, its next occurrences and the posts made so far."""

    rule: RecurringRule
    character: Character | None
    upcoming: list[datetime]
    posts: list[Post]


def rule_overview(session: Session, workspace: Workspace, rule_id: int, now: datetime, *,
                  days: int = 60, shown: int = 10, made: int = 50) -> RuleOverview:
    """Return a rule of this workspace with its next `shown` occurrences within `days` and its first `made` posts."""
    rule = get_rule(session, workspace, rule_id)
    posts = session.exec(select(Post).where(Post.recurring_rule_id == rule.id)
                         .order_by(col(Post.due_at), col(Post.id)).limit(made)).all()
    return RuleOverview(rule=rule, character=session.get(Character, rule.character_id),
                        upcoming=occurrences(rule, now, now + timedelta(days=days))[:shown], posts=list(posts))


def list_rules(session: Session, workspace: Workspace) -> list[tuple[RecurringRule, Character]]:
    """Return the workspace's rules with their characters, newest first."""
    rows = session.exec(select(RecurringRule, Character)
                        .join(Character, col(Character.id) == col(RecurringRule.character_id))
                        .where(RecurringRule.workspace_id == workspace.id)
                        .order_by(col(RecurringRule.id).desc())).all()
    return [(rule, character) for rule, character in rows]


def get_rule(session: Session, workspace: Workspace, rule_id: int) -> RecurringRule:
    """Return a rule of this workspace or raise NotFound."""
    rule = session.get(RecurringRule, rule_id)
    if rule is None or rule.workspace_id != workspace.id:
        raise NotFound("No such recurring rule in this workspace.")
    return rule


def occurrence_key(rule: RecurringRule, moment: datetime) -> str:
    """Return the unique key of one occurrence."""
    return f"rr-{rule.id}-{moment.astimezone(UTC).isoformat()}"


def materialize_recurring(session: Session, now: datetime, horizon: timedelta = DEFAULT_HORIZON) -> list[Post]:
    """Create the posts of every approved, active rule due in [now, now + horizon); idempotent and race-safe."""
    created: list[Post] = []
    rules = session.exec(select(RecurringRule).where(col(RecurringRule.active).is_(True),
                                                     RecurringRule.status == PostStatus.APPROVED)).all()
    for rule in rules:
        character = session.get(Character, rule.character_id)
        if character is None or character.archived_at is not None:
            continue
        for moment in occurrences(rule, now, now + horizon):
            post = _materialize_one(session, rule, character, moment)
            if post is not None:
                created.append(post)
        rule.materialized_until = now + horizon
        session.add(rule)
    session.flush()
    return created


def _materialize_one(session: Session, rule: RecurringRule, character: Character, moment: datetime) -> Post | None:
    key = occurrence_key(rule, moment)
    if session.exec(select(Post.id).where(Post.occurrence_key == key)).first() is not None:
        return None
    check = check_texts(session, character, rule.parts, [None])
    approved = not check.failed
    try:
        with session.begin_nested():  # another process may insert the same key at the same moment
            post = Post(workspace_id=rule.workspace_id, character_id=require_id(character), author_id=rule.author_id,
                        recurring_rule_id=rule.id, occurrence_key=key,
                        status=PostStatus.APPROVED if approved else PostStatus.IN_REVIEW,
                        due_at=moment if approved else None, bible_version=character.current_version,
                        check_score=check.score, check_verdict=check.verdict, check_findings=check.findings,
                        submitted_by_id=rule.author_id, approved_by_id=rule.approved_by_id if approved else None,
                        approved_at=utcnow() if approved else None)
            session.add(post)
            session.flush()
            for position, text in enumerate(rule.parts):
                session.add(PostPart(post_id=require_id(post), position=position, text=text))
            session.flush()
            set_channels(session, post, character, rule.channel_ids or None)
            if approved:
                schedule_deliveries(session, post, moment)
    except IntegrityError:
        return None
    author = session.get(User, rule.author_id) if rule.author_id else None
    add_revision(session, post, author)
    record_event(session, workspace_id=rule.workspace_id, actor=None, action="materialize", post=post,
                 to_status=post.status, details={"rule": rule.id, "occurrence": moment.isoformat()},
                 reason=None if approved else "The rule's text now fails the in-character check: review it.")
    return post
