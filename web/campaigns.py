"""Campaigns: plan a push with dates, a goal and characters, and watch its posts move through review."""

from datetime import date

from flask import abort, flash, redirect, render_template, request, url_for
from sqlmodel import Session
from werkzeug.wrappers import Response

from characters.accounts.workspaces import Action
from characters.bibles.bible import list_characters
from characters.core.models import Campaign
from characters.posting.campaigns import (
    CampaignInput,
    create_campaign,
    get_campaign,
    list_campaigns,
    progress_of,
    update_campaign,
)
from characters.posting.posts import first_texts, list_posts
from web.context import current_member, workspace_blueprint
from web.database import get_session
from web.forms import EmptyForm
from web.formtools import FieldErrors, save_form
from web.posts.present import int_arg, viewer_zone

bp = workspace_blueprint("campaigns", __name__, "/campaigns")


@bp.route("/")
def index() -> str:
    """List campaigns with their progress."""
    member = current_member()
    db = get_session()
    campaigns = list_campaigns(db, member.workspace)
    return render_template("campaigns/index.html", campaigns=campaigns,
                           progress={c.id: progress_of(db, c) for c in campaigns})


def _form_data() -> dict[str, object]:
    form = request.form
    return {"name": form.get("name", "")[:300], "goal": form.get("goal", "")[:3000],
            "starts_on": form.get("starts_on") or None, "ends_on": form.get("ends_on") or None,
            "character_ids": [v for v in (int_arg(x) for x in form.getlist("characters")) if v is not None]}


def _render_form(data: dict[str, object], errors: FieldErrors, campaign: Campaign | None) -> str:
    member = current_member()
    return render_template("campaigns/edit.html", data=data, errors=errors, campaign=campaign,
                           characters=list_characters(get_session(), member.workspace))


def _save(db: Session, data: dict[str, object], campaign: Campaign | None) -> Campaign:
    member = current_member()
    values = CampaignInput.model_validate(data)
    if campaign is None:
        return create_campaign(session=db, member=member, data=values)
    return update_campaign(session=db, member=member, data=values,
                           campaign=get_campaign(db, member.workspace, campaign.id or 0))


@bp.route("/new", methods=["GET", "POST"])
@bp.route("/<int:campaign_id>/edit", methods=["GET", "POST"])
def edit(campaign_id: int | None = None) -> str | Response:
    """Create or change a campaign (editors and owners)."""
    member = current_member()
    member.require(Action.SCHEDULE)
    db = get_session()
    campaign = get_campaign(db, member.workspace, campaign_id) if campaign_id is not None else None
    if request.method == "GET":
        data: dict[str, object] = ({"name": campaign.name, "goal": campaign.goal, "starts_on": campaign.starts_on,
                                    "ends_on": campaign.ends_on, "character_ids": campaign.character_ids}
                                   if campaign else {"name": "", "goal": "", "starts_on": date.today(),
                                                     "ends_on": None, "character_ids": []})
        return _render_form(data, {}, campaign)
    if not EmptyForm().validate_on_submit():
        abort(400)
    data = _form_data()
    saved, errors = save_form(lambda db: _save(db, data, campaign))
    if saved is None:
        return _render_form(data, errors, campaign)
    flash(f"Campaign “{saved.name}” saved.", "success")
    return redirect(url_for("campaigns.detail", campaign_id=saved.id))


@bp.route("/<int:campaign_id>")
def detail(campaign_id: int) -> str:
    """A campaign's goal, dates, characters, progress and posts."""
    member = current_member()
    db = get_session()
    campaign = get_campaign(db, member.workspace, campaign_id)
    posts = list_posts(db, member.workspace, campaign_id=campaign.id, limit=500)
    names = {c.id: c.name for c in list_characters(db, member.workspace, include_archived=True)}
    return render_template("campaigns/detail.html", campaign=campaign, progress=progress_of(db, campaign),
                           posts=posts, texts=first_texts(db, [p for p, _ in posts]), zone=viewer_zone(),
                           character_names=[names[i] for i in campaign.character_ids if i in names])
