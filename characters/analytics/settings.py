"""The workspace's analytics settings."""

from sqlmodel import Session

from characters.accounts.workspaces import Action, Member
from characters.core.models import Workspace


def set_prefer_best_hours(*, session: Session, member: Member, prefer: bool) -> Workspace:
    """Turn on or off the queue's preference for each character's best hours (owners only)."""
    member.require(Action.MANAGE_SETTINGS)
    workspace = member.workspace
    workspace.prefer_best_hours = prefer
    session.add(workspace)
    session.flush()
    return workspace
