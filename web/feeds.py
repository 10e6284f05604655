"""A character's public feed, as Atom and JSON Feed 1.1: the posts whose feed delivery is published, no login."""

import json
import re
import uuid
from datetime import datetime
from html import escape

from feedgen.feed import FeedGenerator
from flask import Blueprint, Response, url_for

from characters.core.models import Character, PostPart, require_id
from characters.publishing.channels import FeedItem, feed_image, feed_items, public_feed_character
from web.database import get_session

bp = Blueprint("feeds", __name__, url_prefix="/feeds")
CACHE_SECONDS = 300
TITLE_CHARS = 80
_IMAGE_EXTENSIONS = {"image/png": "png", "image/jpeg": "jpg", "image/gif": "gif", "image/webp": "webp"}
# XML 1.0 cannot carry most control characters, even escaped; they are dropped from Atom text.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


@bp.route("/<workspace_slug>/<character_slug>.atom")
def atom(workspace_slug: str, character_slug: str) -> Response:
    """Serve the character's feed as Atom (RFC 4287)."""
    character = public_feed_character(get_session(), workspace_slug, character_slug)
    items = feed_items(get_session(), character)
    self_url = url_for("feeds.atom", workspace_slug=workspace_slug, character_slug=character_slug, _external=True)
    generator = FeedGenerator()
    generator.id(_urn(self_url))
    generator.title(_xml(f"{character.name}"))
    generator.subtitle(_xml(f"Posts by {character.name}"))
    generator.author(name=_xml(character.name))
    generator.link(href=self_url, rel="self", type="application/atom+xml")
    generator.link(href=url_for("feeds.json_feed", workspace_slug=workspace_slug, character_slug=character_slug,
                                _external=True), rel="alternate", type="application/feed+json")
    generator.updated(_updated(character, items))
    for item in reversed(items):  # feedgen prepends each entry: add oldest first to list newest first
        entry = generator.add_entry()
        entry.id(_urn(self_url, item))
        entry.title(_xml(_title(item)))
        entry.content(_xml(_html(item, workspace_slug, character_slug)), type="html")
        entry.published(item.published_at)
        entry.updated(item.published_at)
    return _response(generator.atom_str(pretty=True), "application/atom+xml; charset=utf-8")


@bp.route("/<workspace_slug>/<character_slug>.json")
def json_feed(workspace_slug: str, character_slug: str) -> Response:
    """Serve the character's feed as JSON Feed 1.1."""
    character = public_feed_character(get_session(), workspace_slug, character_slug)
    items = feed_items(get_session(), character)
    feed_url = url_for("feeds.json_feed", workspace_slug=workspace_slug, character_slug=character_slug,
                       _external=True)
    document = {
        "version": "https://jsonfeed.org/version/1.1",
        "title": character.name,
        "description": f"Posts by {character.name}",
        "feed_url": feed_url,
        "authors": [{"name": character.name}],
        "items": [_json_item(item, feed_url, workspace_slug, character_slug) for item in items],
    }
    body = json.dumps(document, ensure_ascii=False, indent=2).encode("utf-8")
    return _response(body, "application/feed+json; charset=utf-8")


@bp.route("/<workspace_slug>/<character_slug>/images/<int:part_id>")
def image(workspace_slug: str, character_slug: str, part_id: int) -> Response:
    """Serve an image of a post that is in the character's public feed."""
    db = get_session()
    part = feed_image(db, public_feed_character(db, workspace_slug, character_slug), part_id)
    mime = part.image_mime if part.image_mime in _IMAGE_EXTENSIONS else "application/octet-stream"
    return _response(part.image or b"", mime)


def _json_item(item: FeedItem, feed_url: str, workspace_slug: str, character_slug: str) -> dict[str, object]:
    images = [part for part in item.parts if part.image is not None]
    entry: dict[str, object] = {
        "id": _urn(feed_url, item),
        "title": _title(item),
        "content_text": "\n\n".join(part.text for part in item.parts),
        "content_html": _html(item, workspace_slug, character_slug),
        "date_published": item.published_at.isoformat(),
    }
    if images:
        entry["image"] = _image_url(images[0], workspace_slug, character_slug)
        entry["attachments"] = [{"url": _image_url(part, workspace_slug, character_slug),
                                 "mime_type": part.image_mime or "application/octet-stream",
                                 "title": part.image_alt or ""} for part in images]
    return entry


def _html(item: FeedItem, workspace_slug: str, character_slug: str) -> str:
    """Return the post as HTML: each part a paragraph, its image with its alt text; every text escaped."""
    blocks = []
    for part in item.parts:
        if part.text:
            blocks.append("<p>" + escape(part.text).replace("\n", "<br>") + "</p>")
        if part.image is not None:
            source = escape(_image_url(part, workspace_slug, character_slug))
            blocks.append(f'<p><img src="{source}" alt="{escape(part.image_alt or "")}"></p>')
    return "\n".join(blocks)


def _title(item: FeedItem) -> str:
    text = " ".join((item.parts[0].text if item.parts else "").split())
    return text if len(text) <= TITLE_CHARS else text[:TITLE_CHARS - 1].rstrip() + "…"


def _image_url(part: PostPart, workspace_slug: str, character_slug: str) -> str:
    return url_for("feeds.image", workspace_slug=workspace_slug, character_slug=character_slug,
                   part_id=require_id(part), _external=True)


def _urn(feed_url: str, item: FeedItem | None = None) -> str:
    """Return a stable id: the same feed and post always give the same URN."""
    name = feed_url if item is None else f"{feed_url}#post-{require_id(item.post)}"
    return uuid.uuid5(uuid.NAMESPACE_URL, name).urn


def _updated(character: Character, items: list[FeedItem]) -> datetime:
    return items[0].published_at if items else character.updated_at


def _xml(text: str) -> str:
    return _NOT_XML.sub("", text)


def _response(body: bytes, mimetype: str) -> Response:
    response = Response(body, content_type=mimetype)
    response.headers["Cache-Control"] = f"public, max-age={CACHE_SECONDS}"
    response.headers["Access-Control-Allow-Origin"] = "*"  # public data: let web readers fetch it
    return response
