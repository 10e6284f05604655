"""The conversations pages: the inbox with filters and search, one conversation, state changes, the reply box,
the settings, and bad input (never a 500, never half-saved). Also the page's statement count.
"""

import json
import threading
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import event
from sqlmodel import Session, select

from characters.core.models import (
    AuditEvent,
    Conversation,
    ConversationStatus,
    Post,
    PostStatus,
    Role,
    utcnow,
)
from tests.factories import (
    DEFAULT_PASSWORD,
    make_character,
    make_conversation,
    make_user,
    make_workspace,
    workspace_with_roles,
)

pytestmark = pytest.mark.usefixtures("fresh_checker")
BASE = "/w/talk/conversations"


@pytest.fixture
def world(session: Session) -> dict[str, Any]:
    people = workspace_with_roles(session, "talk")
    character = make_character(session, people["workspace"], people["owner"], "Walt Test",
                               timezone="America/New_York")
    people["character"] = character
    people["conversation"] = make_conversation(session, character, text="Walt, is the river open today?",
                                               author_handle="fan.example", author_name="A Fan", is_question=True)
    return people


def _login(client, auth, role: str) -> None:
    auth.login(f"{role}@talk.example", DEFAULT_PASSWORD)


def _fresh(session: Session, row: Any) -> Any:
    session.rollback()
    session.expire_all()
    return session.get(type(row), row.id)


def test_the_inbox_lists_what_waits_with_signals_and_a_header_badge(client, auth, session, world):
    make_conversation(session, world["character"], text="Why is the bridge closed?!", received_ago_minutes=90,
                      is_negative=True)
    _login(client, auth, "writer")
    page = client.get(f"{BASE}/").data.decode()
    assert page.index("Why is the bridge closed?!") < page.index("Walt, is the river open today?")
    assert "Overdue · waited 1 h 30 min" in page
    assert "negative" in page
    assert "question" in page
    assert 'class="nav-badge nav-badge-overdue"' in page  # one overdue: the badge shows it
    assert "Response times" in page


def test_filters_and_search(client, auth, session, world):
    other = make_character(session, world["workspace"], world["owner"], "Otter Mascot")
    make_conversation(session, other, network="mastodon", text="Otters on Mastodon",
                      author_handle="kayak@social.example")
    make_conversation(session, world["character"], text="Shalom from שלום", author_name="مريم 🌊",
                      author_handle="maryam.example")
    _login(client, auth, "editor")

    def shown(query: str) -> str:
        response = client.get(f"{BASE}/?{query}")
        assert response.status_code == 200
        return response.data.decode()

    assert "Otters on Mastodon" in shown("network=mastodon")
    assert "Walt, is the river" not in shown("network=mastodon")
    assert "Otters on Mastodon" in shown(f"character={other.id}")
    page = shown("q=%D9%85%D8%B1%D9%8A%D9%85")  # مريم
    assert "Shalom from שלום" in page
    assert "<bdi>مريم 🌊</bdi>" in page
    assert "No conversation matches" in shown("q=nothing-like-this")
    assert "Walt, is the river" in shown("assignee=none")
    assert "No conversation matches" in shown("assignee=me")
    # Nonsense in the query string is ignored, never a 500.
    for junk in ("view=bogus", "page=-3", "page=99999999999999", "character=abc", "network=x", "assignee=%00",
                 "q=" + "%25" * 300):
        assert client.get(f"{BASE}/?{junk}").status_code == 200


def test_an_empty_workspace_explains_how_conversations_arrive(client, auth, session):
    workspace_with_roles(session, "quiet")
    auth.login("owner@quiet.example", DEFAULT_PASSWORD)
    page = client.get("/w/quiet/conversations/").data.decode()
    assert "No conversations yet." in page
    assert "connect a channel" in page
    assert "stats-title" not in page


