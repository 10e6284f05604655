"""Login, logout, first-run setup and invite acceptance."""

from flask import Blueprint, current_app, flash, redirect, render_template, request, session, url_for
from flask_login import current_user, login_user, logout_user
from sqlmodel import Session
from werkzeug.wrappers import Response

from characters.accounts.users import (
    FAILED_LOGIN_MESSAGE,
    UserCreate,
    authenticate,
    count_users,
    register_user,
    sign_up_or_log_in,
)
from characters.accounts.workspaces import WorkspaceCreate, accept_invite, create_workspace, find_invite
from characters.core.errors import NotFound
from characters.core.models import User, Workspace
from web.database import get_session, unit_of_work
from web.extensions import limiter
from web.forms import AccountFields, EmptyForm, LoginForm, SetupForm
from web.formtools import apply_errors, save_form
from web.security import LoginUser, is_safe_next

bp = Blueprint("auth", __name__)
# The setup form names the workspace's fields apart from the person's.
SETUP_FIELDS = {"slug": "workspace_slug", "name": "workspace_name"}


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
            _start_session(user, remember=bool(form.remember.data))
            flash(f"Welcome back, {user.display_name}.", "success")
            return redirect(destination)
    return render_template("auth/login.html", form=form, next_url=next_url if is_safe_next(next_url) else None)


@bp.route("/logout", methods=["GET", "POST"])
def logout() -> str | Response:
    """Log out on POST; a GET only asks, so a link elsewhere cannot log anyone out."""
    form = EmptyForm()
    if request.method == "POST" and form.validate_on_submit():
        logout_user()
        session.clear()
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
            _start_session(user, remember=False)
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
            joined = accept_invite(session=db, token=token, user=current_user.user)
        flash(f"You joined {joined.name} as {invitation.role}.", "success")
        return redirect(url_for("workspaces.dashboard", workspace=joined.slug))
    if not current_user.is_authenticated and signup.validate_on_submit():
        created, errors = save_form(lambda db: _sign_up_and_join(db, signup, token, workspace))
        apply_errors(signup, errors)
        if created is not None:
            user, joined = created
            _start_session(user, remember=False)
            flash(f"Welcome to {joined.name}.", "success")
            return redirect(url_for("workspaces.dashboard", workspace=joined.slug))
    return render_template("auth/invite.html", invitation=invitation, workspace=workspace, signup=signup,
                           join=join, token=token)


def _sign_up_and_join(db: Session, signup: AccountFields, token: str,
                      workspace: Workspace) -> tuple[User, Workspace]:
    # An existing account joins with its password, and a failure reads like any failed login: an invite
    # link must not tell its holder which emails have accounts.
    user = sign_up_or_log_in(session=db, user_create=_user_create(signup), context=[workspace.name, workspace.slug])
    return user, accept_invite(session=db, token=token, user=user)


def _user_create(fields: AccountFields, *, is_admin: bool = False) -> UserCreate:
    return UserCreate(email=fields.email.data, display_name=fields.display_name.data or "",
                      password=fields.password.data or "", is_admin=is_admin)


def _start_session(user: User, *, remember: bool) -> None:
    # A fresh session on login defeats session fixation.
    session.clear()
    login_user(LoginUser(user), remember=remember)

