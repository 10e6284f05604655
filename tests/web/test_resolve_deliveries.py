"""Editors settle deliveries the scheduler could not confirm, and send missed ones late."""

import pytest
from sqlmodel import select

from characters.core.models import Delivery, DeliveryStatus, PostStatus
from tests.factories import DEFAULT_PASSWORD
from tests.web.test_posts import _only_post, _submitted_then_editor


def _approved_with_target_in(client, auth, session, status: DeliveryStatus) -> tuple[int, Delivery]:
    post = _submitted_then_editor(client, auth, session)
    client.post(f"/w/fans/posts/{post.id}/approve", data={"version": "1", "when": "next"})
    session.rollback()  # end the read transaction: SQLite would keep showing (and refuse to write) an old snapshot
    target = session.exec(select(Delivery).where(Delivery.post_id == post.id)).one()
    target.status = status
    session.add(target)
    session.commit()
    return post.id, target


@pytest.mark.parametrize(("status", "outcome", "expected"), [
    (DeliveryStatus.UNCONFIRMED, "published", DeliveryStatus.PUBLISHED),
    (DeliveryStatus.UNCONFIRMED, "resend", DeliveryStatus.PENDING),
    (DeliveryStatus.MISSED, "send-late", DeliveryStatus.PENDING),
])
def test_editor_settles_a_held_delivery(client, auth, session, people, status, outcome, expected):  # noqa: F811
    post_id, target = _approved_with_target_in(client, auth, session, status)
    page = client.get(f"/w/fans/posts/{post_id}")
    assert f'value="{outcome}"'.encode() in page.data
    client.post(f"/w/fans/posts/{post_id}/deliveries/{target.id}/resolve", data={"outcome": outcome})
    session.rollback()
    session.expire_all()
    assert session.get(Delivery, target.id).status == expected
    if expected is DeliveryStatus.PUBLISHED:
        assert _only_post(session).status == PostStatus.PUBLISHED


def test_writers_cannot_settle_and_nonsense_changes_nothing(client, auth, session, people):  # noqa: F811
    post_id, target = _approved_with_target_in(client, auth, session, DeliveryStatus.UNCONFIRMED)
    client.post(f"/w/fans/posts/{post_id}/deliveries/{target.id}/resolve", data={"outcome": "explode"})
    auth.logout()
    auth.login("writer@fans.example", DEFAULT_PASSWORD)
    assert b'value="published"' not in client.get(f"/w/fans/posts/{post_id}").data
    response = client.post(f"/w/fans/posts/{post_id}/deliveries/{target.id}/resolve", data={"outcome": "published"})
    assert response.status_code in (302, 403)
    session.rollback()
    session.expire_all()
    assert session.get(Delivery, target.id).status == DeliveryStatus.UNCONFIRMED