def test_the_conversation_shows_the_thread_signals_and_the_reply_box(client, auth, session, world):
    character = world["character"]
    conversation = make_conversation(
        session, character, text="Is it open?", author_handle="fan.example", author_name="A Fan",
        url="https://bsky.app/profile/fan.example/post/2", first_time_author=False, thread=[
            {"author_handle": "walt.example", "author_name": "Walt Test", "text": "Fresh water today.",
             "url": "https://bsky.app/profile/walt.example/post/1", "posted_at": "2026-12-03T10:00:00+00:00",
             "is_character": True},
            {"author_handle": "fan.example", "author_name": "A Fan", "text": "Is it open?",
             "url": "https://bsky.app/profile/fan.example/post/2", "posted_at": "2026-12-03T10:05:00+00:00"}])
    _login(client, auth, "writer")
    page = client.get(f"{BASE}/{conversation.id}").data.decode()
    assert page.index("Fresh water today.") < page.index("Is it open?")
    assert "Walt Test&#39;s own post" in page or "Walt Test's own post" in page
    assert "to answer" in page
    assert "Returning: 1 earlier conversation" in page  # the world's conversation is by the same author
    assert 'data-check-url="/w/talk/posts/check"' in page
    assert "Reply as Walt Test" in page
    assert "300" in page  # Bluesky's limit on the counter


def test_state_changes_flash_and_are_audited(client, auth, session, world):
    conversation = world["conversation"]
    _login(client, auth, "writer")
    url = f"{BASE}/{conversation.id}/state"
    response = client.post(url, data={"action": "assign", "expected": "open"}, follow_redirects=True)
    assert "Assigned to you." in response.data.decode()
    assert _fresh(session, conversation).assignee_id == world["writer"].id
    response = client.post(url, data={"action": "dismiss", "expected": "assigned", "reason": "Spam"},
                           follow_redirects=True)
    assert "Dismissed" in response.data.decode()
    response = client.post(url, data={"action": "reopen", "expected": "dismissed"}, follow_redirects=True)
    assert "Reopened" in response.data.decode()
    session.rollback()
    actions = [e.action for e in session.exec(select(AuditEvent).order_by(AuditEvent.id)).all()]
    assert actions[-3:] == ["conversation_assigned", "conversation_dismissed", "conversation_reopened"]
    # A stale form: told what happened, nothing changed.
    response = client.post(url, data={"action": "dismiss", "expected": "assigned"}, follow_redirects=True)
    assert "cannot be dismissed" in response.data.decode() or "Someone else changed" in response.data.decode()
    assert _fresh(session, conversation).status == "open"
    # Bad input: a clear message, never a 500.
    for data in ({"action": "explode", "expected": "open"}, {"action": "assign"}, {"action": "assign",
                 "expected": "bogus"}):
        response = client.post(url, data=data, follow_redirects=True)
        assert response.status_code == 200
        assert 'class="flash flash-error"' in response.data.decode()
    assert _fresh(session, conversation).status == "open"


def test_a_viewer_can_read_but_not_act(client, auth, world):
    _login(client, auth, "viewer")
    conversation = world["conversation"]
    page = client.get(f"{BASE}/{conversation.id}").data.decode()
    assert "Take it" not in page
    assert "Reply as" not in page
    response = client.post(f"{BASE}/{conversation.id}/state", data={"action": "dismiss", "expected": "open"})
    assert response.status_code == 403
    assert client.post(f"{BASE}/{conversation.id}/reply", data={"text": "Hi"}).status_code == 403


def test_reply_submit_then_an_editor_approves_it_to_go_out_at_once(client, auth, session, world):
    conversation = world["conversation"]
    _login(client, auth, "writer")
    response = client.post(f"{BASE}/{conversation.id}/reply",
                           data={"text": "Open from nine, friend.", "op": "submit"}, follow_redirects=True)
    page = response.data.decode()
    assert "Submitted for review" in page
    assert "Open from nine, friend." in page
    assert "Waiting for an editor" in page
    session.rollback()
    post = session.exec(select(Post).where(Post.conversation_id == conversation.id)).one()
    assert post.status == PostStatus.IN_REVIEW
    assert "reply in review" in client.get(f"{BASE}/").data.decode()  # the list says so: nobody starts a second one
    auth.logout()
    _login(client, auth, "editor")
    response = client.post(f"{BASE}/{conversation.id}/replies/{post.id}/approve", data={"version": post.version},
                           follow_redirects=True)
    assert "Reply approved: it goes out now." in response.data.decode()
    assert "reply approved" in client.get(f"{BASE}/").data.decode()
    post = _fresh(session, post)
    assert post.status == PostStatus.APPROVED
    assert (post.due_at - utcnow()).total_seconds() < 60


