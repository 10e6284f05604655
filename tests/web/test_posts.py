"""The post editor, the post page, review actions through HTTP, the live check and optimistic locking."""

import io
import json
from datetime import timedelta

import pytest
from PIL import Image
from sqlmodel import select

from characters.bibles.bible import current_card, get_character
from characters.consistency import check_text
from characters.core.models import AuditEvent, Post, PostPart, PostStatus, utcnow
from tests.factories import DEFAULT_PASSWORD

GOOD = "A fine morning for a walk."


def _draft(client, text=GOOD, **extra):
    data = {"character": "walt-test", "parts-0-text": text, **extra}
    return client.post("/w/fans/posts/new", data=data, content_type="multipart/form-data")


def _only_post(session) -> Post:
    session.rollback()  # end the read transaction: SQLite would keep showing its old snapshot
    session.expire_all()
    return session.exec(select(Post)).one()


def _submitted_then_editor(client, auth, session, text=GOOD) -> Post:
    """Submit a post as the writer, then log in as the editor; return the post."""
    auth.login("writer@fans.example", DEFAULT_PASSWORD)
    _draft(client, text, op="submit")
    post = _only_post(session)
    auth.logout()
    auth.login("editor@fans.example", DEFAULT_PASSWORD)
    return post


def test_writer_saves_a_draft(client, auth, people):
    auth.login("writer@fans.example", DEFAULT_PASSWORD)
    response = _draft(client, "Say less. 🎩 עברית")
    assert response.status_code == 302
    page = client.get("/w/fans/posts/?status=draft")
    assert "Say less. 🎩 עברית".encode() in page.data


@pytest.mark.parametrize(("data", "message"), [
    ({"character": "nobody", "parts-0-text": "x"}, b"Not a valid choice"),
    ({"character": "walt-test", "parts-0-text": "x" * 20_001}, b"at most 20000"),
])
def test_bad_drafts_are_refused_with_a_message(client, auth, people, data, message):
    auth.login("writer@fans.example", DEFAULT_PASSWORD)
    response = client.post("/w/fans/posts/new", data=data)
    assert response.status_code == 200
    assert message in response.data.replace(b",", b"")
    assert b"No posts here yet" in client.get("/w/fans/posts/").data


def test_viewer_cannot_draft(client, auth, people):
    auth.login("viewer@fans.example", DEFAULT_PASSWORD)
    assert client.get("/w/fans/posts/new").status_code == 403
    assert client.post("/w/fans/posts/new", data={"character": "walt-test", "parts-0-text": "x"}).status_code == 403
    assert b"New draft" not in client.get("/w/fans/posts/").data


def test_unknown_status_filter_shows_everything(client, auth, people):
    auth.login("writer@fans.example", DEFAULT_PASSWORD)
    assert client.get("/w/fans/posts/?status=%00bogus&character=%ff&campaign=-1").status_code == 200


def test_thread_with_image_requires_alt_text_and_keeps_the_image(client, auth, people, session):
    auth.login("writer@fans.example", DEFAULT_PASSWORD)
    picture = io.BytesIO()
    Image.new("RGB", (40, 30), "teal").save(picture, format="PNG")
    data = {"character": "walt-test", "parts-0-text": GOOD, "parts-1-text": "Second part.",
            "parts-1-image": (io.BytesIO(picture.getvalue()), "pic.png")}
    refused = client.post("/w/fans/posts/new", data=data, content_type="multipart/form-data")
    assert refused.status_code == 200
    assert b"alt text" in refused.data
    data["parts-1-image"] = (io.BytesIO(picture.getvalue()), "pic.png")
    data["parts-1-alt"] = "A teal square."
    assert client.post("/w/fans/posts/new", data=data, content_type="multipart/form-data").status_code == 302
    post = _only_post(session)
    parts = session.exec(select(PostPart).where(PostPart.post_id == post.id).order_by(PostPart.position)).all()
    assert [p.text for p in parts] == [GOOD, "Second part."]
    assert parts[1].image_mime == "image/png"
    image = client.get(f"/w/fans/posts/{post.id}/images/{parts[1].id}")
    assert image.status_code == 200
    assert image.mimetype == "image/png"
    # Editing the text keeps the image when the form says so.
    saved = client.post(f"/w/fans/posts/{post.id}/edit", data={
        "version": "1", "parts-0-text": GOOD, "parts-1-text": "Second, edited.", "parts-1-alt": "A teal square.",
        "parts-1-keep": str(parts[1].id)})
    assert saved.status_code == 302
    session.rollback()  # end the read transaction: SQLite would keep showing its old snapshot
    session.expire_all()
    kept = session.exec(select(PostPart).where(PostPart.post_id == post.id, PostPart.position == 1)).one()
    assert kept.text == "Second, edited."
    assert kept.image is not None


