"""The review inbox: posts and scenes waiting for an editor, oldest first, approved or rejected in place."""

from typing import Any

from flask import g, render_template, request

from characters.accounts.workspaces import Action, Member
from characters.core.models import require_id, utcnow
from characters.posting.planning import suggested_times
from characters.posting.posts import parts_by_post
from characters.posting.rhythm import next_free_slots, zones_of
from characters.posting.scenes import scenes_in_review
from characters.posting.workflow import (
    allowed_actions,
    edited_posts,
    posts_in_review,
    posts_in_review_count,
    review_count,
    submit_notes,
)
from web.context import current_member, workspace_blueprint
from web.database import get_session
from web.posts.present import int_arg, local_input, viewer_zone

bp = workspace_blueprint("inbox", __name__, "/inbox")
PAGE = 25  # posts per page: each carries its thread, its check and its forms


@bp.route("/")
def index() -> str:
    """List what waits for review, oldest first, a page at a time, with each post's check and its forms."""
    member = current_member()
    db = get_session()
    total = posts_in_review_count(db, member.workspace)
    pages = max(1, -(-total // PAGE))
    page = min(max(int_arg(request.args.get("page")) or 1, 1), pages)
    waiting = posts_in_review(db, member.workspace, offset=(page - 1) * PAGE, limit=PAGE)
    posts = [post for post, _ in waiting]
    characters = list({character.id: character for _, character in waiting}.values())
    # Everything below is read once for the whole page: parts, zones, the two-person rule and the free slots.
    parts = parts_by_post(db, posts)
    zones = zones_of(db, characters)
    slots = next_free_slots(db, characters, utcnow()) if member.can(Action.APPROVE) else {}
    # A post's own planned time or its campaign's dates come before its character's next free slot.
    times = suggested_times(db, waiting, slots, utcnow()) if slots else {}
    edited = edited_posts(db, member, posts)
    notes = submit_notes(db, posts)
    items = []
    for post, character in waiting:
        zone, slot = zones[require_id(character)], times.get(require_id(post))
        items.append({"post": post, "character": character, "parts": parts[require_id(post)], "char_zone": zone,
                      "suggestion": slot, "suggestion_input": local_input(slot, zone),
                      "actions": allowed_actions(member, post, edited=edited), "note": notes.get(require_id(post))})
    return render_template("inbox/index.html", items=items, scenes=scenes_in_review(db, member.workspace),
                           zone=viewer_zone(), total=total, page=page, pages=pages, first=(page - 1) * PAGE + 1)


@bp.app_context_processor
def _inbox_badge() -> dict[str, Any]:
    """Give the navigation the number of items waiting, for editors (computed only when a template asks)."""

    def inbox_count() -> int:
        member: Member | None = g.get("member")
        if member is None or not member.can(Action.APPROVE):
            return 0
        return review_count(get_session(), member.workspace)

    return {"inbox_count": inbox_count}
