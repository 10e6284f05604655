"""The posts list: full-text search, channel and due-date range filters, kept across pages and status tabs."""

import io
import re
from datetime import timedelta

from PIL import Image
from sqlmodel import select

from characters.core.models import Post, PostPart, PostStatus, utcnow
from characters.posting.posts import page_posts, status_counts
from tests.factories import DEFAULT_PASSWORD, make_character, make_user, make_workspace


def _draft(client, text) -> None:
    client.post("/w/fans/posts/new", data={"character": "walt-test", "parts-0-text": text})


def _shown(page: str) -> list[str]:
    return re.findall(r'class="post-link" href="[^"]+">([^<]+)</a>', page)


def test_search_finds_words_in_any_part_without_case_and_treats_wildcards_as_text(client, auth, session, people):
    auth.login("writer@fans.example", DEFAULT_PASSWORD)
    for text in ("Morning tea by the River.", "Evening walk.", "100% sure about 50_50 odds."):
        _draft(client, text)
    assert _shown(client.get("/w/fans/posts/?q=river").get_data(as_text=True)) == ["Morning tea by the River."]
    assert _shown(client.get("/w/fans/posts/?q=%25").get_data(as_text=True)) == ["100% sure about 50_50 odds."]
    assert _shown(client.get("/w/fans/posts/?q=_").get_data(as_text=True)) == ["100% sure about 50_50 odds."]
    page = client.get("/w/fans/posts/?q=river").get_data(as_text=True)
    assert 'name="q" value="river"' in page
    assert "status=draft&amp;q=river" in page or "q=river&amp;status=draft" in page  # the tabs keep the search


def test_channel_and_due_range_filters(client, auth, session, people):
    auth.login("writer@fans.example", DEFAULT_PASSWORD)
    _draft(client, "Planned for next week.")
    _draft(client, "No plan.")
    session.rollback()
    planned = session.exec(select(Post).order_by(Post.id)).first()
    planned.due_at = utcnow() + timedelta(days=7)
    session.commit()
    day = planned.due_at.date()
    within = client.get(f"/w/fans/posts/?from={(day - timedelta(days=1)).isoformat()}&to={day.isoformat()}&tz=UTC")
    assert _shown(within.get_data(as_text=True)) == ["Planned for next week."]
    before = client.get(f"/w/fans/posts/?to={(day - timedelta(days=2)).isoformat()}&tz=UTC")
    assert _shown(before.get_data(as_text=True)) == []
    assert len(_shown(client.get("/w/fans/posts/?channel=feed").get_data(as_text=True))) == 2
    assert _shown(client.get("/w/fans/posts/?channel=mastodon").get_data(as_text=True)) == []
    assert len(_shown(client.get("/w/fans/posts/?channel=nonsense&from=soon").get_data(as_text=True))) == 2


def test_the_list_marks_threads_and_images(client, auth, session, people):
    auth.login("writer@fans.example", DEFAULT_PASSWORD)
    client.post("/w/fans/posts/new", data={"character": "walt-test", "parts-0-text": "One.", "parts-1-text": "Two."})
    _draft(client, "Alone.")
    page = client.get("/w/fans/posts/").get_data(as_text=True)
    assert page.count("thread of 2") == 1
    assert 'class="tag marker">image' not in page
    picture = io.BytesIO()
    Image.new("RGB", (40, 40), (10, 120, 60)).save(picture, "PNG")
    client.post(
        "/w/fans/posts/new",
        content_type="multipart/form-data",
        data={
            "character": "walt-test",
            "parts-0-text": "With a picture.",
            "parts-0-alt": "A green square",
            "parts-0-image": (io.BytesIO(picture.getvalue()), "square.png"),
        },
    )
    assert client.get("/w/fans/posts/").get_data(as_text=True).count('class="tag marker">image') == 1


def test_search_pages_through_matches_once_each_and_counts_cover_every_status(session):
    owner = make_user(session, "owner@search.example")
    workspace, other = make_workspace(session, owner, "search"), make_workspace(session, owner, "elsewhere")
    character = make_character(session, workspace, owner)
    stranger = make_character(session, other, owner, "Other Walt")
    wanted = []
    for number in range(7):
        post = Post(workspace_id=workspace.id, character_id=character.id, status=PostStatus.DRAFT)
        session.add(post)
        session.flush()
        # Threads: the word in both parts of one post, only in the second part of another, nowhere in some.
        texts = {0: ["Heron at dawn", "another heron"], 1: ["Dawn", "The HERON again"]}.get(number % 3, ["Nothing"])
        for position, text in enumerate(texts):
            session.add(PostPart(post_id=post.id, position=position, text=text))
        if number % 3 != 2:
            wanted.append(post.id)
    foreign = Post(workspace_id=other.id, character_id=stranger.id, status=PostStatus.DRAFT)
    session.add(foreign)
    session.flush()
    session.add(PostPart(post_id=foreign.id, position=0, text="A heron elsewhere"))
    session.commit()
    found, cursor = [], None
    while True:
        page = page_posts(session, workspace, text="heron", cursor=cursor, limit=2)
        found += [post.id for post, _ in page.rows]
        if page.next_cursor is None:
            break
        cursor = page.next_cursor
    assert found == sorted(wanted, reverse=True)
    counts = status_counts(session, workspace)
    assert set(counts) == set(PostStatus)
    assert counts[PostStatus.DRAFT] == 7
    assert sum(counts.values()) == 7
