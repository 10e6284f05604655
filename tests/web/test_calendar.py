"""The calendar: month/week views in the viewer's zone, drag-and-drop moves with version checks, queue, feed."""

from datetime import UTC, datetime, timedelta

import pytest
from icalendar import Calendar
from sqlmodel import select

from characters.core.models import Delivery, Post, PostStatus, Role, utcnow
from characters.posting.posts import PostContent, create_draft
from characters.posting.workflow import approve_post, submit_post
from tests.factories import DEFAULT_PASSWORD, make_character, member, workspace_with_roles


@pytest.fixture
def scheduled(session):
    people = workspace_with_roles(session, "cal")
    ws = people["workspace"]
    character = make_character(session, ws, people["owner"], "Pip", timezone="America/New_York",
                               rhythm={"slots": [{"days": "mon-fri", "time": "09:15"}]})
    writer, editor = member(ws, people["writer"], Role.WRITER), member(ws, people["editor"], Role.EDITOR)
    post = create_draft(session=session, member=writer, character=character,
                        content=PostContent.of_texts(["Paddle day."]))
    submit_post(session=session, member=writer, post=post, expected_version=1)
    due = (utcnow() + timedelta(days=2)).replace(hour=14, minute=15, second=0, microsecond=0)
    approve_post(session=session, member=editor, post=post, expected_version=1, due_at=due)
    session.commit()
    return {"post": post, "due": due, "character": character}


def _login(client, auth, role):
    auth.login(f"{role}@cal.example", DEFAULT_PASSWORD)


def test_month_and_week_show_the_post_in_the_viewer_zone_with_the_character_time_on_hover(client, auth, scheduled):
    _login(client, auth, "writer")
    due = scheduled["due"]
    client.set_cookie("gr_tz", "Asia/Tokyo")
    local = due.astimezone(__import__("zoneinfo").ZoneInfo("Asia/Tokyo"))
    month = client.get(f"/w/cal/calendar/?date={local.date().isoformat()}")
    assert month.status_code == 200
    assert b"Paddle day." in month.data
    assert local.strftime("%H:%M").encode() in month.data
    assert b"character time" in month.data
    assert b"Times in Asia/Tokyo" in month.data
    week = client.get(f"/w/cal/calendar/?view=week&date={local.date().isoformat()}")
    assert b"Paddle day." in week.data
    assert f'data-hour="{local.hour}"'.encode() in week.data
    assert b'draggable="true"' not in week.data  # writers cannot move posts
    assert b"Paddle day." not in client.get("/w/cal/calendar/?status=published&date=" + local.date().isoformat()).data


@pytest.mark.parametrize("query", ["date=garbage", "date=9999-12-31", "view=%00", "character=abc&campaign=-1",
                                   "tz=Not/AZone", "status=<script>"])
def test_calendar_survives_odd_query_strings(client, auth, scheduled, query):
    _login(client, auth, "editor")
    assert client.get(f"/w/cal/calendar/?{query}").status_code == 200


def test_editor_moves_a_post_by_drag_and_drop(client, auth, session, scheduled):
    _login(client, auth, "editor")
    post, due = scheduled["post"], scheduled["due"]
    target = (due + timedelta(days=3)).date().isoformat()
    response = client.post("/w/cal/calendar/move", json={"post_id": post.id, "version": 1, "date": target})
    assert response.status_code == 200, response.json
    session.rollback()
    session.expire_all()
    moved = session.get(Post, post.id)
    assert moved.due_at == due + timedelta(days=3)  # same time of day in the viewer's zone (UTC here)
    assert session.exec(select(Delivery)).one().due_at == moved.due_at
    hour = client.post("/w/cal/calendar/move", json={"post_id": post.id, "version": 1, "date": target, "time": "20:00"})
    assert hour.status_code == 200
    assert hour.json["due_at"].startswith(f"{target}T20:15")


def test_stale_version_past_day_and_roles_are_refused(client, auth, session, scheduled):
    post = scheduled["post"]
    _login(client, auth, "writer")
    tomorrow = (utcnow() + timedelta(days=5)).date().isoformat()
    assert client.post("/w/cal/calendar/move", json={"post_id": post.id, "version": 1,
                                                     "date": tomorrow}).status_code == 403
    auth.logout()
    _login(client, auth, "editor")
    stale = client.post("/w/cal/calendar/move", json={"post_id": post.id, "version": 7, "date": tomorrow})
    assert stale.status_code == 409
    assert "changed" in stale.json["error"]
    past = client.post("/w/cal/calendar/move", json={"post_id": post.id, "version": 1, "date": "2020-01-01"})
    assert past.status_code == 409
    assert "future" in past.json["error"]
    for body in ({}, {"post_id": "x"}, {"post_id": post.id, "version": 1, "date": "nope"},
                 {"post_id": post.id, "version": 1, "date": tomorrow, "time": "99"}):
        assert client.post("/w/cal/calendar/move", json=body).status_code == 400
    assert client.post("/w/cal/calendar/move", data="x", content_type="text/plain").status_code == 400
    session.rollback()
    session.expire_all()
    assert session.get(Post, post.id).due_at == scheduled["due"]


def test_published_post_cannot_be_moved(client, auth, session, scheduled):
    post = session.get(Post, scheduled["post"].id)
    post.status = PostStatus.PUBLISHED
    session.add(post)
    session.commit()
    _login(client, auth, "editor")
    response = client.post("/w/cal/calendar/move", json={"post_id": post.id, "version": 1,
                                                         "date": (utcnow() + timedelta(days=4)).date().isoformat()})
    assert response.status_code == 409
    assert "already published" in response.json["error"]


def test_queue_lists_what_goes_out_and_the_gaps(client, auth, scheduled):
    _login(client, auth, "writer")
    page = client.get("/w/cal/calendar/queue?character=pip")
    assert page.status_code == 200
    assert b"Paddle day." in page.data
    assert b"Nothing queued for Pip on" in page.data


def test_feed_token_is_owner_only_rotates_and_serves_ics_without_login(client, auth, scheduled):
    _login(client, auth, "editor")
    assert client.get("/w/cal/calendar/feed").status_code == 403
    auth.logout()
    _login(client, auth, "owner")
    page = client.post("/w/cal/calendar/feed", data={"op": "rotate"})
    url = page.data.split(b'id="feed-url" class="copy-field" value="')[1].split(b'"')[0].decode()
    path = url.split("localhost", 1)[1]
    auth.logout()
    feed = client.get(path)
    assert feed.status_code == 200
    assert feed.mimetype == "text/calendar"
    [event] = Calendar.from_ical(feed.data).walk("VEVENT")
    assert str(event["summary"]).startswith("Pip: Paddle day.")
    assert event.decoded("dtstart") == scheduled["due"].astimezone(UTC)
    assert client.get(path.replace(".ics", "x.ics")).status_code == 404
    _login(client, auth, "owner")
    client.post("/w/cal/calendar/feed", data={"op": "rotate"})
    assert client.get(path).status_code == 404  # the old address stopped working
    client.post("/w/cal/calendar/feed", data={"op": "revoke"})
    assert b"The feed is off" in client.get("/w/cal/calendar/feed").data


def test_feed_rejects_absurd_tokens(client):
    assert client.get("/calendar/" + "a" * 500 + ".ics").status_code == 404
    assert datetime.now(UTC)  # the feed needs no login: no redirect to /login
