"""The review inbox: posts and scenes waiting for an editor, oldest first, approved or rejected in place."""

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from flask import g, render_template

from characters.accounts.workspaces import Action, Member
from characters.core.models import utcnow
from characters.posting.posts import parts_of
from characters.posting.rhythm import next_free_slot
from characters.posting.scenes import scenes_in_review
from characters.posting.workflow import allowed_actions, edited_posts, posts_in_review, review_count
from web.context import current_member, workspace_blueprint
from web.database import get_session
from web.posts.present import character_zone, local_input, viewer_zone

bp = workspace_blueprint("inbox", __name__, "/inbox")


@bp.route("/")
def index() -> str:
    """List what waits for review, oldest first, with each post's check and its approve/reject forms."""
    member = current_member()
    db = get_session()
    now = utcnow()
    items = []
    # Posts in review hold no slot, so the next free slot (and the zone) is one lookup per character.
    per_character: dict[int | None, tuple[ZoneInfo, datetime | None]] = {}
    waiting = posts_in_review(db, member.workspace)
    edited = edited_posts(db, member, [post for post, _ in waiting])  # the two-person rule, one query for all
    for post, character in waiting:
        if character.id not in per_character:
            slot = next_free_slot(db, character, now) if member.can(Action.APPROVE) else None
            per_character[character.id] = (character_zone(character), slot)
        zone, slot = per_character[character.id]
        items.append({"post": post, "character": character, "parts": parts_of(db, post), "char_zone": zone,
                      "suggestion": slot, "suggestion_input": local_input(slot, zone),
                      "actions": allowed_actions(member, post, edited=edited)})
    return render_template("inbox/index.html", items=items, scenes=scenes_in_review(db, member.workspace),
                           zone=viewer_zone())


@bp.app_context_processor
def _inbox_badge() -> dict[str, Any]:
    """Give the navigation the number of items waiting, for editors (computed only when a template asks)."""

    def inbox_count() -> int:
        member: Member | None = g.get("member")
        if member is None or not member.can(Action.APPROVE):
            return 0
        return review_count(get_session(), member.workspace)

    return {"inbox_count": inbox_count}
