"""The demo's audience and numbers: conversations in the inbox and engagement on the analytics page. Safe to run twice.

Each demo character gets Bluesky or Mastodon channels marked as demo: no credentials, addresses under `.invalid`
(RFC 2606: they resolve nowhere), and disabled, so the scheduler never polls, reads or publishes to them. What the
networks would have said is stored through the product's own functions, as if it had been read at the time it
happened: `ingest_in_transaction` (conversations, signals, returning authors, the post each one answers),
`save_thread`, the inbox's state changes, `create_reply`, `collect.record` (engagement snapshots on the decaying
schedule) and `record_followers`. Only the posts published in the past are written as the publisher would have left
them: approval needs a time ahead and publishing is the scheduler talking to a network, so nothing else writes the
past. Every time is relative to `now`; the data is in place once the demo channels exist, which is what a second run
checks.
"""

import zlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from characters.accounts.users import find_user_by_email
from characters.accounts.workspaces import Member, get_workspace_by_slug
from characters.analytics.collect import SCHEDULE, Counts, DueDelivery, Measured, record, record_followers
from characters.bibles.bible import current_card, list_characters
from characters.core.errors import NotFound
from characters.core.models import (
    Channel,
    ChannelKind,
    Character,
    Conversation,
    ConversationStatus,
    Delivery,
    DeliveryStatus,
    Post,
    PostStatus,
    Role,
    User,
    Workspace,
    require_id,
)
from characters.demo.seed import DEMO_LOGINS
from characters.listening.inbox import assign_conversation, dismiss_conversation, mark_replied
from characters.listening.ingest import Incoming, Poll, ingest_in_transaction, save_thread
from characters.listening.replies import create_reply
from characters.posting.posts import PartInput, PostContent, create_draft
from characters.publishing.channels import set_disabled

DEMO_MARK = "demo"  # Channel.settings[DEMO_MARK] is True on every demo channel
DEMO_HOST = "demo.invalid"
# How engagement builds up over the decaying schedule (share of the final numbers at each refresh).
GROWTH = (0.3, 0.55, 0.8, 0.93, 1.0, 1.0)
FOLLOWER_DAYS = 30


@dataclass(frozen=True)
class DemoChannel:
    """A demo account of a character on one network."""

    character: str
    kind: ChannelKind
    handle: str  # Bluesky handle, or the Mastodon account's name on its instance
    followers: tuple[int, int]  # 30 days ago, today


@dataclass(frozen=True)
class DemoPost:
    """A post the character published: when (days ago, local hour) and how it landed (final likes)."""

    channel: int  # index in DEMO_CHANNELS
    days_ago: float
    local_hour: int
    likes: int


@dataclass(frozen=True)
class DemoConversation:
    """Something the audience wrote to a character, and what became of it."""

    channel: int
    reason: str  # mention, reply or quote
    author: str  # handle
    name: str
    text: str
    minutes_ago: int
    post: int | None = None  # index in DEMO_POSTS it answers or quotes
    outcome: str = "open"  # open, assign-editor, assign-writer, replied, reply-post, dismissed
    answer_minutes: int = 0  # replied this long after it arrived
    reply: str = ""  # the reply sent from Greenroom (reply-post)
    thread_before: tuple[tuple[str, str, str], ...] = field(default=())  # (handle, name, text) before it


DEMO_CHANNELS = (
    DemoChannel("Pip the Otter", ChannelKind.BLUESKY, "pip.riverside.demo.invalid", (412, 655)),
    DemoChannel("Professor Elinor Marsh", ChannelKind.MASTODON, "elinor", (188, 240)),
    DemoChannel("Dez Okafor", ChannelKind.BLUESKY, "dez.riverside.demo.invalid", (520, 583)),
    DemoChannel("Dez Okafor", ChannelKind.MASTODON, "dez", (96, 131)),
)

# Pip posts every other day or so at 08:00, 12:00 and 18:00 local, five times each in the last 30 days: enough for
# the analytics page to name best hours (evenings do best), plus one a few hours old.
_PIP_LIKES = {8: 28, 12: 17, 18: 52}
_PIP_POSTS = tuple(DemoPost(0, 28 - 1.85 * n, (8, 12, 18)[n % 3], round(_PIP_LIKES[(8, 12, 18)[n % 3]]
                                                                         * (1.0, 0.7, 1.3, 0.9, 1.15)[n % 5]))
                   for n in range(15)) + (DemoPost(0, 0.25, 17, 30),)
