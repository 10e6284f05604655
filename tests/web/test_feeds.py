"""The public feeds: valid Atom (parsed back with xml.etree) and JSON Feed 1.1 of published feed posts only."""

import json
import xml.etree.ElementTree as ET
from datetime import UTC, datetime, timedelta

import pytest

from characters.core.models import Channel, ChannelKind, Delivery, DeliveryStatus, Post, PostPart, PostStatus
from characters.publishing.channels import ensure_feed_channel
from tests.factories import make_character, make_user, make_workspace

ATOM = "{http://www.w3.org/2005/Atom}"
MOMENT = datetime(2026, 6, 1, 9, 30, tzinfo=UTC)


@pytest.fixture
def feed_world(session):
    owner = make_user(session, "owner@feeds.example")
    workspace = make_workspace(session, owner, "fans")
    character = make_character(session, workspace, owner, "Pip <Test> & Co")
    feed = ensure_feed_channel(session, character)
    session.commit()

    def post(texts, status=DeliveryStatus.PUBLISHED, minutes=0, image=None):
        row = Post(workspace_id=workspace.id, character_id=character.id, status=PostStatus.PUBLISHED)
        session.add(row)
        session.flush()
        for position, text in enumerate(texts):
            session.add(PostPart(post_id=row.id, position=position, text=text,
                                 image=image if position == 0 else None, image_mime="image/png" if image else None,
                                 image_alt="A small \"otter\" <drawing>" if image else None))
        session.add(Delivery(post_id=row.id, channel_id=feed.id, status=status,
                               published_at=MOMENT + timedelta(minutes=minutes) if status == "published" else None))
        session.commit()
        return row

    return {"character": character, "post": post}


def _url(world, suffix):
    return f"/feeds/fans/{world['character'].slug}{suffix}"


def test_atom_is_valid_xml_with_escaped_text_newest_first(client, feed_world):
    feed_world["post"](["An <b>older</b> one & more"], minutes=0)
    feed_world["post"](["Newer: 1/2 \x07bell", "2/2 second part"], minutes=5)
    feed_world["post"](["Still queued"], status=DeliveryStatus.PENDING)
    response = client.get(_url(feed_world, ".atom"))
    assert response.status_code == 200
    assert response.content_type == "application/atom+xml; charset=utf-8"
    root = ET.fromstring(response.data)  # noqa: S314 - our own response, parsed to prove it is well-formed
    assert root.tag == f"{ATOM}feed"
    assert root.find(f"{ATOM}title").text == "Pip <Test> & Co"
    assert root.find(f"{ATOM}id").text.startswith("urn:uuid:")
    assert root.find(f"{ATOM}link[@rel='self']").get("href").endswith(_url(feed_world, ".atom"))
    entries = root.findall(f"{ATOM}entry")
    assert [e.find(f"{ATOM}title").text for e in entries] == ["Newer: 1/2 bell", "An <b>older</b> one & more"]
    content = entries[1].find(f"{ATOM}content")
    assert content.get("type") == "html"
    assert content.text == "<p>An &lt;b&gt;older&lt;/b&gt; one &amp; more</p>"  # escaped once inside the HTML
    assert "2/2 second part" in entries[0].find(f"{ATOM}content").text
    assert entries[0].find(f"{ATOM}published").text.startswith("2026-06-01T09:35:00")
    assert root.find(f"{ATOM}updated").text.startswith("2026-06-01T09:35:00")
    assert b"Still queued" not in response.data


