"""Campaigns: list, read (with progress), create and change."""

from characters.core.models import Campaign, require_id
from characters.posting.campaigns import create_campaign, get_campaign, list_campaigns, progress_of, update_campaign
from web.api import bp
from web.api.auth import api_member
from web.api.schemas_planning import CampaignIn, CampaignList, CampaignOut, ProgressOut
from web.api.spec import operation
from web.database import get_session, unit_of_work

TAG = "campaigns"


def _out(campaign: Campaign) -> CampaignOut:
    progress = progress_of(get_session(), campaign)
    return CampaignOut(id=require_id(campaign), name=campaign.name, goal=campaign.goal, starts_on=campaign.starts_on,
                       ends_on=campaign.ends_on, character_ids=campaign.character_ids, created_at=campaign.created_at,
                       progress=ProgressOut(drafted=progress.drafted, in_review=progress.in_review,
                                            approved=progress.approved, published=progress.published,
                                            other=progress.other, total=progress.total))


@bp.get("/campaigns")
@operation(TAG, CampaignList)
def list_all_campaigns() -> CampaignList:
    """List the workspace's campaigns with their progress."""
    return CampaignList(items=[_out(campaign) for campaign in list_campaigns(get_session(), api_member().workspace)])


@bp.post("/campaigns")
@operation(TAG, CampaignOut, status=201, writes=True)
def create_one_campaign(json: CampaignIn) -> tuple[CampaignOut, int]:
    """Plan a campaign (editors and owners)."""
    with unit_of_work() as db:
        campaign = create_campaign(session=db, member=api_member(), data=json)
    return _out(campaign), 201


@bp.get("/campaigns/<int:campaign_id>")
@operation(TAG, CampaignOut)
def get_one_campaign(campaign_id: int) -> CampaignOut:
    """Return one campaign with its progress."""
    return _out(get_campaign(get_session(), api_member().workspace, campaign_id))


@bp.put("/campaigns/<int:campaign_id>")
@operation(TAG, CampaignOut, writes=True)
def replace_campaign(campaign_id: int, json: CampaignIn) -> CampaignOut:
    """Change a campaign's name, goal, dates and characters."""
    member = api_member()
    with unit_of_work() as db:
        campaign = update_campaign(session=db, member=member, campaign=get_campaign(db, member.workspace, campaign_id),
                                   data=json)
    return _out(campaign)