def test_the_writer_cannot_approve_and_an_editor_not_their_own(client, auth, session, world):
    conversation = world["conversation"]
    _login(client, auth, "editor")
    client.post(f"{BASE}/{conversation.id}/reply", data={"text": "Open from nine.", "op": "submit"})
    session.rollback()
    post = session.exec(select(Post).where(Post.conversation_id == conversation.id)).one()
    page = client.get(f"{BASE}/{conversation.id}").data.decode()
    assert "another editor approves it" in page
    response = client.post(f"{BASE}/{conversation.id}/replies/{post.id}/approve", data={"version": post.version})
    assert response.status_code == 403
    assert _fresh(session, post).status == PostStatus.IN_REVIEW


def test_editors_send_their_own_reply_when_the_owner_allows_it(client, auth, session, world):
    _login(client, auth, "owner")
    response = client.post("/w/talk/settings", data={
        "name": "Talk", "two_person_rule": "y", "late_grace_minutes": "15", "editors_send_replies": "y",
        "response_target_minutes": "30", "listen_interval_seconds": "120"}, follow_redirects=True)
    assert "Settings saved." in response.data.decode()
    workspace = _fresh(session, world["workspace"])
    session.rollback()
    assert (workspace.editors_send_replies, workspace.response_target_minutes,
            workspace.listen_interval_seconds) == (True, 30, 120)
    changes = [e.details for e in session.exec(select(AuditEvent).where(AuditEvent.action == "settings_change"))]
    assert {"editors_send_replies": "False → True"} in changes
    assert {"listen_interval_seconds": "60 → 120", "response_target_minutes": "60 → 30"} in changes
    auth.logout()
    _login(client, auth, "editor")
    conversation = world["conversation"]
    response = client.post(f"{BASE}/{conversation.id}/reply", data={"text": "Open from nine.", "op": "send"},
                           follow_redirects=True)
    assert "Reply approved: it goes out now." in response.data.decode()
    session.rollback()
    post = session.exec(select(Post).where(Post.conversation_id == conversation.id)).one()
    assert post.status == PostStatus.APPROVED


def test_only_owners_change_the_settings_and_out_of_range_values_are_refused(client, auth, session, world):
    _login(client, auth, "editor")
    assert client.get("/w/talk/settings").status_code == 403
    auth.logout()
    _login(client, auth, "owner")
    response = client.post("/w/talk/settings", data={"name": "Talk", "response_target_minutes": "0",
                                                     "listen_interval_seconds": "5"})
    page = response.data.decode()
    assert response.status_code == 200
    assert "Set a target of 1 to 10,080 minutes" in page or "Poll every 15 to 3,600 seconds" in page
    assert _fresh(session, world["workspace"]).response_target_minutes == 60


@pytest.mark.parametrize(("text", "message"), [
    ("   ", "Write the reply first."),
    ("x" * 100_000, "at most 300"),
    ("x" * 301, "at most 300"),
])
def test_bad_replies_are_refused_and_nothing_is_saved(client, auth, session, world, text, message):
    conversation = world["conversation"]
    _login(client, auth, "writer")
    response = client.post(f"{BASE}/{conversation.id}/reply", data={"text": text, "op": "submit"},
                           follow_redirects=True)
    assert response.status_code == 200
    assert message in response.data.decode()
    assert "Nothing was saved." in response.data.decode()
    session.rollback()
    assert session.exec(select(Post).where(Post.conversation_id == conversation.id)).first() is None
    assert _fresh(session, conversation).status == "open"


def test_emoji_and_right_to_left_authors_and_replies(client, auth, session, world):
    conversation = make_conversation(session, world["character"], author_name="‏مريم‎ 👩‍👩‍👧",
                                     author_handle="maryam.example", text="שלום! 🌊 האם הנהר פתוח?")
    _login(client, auth, "writer")
    page = client.get(f"{BASE}/{conversation.id}").data.decode()
    assert "שלום! 🌊 האם הנהר פתוח?" in page
    assert 'dir="auto"' in page
    response = client.post(f"{BASE}/{conversation.id}/reply", data={"text": "👩‍👩‍👧 " * 100, "op": "save"},
                           follow_redirects=True)
    assert "Reply saved as a draft." in response.data.decode()


def test_a_gone_conversation_offers_no_reply(client, auth, session, world):
    conversation = make_conversation(session, world["character"], gone_at=utcnow())
    _login(client, auth, "writer")
    page = client.get(f"{BASE}/{conversation.id}").data.decode()
    assert "Deleted by its author" in page
    assert "Reply as" not in page
    response = client.post(f"{BASE}/{conversation.id}/reply", data={"text": "Hello", "op": "save"},
                           follow_redirects=True)
    assert "can no longer be answered" in response.data.decode()
    session.rollback()
    assert session.exec(select(Post).where(Post.conversation_id == conversation.id)).first() is None


