"""Personal access tokens for the JSON API: each member makes and revokes their own (owners see everyone's)."""

from flask import flash, make_response, redirect, render_template, url_for
from flask_wtf import FlaskForm
from sqlmodel import Session
from werkzeug.wrappers import Response
from wtforms import SelectChoice, SelectField, StringField
from wtforms.validators import DataRequired, Length

from characters.accounts.tokens import TokenCreate, create_token, revoke_token, tokens_for
from characters.accounts.workspaces import Action, Member
from characters.audit.log import record_change
from characters.core.models import TokenScope
from web.context import current_member, workspace_blueprint
from web.database import get_session, unit_of_work
from web.forms import EmptyForm
from web.formtools import apply_errors, save_form

bp = workspace_blueprint("tokens", __name__, "/tokens")


class TokenForm(FlaskForm):
    name = StringField("Name", description="What will use it, e.g. “launch-week import script”.",
                       validators=[DataRequired(), Length(max=120)])
    scope = SelectField("Scope", default=TokenScope.READ.value, choices=[
        SelectChoice(TokenScope.READ.value, "Read — list and look, never change"),
        SelectChoice(TokenScope.WRITE.value, "Write — act with your role in this workspace")])


@bp.route("/", methods=["GET", "POST"])
def index() -> Response:
    """List the tokens; creating one shows its secret on the answer page, once."""
    member = current_member()
    form = TokenForm()
    secret = None
    if form.validate_on_submit():
        secret, errors = save_form(lambda db: _created(db, member, TokenCreate(
            name=form.name.data or "", scope=TokenScope(form.scope.data))))
        apply_errors(form, errors)
        if secret is not None:
            form = TokenForm(formdata=None)
    body = render_template("tokens/index.html", tokens=tokens_for(get_session(), member), form=form, secret=secret,
                           action_form=EmptyForm(), sees_all=member.can(Action.MANAGE_MEMBERS))
    response = make_response(body)
    response.headers["Cache-Control"] = "no-store"  # the new token must not stay in any cache
    return response


def _created(db: Session, member: Member, token_create: TokenCreate) -> str:
    """Create the token, record it in the audit log (never its secret) and return the secret to show once."""
    new = create_token(session=db, member=member, token_create=token_create)
    record_change(db, member, "token_create", name=new.token.name, scope=str(new.token.scope), prefix=new.token.prefix)
    return new.secret


@bp.route("/<int:token_id>/revoke", methods=["POST"])
def revoke(token_id: int) -> Response:
    """Revoke a token: the next request with it gets 401."""
    if EmptyForm().validate_on_submit():
        with unit_of_work() as db:
            token = revoke_token(session=db, member=current_member(), token_id=token_id)
            record_change(db, current_member(), "token_revoke", name=token.name, prefix=token.prefix)
        flash(f"“{token.name}” is revoked.", "success")
    return redirect(url_for("tokens.index"))
