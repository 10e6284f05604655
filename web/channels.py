"""Channels of each character: everyone sees them, owners add, test, disable and remove; secrets never come back."""

from typing import Any

from flask import current_app, flash, make_response, redirect, render_template, request, url_for
from flask_wtf import FlaskForm
from pydantic import ValidationError
from werkzeug.wrappers import Response
from wtforms import PasswordField, StringField, URLField
from wtforms.validators import DataRequired, Length

from characters.accounts.workspaces import Action
from characters.bibles.bible import get_character, list_characters
from characters.core.config import ConfigError
from characters.core.errors import DomainError
from characters.core.models import ChannelKind, Character
from characters.publishing.channels import (
    DEFAULT_BLUESKY_SERVICE,
    CreatedChannel,
    channel_character,
    check_pending,
    create_channel,
    describe_channel,
    get_channel,
    list_channels,
    parse_channel_create,
    remove_channel,
    request_check,
    set_disabled,
)
from characters.publishing.secrets import secret_box
from web.context import current_member, workspace_blueprint
from web.database import get_session, unit_of_work
from web.forms import EmptyForm
from web.formtools import apply_errors, domain_errors, validation_errors

bp = workspace_blueprint("channels", __name__, "/channels")
# While a connection test is pending the page reloads itself this often (seconds); no JavaScript needed.
CHECK_REFRESH_SECONDS = 3


class BlueskyForm(FlaskForm):
    label = StringField("Label", description="Optional; shown in Greenroom only.", validators=[Length(max=200)])
    service_url = URLField("Service", default=DEFAULT_BLUESKY_SERVICE,
                           description="Where the account lives: https://bsky.social, or a self-hosted PDS.",
                           validators=[DataRequired(), Length(max=500)])
    handle = StringField("Handle", description="e.g. pip.bsky.social", validators=[DataRequired(), Length(max=253)])
    app_password = PasswordField(
        "App password", description="Create one in Bluesky under Settings → Privacy and security → App passwords. "
                                    "Never the account's own password.",
        validators=[DataRequired(), Length(max=200)])


class MastodonForm(FlaskForm):
    label = StringField("Label", description="Optional; shown in Greenroom only.", validators=[Length(max=200)])
    api_base_url = URLField("Instance", description="e.g. https://mastodon.social",
                            validators=[DataRequired(), Length(max=500)])
    access_token = PasswordField(
        "Access token", description="From Preferences → Development → New application, with write:statuses and "
                                    "write:media.", validators=[DataRequired(), Length(max=500)])


class WebhookForm(FlaskForm):
    label = StringField("Label", description="Optional; shown in Greenroom only.", validators=[Length(max=200)])
    url = URLField("URL", description="Receives each post as signed JSON (see docs/webhooks.md).",
                   validators=[DataRequired(), Length(max=2000)])


_FORMS: dict[str, type[FlaskForm]] = {"bluesky": BlueskyForm, "mastodon": MastodonForm, "webhook": WebhookForm}


def _forms(bound_kind: str | None = None) -> dict[str, FlaskForm]:
    """Return one form per kind, each with its own field prefix; only `bound_kind` reads the request."""
    return {kind: form_class(prefix=kind, formdata=request.form if kind == bound_kind else None)
            for kind, form_class in _FORMS.items()}


@bp.route("/")
def index() -> str:
    """List the workspace's characters and how many channels each has."""
    db = get_session()
    characters = list_characters(db, current_member().workspace)
    channels = {character.id: list_channels(db, character) for character in characters}
    return render_template("channels/index.html", characters=characters, channels=channels)


@bp.route("/<character_slug>/")
def character_page(character_slug: str) -> Response:
    """Show a character's channels; owners get the add forms and the actions."""
    return _render(_character(character_slug))


