"""Members and invite links of the current workspace (owners manage, everyone can see who is here)."""

from datetime import timedelta

from flask import flash, redirect, render_template, url_for
from werkzeug.wrappers import Response

from characters.accounts.workspaces import (
    Action,
    create_invite,
    members_of,
    open_invites,
    remove_member,
    revoke_invite,
    set_member_role,
)
from characters.audit.log import record_change
from characters.core.errors import DomainError, NotFound
from characters.core.models import Role, User
from web.context import current_member, workspace_blueprint
from web.database import get_session, unit_of_work
from web.forms import EmptyForm, InviteForm, RoleForm

bp = workspace_blueprint("members", __name__, "/members")


@bp.route("/", methods=["GET", "POST"])
def index() -> str:
    """List members and open invites; owners create an invite link here (shown once)."""
    member = current_member()
    form = InviteForm()
    new_invite_url = None
    if form.validate_on_submit():
        with unit_of_work() as db:
            token = create_invite(session=db, member=member, role=Role(form.role.data),
                                  lifetime=timedelta(days=form.days.data or 7))
            record_change(db, member, "invite_create", role=form.role.data, days=form.days.data or 7)
        new_invite_url = url_for("auth.invite", token=token, _external=True)
        flash("Invite link created. Copy it now: it is shown only once.", "success")
    db = get_session()
    return render_template(
        "members/index.html", members=members_of(db, member.workspace), invites=open_invites(db, member.workspace),
        form=form, new_invite_url=new_invite_url, role_form=RoleForm(), action_form=EmptyForm(),
        can_manage=member.can(Action.MANAGE_MEMBERS),
    )


@bp.route("/<int:user_id>/role", methods=["POST"])
def change_role(user_id: int) -> Response:
    """Change a member's role."""
    member = current_member()
    member.require(Action.MANAGE_MEMBERS)
    form = RoleForm()
    if form.validate_on_submit():
        try:
            with unit_of_work() as db:
                target = _member_user(user_id)
                set_member_role(session=db, workspace=member.workspace, user=target, role=Role(form.role.data))
                record_change(db, member, "member_role", person=target.email, role=form.role.data)
        except DomainError as error:
            flash(error.message, "error")
        else:
            flash(f"{target.display_name} is now {form.role.data}.", "success")
    else:
        flash("Pick a valid role.", "error")
    return redirect(url_for("members.index"))


@bp.route("/<int:user_id>/remove", methods=["POST"])
def remove(user_id: int) -> Response:
    """Remove a member from the workspace."""
    member = current_member()
    member.require(Action.MANAGE_MEMBERS)
    if EmptyForm().validate_on_submit():
        try:
            with unit_of_work() as db:
                target = _member_user(user_id)
                remove_member(session=db, workspace=member.workspace, user=target)
                record_change(db, member, "member_remove", person=target.email)
        except DomainError as error:
            flash(error.message, "error")
        else:
            flash(f"{target.display_name} was removed from the workspace.", "success")
    return redirect(url_for("members.index"))


@bp.route("/invites/<int:invite_id>/revoke", methods=["POST"])
def revoke(invite_id: int) -> Response:
    """Revoke an unused invite link."""
    if EmptyForm().validate_on_submit():
        with unit_of_work() as db:
            revoke_invite(session=db, member=current_member(), invite_id=invite_id)
            record_change(db, current_member(), "invite_revoke", invite=invite_id)
        flash("Invite link revoked.", "success")
    return redirect(url_for("members.index"))


def _member_user(user_id: int) -> User:
    member = current_member()
    for user, _role in members_of(get_session(), member.workspace):
        if user.id == user_id:
            return user
    raise NotFound("That person is not a member of this workspace.")
