"""The workspace list, creating a workspace, its dashboard and its settings."""

from flask import Blueprint, flash, redirect, render_template, url_for
from flask_login import current_user, login_required
from sqlmodel import Session
from werkzeug.wrappers import Response
from wtforms import BooleanField, IntegerField
from wtforms.validators import Optional

from characters.accounts.workspaces import (
    Action,
    Member,
    WorkspaceCreate,
    create_workspace,
    update_settings,
    workspaces_for,
)
from characters.analytics.settings import set_prefer_best_hours
from characters.audit.log import record_change
from characters.bibles.bible import list_characters
from characters.core.models import Workspace
from characters.listening.inbox import MAX_LISTEN_SECONDS, MIN_LISTEN_SECONDS, update_listening_settings
from characters.listening.replies import set_editors_send_replies
from characters.posting.posts import first_texts, list_posts, status_counts
from characters.posting.workflow import changes_requested_count
from web.context import current_member, workspace_blueprint
from web.database import get_session
from web.forms import WorkspaceForm, WorkspaceSettingsForm
from web.formtools import apply_errors, save_form

bp = workspace_blueprint("workspaces", __name__)
home_bp = Blueprint("home", __name__)


class SettingsForm(WorkspaceSettingsForm):
    """The workspace's settings with listening's: polling, the response target, and who sends replies."""

    # Left empty: unchanged. The domain checks the ranges.
    listen_interval_seconds = IntegerField(
        "Check for new conversations every (seconds)", validators=[Optional()],
        description=f"{MIN_LISTEN_SECONDS} to {MAX_LISTEN_SECONDS:,}. How often each Bluesky and Mastodon channel "
                    "is asked for new mentions, replies and quotes.")
    response_target_minutes = IntegerField(
        "Answer within (minutes)", validators=[Optional()],
        description="The response-time target: conversations waiting longer are overdue, highlighted, and the "
                    "editors are told.")
    editors_send_replies = BooleanField(
        "Editors may send their own replies without a second person",
        description="Off: every reply is approved by someone other than its writer, like posts.")


@home_bp.route("/")
@login_required
def index() -> str | Response:
    """Send people with one workspace straight to it; list several otherwise."""
    workspaces = workspaces_for(get_session(), current_user.user)
    if len(workspaces) == 1:
        return redirect(url_for("workspaces.dashboard", workspace=workspaces[0][0].slug))
    return render_template("workspaces/index.html", workspaces=workspaces)


@home_bp.route("/workspaces/new", methods=["GET", "POST"])
@login_required
def new() -> str | Response:
    """Create a workspace owned by the current user."""
    form = WorkspaceForm()
    if form.validate_on_submit():
        workspace, errors = save_form(lambda db: create_workspace(
            session=db, owner=current_user.user,
            workspace_create=WorkspaceCreate(slug=form.slug.data or "", name=form.name.data or "")))
        apply_errors(form, errors)
        if workspace is not None:
            flash(f"Workspace “{workspace.name}” created.", "success")
            return redirect(url_for("workspaces.dashboard", workspace=workspace.slug))
    return render_template("workspaces/new.html", form=form)


@bp.route("/")
def dashboard() -> str:
    """The workspace's home: its characters and where its posts stand."""
    member = current_member()
    db = get_session()
    characters = list_characters(db, member.workspace)
    recent = list_posts(db, member.workspace, limit=5)
    texts = first_texts(db, [post for post, _ in recent])
    sent_back = changes_requested_count(db, member.workspace, None if member.can(Action.APPROVE) else member.user.id)
    return render_template("workspaces/dashboard.html", characters=characters, recent=recent, texts=texts,
                           counts=status_counts(db, member.workspace), sent_back=sent_back)


def _saved_settings(db: Session, member: Member, form: SettingsForm) -> Workspace:
    """Save the settings form and record in the audit log what changed, from what to what."""
    before = _settings_of(member.workspace)
    workspace = update_settings(
        session=db, member=member, name=form.name.data or "", two_person_rule=form.two_person_rule.data,
        writers_edit_bibles=form.writers_edit_bibles.data, store_prompts=form.store_prompts.data,
        late_grace_minutes=form.late_grace_minutes.data)
    set_prefer_best_hours(session=db, member=member, prefer=form.prefer_best_hours.data)
    after = _settings_of(workspace)
    changed = {key: f"{before[key]} → {after[key]}" for key in before if before[key] != after[key]}
    if changed:
        record_change(db, member, "settings_change", **changed)
    update_listening_settings(db, member, listen_interval_seconds=form.listen_interval_seconds.data,
                              response_target_minutes=form.response_target_minutes.data)
    set_editors_send_replies(db, member, bool(form.editors_send_replies.data))
    return workspace


def _settings_of(workspace: Workspace) -> dict[str, object]:
    return {"name": workspace.name, "two_person_rule": workspace.two_person_rule,
            "writers_edit_bibles": workspace.writers_edit_bibles, "store_prompts": workspace.store_prompts,
            "late_grace_minutes": workspace.late_grace_minutes,
            "prefer_best_hours": workspace.prefer_best_hours}


@bp.route("/settings", methods=["GET", "POST"])
def settings() -> str | Response:
    """Owners change the workspace's name and rules."""
    member = current_member()
    member.require(Action.MANAGE_SETTINGS)
    form = SettingsForm(obj=member.workspace)
    if form.validate_on_submit():
        saved, errors = save_form(lambda db: _saved_settings(db, member, form))
        apply_errors(form, errors)
        if saved is not None:
            flash("Settings saved.", "success")
            return redirect(url_for("workspaces.settings"))
    return render_template("workspaces/settings.html", form=form)
