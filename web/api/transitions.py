"""The post lifecycle: submit, approve, reject, reschedule, cancel, through the same workflow calls as the web.

The domain decides who may do what (roles, the two-person rule, the check gate, versions); these views only
parse, call and report, so the API can do exactly what the buttons can, and nothing more.
"""

from collections.abc import Callable
from datetime import datetime

from sqlmodel import Session

from characters.accounts.workspaces import Member
from characters.core.models import Post, require_id, utcnow
from characters.posting.posts import get_post
from characters.posting.rhythm import due_time_or_next_slot
from characters.posting.workflow import (
    PostCheck,
    approve_post,
    cancel_post,
    character_of,
    reject_post,
    reschedule_post,
    submit_post,
)
from web.api import bp
from web.api.auth import api_member
from web.api.present import post_out
from web.api.schemas import CheckOut
from web.api.schemas_posts import ApproveIn, CancelIn, RejectIn, RescheduleIn, SubmitIn, TransitionOut
from web.api.spec import operation
from web.database import get_session, unit_of_work
from web.judging import configured_judge

TAG = "workflow"
# What a transition returns: the check it ran (or None) and the ids of other posts it moved.
Outcome = tuple[PostCheck | None, list[int]]


def _transition(post_id: int, act: Callable[[Session, Member, Post], Outcome]) -> TransitionOut:
    """Run one transition in a transaction and return the post as it is afterwards."""
    member = api_member()
    with unit_of_work() as db:
        post = get_post(db, member.workspace, post_id)
        check, moved = act(db, member, post)
    return TransitionOut(post=post_out(get_session(), member, post),
                         check=CheckOut(**check.to_dict()) if check else None, moved=moved)


def _without_check(call: Callable[[Session, Member, Post], None]) -> Callable[[Session, Member, Post], Outcome]:
    """Return a transition that runs no check and moves no other post."""
    def act(db: Session, member: Member, post: Post) -> Outcome:
        call(db, member, post)
        return None, []
    return act


def _due(db: Session, post: Post, due_at: datetime | None) -> datetime:
    """Return the requested due time, or the character's next free rhythm slot."""
    return due_time_or_next_slot(db, character_of(db, post), due_at, now=utcnow(), exclude_post_id=post.id)


@bp.post("/posts/<int:post_id>/submit")
@operation(TAG, TransitionOut, writes=True)
def submit(post_id: int, json: SubmitIn) -> TransitionOut:
    """Send a draft to review; its in-character check is stored for the reviewers."""
    def act(db: Session, member: Member, post: Post) -> Outcome:
        return submit_post(session=db, member=member, post=post, expected_version=json.version, note=json.note,
                           judge=configured_judge()), []
    return _transition(post_id, act)


@bp.post("/posts/<int:post_id>/approve")
@operation(TAG, TransitionOut, writes=True)
def approve(post_id: int, json: ApproveIn) -> TransitionOut:
    """Approve a post in review for `due_at` or the next free slot (editors; never one's own post)."""
    def act(db: Session, member: Member, post: Post) -> Outcome:
        return approve_post(session=db, member=member, post=post, expected_version=json.version,
                            due_at=_due(db, post, json.due_at), override_reason=json.override_reason,
                            judge=configured_judge()), []
    return _transition(post_id, act)


@bp.post("/posts/<int:post_id>/reject")
@operation(TAG, TransitionOut, writes=True)
def reject(post_id: int, json: RejectIn) -> TransitionOut:
    """Send a post in review back to draft with a comment saying what to change."""
    return _transition(post_id, _without_check(lambda db, member, post: reject_post(
        session=db, member=member, post=post, expected_version=json.version, comment=json.comment)))


@bp.post("/posts/<int:post_id>/reschedule")
@operation(TAG, TransitionOut, writes=True)
def reschedule(post_id: int, json: RescheduleIn) -> TransitionOut:
    """Move an approved post (a scene line moves its whole scene) to another time."""
    def act(db: Session, member: Member, post: Post) -> Outcome:
        moved = reschedule_post(session=db, member=member, post=post, expected_version=json.version,
                                due_at=_due(db, post, json.due_at))
        return None, [require_id(other) for other in moved if other.id != post.id]
    return _transition(post_id, act)


@bp.post("/posts/<int:post_id>/cancel")
@operation(TAG, TransitionOut, writes=True)
def cancel(post_id: int, json: CancelIn) -> TransitionOut:
    """Cancel a post and its pending deliveries (writers: only their own, before approval)."""
    return _transition(post_id, _without_check(lambda db, member, post: cancel_post(
        session=db, member=member, post=post, expected_version=json.version, reason=json.reason)))
