"""Scheduling where people are: a planned time in the editor, campaign-aware next slot, publish now, prefills."""

import html
from datetime import UTC, date, timedelta
from zoneinfo import ZoneInfo

from sqlmodel import select

from characters.core.models import Campaign, Delivery, Post, PostStatus, utcnow
from tests.factories import DEFAULT_PASSWORD

NEW_YORK = ZoneInfo("America/New_York")


def _latest(session) -> Post:
    session.rollback()
    session.expire_all()
    return session.exec(select(Post).order_by(Post.id.desc())).first()


def _campaign(session, people, first: date, last: date) -> Campaign:
    campaign = Campaign(workspace_id=people["workspace"].id, name="River festival", starts_on=first, ends_on=last)
    session.add(campaign)
    session.commit()
    return campaign


def _draft(client, **fields) -> None:
    client.post("/w/fans/posts/new", data={"character": "walt-test", "parts-0-text": "A fine morning.", **fields})


def test_next_free_slot_respects_the_campaign_dates(client, auth, session, people):
    today = utcnow().astimezone(NEW_YORK).date()
    first, last = today + timedelta(days=15), today + timedelta(days=19)
    campaign = _campaign(session, people, first, last)
    auth.login("writer@fans.example", DEFAULT_PASSWORD)
    _draft(client, campaign=str(campaign.id), op="submit")
    post = _latest(session)
    auth.logout()
    auth.login("editor@fans.example", DEFAULT_PASSWORD)
    inbox = html.unescape(client.get("/w/fans/inbox/").get_data(as_text=True))
    assert f"Next free slot: {first:%a} {first.day} {first:%b %Y}, 09:15 E" in inbox
    client.post(f"/w/fans/posts/{post.id}/approve", data={"version": str(post.version), "when": "next"})
    approved = _latest(session)
    assert approved.status == PostStatus.APPROVED
    local = approved.due_at.astimezone(NEW_YORK)
    assert (local.date(), local.strftime("%H:%M")) == (first, "09:15")


def test_a_campaign_in_the_past_has_no_next_slot_and_says_so(client, auth, session, people):
    today = utcnow().astimezone(NEW_YORK).date()
    campaign = _campaign(session, people, today - timedelta(days=9), today - timedelta(days=2))
    auth.login("writer@fans.example", DEFAULT_PASSWORD)
    _draft(client, campaign=str(campaign.id), op="submit")
    post = _latest(session)
    auth.logout()
    auth.login("editor@fans.example", DEFAULT_PASSWORD)
    answer = client.post(
        f"/w/fans/posts/{post.id}/approve", data={"version": str(post.version), "when": "next"}, follow_redirects=True
    )
    assert "no free slot in its posting rhythm inside its campaign" in html.unescape(answer.get_data(as_text=True))
    assert _latest(session).status == PostStatus.IN_REVIEW


def test_the_planned_time_is_typed_in_the_characters_zone_and_becomes_the_default(client, auth, session, people):
    planned = (utcnow() + timedelta(days=4)).astimezone(NEW_YORK).replace(hour=17, minute=45, second=0, microsecond=0)
    auth.login("writer@fans.example", DEFAULT_PASSWORD)
    page = client.get("/w/fans/posts/new").get_data(as_text=True)
    assert "<strong>America/New_York</strong>" in page
    _draft(client, due_local=planned.strftime("%Y-%m-%dT%H:%M"), op="submit")
    post = _latest(session)
    assert post.due_at == planned.astimezone(UTC)
    edit = client.get(f"/w/fans/posts/{post.id}/edit").get_data(as_text=True)
    assert f'value="{planned:%Y-%m-%dT%H:%M}"' in edit
    auth.logout()
    auth.login("editor@fans.example", DEFAULT_PASSWORD)
    client.post(f"/w/fans/posts/{post.id}/approve", data={"version": str(post.version), "when": "next"})
    assert _latest(session).due_at == planned.astimezone(UTC)


def test_a_planned_time_in_the_past_is_refused_and_nothing_is_saved(client, auth, session, people):
    auth.login("writer@fans.example", DEFAULT_PASSWORD)
    answer = client.post(
        "/w/fans/posts/new",
        data={"character": "walt-test", "parts-0-text": "Too late.", "due_local": "2020-01-01T09:00"},
    )
    assert answer.status_code == 200
    assert "Pick a time in the future." in answer.get_data(as_text=True)
    assert 'id="due_local" name="due_local" value="2020-01-01T09:00"' in answer.get_data(as_text=True)
    assert _latest(session) is None


def test_publish_now_is_for_editors_and_puts_every_delivery_on_the_clock(client, auth, session, people):
    auth.login("writer@fans.example", DEFAULT_PASSWORD)
    _draft(client, op="submit")
    post = _latest(session)
    assert client.post(f"/w/fans/posts/{post.id}/publish-now", data={"version": str(post.version)}).status_code == 403
    auth.logout()
    auth.login("editor@fans.example", DEFAULT_PASSWORD)
    assert "Publish now" in client.get(f"/w/fans/posts/{post.id}").get_data(as_text=True)
    before = utcnow()
    client.post(f"/w/fans/posts/{post.id}/publish-now", data={"version": str(post.version)})
    published = _latest(session)
    assert published.status == PostStatus.APPROVED
    assert before < published.due_at <= utcnow() + timedelta(seconds=10)
    deliveries = session.exec(select(Delivery).where(Delivery.post_id == post.id)).all()
    assert deliveries
    assert all(delivery.due_at == published.due_at for delivery in deliveries)


def test_a_calendar_slot_prefills_the_editor_in_the_characters_zone(client, auth, session, people):
    auth.login("writer@fans.example", DEFAULT_PASSWORD)
    page = client.get("/w/fans/posts/new?character=walt-test&due=2031-06-20T14:00&zone=Europe/Berlin")
    # 14:00 in Berlin (UTC+2 in June) is 08:00 in New York (UTC-4).
    assert 'id="due_local" name="due_local" value="2031-06-20T08:00"' in page.get_data(as_text=True)
    unreadable = client.get("/w/fans/posts/new?character=walt-test&due=soon").get_data(as_text=True)
    assert 'id="due_local" name="due_local" value=""' in unreadable


def test_gaps_and_empty_days_offer_a_prefilled_new_post(client, auth, session, people):
    auth.login("writer@fans.example", DEFAULT_PASSWORD)
    queue = html.unescape(client.get("/w/fans/calendar/queue").get_data(as_text=True))
    assert "/w/fans/posts/new?character=walt-test&due=" in queue
    month = html.unescape(client.get("/w/fans/calendar/").get_data(as_text=True))
    assert "+ New post" in month
    week = html.unescape(client.get("/w/fans/calendar/?view=week").get_data(as_text=True))
    assert "New post on" in week
    character = client.get("/w/fans/characters/walt-test/").get_data(as_text=True)
    assert "New post as Walt Test" in character
