"""Channels: list and read (never their credentials), add, test, pause, resume and remove (owners)."""

from collections.abc import Callable

from flask import current_app
from sqlmodel import Session

from characters.accounts.workspaces import Member
from characters.bibles.bible import get_character, list_characters
from characters.core.config import ConfigError
from characters.core.models import Channel, Character, require_id
from characters.publishing.channels import (
    channel_character,
    create_channel,
    describe_channel,
    get_channel,
    list_channels,
    remove_channel,
    request_check,
    set_disabled,
)
from characters.publishing.secrets import secret_box
from web.api import bp
from web.api.auth import api_member
from web.api.errors import ApiError
from web.api.schemas_planning import ChannelCreated, ChannelCreateIn, ChannelList, ChannelOut, ChannelQuery
from web.api.spec import operation
from web.database import get_session, unit_of_work

TAG = "channels"


def _out(channel: Channel, character: Character) -> ChannelOut:
    return ChannelOut(id=require_id(channel), character=character.slug, kind=channel.kind, label=channel.label,
                      address=describe_channel(channel), disabled=channel.disabled_at is not None,
                      last_checked_at=channel.last_checked_at, last_check_ok=channel.last_check_ok,
                      last_check_message=channel.last_check_message)


@bp.get("/channels")
@operation(TAG, ChannelList)
def list_all_channels(query: ChannelQuery) -> ChannelList:
    """List the channels of every character (or of one), each character's own feed included."""
    member = api_member()
    db = get_session()
    characters = ([get_character(db, member.workspace, query.character)] if query.character
                  else list_characters(db, member.workspace))
    return ChannelList(items=[_out(channel, character) for character in characters
                              for channel in list_channels(db, character)])


@bp.get("/channels/<int:channel_id>")
@operation(TAG, ChannelOut)
def get_one_channel(channel_id: int) -> ChannelOut:
    """Return one channel."""
    db = get_session()
    channel = get_channel(db, api_member(), channel_id)
    return _out(channel, channel_character(db, channel))


@bp.post("/characters/<slug>/channels")
@operation(TAG, ChannelCreated, status=201, writes=True, errors=[503])
def add_channel(slug: str, json: ChannelCreateIn) -> tuple[ChannelCreated, int]:
    """Add a Bluesky, Mastodon or webhook channel (owners); a webhook's signing secret is returned once."""
    member = api_member()
    try:
        box = secret_box(current_app.extensions["greenroom.settings"])
    except ConfigError as error:
        raise ApiError(503, f"Channel credentials cannot be stored: {error}", code="not_configured") from None
    with unit_of_work() as db:
        character = get_character(db, member.workspace, slug)
        created = create_channel(session=db, member=member, character=character, channel_create=json.root, box=box)
    return ChannelCreated(channel=_out(created.channel, character), signing_secret=created.signing_secret), 201


def _act(channel_id: int, act: Callable[[Session, Member, Channel], None]) -> ChannelOut:
    member = api_member()
    with unit_of_work() as db:
        channel = get_channel(db, member, channel_id)
        act(db, member, channel)
    return _out(channel, channel_character(get_session(), channel))


@bp.post("/channels/<int:channel_id>/check")
@operation(TAG, ChannelOut, writes=True)
def check_channel(channel_id: int) -> ChannelOut:
    """Ask the scheduler to test the connection; `last_checked_at` changes when it has."""
    return _act(channel_id, lambda db, member, channel: request_check(session=db, member=member, channel=channel))


@bp.post("/channels/<int:channel_id>/disable")
@operation(TAG, ChannelOut, writes=True)
def disable_channel(channel_id: int) -> ChannelOut:
    """Pause a channel: nothing is sent to it until it is enabled again."""
    return _act(channel_id, lambda db, member, channel: set_disabled(session=db, member=member, channel=channel,
                                                                     disabled=True))


@bp.post("/channels/<int:channel_id>/enable")
@operation(TAG, ChannelOut, writes=True)
def enable_channel(channel_id: int) -> ChannelOut:
    """Resume a paused channel."""
    return _act(channel_id, lambda db, member, channel: set_disabled(session=db, member=member, channel=channel,
                                                                     disabled=False))


@bp.delete("/channels/<int:channel_id>")
@operation(TAG, None, status=204, writes=True)
def delete_channel(channel_id: int) -> tuple[str, int]:
    """Remove a channel and its credentials (a character's own feed cannot be removed)."""
    member = api_member()
    with unit_of_work() as db:
        remove_channel(session=db, member=member, channel=get_channel(db, member, channel_id))
    return "", 204