DEMO_POSTS = _PIP_POSTS + (
    DemoPost(1, 25, 21, 12), DemoPost(1, 16, 22, 19), DemoPost(1, 9, 7, 3), DemoPost(1, 4, 21, 27),
    DemoPost(2, 26, 3, 41), DemoPost(2, 18, 23, 58), DemoPost(2, 11, 14, 9), DemoPost(2, 5, 2, 64),
    DemoPost(2, 3, 4, 37),
    DemoPost(3, 22, 1, 8), DemoPost(3, 8, 3, 15), DemoPost(3, 6, 13, 2),
)
_PIP_RECENT, _ELINOR, _DEZ_SKY, _DEZ_TOOT = 15, 16, 20, 25  # where each one's posts start in DEMO_POSTS

DEMO_CONVERSATIONS = (
    DemoConversation(0, "reply", "marisol.demo.invalid", "Marisol 🌊",
                     "Pip!! My kids want to know: do otters really hold hands when they sleep? 🦦", 26 * 60, post=14,
                     outcome="replied", answer_minutes=25),
    DemoConversation(0, "quote", "kenji.demo.invalid", "Kenji 川上",
                     "The only weather forecast I trust anymore.", 6 * 24 * 60 - 90, post=11, outcome="reply-post",
                     answer_minutes=12, reply="Trust the whiskers, Kenji. They have never once been wrong about "
                                              "splashing. 🦦💦"),
    DemoConversation(0, "mention", "otterfans.demo.invalid", "🦦 Otter Appreciation Society",
                     "@pip.riverside.demo.invalid we voted you honorary president. Speech please! 🎉", 40),
    DemoConversation(0, "reply", "marisol.demo.invalid", "Marisol 🌊",
                     "Update: they tried it at naptime. Chaos. Thank you Pip 💙", 20, post=14),
    DemoConversation(0, "reply", "rowerdan.demo.invalid", "Rower Dan",
                     "Your splash party left a mess all over the north bank. Awful, and a terrible example for kids. "
                     "Disappointed.",
                     35, post=_PIP_RECENT, outcome="assign-editor"),
    DemoConversation(1, "mention", "aiyana@astro.demo.invalid", "Dr. Aiyana Ríos",
                     "@elinor did your receiver pick up anything near 1420 MHz last night? Our dish saw a blip.",
                     3 * 60),
    DemoConversation(1, "reply", "ludmila@books.demo.invalid", "Ludmila Nováková",
                     "I keep a notebook of nothing-nights too. Is it strange that they feel important?",
                     4 * 24 * 60 - 200, post=_ELINOR + 3, outcome="replied", answer_minutes=48),
    DemoConversation(1, "mention", "boost@spam.demo.invalid", "FREE FOLLOWERS 🚀",
                     "@elinor 🚀 get 10k followers today!!! boost your science account now", 2 * 24 * 60 + 33,
                     outcome="dismissed"),
    DemoConversation(1, "reply", "samir@astro.demo.invalid", "Samir",
                     "Professor, what would you do if the sky did say something one night?", 15, post=_ELINOR + 3,
                     outcome="assign-writer"),
    DemoConversation(1, "mention", "miriam@school.demo.invalid", "מרים Miriam",
                     "@elinor my class wants to build a radio telescope from an old satellite dish. Where do we "
                     "start?", 44),
    DemoConversation(2, "reply", "taxitam.demo.invalid", "Taxi Tam",
                     "Team rhubarb pie. Tell the drivers. 🥧", 3 * 24 * 60 - 20, post=_DEZ_SKY + 4, outcome="replied",
                     answer_minutes=130),
    DemoConversation(2, "quote", "taxitam.demo.invalid", "Taxi Tam",
                     "Dez staying neutral in the pie debate is the bravest thing on late-night radio",
                     5 * 24 * 60 - 30, post=_DEZ_SKY + 3, outcome="replied", answer_minutes=33),
    DemoConversation(2, "mention", "priya.demo.invalid", "Priya (night nurse)",
                     "@dez.riverside.demo.invalid what's on the late radio tonight? Need company on the 3am round",
                     10, thread_before=(("priya.demo.invalid", "Priya (night nurse)",
                                         "Night shift again. Coffee number three."),)),
    DemoConversation(2, "reply", "femi.demo.invalid", "Femi Adébáyọ̀",
                     "Saw you at the pie stand at 4am. You're real!", 28, post=_DEZ_SKY + 4),
    DemoConversation(3, "reply", "nightowl@owls.demo.invalid", "night owl",
                     "The show got so boring lately. Same sad stories every night. Really disappointing.", 25,
                     post=_DEZ_TOOT + 1),
    DemoConversation(3, "mention", "zoe@tram.demo.invalid", "Zoë Ångström",
                     "@dez a shout-out for the depot crew on the night shift, please! They fixed the 4:10 tram.",
                     6 * 24 * 60 - 300, outcome="replied", answer_minutes=41),
)


