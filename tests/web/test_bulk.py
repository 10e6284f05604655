"""Bulk work on the posts list: one action on the selected posts, each its own step, with a result per post."""

from datetime import timedelta
from zoneinfo import ZoneInfo

from sqlmodel import select

from characters.core.models import Campaign, Post, PostStatus
from tests.factories import DEFAULT_PASSWORD


def _posts(session) -> dict[str, Post]:
    session.rollback()
    session.expire_all()
    return {post.id: post for post in session.exec(select(Post).order_by(Post.id))}


def _draft(client, text) -> None:
    client.post("/w/fans/posts/new", data={"character": "walt-test", "parts-0-text": text})


def test_bulk_submit_reports_each_post_and_a_refusal_leaves_the_others_done(client, auth, session, people):
    auth.login("writer@fans.example", DEFAULT_PASSWORD)
    for text in ("A fine morning.", "A fine noon.", "A fine evening."):
        _draft(client, text)
    first, second, third = _posts(session)
    client.post(f"/w/fans/posts/{first}/submit", data={"version": "1"})
    page = client.get("/w/fans/posts/").get_data(as_text=True)
    assert 'form="bulk-form"' in page
    answer = client.post("/w/fans/posts/bulk", data={"action": "submit", "ids": [str(first), str(second), str(third)]})
    text = answer.get_data(as_text=True)
    assert "2 of 3 posts done" in text
    assert "A post that is in review cannot be submitted." in text
    assert [post.status for post in _posts(session).values()] == [PostStatus.IN_REVIEW] * 3
    listed = client.get("/w/fans/posts/").get_data(as_text=True)
    assert listed.count(" in-character score, ") == 3  # each checked post carries its score on the list


def test_editors_approve_move_and_cancel_in_bulk(client, auth, session, people):
    campaign = Campaign(workspace_id=people["workspace"].id, name="Spring")
    session.add(campaign)
    session.commit()
    auth.login("writer@fans.example", DEFAULT_PASSWORD)
    for text in ("A fine morning.", "A fine noon."):
        _draft(client, text)
    ids = [str(post_id) for post_id in _posts(session)]
    client.post("/w/fans/posts/bulk", data={"action": "campaign", "campaign": str(campaign.id), "ids": ids})
    assert {post.campaign_id for post in _posts(session).values()} == {campaign.id}
    submitted = client.post("/w/fans/posts/bulk", data={"action": "submit", "ids": ids}).get_data(as_text=True)
    assert "2 of 2 posts done" in submitted
    auth.logout()
    auth.login("editor@fans.example", DEFAULT_PASSWORD)
    answer = client.post("/w/fans/posts/bulk", data={"action": "approve", "ids": ids[:1]}).get_data(as_text=True)
    assert "1 of 1 post done" in answer
    answer = client.post("/w/fans/posts/bulk", data={"action": "cancel", "ids": [*ids, "999999"]}).get_data(
        as_text=True
    )
    assert "2 of 3 posts done" in answer
    assert "No such post" in answer
    assert [post.status for post in _posts(session).values()] == [PostStatus.CANCELLED, PostStatus.CANCELLED]


def test_writers_cannot_approve_in_bulk_and_a_bad_request_is_explained(client, auth, session, people):
    auth.login("writer@fans.example", DEFAULT_PASSWORD)
    _draft(client, "A fine morning.")
    [post_id] = _posts(session)
    client.post(f"/w/fans/posts/{post_id}/submit", data={"version": "1"})
    answer = client.post("/w/fans/posts/bulk", data={"action": "approve", "ids": [str(post_id)]})
    assert "0 of 1 post done" in answer.get_data(as_text=True)
    assert _posts(session)[post_id].status == PostStatus.IN_REVIEW
    nothing = client.post(
        "/w/fans/posts/bulk", data={"action": "explode", "ids": [str(post_id)]}, follow_redirects=True
    )
    assert "Select posts and pick what to do with them." in nothing.get_data(as_text=True)


def test_editors_move_approved_posts_to_another_day_keeping_their_time(client, auth, session, people):
    auth.login("writer@fans.example", DEFAULT_PASSWORD)
    _draft(client, "A fine morning.")
    _draft(client, "Still a draft.")
    approved_id, draft_id = _posts(session)
    client.post(f"/w/fans/posts/{approved_id}/submit", data={"version": "1"})
    auth.logout()
    auth.login("editor@fans.example", DEFAULT_PASSWORD)
    client.post(f"/w/fans/posts/{approved_id}/approve", data={"version": "1", "when": "next"})
    before = _posts(session)[approved_id].due_at.astimezone(ZoneInfo("America/New_York"))
    target = before.date() + timedelta(days=3)
    answer = client.post(
        "/w/fans/posts/bulk",
        data={"action": "reschedule", "day": target.isoformat(), "ids": [str(approved_id), str(draft_id)]},
    ).get_data(as_text=True)
    assert "1 of 2 posts done" in answer
    assert "A post that is draft cannot be rescheduled." in answer
    after = _posts(session)[approved_id].due_at.astimezone(ZoneInfo("America/New_York"))
    assert (after.date(), after.time()) == (target, before.time())
    no_day = client.post(
        "/w/fans/posts/bulk", data={"action": "reschedule", "day": "someday", "ids": [str(approved_id)]}
    ).get_data(as_text=True)
    assert "Pick the day to move the posts to." in no_day