def test_json_feed_1_1_shape(client, feed_world):
    feed_world["post"](["Hello \"world\"", "part two"], minutes=1, image=b"\x89PNG fake")
    response = client.get(_url(feed_world, ".json"))
    assert response.content_type == "application/feed+json; charset=utf-8"
    document = json.loads(response.data)
    assert document["version"] == "https://jsonfeed.org/version/1.1"
    assert document["title"] == "Pip <Test> & Co"
    assert document["feed_url"].endswith(_url(feed_world, ".json"))
    assert document["authors"] == [{"name": "Pip <Test> & Co"}]
    [item] = document["items"]
    assert item["content_text"] == "Hello \"world\"\n\npart two"
    assert item["date_published"] == "2026-06-01T09:31:00+00:00"
    assert "&lt;drawing&gt;" in item["content_html"]
    assert "<drawing>" not in item["content_html"]
    [attachment] = item["attachments"]
    assert attachment["mime_type"] == "image/png"
    assert attachment["title"] == "A small \"otter\" <drawing>"
    assert item["image"] == attachment["url"]
    image = client.get(attachment["url"].split("localhost", 1)[1])
    assert image.status_code == 200
    assert image.data == b"\x89PNG fake"
    assert image.content_type == "image/png"


def test_ids_are_stable_between_requests(client, feed_world):
    feed_world["post"](["Same id every time"])
    first = json.loads(client.get(_url(feed_world, ".json")).data)["items"][0]["id"]
    assert json.loads(client.get(_url(feed_world, ".json")).data)["items"][0]["id"] == first


def test_an_empty_feed_is_still_valid(client, feed_world):
    root = ET.fromstring(client.get(_url(feed_world, ".atom")).data)  # noqa: S314 - our own response
    assert root.findall(f"{ATOM}entry") == []
    assert json.loads(client.get(_url(feed_world, ".json")).data)["items"] == []


def test_unknown_and_unpublished_things_are_404(client, feed_world):
    hidden = feed_world["post"](["Not yet"], status=DeliveryStatus.PENDING, image=b"\x89PNG")
    assert client.get("/feeds/fans/nobody.atom").status_code == 404
    assert client.get(f"/feeds/other/{feed_world['character'].slug}.json").status_code == 404
    assert client.get(_url(feed_world, f"/images/{hidden.id}")).status_code == 404


def test_a_disabled_feed_is_not_served(client, session, feed_world):
    feed_world["post"](["Out in the open"], image=b"\x89PNG\r\n\x1a\nfake")
    feed = ensure_feed_channel(session, feed_world["character"])
    image_url = client.get(_url(feed_world, ".json")).json["items"][0]["image"].split("localhost", 1)[1]
    feed.disabled_at = MOMENT
    session.add(feed)
    session.commit()
    for path in (_url(feed_world, ".atom"), _url(feed_world, ".json"), image_url):
        assert client.get(path).status_code == 404, path
    feed.disabled_at = None
    session.add(feed)
    session.commit()
    assert client.get(_url(feed_world, ".atom")).status_code == 200


def test_feed_holds_the_latest_fifty_of_the_feed_channel_only(session, client, feed_world):
    character = feed_world["character"]
    for minute in range(55):
        feed_world["post"]([f"Feed post {minute}"], minutes=minute % 50)  # five share their minute with others
    elsewhere = Post(workspace_id=character.workspace_id, character_id=character.id, status=PostStatus.PUBLISHED)
    session.add(elsewhere)
    session.flush()
    session.add(PostPart(post_id=elsewhere.id, position=0, text="Only on the webhook"))
    webhook = Channel(workspace_id=character.workspace_id, character_id=character.id, kind=ChannelKind.WEBHOOK)
    session.add(webhook)
    session.flush()
    session.add(Delivery(post_id=elsewhere.id, channel_id=webhook.id, status=DeliveryStatus.PUBLISHED,
                         published_at=MOMENT + timedelta(hours=1)))
    session.commit()
    items = json.loads(client.get(_url(feed_world, ".json")).data)["items"]
    titles = [item["content_text"] for item in items]
    assert len(titles) == 50
    assert "Only on the webhook" not in titles
    # Newest first; posts published at the same minute newest (highest id) first.
    assert titles[:3] == ["Feed post 49", "Feed post 48", "Feed post 47"]
    assert titles[-3:] == ["Feed post 53", "Feed post 3", "Feed post 52"]
