"""When a post should go out: the writer's planned time, inside its campaign's dates, in the character's rhythm."""

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlmodel import Session, col, select

from characters.accounts.workspaces import Action, Member
from characters.consistency.judge import LlmJudge
from characters.core.errors import DomainError
from characters.core.models import Campaign, Character, Post, PostStatus, require_id
from characters.posting.rhythm import local_to_utc, next_free_slot, zones_of
from characters.posting.workflow import approve_post, refusal, require_future, reschedule_post

# A post that "goes now" is due this far ahead, so the due time is still in the future when it is saved.
NOW_LEAD = timedelta(seconds=5)
# Statuses whose due time is only a plan (nothing is on the clock until approval).
PLANNABLE = frozenset({PostStatus.DRAFT, PostStatus.IN_REVIEW})


def campaign_window(session: Session, post: Post, character: Character) -> tuple[datetime | None, datetime | None]:
    """Return the UTC bounds of the post's campaign in the character's zone: its first day to the end of its last."""
    campaign = session.get(Campaign, post.campaign_id) if post.campaign_id is not None else None
    if campaign is None:
        return None, None
    return _window(campaign, zones_of(session, [character])[require_id(character)])


def _window(campaign: Campaign | None, zone: ZoneInfo) -> tuple[datetime | None, datetime | None]:
    if campaign is None:
        return None, None
    start = local_to_utc(campaign.starts_on, time(0), zone) if campaign.starts_on else None
    end = local_to_utc(campaign.ends_on + timedelta(days=1), time(0), zone) if campaign.ends_on else None
    return start, end


def suggested_time(session: Session, post: Post, character: Character, now: datetime) -> datetime | None:
    """Return the default due time: the writer's planned time if still ahead and inside the campaign, else the
    character's next free rhythm slot inside the campaign's dates (None: no rhythm, or no free slot in them); a
    reply to a conversation: its planned time, else now."""
    if post.conversation_id is not None:  # a reply to the audience goes out at once unless a time was planned
        return post.due_at if post.due_at is not None and post.due_at > now else now
    start, end = campaign_window(session, post, character)

    def inside(moment: datetime) -> bool:
        return (start is None or moment >= start) and (end is None or moment < end)

    if post.due_at is not None and post.due_at > now and inside(post.due_at):
        return post.due_at
    after = max(now, start - timedelta(seconds=1)) if start is not None else now
    slot = next_free_slot(session, character, after, exclude_post_id=post.id)
    return slot if slot is not None and inside(slot) else None


def suggested_times(
    session: Session, waiting: list[tuple[Post, Character]], slots: dict[int, datetime | None], now: datetime
) -> dict[int, datetime | None]:
    """Return each post's default due time, reusing the characters' next free `slots` (found from `now`).

    The campaigns and zones are read once for the whole list; only a post whose campaign starts later searches
    for a slot of its own.
    """
    campaign_ids = {post.campaign_id for post, _ in waiting if post.campaign_id is not None}
    campaigns = ({campaign.id: campaign for campaign in session.exec(
        select(Campaign).where(col(Campaign.id).in_(campaign_ids)))} if campaign_ids else {})
    zones = zones_of(session, list({require_id(character): character for _, character in waiting}.values()))
    times: dict[int, datetime | None] = {}
    for post, character in waiting:
        if post.conversation_id is not None:
            times[require_id(post)] = suggested_time(session, post, character, now)
            continue
        start, end = _window(campaigns.get(post.campaign_id or 0), zones[require_id(character)])
        if start is not None and start > now:
            times[require_id(post)] = suggested_time(session, post, character, now)
            continue
        planned, slot = post.due_at, slots.get(require_id(character))
        if planned is not None and planned > now and (end is None or planned < end):
            times[require_id(post)] = planned
        else:
            times[require_id(post)] = slot if slot is not None and (end is None or slot < end) else None
    return times


def next_time_or_refuse(session: Session, post: Post, character: Character, now: datetime) -> datetime:
    """Return the post's default due time; refuse, saying why, when there is none."""
    slot = suggested_time(session, post, character, now)
    if slot is not None:
        return slot
    where = " inside its campaign's dates" if post.campaign_id is not None else ""
    raise DomainError(
        f"{character.name} has no free slot in its posting rhythm{where}; give a date and time.", field="due_at"
    )


def plan_post(
    session: Session, member: Member, post: Post, due_at: datetime | None, now: datetime | None = None
) -> None:
    """Record the time the writer plans for a draft or a post in review (approval keeps it as the default)."""
    member.require(Action.DRAFT)
    if post.due_at == due_at:
        return
    if post.status not in PLANNABLE:
        raise DomainError("This post is scheduled: move it from its page or the calendar.", field="due_at")
    if due_at is not None:
        require_future(due_at, now)
    post.due_at = due_at
    session.add(post)
    session.flush()


def publish_now(
    *,
    session: Session,
    member: Member,
    post: Post,
    expected_version: int,
    now: datetime,
    judge: LlmJudge | None = None,
    override_reason: str | None = None,
) -> datetime:
    """Send a post in review or an approved one out right away (editors); return its new due time."""
    member.require(Action.APPROVE)
    due_at = now + NOW_LEAD
    if post.status == PostStatus.IN_REVIEW:
        approve_post(
            session=session,
            member=member,
            post=post,
            expected_version=expected_version,
            due_at=due_at,
            now=now,
            override_reason=override_reason,
            judge=judge,
        )
    elif post.status == PostStatus.APPROVED:
        reschedule_post(
            session=session, member=member, post=post, expected_version=expected_version, due_at=due_at, now=now
        )
    else:
        raise DomainError(refusal(post.status, "published now"))
    return due_at
