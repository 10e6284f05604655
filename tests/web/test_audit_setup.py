"""The audit log covers the workspace's setup: characters, channels, tokens, members, invites and settings."""

import html

from sqlmodel import select

from characters.core.models import AuditEvent
from tests.factories import DEFAULT_PASSWORD


def _events(session) -> dict[str, dict]:
    session.rollback()
    return {event.action: event.details for event in session.exec(select(AuditEvent).order_by(AuditEvent.id))}


def test_setup_changes_are_in_the_audit_log_with_details(client, auth, session, people):
    auth.login("owner@fans.example", DEFAULT_PASSWORD)
    ws = "/w/fans"
    client.post(f"{ws}/tokens/", data={"name": "Zapier", "scope": "read"})
    client.post(f"{ws}/members/", data={"role": "writer", "days": "3"})
    writer = people["writer"]
    client.post(f"{ws}/members/{writer.id}/role", data={"role": "editor"})
    client.post(f"{ws}/settings", data={"name": "Fans United", "two_person_rule": "y", "late_grace_minutes": "15"})
    events = _events(session)
    assert events["token_create"]["name"] == "Zapier"
    assert events["token_create"]["scope"] == "read"
    assert "secret" not in str(events["token_create"])
    assert events["invite_create"] == {"role": "writer", "days": 3}
    assert events["member_role"] == {"person": writer.email, "role": "editor"}
    assert events["settings_change"]["name"] == "Fans → Fans United"
    page = html.unescape(client.get(f"{ws}/audit/").get_data(as_text=True))
    assert "token create" in page
    assert "name: Zapier · scope: read" in page
    assert "settings change" in page


def test_character_changes_are_in_the_audit_log(client, auth, session, people):
    auth.login("owner@fans.example", DEFAULT_PASSWORD)
    client.post("/w/fans/characters/walt-test/archive")
    client.post("/w/fans/characters/walt-test/restore")
    events = _events(session)
    assert events["character_create"]["character"] == "Walt Test"
    assert events["character_archive"]["slug"] == "walt-test"
    assert "character_restore" in events


def test_joining_by_invite_is_in_the_audit_log(client, auth, session, people):
    auth.login("owner@fans.example", DEFAULT_PASSWORD)
    page = client.post("/w/fans/members/", data={"role": "writer", "days": "3"}).get_data(as_text=True)
    link = page.split("/invite/")[1].split('"')[0]
    auth.logout()
    client.post(
        f"/invite/{link}",
        data={
            "signup-email": "newbie@fans.example",
            "signup-display_name": "Newbie",
            "signup-password": DEFAULT_PASSWORD,
            "signup-confirm": DEFAULT_PASSWORD,
        },
    )
    assert _events(session)["invite_accept"] == {"person": "newbie@fans.example", "role": "writer"}
