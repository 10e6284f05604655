"""Loading what claimed deliveries publish: the post's parts, the channel, the character, the post it answers."""

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.engine import Connection, Engine
from sqlmodel import col

from characters.core.db import write_transaction
from characters.core.models import (
    Channel,
    Character,
    Conversation,
    Delivery,
    DeliveryStatus,
    Post,
    PostPart,
    Workspace,
)
from characters.publishing.claims import ClaimedDelivery, claim_in_transaction
from characters.publishing.settling import Failure, settle_in_transaction
from characters.publishing.sql import PENDING, PUBLISHING, Statement, in_ids


@dataclass(frozen=True)
class PartData:
    """One part of a post's text, with its image."""

    text: str
    image: bytes | None = None
    image_mime: str | None = None
    image_alt: str | None = None


@dataclass(frozen=True)
class ChannelData:
    """The channel a delivery goes to, as stored (secrets still encrypted)."""

    id: int
    kind: str
    label: str
    settings: dict[str, Any]
    secret_token: str | None
    disabled: bool
    session_token: str | None = None  # the saved network session, encrypted like the secrets


@dataclass(frozen=True)
class OutgoingDelivery:
    """Everything needed to publish one claimed delivery, read in a few batched queries."""

    claimed: ClaimedDelivery
    workspace_id: int
    author_id: int | None
    late_grace_minutes: int
    character_name: str
    character_archived: bool
    channel: ChannelData | None
    parts: list[PartData]
    reply_to: dict[str, Any] | None = None
    # The post answers another one (a scene) that has not gone out on this network yet.
    waiting_for_parent: bool = False
    # A reply to an audience conversation whose post is deleted or out of reach: why it cannot be sent.
    reply_gone: str | None = None

    def lateness(self, now: datetime) -> timedelta:
        """Return how late publishing at `now` would be."""
        return now - self.claimed.effective_due_at

    def too_late(self, now: datetime) -> bool:
        """Return whether the workspace's grace period has passed, so an editor must decide."""
        return self.lateness(now) > timedelta(minutes=self.late_grace_minutes)


_LOAD_POSTS = Statement(
    lambda postgresql: (
        select(
            col(Post.id),
            col(Post.workspace_id),
            col(Post.author_id),
            col(Post.reply_to_post_id),
            col(Post.conversation_id),
            col(Character.name),
            col(Character.archived_at),
            col(Workspace.late_grace_minutes),
        )
        .join(Character, col(Character.id) == col(Post.character_id))
        .join(Workspace, col(Workspace.id) == col(Post.workspace_id))
        .where(in_ids(col(Post.id), postgresql))
    )
)
_LOAD_PARTS = Statement(
    lambda postgresql: (
        select(
            col(PostPart.post_id),
            col(PostPart.text),
            col(PostPart.image),
            col(PostPart.image_mime),
            col(PostPart.image_alt),
        )
        .where(in_ids(col(PostPart.post_id), postgresql))
        .order_by(col(PostPart.post_id), col(PostPart.position))
    )
)
_LOAD_CHANNELS = Statement(
    lambda postgresql: select(
        col(Channel.id),
        col(Channel.kind),
        col(Channel.label),
        col(Channel.settings),
        col(Channel.secret_token),
        col(Channel.disabled_at),
        col(Channel.session_token),
    ).where(in_ids(col(Channel.id), postgresql))
)
_LOAD_CONVERSATIONS = Statement(
    lambda postgresql: select(
        col(Conversation.id), col(Conversation.network), col(Conversation.remote_ref), col(Conversation.gone_at),
        col(Conversation.author_handle),
    ).where(in_ids(col(Conversation.id), postgresql))
)
_LOAD_PARENTS = Statement(
    lambda postgresql: (
        select(col(Delivery.post_id), col(Delivery.status), col(Delivery.remote_refs), col(Channel.kind))
        .join(Channel, col(Channel.id) == col(Delivery.channel_id))
        .where(in_ids(col(Delivery.post_id), postgresql))
    )
)


def claim_and_load(
    engine: Engine, worker_id: str, now: datetime, limit: int, lease_seconds: float
) -> list[OutgoingDelivery]:
    """Lease up to `limit` due deliveries and read what they publish, in one transaction (one round of commits).

    Replies to a conversation whose post is gone are failed here, with the reason, and never handed out.
    """
    with write_transaction(engine) as connection:
        loaded = load_in_transaction(connection, claim_in_transaction(connection, worker_id, now, limit, lease_seconds))
        gone = [Failure(delivery.claimed.id, delivery.reply_gone) for delivery in loaded if delivery.reply_gone]
        if gone:
            settle_in_transaction(connection, worker_id, gone, now)
        return [delivery for delivery in loaded if not delivery.reply_gone]


def load_deliveries(engine: Engine, claimed: Sequence[ClaimedDelivery]) -> list[OutgoingDelivery]:
    """Read the posts, parts, channels and characters of claimed deliveries in a few queries."""
    if not claimed:
        return []
    with engine.connect() as connection:
        return load_in_transaction(connection, claimed)


