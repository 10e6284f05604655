"""Channels: where a character publishes. Every character always has its own public feed."""

from sqlmodel import Session, col, select

from characters.models import Channel, ChannelKind, Character, require_id


def ensure_feed_channel(session: Session, character: Character) -> Channel:
    """Return the character's own feed channel, creating it on first use."""
    channel = session.exec(
        select(Channel).where(Channel.character_id == character.id, Channel.kind == ChannelKind.FEED)
    ).first()
    if channel is None:
        channel = Channel(workspace_id=character.workspace_id, character_id=require_id(character),
                          kind=ChannelKind.FEED, label=f"{character.name}'s feed")
        session.add(channel)
        session.flush()
    return channel


def channels_of(session: Session, character: Character, *, include_disabled: bool = False) -> list[Channel]:
    """Return a character's channels, feed first."""
    query = select(Channel).where(Channel.character_id == character.id)
    if not include_disabled:
        query = query.where(col(Channel.disabled_at).is_(None))
    channels = list(session.exec(query.order_by(col(Channel.id))).all())
    return sorted(channels, key=lambda channel: channel.kind != ChannelKind.FEED)