@dataclass(frozen=True)
class _Posted:
    """A demo post as published: its delivery and where it lives on the network."""

    post: Post
    delivery: Delivery
    channel: Channel
    at: datetime
    likes: int  # how many likes it ends with
    text: str
    uri: str
    url: str


def seed_demo_activity(session: Session, workspace_slug: str, *, now: datetime | None = None) -> bool:
    """Give the demo workspace its audience and numbers unless it has them; return whether anything was added.

    Commits the session once the channels, posts and conversations are stored: the thread cache and the analytics
    writers run in their own transactions after that. The caller's session remains usable.
    """
    engine = session.get_bind()
    if not isinstance(engine, Engine):
        raise TypeError("Seed the demo with a session bound to an engine (the numbers are written in their own "
                        "transactions).")
    now = (now or datetime.now(UTC)).astimezone(UTC)
    workspace = get_workspace_by_slug(session, workspace_slug)
    if _demo_channels(session, workspace):
        return False
    members = {role: Member(workspace=workspace, user=user, role=role)
               for user, role in _members(session)}
    characters = {character.name: character for character in list_characters(session, workspace)}
    channels = [_add_channel(session, workspace, characters[spec.character], spec) for spec in DEMO_CHANNELS]
    posted = [_publish(session, members[Role.WRITER], members[Role.EDITOR], characters, channels, spec, now, number)
              for number, spec in enumerate(DEMO_POSTS)]
    conversations = _listen(session, channels, posted, now)
    posted += _answer(session, members, channels, conversations)
    for channel in channels:  # disabled before anything commits: the scheduler never sees them enabled
        set_disabled(session=session, member=members[Role.OWNER], channel=channel, disabled=True)
    session.commit()
    _threads(engine, conversations, posted)
    _measure(engine, posted, now)
    _count_followers(engine, channels, now)
    return True


def _demo_channels(session: Session, workspace: Workspace) -> list[Channel]:
    return [channel for channel in session.exec(select(Channel).where(Channel.workspace_id == workspace.id)).all()
            if (channel.settings or {}).get(DEMO_MARK)]


def _members(session: Session) -> list[tuple[User, Role]]:
    found = []
    for login in DEMO_LOGINS:
        user = find_user_by_email(session, login.email)
        if user is None:
            raise NotFound(f"The demo user {login.email} is missing; run the demo seed first.")
        found.append((user, login.role))
    return found


def _add_channel(session: Session, workspace: Workspace, character: Character, spec: DemoChannel) -> Channel:
    """Add a demo account without credentials: it has nothing to log in with, and is disabled before commit."""
    if spec.kind is ChannelKind.BLUESKY:
        settings = {"service_url": f"https://pds.{DEMO_HOST}", "handle": spec.handle, DEMO_MARK: True}
        label = f"@{spec.handle} (demo, not connected)"
    else:
        settings = {"api_base_url": f"https://mastodon.{DEMO_HOST}", DEMO_MARK: True}
        label = f"@{spec.handle}@mastodon.{DEMO_HOST} (demo, not connected)"
    channel = Channel(workspace_id=require_id(workspace), character_id=require_id(character), kind=spec.kind,
                      label=label, settings=settings)
    session.add(channel)
    session.flush()
    return channel


def _network_post(channel: Channel, spec_handle: str, key: str) -> tuple[str, str]:
    """Return the network id and web address of a post on a demo channel."""
    if channel.kind == ChannelKind.BLUESKY:
        did = f"did:plc:demo{require_id(channel)}"
        return f"at://{did}/app.bsky.feed.post/{key}", f"https://bsky.{DEMO_HOST}/profile/{spec_handle}/post/{key}"
    status_id = str(110_000_000_000 + zlib.crc32(key.encode()) % 10_000_000)
    return status_id, f"https://mastodon.{DEMO_HOST}/@{spec_handle}/{status_id}"


