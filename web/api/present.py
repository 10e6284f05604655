"""Rows to response models: characters, posts with their parts and deliveries, in the character's local time."""

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from flask import Response
from sqlmodel import Session

from characters.accounts.workspaces import Member
from characters.bibles.bible import current_card
from characters.bibles.editing import edit_values
from characters.core.models import Character, Post, require_id
from characters.posting.posts import deliveries_with_channels, first_texts, parts_of
from characters.posting.rhythm import zones_of
from characters.posting.workflow import StaleVersion, allowed_actions, character_of
from web.api.auth import api_member
from web.api.errors import error_response
from web.api.schemas_characters import CharacterOut, CharacterSummary
from web.api.schemas_posts import DeliveryOut, PartOut, PostOut, PostSummary
from web.database import get_session

EXCERPT_CHARS = 280


def character_summary(character: Character) -> CharacterSummary:
    """Return a character as lists show it."""
    return CharacterSummary(id=require_id(character), slug=character.slug, name=character.name,
                            current_version=character.current_version, archived=character.archived_at is not None,
                            has_avatar=character.avatar_png is not None, created_at=character.created_at,
                            updated_at=character.updated_at)


def character_out(session: Session, character: Character) -> CharacterOut:
    """Return a character with its current bible."""
    card = current_card(session, character)
    return CharacterOut(**character_summary(character).model_dump(), timezone=card.greenroom.timezone,
                        bible=edit_values(card), card=card.to_json_dict())


def local(moment: datetime | None, zone: ZoneInfo) -> str | None:
    """Return `moment` as ISO 8601 in `zone` (with its offset), or None."""
    return moment.astimezone(zone).isoformat() if moment else None


def post_summaries(session: Session, rows: list[tuple[Post, Character]]) -> list[PostSummary]:
    """Return posts as lists show them, with the start of their text and their due time in local time."""
    texts = first_texts(session, [post for post, _ in rows])
    zones = zones_of(session, list({character.id: character for _, character in rows}.values()))
    return [_summary(post, character, texts.get(require_id(post), ""), zones[require_id(character)])
            for post, character in rows]


def _summary(post: Post, character: Character, text: str, zone: ZoneInfo) -> PostSummary:
    return PostSummary(
        id=require_id(post), character=character.slug, status=post.status, version=post.version,
        due_at=post.due_at, due_local=local(post.due_at, zone), timezone=str(zone), campaign_id=post.campaign_id,
        scene_id=post.scene_id, excerpt=text[:EXCERPT_CHARS], created_at=post.created_at,
        updated_at=post.updated_at)


def post_out(session: Session, member: Member, post: Post) -> PostOut:
    """Return one post with its parts, deliveries, check and what this token may do to it."""
    character = character_of(session, post)
    zone = zones_of(session, [character])[require_id(character)]
    parts = parts_of(session, post)
    summary = _summary(post, character, parts[0].text if parts else "", zone)
    check = ({"score": post.check_score, "verdict": post.check_verdict, "findings": post.check_findings}
             if post.check_score is not None and post.check_verdict else None)
    return PostOut(
        **summary.model_dump(),
        parts=[PartOut(id=require_id(part), position=part.position, text=part.text, has_image=part.image is not None,
                       image_alt=part.image_alt) for part in parts],
        deliveries=[DeliveryOut(channel_id=delivery.channel_id, channel_kind=channel.kind if channel else None,
                                channel_label=channel.label if channel else None, status=delivery.status,
                                due_at=delivery.due_at, published_at=delivery.published_at,
                                remote_url=delivery.remote_url, last_error=delivery.last_error)
                    for delivery, channel in deliveries_with_channels(session, post)],
        check=check, bible_version=post.bible_version, override_reason=post.override_reason,
        author_id=post.author_id, submitted_by_id=post.submitted_by_id, approved_by_id=post.approved_by_id,
        approved_at=post.approved_at, published_at=post.published_at, last_error=post.last_error,
        allowed_actions=allowed_actions(member, post),
    )


def stale_response(error: StaleVersion) -> Response:
    """Answer a version conflict with both versions, and the post as it is now (for a client to merge)."""
    details: dict[str, Any] = {"your_version": error.expected, "current_version": error.post.version}
    if isinstance(error.post, Post):
        details["current"] = post_out(get_session(), api_member(), error.post).model_dump(mode="json")
    return error_response(409, error.message, code="version_conflict", details=details)
