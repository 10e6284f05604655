from characters.core.models import Notification
from tests.factories import DEFAULT_PASSWORD, make_user, make_workspace, workspace_with_roles


def test_member_sees_and_clears_their_notifications(client, auth, session):
    people = workspace_with_roles(session)
    session.add(Notification(user_id=people["writer"].id, workspace_id=people["workspace"].id,
                             message="Your post for Walt failed: the account's password was revoked."))
    session.add(Notification(user_id=people["editor"].id, workspace_id=people["workspace"].id,
                             message="Not for the writer."))
    session.commit()
    auth.login("writer@fans.example", DEFAULT_PASSWORD)
    page = client.get("/w/fans/notifications/")
    assert b"password was revoked" in page.data
    assert b"Not for the writer" not in page.data
    assert b"1<span class=\"visually-hidden\"> unread</span>" in client.get("/w/fans/").data
    marked = client.post("/w/fans/notifications/read", follow_redirects=True)
    assert b"Marked 1 notification as read." in marked.data
    assert b" unread</span>" not in client.get("/w/fans/").data


def test_empty_notifications_page_says_what_will_appear(client, auth, session):
    workspace_with_roles(session)
    auth.login("viewer@fans.example", DEFAULT_PASSWORD)
    assert b"Nothing yet." in client.get("/w/fans/notifications/").data


def test_notifications_of_another_workspace_are_404(client, auth, session):
    workspace_with_roles(session)
    stranger = make_user(session, "stranger@example.com")
    make_workspace(session, stranger, "other")
    auth.login("stranger@example.com", DEFAULT_PASSWORD)
    assert client.get("/w/fans/notifications/").status_code == 404
    assert client.post("/w/fans/notifications/read").status_code == 404
