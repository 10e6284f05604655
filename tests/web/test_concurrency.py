"""Concurrent writers: web sessions and API tokens at once never get a 5xx or a false 409, and nothing is lost.

Each client only touches its own posts, so any 409 would be false. On SQLite (a file, WAL) a transaction that
read and then wrote used to fail when another writer committed in between; writing requests now begin IMMEDIATE.
"""

import re
import threading
from collections.abc import Callable
from dataclasses import dataclass, field

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlmodel import Session, col, select

from characters.accounts.workspaces import create_invite
from characters.core.models import Membership, Post, PostStatus, Role, User
from tests.factories import DEFAULT_PASSWORD, add_member, make_character, member, workspace_with_roles
from tests.web.test_api_helpers import make_token

pytestmark = pytest.mark.usefixtures("fresh_checker")

WEB_CLIENTS, API_CLIENTS, INVITE_CLIENTS = 3, 3, 2
ROUNDS = 4
TEXT = "A fine morning for a walk."
SIGNUPS = 6


@dataclass
class Log:
    """What every client saw, shared by the threads: each response's status, and the posts they created."""

    statuses: list[tuple[str, int]] = field(default_factory=list)
    created: list[int] = field(default_factory=list)
    joined: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def saw(self, what: str, status: int) -> int:
        """Note one response; return its status."""
        with self.lock:
            self.statuses.append((what, status))
        return status


def _post_id(location: str) -> int:
    found = re.search(r"/posts/(\d+)$", location)
    assert found is not None, location
    return int(found.group(1))


def _web_writer(app: Flask, email: str, log: Log) -> None:
    """Log in, then draft, edit and submit own posts through the forms."""
    client = app.test_client()
    log.saw("login", client.post("/login", data={"email": email, "password": DEFAULT_PASSWORD}).status_code)
    for round_ in range(ROUNDS):
        created = client.post("/w/fans/posts/new", data={"character": "walt-test", "parts-0-text": TEXT})
        if log.saw("web create", created.status_code) != 302:
            continue
        post_id = _post_id(created.headers["Location"])
        with log.lock:
            log.created.append(post_id)
        log.saw("web edit", client.post(f"/w/fans/posts/{post_id}/edit",
                                        data={"version": "1", "parts-0-text": f"{TEXT} Take {round_}."}).status_code)
        log.saw("web submit", client.post(f"/w/fans/posts/{post_id}/submit", data={"version": "2"}).status_code)
        log.saw("web read", client.get(f"/w/fans/posts/{post_id}").status_code)


def _api_writer(app: Flask, secret: str, log: Log) -> None:
    """Create, replace and submit own posts through the API with a token."""
    client, headers = app.test_client(), {"Authorization": f"Bearer {secret}"}
    for round_ in range(ROUNDS):
        created = client.post("/api/v1/posts", headers=headers,
                              json={"character": "walt-test", "parts": [{"text": TEXT}]})
        if log.saw("api create", created.status_code) != 201:
            continue
        post_id = created.json["id"]  # type: ignore[index]
        with log.lock:
            log.created.append(post_id)
        log.saw("api edit", client.put(f"/api/v1/posts/{post_id}", headers=headers,
                                       json={"version": 1, "parts": [{"text": f"{TEXT} Take {round_}."}]}).status_code)
        log.saw("api submit", client.post(f"/api/v1/posts/{post_id}/submit", headers=headers,
                                          json={"version": 2}).status_code)
        log.saw("api read", client.get(f"/api/v1/posts/{post_id}", headers=headers).status_code)


def _sign_up(client: FlaskClient, token: str, email: str, log: Log) -> None:
    response = client.post(f"/invite/{token}", data={
        "signup-display_name": email.split("@")[0], "signup-email": email,
        "signup-password": DEFAULT_PASSWORD, "signup-confirm": DEFAULT_PASSWORD})
    if log.saw("sign up", response.status_code) == 302:
        with log.lock:
            log.joined.append(email)


def _inviter(app: Flask, number: int, log: Log) -> None:
    """An owner creates invite links through the form; a newcomer signs up with each."""
    owner = app.test_client()
    log.saw("login", owner.post("/login", data={"email": "owner@fans.example",
                                                "password": DEFAULT_PASSWORD}).status_code)
    for round_ in range(ROUNDS):
        page = owner.post("/w/fans/members/", data={"role": "writer", "days": "3"})
        link = re.search(rb'value="http://localhost/invite/([^"]+)"', page.data)
        if log.saw("invite", page.status_code) != 200 or link is None:
            continue
        _sign_up(app.test_client(), link.group(1).decode(), f"new{number}-{round_}@fans.example", log)


def _run_together(clients: list[Callable[[], None]]) -> None:
    """Start every client at once and wait for all of them (a failure in one fails the test)."""
    start, errors = threading.Barrier(len(clients)), []

    def run(client: Callable[[], None]) -> None:
        try:
            start.wait()
            client()
        except BaseException as error:  # noqa: BLE001 - reported below, in the test's thread
            errors.append(error)

    threads = [threading.Thread(target=run, args=(client,)) for client in clients]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors, errors


def _fresh(session: Session) -> Session:
    session.rollback()  # end the read transaction: SQLite would keep showing its old snapshot
    session.expire_all()
    return session


def test_mixed_writers_get_no_server_error_no_false_conflict_and_lose_nothing(app, session):
    people = workspace_with_roles(session)
    workspace = people["workspace"]
    make_character(session, workspace, people["owner"], "Walt Test")
    web_emails = [add_member(session, workspace, f"web{n}@fans.example", Role.WRITER).email for n in range(WEB_CLIENTS)]
    secrets = [make_token(session, workspace, add_member(session, workspace, f"api{n}@fans.example", Role.WRITER),
                          Role.WRITER) for n in range(API_CLIENTS)]
    log = Log()
    clients: list[Callable[[], None]] = [
        *(lambda email=email: _web_writer(app, email, log) for email in web_emails),
        *(lambda secret=secret: _api_writer(app, secret, log) for secret in secrets),
        *(lambda number=number: _inviter(app, number, log) for number in range(INVITE_CLIENTS)),
    ]
    _run_together(clients)

    failures = [(what, status) for what, status in log.statuses if status >= 500 or status == 409]
    assert failures == []
    assert len(log.created) == (WEB_CLIENTS + API_CLIENTS) * ROUNDS
    posts = _fresh(session).exec(select(Post).where(col(Post.id).in_(log.created))).all()
    assert len(posts) == len(log.created)
    assert {post.status for post in posts} == {PostStatus.IN_REVIEW}
    assert len(log.joined) == INVITE_CLIENTS * ROUNDS
    joined = session.exec(select(User.email).join(Membership, col(Membership.user_id) == col(User.id))
                          .where(col(User.email).in_(log.joined))).all()
    assert sorted(joined) == sorted(log.joined)


def test_simultaneous_sign_ups_with_different_invites_all_succeed(app, session):
    people = workspace_with_roles(session)
    owner = member(people["workspace"], people["owner"], Role.OWNER)
    tokens = [create_invite(session=session, member=owner, role=Role.WRITER) for _ in range(SIGNUPS)]
    session.commit()
    log = Log()
    clients: list[Callable[[], None]] = [
        lambda token=token, number=number: _sign_up(app.test_client(), token, f"joiner{number}@fans.example", log)
        for number, token in enumerate(tokens)]
    _run_together(clients)

    assert [status for _, status in log.statuses] == [302] * SIGNUPS
    writers = _fresh(session).exec(select(Membership).where(Membership.role == Role.WRITER)).all()
    assert len(writers) == 1 + SIGNUPS
