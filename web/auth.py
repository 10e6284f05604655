"""Login, logout, forgotten passwords, first-run setup and invite acceptance."""

from typing import Any

from flask import Blueprint, current_app, flash, make_response, redirect, render_template, request, url_for
from flask_login import current_user
from sqlmodel import Session
from werkzeug.wrappers import Response

from characters.accounts.mail import mailer_from_settings, send_later
from characters.accounts.passwords import find_reset, request_password_reset, reset_message, reset_password
from characters.accounts.users import (
    FAILED_LOGIN_MESSAGE,
    UserCreate,
    authenticate,
    count_users,
    register_user,
    sign_up_or_log_in,
)
from characters.accounts.workspaces import Member, WorkspaceCreate, accept_invite, create_workspace, find_invite
from characters.audit.log import record_change
from characters.core.config import Settings
from characters.core.errors import NotFound
from characters.core.models import Role, User, Workspace
from web.database import get_session, unit_of_work
from web.extensions import limiter
from web.forms import AccountFields, EmptyForm, ForgotPasswordForm, LoginForm, ResetPasswordForm, SetupForm
from web.formtools import apply_errors, save_form
from web.security import is_safe_next, sign_in_browser, sign_out_browser

bp = Blueprint("auth", __name__)
# The setup form names the workspace's fields apart from the person's.
SETUP_FIELDS = {"slug": "workspace_slug", "name": "workspace_name"}
# One answer whether or not the email has an account, so the form tells nobody which emails are registered.
RESET_SENT_MESSAGE = ("If {email} belongs to an account, a link to choose a new password is on its way. "
                      "It works once, within an hour. Nothing arrived? Check the spam folder, or ask again.")


def _login_limit() -> str:
    return str(current_app.config["LOGIN_RATE_LIMIT"])


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(_login_limit, methods=["POST"])
def login() -> str | Response:
    """Show the login form; log the user in on valid credentials."""
    if count_users(get_session()) == 0:
        return redirect(url_for("auth.setup"))
    next_url = request.values.get("next")
    destination = next_url if next_url and is_safe_next(next_url) else url_for("home.index")
    if current_user.is_authenticated:
        return redirect(destination)
    form = LoginForm()
    if form.validate_on_submit():
        with unit_of_work() as db:
            user = authenticate(db, form.email.data or "", form.password.data or "")
        if user is None:
            form.password.errors = [FAILED_LOGIN_MESSAGE]
        else:
            sign_in_browser(user, remember=bool(form.remember.data))
            flash(f"Welcome back, {user.display_name}.", "success")
            return redirect(destination)
    return render_template("auth/login.html", form=form, next_url=next_url if is_safe_next(next_url) else None)


@bp.route("/logout", methods=["GET", "POST"])
def logout() -> str | Response:
    """Log out on POST; a GET only asks, so a link elsewhere cannot log anyone out."""
    form = EmptyForm()
    if request.method == "POST" and form.validate_on_submit():
        sign_out_browser()
        flash("You are logged out.", "success")
        return redirect(url_for("auth.login"))
    return render_template("auth/logout.html", form=form)


@bp.route("/setup", methods=["GET", "POST"])
def setup() -> str | Response:
    """First-run page, shown only while no user exists: the first admin and their workspace."""
    if count_users(get_session()) > 0:
        return redirect(url_for("auth.login"))
    form = SetupForm()
    if form.validate_on_submit():
        created, errors = save_form(lambda db: _create_admin(db, form), SETUP_FIELDS)
        apply_errors(form, errors)
        if created is not None:
            user, workspace = created
            sign_in_browser(user, remember=False)
            flash("Your account and workspace are ready. Add your first character.", "success")
            return redirect(url_for("workspaces.dashboard", workspace=workspace.slug))
    return render_template("auth/setup.html", form=form)


def _create_admin(db: Session, form: SetupForm) -> tuple[User, Workspace]:
    user = register_user(session=db, user_create=_user_create(form, is_admin=True),
                         context=[form.workspace_name.data or "", form.workspace_slug.data or ""])
    return user, create_workspace(session=db, owner=user, workspace_create=WorkspaceCreate(
        slug=form.workspace_slug.data or "", name=form.workspace_name.data or ""))


