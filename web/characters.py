"""Characters of the current workspace."""

from flask import Response as FlaskResponse
from flask import render_template

from characters.bible import current_card, get_character, list_characters
from characters.errors import NotFound
from web.context import current_member, workspace_blueprint
from web.database import get_session

bp = workspace_blueprint("characters", __name__, "/characters")


@bp.route("/")
def index() -> str:
    """List the workspace's characters with their era and voice at a glance."""
    db = get_session()
    characters = list_characters(db, current_member().workspace)
    cards = {character.id: current_card(db, character) for character in characters}
    return render_template("characters/index.html", characters=characters, cards=cards)


@bp.route("/<slug>/avatar.png")
def avatar(slug: str) -> FlaskResponse:
    """Serve a character's avatar image."""
    character = get_character(get_session(), current_member().workspace, slug)
    if character.avatar_png is None:
        raise NotFound("This character has no avatar.")
    response = FlaskResponse(character.avatar_png, mimetype="image/png")
    response.headers["Cache-Control"] = "private, max-age=300"
    return response