@pytest.mark.parametrize("payload", [b"", b"not an image", b"\x89PNG\r\n\x1a\nbroken"])
def test_bad_images_are_refused_with_a_message(client, auth, people, payload):
    auth.login("writer@fans.example", DEFAULT_PASSWORD)
    response = client.post("/w/fans/posts/new", content_type="multipart/form-data", data={
        "character": "walt-test", "parts-0-text": GOOD, "parts-0-alt": "x",
        "parts-0-image": (io.BytesIO(payload), "x.png")})
    assert response.status_code in (200, 302)
    if payload:
        assert b"image" in response.data.lower()
        assert response.status_code == 200


def test_add_and_remove_part_buttons_work_without_javascript(client, auth, people):
    auth.login("writer@fans.example", DEFAULT_PASSWORD)
    added = client.post("/w/fans/posts/new", data={"character": "walt-test", "parts-0-text": "one", "op": "add_part"})
    assert b'name="parts-1-text"' in added.data
    removed = client.post("/w/fans/posts/new", data={"character": "walt-test", "parts-0-text": "one",
                                                     "parts-1-text": "two", "op": "remove_part-0"})
    assert b">two</textarea>" in removed.data
    assert b'name="parts-1-text"' not in removed.data


def test_full_review_loop_through_http(client, auth, people, session):
    auth.login("writer@fans.example", DEFAULT_PASSWORD)
    _draft(client, op="submit")
    post = _only_post(session)
    assert post.status == PostStatus.IN_REVIEW
    # The writer sees no approve button, and a forged POST is refused without changing anything.
    page = client.get(f"/w/fans/posts/{post.id}")
    assert b"Approve" not in page.data
    forged = client.post(f"/w/fans/posts/{post.id}/approve", data={"version": "1", "when": "next"})
    assert forged.status_code == 403
    assert _only_post(session).status == PostStatus.IN_REVIEW
    auth.logout()
    auth.login("editor@fans.example", DEFAULT_PASSWORD)
    inbox = client.get("/w/fans/inbox/")
    assert GOOD.encode() in inbox.data
    assert b"Next free slot" in inbox.data
    approved = client.post(f"/w/fans/posts/{post.id}/approve",
                           data={"version": "1", "when": "next", "next": "/w/fans/inbox/"})
    assert approved.headers["Location"] == "/w/fans/inbox/"
    post = _only_post(session)
    assert post.status == PostStatus.APPROVED
    assert post.due_at > utcnow()
    assert b"Nothing waits for review" in client.get("/w/fans/inbox/").data


def test_approving_in_the_past_or_twice_is_refused_with_a_message(client, auth, people, session):
    post = _submitted_then_editor(client, auth, session)
    past = (utcnow() - timedelta(days=1)).strftime("%Y-%m-%dT%H:%M")
    client.post(f"/w/fans/posts/{post.id}/approve", data={"version": "1", "when": "at", "due_local": past})
    assert b"Pick a time in the future" in client.get(f"/w/fans/posts/{post.id}").data
    assert _only_post(session).status == PostStatus.IN_REVIEW
    for bad in ("", "tomorrow", "2026-13-45T99:99", "\x00"):
        client.post(f"/w/fans/posts/{post.id}/approve", data={"version": "1", "when": "at", "due_local": bad})
        assert _only_post(session).status == PostStatus.IN_REVIEW
    client.post(f"/w/fans/posts/{post.id}/approve", data={"version": "1", "when": "next"})
    again = client.post(f"/w/fans/posts/{post.id}/approve", data={"version": "1", "when": "next"},
                        follow_redirects=True)
    assert b"cannot be approved" in again.data


def test_failing_post_needs_a_written_override(client, auth, people, session):
    post = _submitted_then_editor(client, auth, session, "An awesome morning.")
    assert b"Approve anyway" in client.get("/w/fans/inbox/").data
    page = client.post(f"/w/fans/posts/{post.id}/approve", data={"version": "1", "when": "next"},
                       follow_redirects=True)
    assert b"fails the in-character check" in page.data
    assert _only_post(session).status == PostStatus.IN_REVIEW
    client.post(f"/w/fans/posts/{post.id}/approve",
                data={"version": "1", "when": "next", "override_reason": "Quoting a customer."})
    assert _only_post(session).override_reason == "Quoting a customer."


