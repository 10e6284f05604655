"""The post list, one post's page (parts, deliveries, check, actions, history) and part images."""

from datetime import date, time, timedelta

from flask import Response, render_template, request

from characters.bibles.bible import list_characters
from characters.core.errors import NotFound
from characters.core.models import ChannelKind, PostStatus, utcnow
from characters.posting.campaigns import get_campaign, list_campaigns
from characters.posting.planning import suggested_time
from characters.posting.posts import (
    deliveries_with_channels,
    first_texts,
    get_part,
    get_post,
    history_of,
    page_posts,
    part_markers,
    parts_of,
)
from characters.posting.rhythm import local_to_utc
from characters.posting.scenes import get_scene
from characters.posting.workflow import allowed_actions, character_of
from web.context import current_member
from web.database import get_session
from web.posts import bp
from web.posts.present import character_zone, int_arg, local_input, viewer_zone

PAGE = 50  # posts per page of the list


@bp.route("/")
def index() -> str:
    """List posts newest first, filtered by status, character and campaign, a page at a time."""
    member = current_member()
    db = get_session()
    status_value = request.args.get("status", "")
    status = PostStatus(status_value) if status_value in PostStatus._value2member_map_ else None
    characters = list_characters(db, member.workspace)
    character = next((c for c in characters if c.slug == request.args.get("character")), None)
    campaign_id = int_arg(request.args.get("campaign"))
    zone = viewer_zone()
    day = _day_arg(request.args.get("day", ""))
    # A day (from the calendar) or a range of due dates, both in the viewer's zone; the range's end is inclusive.
    first, last = (day, day) if day else (_day_arg(request.args.get("from", "")), _day_arg(request.args.get("to", "")))
    due_from = local_to_utc(first, time(0), zone) if first else None
    due_to = local_to_utc(last + timedelta(days=1), time(0), zone) if last else None
    text = request.args.get("q", "").strip()[:200]
    kind = request.args.get("channel", "")
    channel_kind = ChannelKind(kind) if kind in ChannelKind._value2member_map_ else None
    page = page_posts(db, member.workspace, status=status, character=character, campaign_id=campaign_id,
                      due_from=due_from, due_to=due_to, cursor=int_arg(request.args.get("cursor")), limit=PAGE,
                      text=text or None, channel_kind=channel_kind)
    texts = first_texts(db, [post for post, _ in page.rows])
    markers = part_markers(db, [post for post, _ in page.rows])
    return render_template("posts/index.html", posts=page.rows, texts=texts, next_cursor=page.next_cursor,
                           status=status, statuses=list(PostStatus), characters=characters, character=character,
                           campaigns=list_campaigns(db, member.workspace), campaign_id=campaign_id, day=day,
                           zone=zone, markers=markers, q=text, channel_kind=channel_kind,
                           channel_kinds=list(ChannelKind), date_from=None if day else first,
                           date_to=None if day else last)


def _day_arg(value: str) -> date | None:
    """Parse the `day` filter (a local date, YYYY-MM-DD); None when absent or malformed."""
    try:
        return date.fromisoformat(value[:10]) if value else None
    except ValueError:
        return None


@bp.route("/<int:post_id>")
def detail(post_id: int) -> str:
    """Show one post with what can be done to it, and its whole history."""
    member = current_member()
    db = get_session()
    post = get_post(db, member.workspace, post_id)
    character = character_of(db, post)
    zone = character_zone(character)
    actions = allowed_actions(member, post)
    suggestion = None
    if actions["approve"] or actions["reschedule"]:
        suggestion = suggested_time(db, post, character, utcnow())
    return render_template(
        "posts/detail.html", post=post, character=character, parts=parts_of(db, post),
        deliveries=deliveries_with_channels(db, post), history=history_of(db, post), actions=actions,
        char_zone=zone, zone=viewer_zone(), suggestion=suggestion, suggestion_input=local_input(suggestion, zone),
        due_input=local_input(post.due_at, zone),
        campaign=get_campaign(db, member.workspace, post.campaign_id) if post.campaign_id else None,
        scene=get_scene(db, member.workspace, post.scene_id) if post.scene_id else None)


@bp.route("/<int:post_id>/images/<int:part_id>")
def part_image(post_id: int, part_id: int) -> Response:
    """Serve a part's image (re-encoded on upload, so it is safe to show as is)."""
    part = get_part(get_session(), current_member().workspace, post_id, part_id)
    if part.image is None:
        raise NotFound("This part has no image.")
    response = Response(part.image, mimetype=part.image_mime or "application/octet-stream")
    response.headers["Cache-Control"] = "private, max-age=300"
    return response
