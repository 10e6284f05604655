"""Bulk import and chunked export at the edges: every column as create_draft leaves it, on both databases."""

import csv
import io
import json

from sqlmodel import col, select

from characters.core.models import Delivery, DeliveryStatus, Post, PostPart, PostRevision, PostStatus, Role
from characters.posting import transfer
from characters.posting.transfer import export_posts, import_posts
from tests.factories import make_character, member, workspace_with_roles


def _people(session, slug):
    people = workspace_with_roles(session, slug)
    people["walt"] = make_character(session, people["workspace"], people["owner"], "Walt Test")
    people["writer_m"] = member(people["workspace"], people["writer"], Role.WRITER)
    session.commit()
    return people


def test_an_import_writes_every_row_whole_with_the_model_defaults_and_ids_in_file_order(session):
    crew = _people(session, "bulk")
    raw = "character,text\n" + "".join(f'walt-test,"Post {n}\n---\nPart two of {n}."\n' for n in range(30))
    ids = import_posts(session=session, member=crew["writer_m"], raw=raw.encode(), fmt="csv")
    session.commit()

    assert ids == sorted(ids)
    assert len(set(ids)) == 30
    posts = {post.id: post for post in session.exec(select(Post).where(col(Post.id).in_(ids)))}
    for number, post_id in enumerate(ids):
        post = posts[post_id]
        assert (post.status, post.version, post.delay_minutes, post.check_findings) == (PostStatus.DRAFT, 1, 0, [])
        assert post.author_id == crew["writer"].id
        assert post.created_at.tzinfo is not None
        parts = session.exec(select(PostPart).where(PostPart.post_id == post_id).order_by(col(PostPart.position)))
        assert [part.text for part in parts] == [f"Post {number}", f"Part two of {number}."]
        revision = session.exec(select(PostRevision).where(PostRevision.post_id == post_id)).one()
        assert (revision.version, revision.parts) == (1, [f"Post {number}", f"Part two of {number}."])
        delivery = session.exec(select(Delivery).where(Delivery.post_id == post_id)).one()
        assert (delivery.status, delivery.attempts, delivery.remote_refs, delivery.likes) == (
            DeliveryStatus.PENDING, 0, [], 0)


def test_the_export_reads_chunk_after_chunk_and_never_another_workspaces_posts(session, monkeypatch):
    ours, theirs = _people(session, "ours"), _people(session, "theirs")
    # Interleaved ids: each chunk's id range also holds the other workspace's posts, parts and deliveries.
    for number in range(7):
        for crew in (ours, theirs):
            raw = f'character,text\nwalt-test,"={crew["workspace"].slug} {number}\n---\nAnd more."\n'
            import_posts(session=session, member=crew["writer_m"], fmt="csv", raw=raw.encode())
    session.commit()
    monkeypatch.setattr(transfer, "EXPORT_CHUNK", 3)

    rows = list(csv.DictReader(io.StringIO(b"".join(export_posts(session, ours["workspace"], "csv")).decode())))
    assert [row["text"] for row in rows] == [f"'=ours {number}\n---\nAnd more." for number in range(7)]
    assert {row["channels"] for row in rows} == {"Walt Test's feed"}
    posts = json.loads(b"".join(export_posts(session, ours["workspace"], "json")))["posts"]
    assert [post["parts"] for post in posts] == [[f"=ours {number}", "And more."] for number in range(7)]