def _publish(session: Session, writer: Member, editor: Member, characters: dict[str, Character],
             channels: list[Channel], spec: DemoPost, now: datetime, number: int) -> _Posted:
    """Draft the post (the domain's draft), then leave it as the review and the publisher would have."""
    channel = channels[spec.channel]
    channel_spec = DEMO_CHANNELS[spec.channel]
    character = characters[channel_spec.character]
    canon = current_card(session, character).greenroom.canon_posts
    earlier = sum(DEMO_CHANNELS[other.channel].character == channel_spec.character for other in DEMO_POSTS[:number])
    text = canon[earlier % len(canon)]
    zone = ZoneInfo(current_card(session, character).greenroom.timezone or "UTC")
    day = (now - timedelta(days=spec.days_ago)).astimezone(zone)
    at = day.replace(hour=spec.local_hour, minute=(7 * number) % 60, second=0, microsecond=0).astimezone(UTC)
    if at > now - timedelta(hours=1):  # a recent post: keep it in the past, with its first refreshes done
        at = now - timedelta(hours=spec.days_ago * 24, minutes=5)
    post = create_draft(session=session, member=writer, character=character,
                        content=PostContent(parts=[PartInput(text=text)], channel_ids=[require_id(channel)]))
    uri, url = _network_post(channel, channel_spec.handle, f"3demo{number:03d}")
    delivery = session.exec(select(Delivery).where(Delivery.post_id == post.id)).one()
    _published(session, post, delivery, editor, at, [{"id": uri, "url": url, "cid": f"bafydemo{number:03d}"}], url)
    return _Posted(post, delivery, channel, at, spec.likes, text, uri, url)


def _published(session: Session, post: Post, delivery: Delivery, editor: Member, at: datetime,
               refs: list[dict[str, str]], url: str) -> None:
    """Record a publication in the past as the review and the scheduler leave it."""
    post.status = PostStatus.PUBLISHED
    post.submitted_by_id = post.author_id
    post.approved_by_id = editor.user.id
    post.approved_at = at - timedelta(hours=3)
    post.due_at = post.published_at = post.updated_at = at
    post.created_at = at - timedelta(hours=20)
    delivery.status = DeliveryStatus.PUBLISHED
    delivery.due_at = delivery.published_at = at
    delivery.attempts = 1
    delivery.remote_refs = refs
    delivery.remote_url = url
    session.add_all([post, delivery])
    session.flush()


def _listen(session: Session, channels: list[Channel], posted: list[_Posted], now: datetime) -> list[Conversation]:
    """Store each conversation as a poll at the moment it arrived would have (oldest first, one poll each)."""
    order = sorted(range(len(DEMO_CONVERSATIONS)), key=lambda n: -DEMO_CONVERSATIONS[n].minutes_ago)
    stored: dict[int, Conversation] = {}
    connection = session.connection()
    for number in order:
        spec = DEMO_CONVERSATIONS[number]
        channel = channels[spec.channel]
        posted_at = now - timedelta(minutes=spec.minutes_ago)
        if spec.post is not None:  # never before the post it answers (publication times follow local hours)
            posted_at = max(posted_at, posted[spec.post].at + timedelta(minutes=15 + number))
        network_id, url = _network_post(channel, spec.author.split("@")[0], f"3fan{number:03d}")
        subject = (posted[spec.post].uri,) if spec.post is not None else ()
        item = Incoming(network_id=network_id, reason=spec.reason, text=spec.text, posted_at=posted_at,
                        author_ref=_author_ref(channel, spec.author), author_handle=spec.author,
                        author_name=spec.name, url=url, subject_refs=subject,
                        remote_ref={"id": network_id, "url": url, "cid": f"bafyfan{number:03d}"})
        cursor = session.exec(select(Channel.listen_cursor).where(Channel.id == channel.id)).one()
        ingest_in_transaction(connection, require_id(channel), Poll(items=[item], cursor=f"demo-{number:03d}",
                                                                    likes=3, reposts=1),
                              posted_at + timedelta(minutes=1), since_cursor=cursor)
        stored[number] = session.exec(select(Conversation).where(Conversation.channel_id == channel.id,
                                                                 Conversation.network_id == network_id)).one()
    return [stored[number] for number in range(len(DEMO_CONVERSATIONS))]


def _author_ref(channel: Channel, handle: str) -> str:
    if channel.kind == ChannelKind.BLUESKY:
        return "did:plc:fan-" + handle.split(".")[0]
    return "acct-" + handle.replace("@", "-").replace(".", "-")