@bp.route("/<character_slug>/add/<any(bluesky, mastodon, webhook):kind>", methods=["POST"])
def add(character_slug: str, kind: str) -> Response:
    """Add a channel from the kind's form; a webhook's signing secret is shown on the answer page, once."""
    member = current_member()
    member.require(Action.MANAGE_CHANNELS)
    character = _character(character_slug)
    forms = _forms(bound_kind=kind)
    form = forms[kind]
    if not form.validate_on_submit():
        return _render(character, forms=forms, status=400)
    fields = {name: field.data for name, field in form._fields.items() if name != "csrf_token"}
    try:
        channel_create = parse_channel_create(kind, fields)
        with unit_of_work() as db:
            created = create_channel(session=db, member=member, character=character, channel_create=channel_create,
                                     box=secret_box(current_app.extensions["greenroom.settings"]))
    except ValidationError as error:
        apply_errors(form, validation_errors(error))
        return _render(character, forms=forms, status=400)
    except ConfigError as error:
        form.form_errors.append(f"Channel credentials cannot be stored: {error}")
        return _render(character, forms=forms, status=503)
    except DomainError as error:
        apply_errors(form, domain_errors(error))
        return _render(character, forms=forms, status=400)
    flash(f"Added “{created.channel.label}”. Use “Test connection” to check it.", "success")
    if created.signing_secret is not None:
        return _render(character, created=created)
    return redirect(url_for("channels.character_page", character_slug=character.slug))


@bp.route("/<int:channel_id>/check", methods=["POST"])
def check(channel_id: int) -> Response:
    """Ask the scheduler to test the connection; the page shows “checking…” until it reports."""
    return _act(channel_id, lambda db, member, channel: request_check(session=db, member=member, channel=channel),
                "Testing the connection…")


@bp.route("/<int:channel_id>/disable", methods=["POST"])
def disable(channel_id: int) -> Response:
    """Stop publishing to a channel without forgetting it."""
    return _act(channel_id, lambda db, member, channel: set_disabled(session=db, member=member, channel=channel,
                                                                     disabled=True), "Channel disabled.")


@bp.route("/<int:channel_id>/enable", methods=["POST"])
def enable(channel_id: int) -> Response:
    """Publish to a disabled channel again."""
    return _act(channel_id, lambda db, member, channel: set_disabled(session=db, member=member, channel=channel,
                                                                     disabled=False), "Channel enabled.")


@bp.route("/<int:channel_id>/remove", methods=["POST"])
def remove(channel_id: int) -> Response:
    """Delete a channel and its credentials; posts still queued for it will fail with a clear reason."""
    return _act(channel_id, lambda db, member, channel: remove_channel(session=db, member=member, channel=channel),
                "Channel removed. Posts still queued for it will not be sent there.")


def _act(channel_id: int, action: Any, done: str) -> Response:
    member = current_member()
    member.require(Action.MANAGE_CHANNELS)
    db = get_session()
    channel = get_channel(db, member, channel_id)
    character = channel_character(db, channel)
    if EmptyForm().validate_on_submit():
        try:
            with unit_of_work() as db:
                action(db, member, channel)
        except DomainError as error:
            flash(error.message, "error")
        else:
            flash(done, "success")
    slug = character.slug if character is not None else ""
    return redirect(url_for("channels.character_page", character_slug=slug))


def _character(slug: str) -> Character:
    return get_character(get_session(), current_member().workspace, slug)


def _render(character: Character, *, forms: dict[str, FlaskForm] | None = None, created: CreatedChannel | None = None,
            status: int = 200) -> Response:
    db = get_session()
    channels = list_channels(db, character)
    pending = any(check_pending(channel) for channel in channels)
    member = current_member()
    body = render_template(
        "channels/character.html", character=character, channels=channels, forms=forms or _forms(),
        action_form=EmptyForm(), created=created, pending=pending, kinds=ChannelKind,
        can_manage=member.can(Action.MANAGE_CHANNELS), describe=describe_channel, check_pending=check_pending)
    response = make_response(body, status)
    if pending:
        response.headers["Refresh"] = str(CHECK_REFRESH_SECONDS)
    response.headers["Cache-Control"] = "no-store"  # a shown-once signing secret must not stay in any cache
    return response