def test_another_workspaces_conversation_is_not_found(client, auth, session, world):
    stranger = make_user(session, "stranger@else.example")
    elsewhere = make_workspace(session, stranger, "elsewhere")
    theirs = make_conversation(session, make_character(session, elsewhere, stranger, "Theirs"))
    _login(client, auth, "owner")
    assert client.get(f"{BASE}/{theirs.id}").status_code == 404
    assert client.post(f"{BASE}/{theirs.id}/state", data={"action": "dismiss", "expected": "open"}).status_code == 404
    assert client.post(f"{BASE}/{theirs.id}/reply", data={"text": "Hi"}).status_code == 404
    assert client.get(f"{BASE}/999999999").status_code == 404
    session.expire_all()
    assert session.get(Conversation, theirs.id).status == "open"


def test_concurrent_state_changes_one_wins_the_other_is_told(app: Flask, session, world):
    conversation = world["conversation"]
    clients = [app.test_client() for _ in range(2)]
    for client, role in zip(clients, ("writer", "editor"), strict=True):
        client.post("/login", data={"email": f"{role}@talk.example", "password": DEFAULT_PASSWORD})
    start, pages = threading.Barrier(2), []

    def act(client, action):
        start.wait()
        response = client.post(f"{BASE}/{conversation.id}/state", data={"action": action, "expected": "open"},
                               follow_redirects=True)
        pages.append(response.data.decode())

    threads = [threading.Thread(target=act, args=(client, action))
               for client, action in zip(clients, ("assign", "dismiss"), strict=True)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sum("Someone else changed this conversation" in page for page in pages) == 1
    session.rollback()
    final = _fresh(session, conversation)
    assert final.status in (ConversationStatus.ASSIGNED, ConversationStatus.DISMISSED)
    events = session.exec(select(AuditEvent).where(AuditEvent.action.startswith("conversation_"))).all()
    assert len(events) == 1


def test_the_csv_of_response_times(client, auth, session, world):
    make_conversation(session, world["character"], replied_at=utcnow(), status="replied", received_ago_minutes=12)
    _login(client, auth, "viewer")
    response = client.get(f"{BASE}/metrics.csv")
    assert response.headers["Content-Type"].startswith("text/csv")
    lines = response.data.decode().splitlines()
    assert lines[0].startswith("character,week,week_starts,received,answered")
    assert lines[1].startswith("Walt Test,all,,2,1,0,0.500,12.0,12.0")


def test_the_inbox_runs_the_same_statements_at_ten_times_the_data(app: Flask, client, auth, session, world):
    _login(client, auth, "editor")

    def count(path: str) -> int:
        client.get(path)
        statements: list[str] = []
        engine = app.extensions["greenroom.engine"]
        listener = lambda *args: statements.append(args[2])  # noqa: E731
        event.listen(engine, "before_cursor_execute", listener)
        try:
            assert client.get(path).status_code == 200
        finally:
            event.remove(engine, "before_cursor_execute", listener)
        return len(statements)

    conversation_page = f"{BASE}/{world['conversation'].id}"
    few = (count(f"{BASE}/"), count(f"{BASE}/?view=all&q=a"), count(conversation_page))
    others = [make_character(session, world["workspace"], world["owner"], f"Extra {n}") for n in range(3)]
    for number in range(60):
        make_conversation(session, others[number % 3] if number % 2 else world["character"],
                          text=f"a question {number}", received_ago_minutes=number * 7,
                          status="replied" if number % 3 == 0 else "open", assignee_id=world["writer"].id
                          if number % 5 == 0 else None, replied_at=utcnow() if number % 3 == 0 else None)
    many = (count(f"{BASE}/"), count(f"{BASE}/?view=all&q=a"), count(conversation_page))
    assert many == few, f"statements grew with the data: {few} → {many}"
    assert max(many) <= 22


def test_the_badge_and_the_list_count_only_the_members_own_workspace(client, auth, session, world):
    stranger = make_user(session, "stranger@else.example")
    elsewhere = make_workspace(session, stranger, "elsewhere")
    theirs = make_character(session, elsewhere, stranger, "Theirs")
    for _ in range(3):
        make_conversation(session, theirs, text="Their own question")
    auth.login("stranger@else.example", DEFAULT_PASSWORD)
    page = client.get("/w/elsewhere/conversations/").data.decode()
    assert "Walt, is the river" not in page
    assert '<span class="nav-badge">3<span class="visually-hidden"> waiting for an answer' in page


def test_a_long_thread_shows_where_posts_were_left_out(client, auth, session, world):
    thread = [{"author_handle": "root.example", "text": "The root post", "uri": "at://root"}]
    thread += [{"author_handle": f"fan{n}.example", "text": f"reply number {n}", "omitted_before": 140 if n == 0 else 0}
               for n in range(99)]
    conversation = make_conversation(session, world["character"], text="The last word", thread=thread)
    _login(client, auth, "writer")
    page = client.get(f"{BASE}/{conversation.id}").data.decode()
    assert "… 140 more posts in the thread, not shown" in page
    assert page.index("The root post") < page.index("reply number 98") < page.index("The last word")
    assert "101 posts" in page  # the 100 cached and the conversation itself


def test_draft_a_reply_sends_the_thread_and_the_lore_it_activates(app: Flask, client, auth, session, world):
    from characters.bibles.bible import create_character
    from characters.bibles.card_data import CharacterBook, LoreEntry
    from characters.llm.adapter import ScriptedModel
    from tests.factories import make_card, member

    card = make_card("Dez Night").model_copy(update={"character_book": CharacterBook(entries=[
        LoreEntry(keys=["depot cat"], content="LORE: the depot cat is called Marmalade.")])})
    dez = create_character(session=session, member=member(world["workspace"], world["owner"], Role.OWNER), card=card)
    session.commit()
    conversation = make_conversation(session, dez, text="Which line does the depot cat ride?",
                                     author_handle="tramfan.example", thread=[
                                         {"author_handle": "dez.example", "text": "Night shift again.",
                                          "is_character": True}])
    model = ScriptedModel(['{"text": "The night owl line, friend."}'])
    app.extensions["greenroom.llm"] = model
    _login(client, auth, "writer")
    page = client.get(f"{BASE}/{conversation.id}").data.decode()
    assert 'id="draft-reply"' in page
    context = "Dez Night (you): Night shift again.\n@tramfan.example (A Fan): Which line does the depot cat ride?"
    assert json.dumps(context) in page
    response = client.post("/w/talk/drafting/reply", json={"character": dez.slug, "post": context, "n": 1,
                                                           "platform": "bluesky"})
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["variants"][0]["text"] == "The night owl line, friend."
    sent = "\n".join(message["content"] for message in model.calls[0].messages)
    assert "Which line does the depot cat ride?" in sent
    assert "Night shift again." in sent
    assert "Marmalade" in sent  # the lore the thread activates


def test_the_sent_reply_shows_with_its_link_and_the_post_it_answers(client, auth, session, world):
    from characters.core.models import Delivery, DeliveryStatus
    from characters.listening.replies import create_reply
    from tests.factories import member

    conversation = world["conversation"]
    post = create_reply(session, member(world["workspace"], world["writer"], Role.WRITER), conversation,
                        "Open from nine, friend.")
    post.status, post.published_at = PostStatus.PUBLISHED, utcnow()
    delivery = session.exec(select(Delivery).where(Delivery.post_id == post.id)).one()
    delivery.status, delivery.remote_url = DeliveryStatus.PUBLISHED, "https://bsky.app/profile/walt.example/post/9"
    conversation.status, conversation.replied_at, conversation.subject_post_id = "replied", utcnow(), post.id
    session.add_all([post, delivery, conversation])
    session.commit()
    _login(client, auth, "viewer")
    page = client.get(f"{BASE}/{conversation.id}").data.decode()
    assert "Sent" in page
    assert 'href="https://bsky.app/profile/walt.example/post/9"' in page
    assert f'href="/w/talk/posts/{post.id}"' in page
    assert "Answered after" in page
    # The post it answers is named in words, with the start of its text.
    assert "Answers Walt Test's post:" in page
    assert "“Open from nine, friend.”</a>" in page
    assert "The post of" not in page
    # Replied: the conversation's post is labelled answered, not "to answer".
    assert ">answered</span>" in page
    assert "to answer" not in page
    # Every time on the page is in the viewer's zone (the character's is New York): sent, received and thread.
    page = client.get(f"{BASE}/{conversation.id}?tz=Asia/Tokyo").data.decode()
    sent = page[page.index("<strong>Sent</strong>"):][:200]
    assert "JST" in sent
    assert "Received" in page
    assert "EST" not in page


def test_two_people_replying_at_once_make_one_reply(app: Flask, session, world):
    conversation = world["conversation"]
    conversation.status, conversation.assignee_id = "assigned", world["writer"].id  # no state change to race on
    session.add(conversation)
    session.commit()
    clients = [app.test_client() for _ in range(2)]
    for client, role in zip(clients, ("writer", "editor"), strict=True):
        client.post("/login", data={"email": f"{role}@talk.example", "password": DEFAULT_PASSWORD})
    start, pages = threading.Barrier(2), []

    def reply(client, text):
        start.wait()
        pages.append(client.post(f"{BASE}/{conversation.id}/reply", data={"text": text, "op": "save"},
                                 follow_redirects=True).data.decode())

    threads = [threading.Thread(target=reply, args=(client, f"Reply {n}")) for n, client in enumerate(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sum("Reply saved as a draft." in page for page in pages) == 1
    assert sum("already on its way" in page for page in pages) == 1
    session.rollback()
    assert len(session.exec(select(Post).where(Post.conversation_id == conversation.id)).all()) == 1


def test_an_overdue_notification_links_to_its_conversation(client, auth, session, world):
    from characters.core.models import Notification

    conversation = world["conversation"]
    session.add(Notification(user_id=world["editor"].id, workspace_id=world["workspace"].id,
                             conversation_id=conversation.id, message="Overdue: a fan waits for Walt Test."))
    session.commit()
    _login(client, auth, "editor")
    page = client.get("/w/talk/notifications/").data.decode()
    assert f'href="/w/talk/conversations/{conversation.id}">Open the conversation</a>' in page


def _disable(session: Session, conversation: Conversation) -> Any:
    from characters.core.models import Channel

    channel = session.get(Channel, conversation.channel_id)
    channel.disabled_at = utcnow()
    session.add(channel)
    session.commit()
    return channel


def test_a_disabled_channel_is_named_before_the_reply_and_the_walk_ends_approved(client, auth, session, world):
    conversation = world["conversation"]
    _disable(session, conversation)
    _login(client, auth, "writer")
    page = client.get(f"{BASE}/{conversation.id}").data.decode()
    assert "Reply as Walt Test" in page
    note = page.index('id="channel-note"')
    assert note < page.index("Reply as Walt Test")  # said before anyone writes
    assert "is disabled: Greenroom sends nothing to it" in page
    response = client.post(f"{BASE}/{conversation.id}/reply",
                           data={"text": "Open from nine, friend.", "op": "submit"}, follow_redirects=True)
    assert response.status_code == 200
    assert "Submitted for review" in response.data.decode()
    session.rollback()
    post = session.exec(select(Post).where(Post.conversation_id == conversation.id)).one()
    assert post.status == PostStatus.IN_REVIEW
    auth.logout()
    _login(client, auth, "editor")
    page = client.get(f"{BASE}/{conversation.id}").data.decode()
    assert "Enable it before this reply is due" in page
    response = client.post(f"{BASE}/{conversation.id}/replies/{post.id}/approve", data={"version": post.version},
                           follow_redirects=True)
    page = response.data.decode()
    assert response.status_code == 200
    assert 'class="flash flash-warning"' in page
    assert "Reply approved, but the channel" in page
    assert _fresh(session, post).status == PostStatus.APPROVED


def test_a_removed_channel_shows_why_instead_of_the_reply_box(client, auth, session, world):
    conversation = world["conversation"]
    conversation.channel_id = None
    session.add(conversation)
    session.commit()
    _login(client, auth, "writer")
    page = client.get(f"{BASE}/{conversation.id}").data.decode()
    assert "Reply as Walt Test" not in page
    assert "No reply can be sent from here" in page
    assert "was removed" in page


def test_triage_comes_before_the_thread_so_a_phone_shows_it_first(client, auth, session, world):
    conversation = make_conversation(session, world["character"], text="Hello?", received_ago_minutes=600)
    _login(client, auth, "writer")
    page = client.get(f"{BASE}/{conversation.id}").data.decode()
    # One column on a phone follows the page's order: the overdue signal before the thread and the reply box.
    assert page.index("Overdue:") < page.index('id="thread-title"') < page.index("Reply as Walt Test")
    # On a wide screen the triage sits beside the thread, above who answers.
    css = client.get("/static/app.css").data.decode()
    assert '.convo-layout { grid-template-areas: "main triage" "main actions"' in css