def _answer(session: Session, members: dict[Role, Member], channels: list[Channel],
            conversations: Sequence[Conversation]) -> list[_Posted]:
    """Take, assign, answer and dismiss conversations as the demo's people would have; return the replies sent."""
    editor, writer = members[Role.EDITOR], members[Role.WRITER]
    sent: list[_Posted] = []
    for spec, conversation in zip(DEMO_CONVERSATIONS, conversations, strict=True):
        answered = conversation.received_at + timedelta(minutes=spec.answer_minutes)
        if spec.outcome == "assign-editor":
            assign_conversation(session, editor, conversation, expected=ConversationStatus.OPEN,
                                assignee_id=editor.user.id)
        elif spec.outcome == "assign-writer":
            assign_conversation(session, editor, conversation, expected=ConversationStatus.OPEN,
                                assignee_id=writer.user.id)
        elif spec.outcome == "dismissed":
            dismiss_conversation(session, editor, conversation, expected=ConversationStatus.OPEN,
                                 reason="Spam: a follower-selling account.")
        elif spec.outcome == "replied":
            mark_replied(session, editor, conversation, expected=ConversationStatus.OPEN, now=answered)
        elif spec.outcome == "reply-post":
            reply = create_reply(session, writer, conversation, spec.reply)  # assigns it to the writer
            delivery = session.exec(select(Delivery).where(Delivery.post_id == reply.id)).one()
            uri, url = _network_post(channels[spec.channel], DEMO_CHANNELS[spec.channel].handle, "3demoreply")
            _published(session, reply, delivery, editor, answered, [{"id": uri, "url": url}], url)
            reply.created_at = answered - timedelta(minutes=8)
            session.add(reply)
            mark_replied(session, editor, conversation, expected=ConversationStatus.ASSIGNED, now=answered)
            sent.append(_Posted(reply, delivery, channels[spec.channel], answered, 6, spec.reply, uri, url))
    return sent


def _threads(engine: Engine, conversations: Sequence[Conversation], posted: list[_Posted]) -> None:
    """Cache each conversation's thread as the audience sees it: the character's post first when it answers one."""
    for spec, conversation in zip(DEMO_CONVERSATIONS, conversations, strict=True):
        channel_spec = DEMO_CHANNELS[spec.channel]
        thread: list[dict[str, object]] = [
            {"author_handle": handle, "author_name": name, "text": text, "is_character": False,
             "posted_at": (conversation.posted_at - timedelta(minutes=30)).isoformat()}
            for handle, name, text in spec.thread_before]
        if spec.post is not None:
            source = posted[spec.post]
            thread.append({"uri": source.uri, "url": source.url, "author_handle": channel_spec.handle,
                           "author_name": channel_spec.character, "text": source.text, "is_character": True,
                           "posted_at": source.at.isoformat()})
        thread.append({"uri": conversation.network_id, "url": conversation.url,
                       "author_handle": conversation.author_handle, "author_name": conversation.author_name,
                       "text": conversation.text, "is_character": False,
                       "posted_at": conversation.posted_at.isoformat()})
        save_thread(engine, require_id(conversation), thread, conversation.received_at + timedelta(minutes=1))


def _measure(engine: Engine, posted: list[_Posted], now: datetime) -> None:
    """Read each post's numbers at every point of its schedule already past, as the collector would have."""
    for number, item in enumerate(posted):
        published_at, channel_id = item.at, require_id(item.channel)
        for step, offset in enumerate(SCHEDULE):
            taken = published_at + offset
            if taken > now:
                break
            likes = round(item.likes * GROWTH[step])
            counts = Counts(likes=likes, reposts=round(likes / (5 + number % 3)), replies=round(likes / 9),
                            quotes=round(likes / 30))
            due = DueDelivery(id=require_id(item.delivery), channel_id=channel_id,
                              kind=item.channel.kind.value, step=step, published_at=published_at,
                              remote_id=item.uri)
            record(engine, [Measured(due, counts)], taken)


def _count_followers(engine: Engine, channels: list[Channel], now: datetime) -> None:
    """Count each new demo account's followers once a day for the last 30 days (growing, with a dip or two)."""
    for days_ago in range(FOLLOWER_DAYS, -1, -1):
        counts = {}
        for channel, spec in zip(channels, DEMO_CHANNELS, strict=True):
            start, end = spec.followers
            progress = (FOLLOWER_DAYS - days_ago) / FOLLOWER_DAYS
            dip = 6 if days_ago in (17, 16) else 0
            counts[require_id(channel)] = round(start + (end - start) * progress ** 1.3) - dip
        record_followers(engine, counts, now - timedelta(days=days_ago, hours=2))
