"""The review inbox: oldest first, check results visible, badge for editors, forms only for those who may act."""

import pytest
from sqlmodel import select

from characters.core.models import Post, PostStatus, Role
from characters.posting.posts import PostContent, create_draft
from characters.posting.workflow import submit_post
from tests.factories import DEFAULT_PASSWORD, make_character, member, workspace_with_roles


@pytest.fixture
def waiting(session):
    people = workspace_with_roles(session, "ib")
    ws = people["workspace"]
    character = make_character(session, ws, people["owner"], "Walt", vocabulary={"banned": [{"term": "awesome"}]})
    writer = member(ws, people["writer"], Role.WRITER)
    for text in ("First in line.", "An awesome second.", "Third."):
        post = create_draft(session=session, member=writer, character=character, content=PostContent.of_texts([text]))
        submit_post(session=session, member=writer, post=post, expected_version=1)
        session.commit()
    return people


def test_editor_sees_oldest_first_with_scores_findings_and_a_badge(client, auth, waiting):
    auth.login("editor@ib.example", DEFAULT_PASSWORD)
    page = client.get("/w/ib/inbox/").data.decode()
    assert page.index("First in line.") < page.index("An awesome second.") < page.index("Third.")
    assert "is banned for Walt" in page
    assert "Approve anyway" in page
    assert 'class="nav-badge">3' in page
    assert page.count("Reject</button>") == 3


def test_writer_reads_the_inbox_without_forms_or_badge(client, auth, waiting):
    auth.login("writer@ib.example", DEFAULT_PASSWORD)
    page = client.get("/w/ib/inbox/").data.decode()
    assert "First in line." in page
    assert "Editors approve these" in page
    assert "Approve</button>" not in page
    assert "nav-badge" not in page


def test_reject_from_the_inbox_returns_to_it(client, auth, session, waiting):
    auth.login("editor@ib.example", DEFAULT_PASSWORD)
    post = session.exec(select(Post).order_by(Post.id)).first()
    response = client.post(f"/w/ib/posts/{post.id}/reject", data={"version": "1", "comment": "Not yet.",
                                                                   "next": "/w/ib/inbox/"})
    assert response.headers["Location"] == "/w/ib/inbox/"
    evil = client.post(f"/w/ib/posts/{post.id}/reject", data={"version": "1", "comment": "x",
                                                               "next": "https://evil.example/"})
    assert evil.headers["Location"].startswith(f"/w/ib/posts/{post.id}")
    session.rollback()
    session.expire_all()
    assert session.get(Post, post.id).status == PostStatus.DRAFT
    assert "First in line." not in client.get("/w/ib/inbox/").data.decode()


def test_empty_inbox_says_so(client, auth, session):
    workspace_with_roles(session, "quiet")
    auth.login("editor@quiet.example", DEFAULT_PASSWORD)
    assert b"Nothing waits for review" in client.get("/w/quiet/inbox/").data
