"""The review loop through HTTP: the writer's note on the inbox card, changes requested, named notifications."""

import html
import re
from datetime import timedelta

from sqlmodel import select

from characters.core.models import Notification, Post, PostStatus, utcnow
from tests.factories import DEFAULT_PASSWORD

TEXT = "A fine morning for a walk along the river."


def _submit(client, auth, session, note="") -> Post:
    auth.login("writer@fans.example", DEFAULT_PASSWORD)
    client.post("/w/fans/posts/new", data={"character": "walt-test", "parts-0-text": TEXT})
    session.rollback()
    post = session.exec(select(Post)).one()
    client.post(f"/w/fans/posts/{post.id}/submit", data={"version": "1", "note": note})
    auth.logout()
    return post


def _messages(session) -> list[str]:
    session.rollback()
    return [n.message for n in session.exec(select(Notification).order_by(Notification.id))]


def test_the_writers_note_is_on_the_inbox_card_and_once_in_the_history(client, auth, session, people):
    post = _submit(client, auth, session, note="Timed for the river festival, please keep the morning slot.")
    auth.login("editor@fans.example", DEFAULT_PASSWORD)
    inbox = client.get("/w/fans/inbox/").get_data(as_text=True)
    assert re.search(r"Note from the writer:</strong> Timed for the river festival", inbox)
    history = client.get(f"/w/fans/posts/{post.id}").get_data(as_text=True).split('id="history-title"')[1]
    assert history.count("Timed for the river festival") == 1


def test_a_rejected_post_shows_changes_requested_at_the_top_until_resubmitted(client, auth, session, people):
    post = _submit(client, auth, session)
    auth.login("editor@fans.example", DEFAULT_PASSWORD)
    client.post(f"/w/fans/posts/{post.id}/reject", data={"version": "1", "comment": "Warmer, please: mention tea."})
    auth.logout()
    auth.login("writer@fans.example", DEFAULT_PASSWORD)
    page = client.get(f"/w/fans/posts/{post.id}").get_data(as_text=True)
    banner = page.index('class="panel panel-warning changes-requested"')
    assert banner < page.index('id="text-title"')  # above the text, not buried in the history
    assert "changes requested</span> by " in page
    assert "Warmer, please: mention tea." in page[banner : page.index('id="text-title"')]
    assert "Warmer, please: mention tea." in client.get(f"/w/fans/posts/{post.id}/edit").get_data(as_text=True)
    assert _messages(session) == [f"Changes requested on Walt Test's post “{TEXT}”: Warmer, please: mention tea."]
    dashboard = client.get("/w/fans/").get_data(as_text=True)
    assert re.search(r"<strong>1</strong> sent back for changes \(yours\)", dashboard)
    client.post(f"/w/fans/posts/{post.id}/submit", data={"version": str(post.version), "note": ""})
    session.rollback()
    assert session.get(Post, post.id).status == PostStatus.IN_REVIEW
    assert "changes-requested" not in client.get(f"/w/fans/posts/{post.id}").get_data(as_text=True)


def test_approve_and_move_notifications_name_the_post_in_the_readers_zone(client, auth, session, people):
    post = _submit(client, auth, session)
    auth.login("editor@fans.example", DEFAULT_PASSWORD)
    client.post(f"/w/fans/posts/{post.id}/approve", data={"version": "1", "when": "next"})
    later = (utcnow() + timedelta(days=3)).replace(hour=14, minute=30)
    client.post(
        f"/w/fans/posts/{post.id}/reschedule",
        data={"version": "1", "when": "at", "due_local": later.strftime("%Y-%m-%dT%H:%M")},
    )
    auth.logout()
    approved, moved = _messages(session)
    assert approved.startswith(f"Approved: Walt Test's post “{TEXT}” goes out [[at:")
    assert moved.startswith(f"Moved: Walt Test's post “{TEXT}” now goes out [[at:")
    auth.login("writer@fans.example", DEFAULT_PASSWORD)
    client.set_cookie("gr_tz", "Asia/Tokyo")
    page = html.unescape(client.get("/w/fans/notifications/").get_data(as_text=True))
    assert "[[at:" not in page
    assert "Walt Test · post #" in page
    assert re.search(r"Moved: Walt Test's post “[^”]+” now goes out \w{3} \d+ \w{3} \d{4}, \d\d:\d\d JST", page)
    # Walt's 14:30 in New York is 04:30 the next morning in Tokyo.
    assert "04:30 JST (was" in page


def test_the_dashboard_counts_what_needs_an_editor(client, auth, session, people):
    post = _submit(client, auth, session)
    auth.login("editor@fans.example", DEFAULT_PASSWORD)
    page = client.get("/w/fans/").get_data(as_text=True)
    assert re.search(r"<strong>1</strong> waiting for your review", page)
    session.rollback()
    session.get(Post, post.id).status = PostStatus.UNCONFIRMED
    session.commit()
    page = client.get("/w/fans/").get_data(as_text=True)
    assert re.search(r"<strong>1</strong> unconfirmed: did they go out\?", page)
    assert "waiting for your review" not in page
