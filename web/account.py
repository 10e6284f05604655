"""The signed-in person's own account: name and email, a new password, and every device they are logged in on."""

from flask import Blueprint, flash, make_response, redirect, render_template, url_for
from flask_login import current_user, login_required
from werkzeug.wrappers import Response

from characters.accounts.passwords import change_password
from characters.accounts.sessions import describe_user_agent, end_session, end_sessions, expires_at, live_sessions
from characters.core.models import require_id
from web.database import get_session, unit_of_work
from web.forms import ChangePasswordForm, EmptyForm
from web.formtools import apply_errors, save_form
from web.security import sign_in_browser, sign_out_browser

bp = Blueprint("account", __name__, url_prefix="/account")


@bp.before_request
@login_required
def _require_login() -> None:
    """Every page here is the signed-in person's own."""


@bp.route("/")
def index() -> Response:
    """Show the account, the password form and the devices logged in."""
    return _page(ChangePasswordForm())


@bp.route("/password", methods=["POST"])
def password() -> Response:
    """Change the password: every other device is logged out, this one gets a fresh sign-in."""
    form = ChangePasswordForm()
    if form.validate_on_submit():
        user, remember = current_user.user, current_user.sign_in.remember
        ended, errors = save_form(lambda db: change_password(
            db, user, current_password=form.current_password.data or "", new_password=form.password.data or ""))
        apply_errors(form, errors)
        if ended is not None:
            sign_in_browser(user, remember=remember)
            flash("Your password is changed. Every other device is logged out; this one stays logged in.", "success")
            return redirect(url_for("account.index"))
    return _page(form)


@bp.route("/sessions/<int:sign_in_id>/end", methods=["POST"])
def end(sign_in_id: int) -> Response:
    """Log one device out (this one included); another person's sign-in is a 404."""
    if EmptyForm().validate_on_submit():
        if sign_in_id == require_id(current_user.sign_in):
            sign_out_browser()
            flash("You are logged out.", "success")
            return redirect(url_for("auth.login"))
        with unit_of_work() as db:
            end_session(db, current_user.user, sign_in_id)
        flash("That device is logged out.", "success")
    return redirect(url_for("account.index"))


@bp.route("/sessions/end-others", methods=["POST"])
def end_others() -> Response:
    """Log out every device but this one."""
    if EmptyForm().validate_on_submit():
        with unit_of_work() as db:
            count = end_sessions(db, current_user.user, keep=current_user.sign_in)
        flash(f"Logged out {count} other {'device' if count == 1 else 'devices'}." if count
              else "No other device was logged in.", "success")
    return redirect(url_for("account.index"))


def _page(form: ChangePasswordForm) -> Response:
    body = render_template("account/index.html", form=form, action_form=EmptyForm(),
                           sign_ins=live_sessions(get_session(), current_user.user),
                           this_id=current_user.sign_in.id, describe=describe_user_agent, expires_at=expires_at)
    return make_response(body)