def test_reject_and_comment(client, auth, people, session):
    auth.login("writer@fans.example", DEFAULT_PASSWORD)
    _draft(client, op="submit")
    post = _only_post(session)
    client.post(f"/w/fans/posts/{post.id}/comments", data={"body": "Ready when you are."})
    auth.logout()
    auth.login("editor@fans.example", DEFAULT_PASSWORD)
    client.post(f"/w/fans/posts/{post.id}/reject", data={"version": "1", "comment": "Warmer, please."})
    page = client.get(f"/w/fans/posts/{post.id}")
    assert b"Warmer, please." in page.data
    assert b"Ready when you are." in page.data
    assert _only_post(session).status == PostStatus.DRAFT
    actions = session.exec(select(AuditEvent.action)).all()
    assert "reject" in actions
    assert "submit" in actions


def test_stale_edit_shows_the_conflict_page_with_both_versions(client, auth, people, session):
    auth.login("writer@fans.example", DEFAULT_PASSWORD)
    _draft(client, "The original.")
    post = _only_post(session)
    first = client.post(f"/w/fans/posts/{post.id}/edit", data={"version": "1", "parts-0-text": "Their change."})
    assert first.status_code == 302
    stale = client.post(f"/w/fans/posts/{post.id}/edit", data={"version": "1", "parts-0-text": "My change."})
    assert stale.status_code == 409
    assert b"Their change." in stale.data
    assert b"My change." in stale.data
    assert b"Save mine as version 3" in stale.data
    session.rollback()
    session.expire_all()
    assert [p.text for p in session.exec(select(PostPart))] == ["Their change."]
    resolved = client.post(f"/w/fans/posts/{post.id}/edit", data={"version": "2", "parts-0-text": "My change."})
    assert resolved.status_code == 302
    session.rollback()  # end the read transaction: SQLite would keep showing its old snapshot
    session.expire_all()
    assert [p.text for p in session.exec(select(PostPart))] == ["My change."]


def test_edit_without_version_is_refused(client, auth, people, session):
    auth.login("writer@fans.example", DEFAULT_PASSWORD)
    _draft(client)
    post = _only_post(session)
    response = client.post(f"/w/fans/posts/{post.id}/edit", data={"parts-0-text": "No version."})
    assert response.status_code == 200
    assert b"missing its version" in response.data


def test_live_check_returns_score_verdict_and_spans(client, auth, people):
    auth.login("writer@fans.example", DEFAULT_PASSWORD)
    result = client.post("/w/fans/posts/check", json={"character": "walt-test", "parts": ["An awesome day."]}).json
    assert result["verdict"] == "fail"
    [banned] = [f for f in result["findings"] if f["check"] == "vocabulary.banned"]
    assert (banned["start"], banned["end"], banned["part"]) == (3, 10, 1)



def test_live_check_says_how_sure_it_is_from_the_longest_part(client, auth, people, session):
    auth.login("writer@fans.example", DEFAULT_PASSWORD)
    parts = ["Short one.", "A longer second part about the agency and the client lunch on Madison."]
    result = client.post("/w/fans/posts/check", json={"character": "walt-test", "parts": parts}).json
    card = current_card(session, get_character(session, people["workspace"], "walt-test"))
    expected = check_text(card, parts[1])
    assert (result["confidence"], result["confidence_note"]) == (expected.confidence, expected.confidence_note)
    assert result["confidence_note"]

@pytest.mark.parametrize("body", [None, [], {"character": "walt-test"}, {"character": "walt-test", "parts": [1]},
                                  {"character": "nobody", "parts": ["x"]}, {"character": "walt-test", "parts": []}])
def test_live_check_refuses_malformed_requests_without_a_500(client, auth, people, body):
    auth.login("writer@fans.example", DEFAULT_PASSWORD)
    response = client.post("/w/fans/posts/check", json=body) if body is not None else \
        client.post("/w/fans/posts/check", data=b"\xff\xfe", content_type="application/json")
    assert response.status_code in (400, 404)
    assert "error" in response.json


def test_live_check_survives_huge_and_unicode_text(client, auth, people):
    auth.login("writer@fans.example", DEFAULT_PASSWORD)
    response = client.post("/w/fans/posts/check", json={"character": "walt-test",
                                                        "parts": ["👩‍👩‍👧‍👦" * 3000, "\u202e\x00 ok"]})
    assert response.status_code == 200
    assert response.json["verdict"] in ("pass", "warn", "fail")


