"""Posts of the current workspace: the list and new drafts."""

from flask import flash, redirect, render_template, request, url_for
from pydantic import ValidationError
from werkzeug.wrappers import Response
from wtforms import SelectChoice

from characters.bible import get_character, list_characters
from characters.errors import DomainError
from characters.models import PostStatus
from characters.posts import PostDraft, create_draft, first_texts, list_posts
from characters.workspaces import Action
from web.context import current_member, workspace_blueprint
from web.database import get_session, unit_of_work
from web.forms import DraftForm
from web.formtools import apply_domain_error, apply_validation_error

bp = workspace_blueprint("posts", __name__, "/posts")


@bp.route("/")
def index() -> str:
    """List posts, optionally filtered by status."""
    member = current_member()
    status_value = request.args.get("status", "")
    status = PostStatus(status_value) if status_value in PostStatus._value2member_map_ else None
    db = get_session()
    posts = list_posts(db, member.workspace, status=status)
    texts = first_texts(db, [post for post, _ in posts])
    return render_template("posts/index.html", posts=posts, texts=texts, status=status, statuses=list(PostStatus))


@bp.route("/new", methods=["GET", "POST"])
def new() -> str | Response:
    """Write a new draft for one of the workspace's characters."""
    member = current_member()
    member.require(Action.DRAFT)
    db = get_session()
    characters = list_characters(db, member.workspace)
    form = DraftForm(character=request.args.get("character"))
    form.character.choices = [SelectChoice(c.slug, c.name) for c in characters]
    if form.validate_on_submit():
        try:
            with unit_of_work() as db:
                character = get_character(db, member.workspace, form.character.data or "")
                create_draft(session=db, member=member, character=character,
                             draft=PostDraft(parts=[form.text.data or ""]))
        except ValidationError as error:
            apply_validation_error(form, error)
        except DomainError as error:
            apply_domain_error(form, error)
        else:
            flash(f"Draft saved for {character.name}.", "success")
            return redirect(url_for("posts.index"))
    return render_template("posts/new.html", form=form, characters=characters)
