"""Published posts with numbers, written straight to the tables (the collector's job is tested elsewhere)."""

from datetime import datetime, timedelta

from sqlmodel import Session

from characters.core.models import (
    Channel,
    ChannelKind,
    Character,
    Delivery,
    DeliveryStatus,
    FollowerSnapshot,
    Post,
    PostPart,
    PostStatus,
    require_id,
)


def network_channel(session: Session, character: Character, kind: ChannelKind = ChannelKind.BLUESKY,
                    label: str = "") -> Channel:
    """Add a Bluesky or Mastodon account for the character."""
    channel = Channel(workspace_id=character.workspace_id, character_id=require_id(character), kind=kind,
                      label=label or f"{character.slug}.{kind.value}.example")
    session.add(channel)
    session.flush()
    return channel


def published(session: Session, character: Character, channel: Channel, at: datetime, *, likes: int = 0,
              reposts: int = 0, replies: int = 0, quotes: int = 0, campaign_id: int | None = None,
              text: str = "A published post.", measured: bool = True, post: Post | None = None,
              conversation_id: int | None = None) -> Delivery:
    """Add a post published at `at` on `channel` (or another delivery of `post`) with its latest numbers; with
    `conversation_id`, a reply to that audience conversation."""
    if post is None:
        post = Post(workspace_id=character.workspace_id, character_id=require_id(character),
                    status=PostStatus.PUBLISHED, due_at=at, published_at=at, campaign_id=campaign_id,
                    conversation_id=conversation_id)
        session.add(post)
        session.flush()
        session.add(PostPart(post_id=require_id(post), position=0, text=text))
    delivery = Delivery(post_id=require_id(post), channel_id=require_id(channel), status=DeliveryStatus.PUBLISHED,
                        due_at=at, published_at=at, likes=likes, reposts=reposts, replies=replies, quotes=quotes,
                        metrics_at=at + timedelta(minutes=10) if measured else None, metrics_step=1 if measured else 0)
    session.add(delivery)
    session.flush()
    return delivery


def followers(session: Session, channel: Channel, at: datetime, count: int) -> None:
    """Record the channel's follower count at `at`."""
    session.add(FollowerSnapshot(channel_id=require_id(channel), taken_at=at, followers=count))
    session.flush()