def test_live_check_carries_one_click_replacements_and_says_what_the_score_means(client, auth, people):
    auth.login("writer@fans.example", DEFAULT_PASSWORD)
    result = client.post("/w/fans/posts/check", json={"character": "walt-test", "parts": ["An awesome day."]}).json
    [banned] = [f for f in result["findings"] if f["check"] == "vocabulary.banned"]
    # Walt Test's card suggests nothing for it: the lexicon's words for "awesome" come first, deleting last.
    assert banned["replacements"][-1] == ""
    assert len(banned["replacements"]) > 1
    assert all(word and word != "awesome" for word in banned["replacements"][:-1])
    assert result["headline"] == f"{result['score']}/100 — fails the check"
    assert "0–100" in result["scale"]
    assert "20 or below" in result["scale"]  # RULE_FAIL_CEILING: a fail scores 0-20 since the banded score
    assert "%" not in json.dumps(result)  # no internal percentiles in anything an editor reads


def _apply(client, parts, **fix):
    return client.post("/w/fans/posts/check/apply", json={"character": "walt-test", "parts": parts, "fix": fix})


def test_applying_a_fix_edits_the_span_and_checks_again(client, auth, people):
    auth.login("writer@fans.example", DEFAULT_PASSWORD)
    response = _apply(client, ["First part.", "An awesome day 👩🏽‍💻."], part=2, start=3, end=10, expected="awesome",
                      replacement="")
    assert response.status_code == 200
    answer = response.json
    assert (answer["part"], answer["text"], answer["caret"]) == (2, "An day 👩🏽‍💻.", 2)  # the caret: "An|"
    assert not [f for f in answer["check"]["findings"] if f["check"] == "vocabulary.banned"]
    assert answer["check"]["headline"] == f"{answer['check']['score']}/100 — in character"


def test_a_fix_for_text_that_changed_gets_a_fresh_check_not_an_edit(client, auth, people):
    auth.login("writer@fans.example", DEFAULT_PASSWORD)
    response = _apply(client, ["A fine awesome day."], part=1, start=3, end=10, expected="awesome", replacement="")
    assert response.status_code == 409
    assert "changed" in response.json["error"]
    [banned] = [f for f in response.json["check"]["findings"] if f["check"] == "vocabulary.banned"]
    assert (banned["start"], banned["end"]) == (7, 14)


@pytest.mark.parametrize("fix", [None, {}, {"part": 0, "replacement": ""}, {"part": 3, "replacement": ""},
                                 {"part": 1, "start": 5, "end": 2, "replacement": ""},
                                 {"part": 1, "start": 0, "end": 99, "replacement": ""},
                                 {"part": 1, "start": True, "end": 2, "replacement": ""},
                                 {"part": 1, "start": 0, "end": 2, "replacement": 7}])
def test_malformed_fixes_are_refused_with_a_message(client, auth, people, fix):
    auth.login("writer@fans.example", DEFAULT_PASSWORD)
    response = client.post("/w/fans/posts/check/apply", json={"character": "walt-test", "parts": ["An awesome day."],
                                                              "fix": fix})
    assert response.status_code == 400
    assert "fix" in response.json["error"]


def test_a_fix_without_a_span_appends(client, auth, people):
    auth.login("writer@fans.example", DEFAULT_PASSWORD)
    answer = _apply(client, ["Snack time"], part=1, start=None, end=None, replacement="#Snacks").json
    assert (answer["text"], answer["caret"]) == ("Snack time #Snacks", 18)


def test_the_post_page_explains_its_score_and_how_to_fix_each_finding(client, auth, people, session):
    auth.login("writer@fans.example", DEFAULT_PASSWORD)
    _draft(client, "An awesome day.", op="submit")
    page = client.get(f"/w/fans/posts/{_only_post(session).id}").get_data(as_text=True)
    assert "/100" in page
    assert "fails the check" in page
    assert "0–100: how closely the draft matches Walt Test" in page
    assert ", or delete it." in page  # a word to use instead, or deletion: one fix per finding
    assert "Try:" not in page


def test_cancel_and_reschedule_through_http(client, auth, people, session):
    post = _submitted_then_editor(client, auth, session)
    client.post(f"/w/fans/posts/{post.id}/approve", data={"version": "1", "when": "next"})
    later = (utcnow() + timedelta(days=3)).strftime("%Y-%m-%dT%H:%M")
    client.post(f"/w/fans/posts/{post.id}/reschedule", data={"version": "1", "when": "at", "due_local": later})
    moved = _only_post(session)
    assert moved.due_at.astimezone().strftime("%Y-%m-%d") >= (utcnow() + timedelta(days=2)).strftime("%Y-%m-%d")
    client.post(f"/w/fans/posts/{post.id}/cancel", data={"version": "1", "reason": "Plans changed."})
    assert _only_post(session).status == PostStatus.CANCELLED
    assert b"Cancelled" in client.get(f"/w/fans/posts/{post.id}").data
    assert client.get(f"/w/fans/posts/{post.id}/edit").headers["Location"] == f"/w/fans/posts/{post.id}"