def load_in_transaction(connection: Connection, claimed: Sequence[ClaimedDelivery]) -> list[OutgoingDelivery]:
    """Read what claimed deliveries publish, in the caller's transaction (those of deleted posts are left out)."""
    if not claimed:
        return []
    post_ids = {delivery.post_id for delivery in claimed}
    channel_ids = {delivery.channel_id for delivery in claimed if delivery.channel_id is not None}
    posts = {row.id: row for row in connection.execute(_LOAD_POSTS.on(connection), {"b_ids": sorted(post_ids)})}
    parts: dict[int, list[PartData]] = defaultdict(list)
    for row in connection.execute(_LOAD_PARTS.on(connection), {"b_ids": sorted(post_ids)}):
        parts[row.post_id].append(
            PartData(text=row.text, image=row.image, image_mime=row.image_mime, image_alt=row.image_alt)
        )
    channels = {
        row.id: ChannelData(
            id=row.id,
            kind=row.kind,
            label=row.label,
            settings=dict(row.settings or {}),
            secret_token=row.secret_token,
            disabled=row.disabled_at is not None,
            session_token=row.session_token,
        )
        for row in connection.execute(_LOAD_CHANNELS.on(connection), {"b_ids": sorted(channel_ids)})
    }
    parents = _parent_deliveries(connection, {row.reply_to_post_id for row in posts.values()} - {None})
    conversation_ids = sorted({row.conversation_id for row in posts.values()} - {None})
    conversations = {row.id: row for row in connection.execute(_LOAD_CONVERSATIONS.on(connection),
                                                               {"b_ids": conversation_ids})} if conversation_ids else {}
    deliveries = []
    for delivery in claimed:
        post = posts.get(delivery.post_id)
        if post is None:  # deleted with its character between the claim and now; nothing left to publish
            continue
        channel = channels.get(delivery.channel_id) if delivery.channel_id is not None else None
        reply_to, waiting = _reply_of(parents.get(post.reply_to_post_id, []), channel)
        reply_gone = None
        if post.conversation_id is not None:
            reply_to, reply_gone = _conversation_reply(conversations.get(post.conversation_id), channel)
        deliveries.append(
            OutgoingDelivery(
                claimed=delivery,
                workspace_id=post.workspace_id,
                author_id=post.author_id,
                late_grace_minutes=post.late_grace_minutes,
                character_name=post.name,
                character_archived=post.archived_at is not None,
                channel=channel,
                parts=parts.get(delivery.post_id, []),
                reply_to=reply_to,
                waiting_for_parent=waiting,
                reply_gone=reply_gone,
            )
        )
    return deliveries


def _parent_deliveries(connection: Connection, parent_ids: set[Any]) -> dict[int, list[Any]]:
    """Return the deliveries of posts that other posts answer, keyed by post id, with their network."""
    if not parent_ids:
        return {}
    found: dict[int, list[Any]] = defaultdict(list)
    for row in connection.execute(_LOAD_PARENTS.on(connection), {"b_ids": sorted(parent_ids)}):
        found[row.post_id].append(row)
    return found


def _conversation_reply(conversation: Any, channel: ChannelData | None) -> tuple[dict[str, Any] | None, str | None]:
    """Return the audience post a reply answers (as a publisher's reply_to), or why it cannot be answered."""
    if conversation is None:
        return None, "The conversation this reply answers was removed; nothing was sent."
    if conversation.gone_at is not None:
        who = f"@{conversation.author_handle}" if conversation.author_handle else "its author"
        return None, (f"The post this reply answers was deleted by {who} (or is no longer reachable); "
                      "nothing was sent.")
    if channel is None or conversation.network != channel.kind:
        return None, f"This reply answers a {conversation.network} post; it can only go to that network."
    ref = dict(conversation.remote_ref or {})
    if not ref.get("id"):
        return None, "The conversation has no network reference to reply to; nothing was sent."
    # Bluesky: cid, root_uri and root_cid make reply.parent and reply.root; Mastodon: id on `instance`.
    extra = {key: value for key, value in ref.items() if key not in ("id", "url") and value is not None}
    return {"id": str(ref["id"]), "url": ref.get("url"), "extra": extra}, None


def _reply_of(parent_deliveries: list[Any], channel: ChannelData | None) -> tuple[dict[str, Any] | None, bool]:
    """Return the remote post to answer on this delivery's network, and whether to wait for it first."""
    if channel is None:
        return None, False
    for parent in parent_deliveries:
        if parent.kind != channel.kind:
            continue
        if parent.status == DeliveryStatus.PUBLISHED.value and parent.remote_refs:
            return dict(parent.remote_refs[-1]), False  # answer the end of the parent's thread
        if parent.status in (PENDING, PUBLISHING):
            return None, True
    return None, False