@bp.route("/invite/<token>", methods=["GET", "POST"])
def invite(token: str) -> str | Response | tuple[str, int]:
    """Join a workspace from an invite link: logged in, or with an existing account's password, or signing up."""
    db = get_session()
    try:
        invitation, workspace = find_invite(db, token)
    except NotFound as error:
        return render_template("auth/invite_invalid.html", message=error.message), 404
    signup = AccountFields(prefix="signup")
    join = EmptyForm(prefix="join")
    if current_user.is_authenticated and join.validate_on_submit():
        with unit_of_work() as db:
            joined = _join(db, token, current_user.user)
        flash(f"You joined {joined.name} as {invitation.role}.", "success")
        return redirect(url_for("workspaces.dashboard", workspace=joined.slug))
    if not current_user.is_authenticated and signup.validate_on_submit():
        created, errors = save_form(lambda db: _sign_up_and_join(db, signup, token, workspace))
        apply_errors(signup, errors)
        if created is not None:
            user, joined = created
            sign_in_browser(user, remember=False)
            flash(f"Welcome to {joined.name}.", "success")
            return redirect(url_for("workspaces.dashboard", workspace=joined.slug))
    return render_template("auth/invite.html", invitation=invitation, workspace=workspace, signup=signup,
                           join=join, token=token)


def _sign_up_and_join(db: Session, signup: AccountFields, token: str,
                      workspace: Workspace) -> tuple[User, Workspace]:
    # An existing account joins with its password, and a failure reads like any failed login: an invite
    # link must not tell its holder which emails have accounts.
    user = sign_up_or_log_in(session=db, user_create=_user_create(signup), context=[workspace.name, workspace.slug])
    return user, _join(db, token, user)


def _join(db: Session, token: str, user: User) -> Workspace:
    """Accept the invite and record in the workspace's audit log who joined with which role."""
    invite, _ = find_invite(db, token)
    workspace = accept_invite(session=db, token=token, user=user)
    role = Role(invite.role)
    record_change(db, Member(workspace=workspace, user=user, role=role), "invite_accept", person=user.email,
                  role=role.value)
    return workspace


def _user_create(fields: AccountFields, *, is_admin: bool = False) -> UserCreate:
    return UserCreate(email=fields.email.data, display_name=fields.display_name.data or "",
                      password=fields.password.data or "", is_admin=is_admin)


@bp.route("/password/forgot", methods=["GET", "POST"])
@limiter.limit(_login_limit, methods=["POST"])
def forgot_password() -> str | Response:
    """Ask for a reset link by email; the answer is the same whether or not the email has an account."""
    form = ForgotPasswordForm()
    if form.validate_on_submit():
        email = form.email.data or ""
        with unit_of_work() as db:
            reset = request_password_reset(db, email)
        if reset is not None:
            settings: Settings = current_app.extensions["greenroom.settings"]
            link = _external_url(settings, "auth.reset", token=reset.secret)
            send_later(mailer_from_settings(settings), reset_message(sender=settings.mail_from, user=reset.user,
                                                                     link=link))
        flash(RESET_SENT_MESSAGE.format(email=email), "info")
        return redirect(url_for("auth.login"))
    return render_template("auth/forgot.html", form=form)


@bp.route("/password/reset/<token>", methods=["GET", "POST"])
@limiter.limit(_login_limit, methods=["POST"])
def reset(token: str) -> Response | tuple[str, int]:
    """Choose a new password from an emailed link: every sign-in ends, and this browser is signed in afresh."""
    try:
        find_reset(get_session(), token)
    except NotFound as error:
        return render_template("auth/reset_invalid.html", message=error.message), 404
    form = ResetPasswordForm()
    if form.validate_on_submit():
        user, errors = save_form(lambda db: reset_password(db, token, form.password.data or ""))
        apply_errors(form, errors)
        if user is not None:
            sign_in_browser(user, remember=False)
            flash("Your password is changed, and every device that was logged in is logged out.", "success")
            return redirect(url_for("home.index"))
    response = make_response(render_template("auth/reset.html", form=form))
    response.headers["Cache-Control"] = "no-store"  # the page's address is the secret link
    return response


def _external_url(settings: Settings, endpoint: str, **values: Any) -> str:
    """Return an absolute link for an email: on PUBLIC_BASE_URL if set, else on the address of this request."""
    if settings.public_base_url:
        return settings.public_base_url + url_for(endpoint, **values)
    return url_for(endpoint, _external=True, **values)

