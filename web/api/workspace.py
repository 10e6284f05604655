"""Who the token acts as, the workspace's settings, and the schedule: posts due in a range, in local time."""

from datetime import timedelta

from characters.accounts.workspaces import Action, update_workspace_settings
from characters.bibles.bible import get_character
from characters.core.models import TokenScope, require_id
from characters.posting.calendar import calendar_entries
from characters.posting.posts import get_post
from characters.posting.rhythm import zones_of
from web.api import bp
from web.api.auth import api_member, current_access
from web.api.errors import ApiError, field_detail
from web.api.present import EXCERPT_CHARS, local
from web.api.schemas import MeOut, WorkspaceSettingsOut, WorkspaceSettingsPatch
from web.api.schemas_planning import ScheduleItem, ScheduleOut, ScheduleQuery
from web.api.spec import operation
from web.database import get_session, unit_of_work

MAX_SCHEDULE_RANGE = timedelta(days=366)


@bp.get("/me")
@operation("workspace", MeOut)
def me() -> MeOut:
    """Return the user, workspace, role and scope this token acts with."""
    access = current_access()
    member = access.member
    return MeOut(user_id=require_id(member.user), display_name=member.user.display_name,
                 workspace=member.workspace.slug, workspace_name=member.workspace.name, role=member.role,
                 scope=TokenScope(access.token.scope), token_name=access.token.name,
                 two_person_rule=member.workspace.two_person_rule)


@bp.get("/settings")
@operation("workspace", WorkspaceSettingsOut)
def settings() -> WorkspaceSettingsOut:
    """Return the workspace's scheduling settings."""
    return WorkspaceSettingsOut(late_grace_minutes=api_member().workspace.late_grace_minutes)


@bp.patch("/settings")
@operation("workspace", WorkspaceSettingsOut, writes=True)
def update_settings(json: WorkspaceSettingsPatch) -> WorkspaceSettingsOut:
    """Change the workspace's scheduling settings (owners only)."""
    member = api_member()
    member.require(Action.MANAGE_SETTINGS)
    with unit_of_work() as db:
        workspace = update_workspace_settings(session=db, workspace=member.workspace,
                                              late_grace_minutes=json.late_grace_minutes)
        return WorkspaceSettingsOut(late_grace_minutes=workspace.late_grace_minutes)


@bp.get("/schedule")
@operation("workspace", ScheduleOut)
def schedule(query: ScheduleQuery) -> ScheduleOut:
    """List posts due in [start, end) (at most a year), soonest first, a page at a time, in local time too."""
    if not query.start < query.end <= query.start + MAX_SCHEDULE_RANGE:
        raise ApiError(422, "end must be after start, at most 366 days later.",
                       details=[field_detail("end", "Out of range", "range")])
    db = get_session()
    workspace = api_member().workspace
    character = get_character(db, workspace, query.character) if query.character else None
    after = get_post(db, workspace, query.cursor) if query.cursor is not None else None
    entries = calendar_entries(db, workspace, query.start, query.end, after=after, limit=query.limit + 1,
                               character_id=character.id if character else None, campaign_id=query.campaign_id)
    more = len(entries) > query.limit
    entries = entries[:query.limit]
    zones = zones_of(db, list({entry.character.id: entry.character for entry in entries}.values()))
    items = []
    for entry in entries:
        zone = zones[require_id(entry.character)]
        due = entry.post.due_at
        assert due is not None  # noqa: S101 - the query selects posts due in the range
        items.append(ScheduleItem(post_id=require_id(entry.post), character=entry.character.slug,
                                  character_name=entry.character.name, status=entry.post.status, due_at=due,
                                  due_local=local(due, zone) or "", timezone=str(zone),
                                  excerpt=entry.text[:EXCERPT_CHARS], campaign_id=entry.post.campaign_id,
                                  scene_id=entry.post.scene_id))
    return ScheduleOut(items=items, next_cursor=require_id(entries[-1].post) if more else None)
