"""CSV and JSON import/export: all or nothing, every bad row named, a round trip that imports again."""

import csv
import io
import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlmodel import func, select

from characters.core.models import Post, PostStatus, Role
from characters.posting.campaigns import CampaignInput, create_campaign
from characters.posting.posts import PostContent, create_draft, parts_of
from characters.posting.transfer import ImportRejected, export_posts, import_posts
from tests.factories import make_character, member, workspace_with_roles


@pytest.fixture
def crew(session):
    people = workspace_with_roles(session, "io")
    people["walt"] = make_character(session, people["workspace"], people["owner"], "Walt Test")
    people["pip"] = make_character(session, people["workspace"], people["owner"], "Pip")
    people["writer_m"] = member(people["workspace"], people["writer"], Role.WRITER)
    create_campaign(session=session, member=member(people["workspace"], people["owner"], Role.OWNER),
                    data=CampaignInput(name="Spring Launch"))
    session.commit()
    return people


def _export(session, crew, fmt) -> bytes:
    return b"".join(export_posts(session, crew["workspace"], fmt))


def _count(session) -> int:
    return session.exec(select(func.count()).select_from(Post)).one()


def test_csv_import_creates_drafts_with_threads_channels_and_campaigns(session, crew):
    raw = ("character,text,channels,campaign\n"
           'walt-test,"First part.\n---\nSecond part.",feed,Spring Launch\n'
           "Pip,Splash! 🦦 עברית,,\n").encode()
    posts = [session.get(Post, post_id) for post_id in
             import_posts(session=session, member=crew["writer_m"], raw=raw, fmt="csv")]
    session.commit()
    assert [p.character_id for p in posts] == [crew["walt"].id, crew["pip"].id]
    assert [part.text for part in parts_of(session, posts[0])] == ["First part.", "Second part."]
    assert posts[0].campaign_id is not None
    assert posts[1].campaign_id is None
    assert parts_of(session, posts[1])[0].text == "Splash! 🦦 עברית"


def test_a_due_column_plans_each_post_in_its_characters_zone(session, crew):
    # Walt's bible sets no zone: his local time is UTC.
    raw = (b"character,text,due\n"
           b"walt-test,Planned by the clock.,2031-06-20 09:00\n"
           b"Pip,Planned with an offset.,2031-06-20T09:00:00+02:00\n"
           b"Pip,Not planned.,\n")
    posts = [session.get(Post, post_id) for post_id in
             import_posts(session=session, member=crew["writer_m"], raw=raw, fmt="csv")]
    session.commit()
    assert [p.due_at.isoformat() if p.due_at else None for p in posts] == [
        "2031-06-20T09:00:00+00:00", "2031-06-20T07:00:00+00:00", None]
    assert {p.status for p in posts} == {PostStatus.DRAFT}  # a plan, not a schedule: approval still decides


def test_a_bad_or_past_due_time_is_named_and_nothing_is_imported(session, crew):
    raw = b"character,text,due\nPip,Too late.,2020-01-01 09:00\nPip,When?,tomorrowish\n"
    with pytest.raises(ImportRejected) as rejected:
        import_posts(session=session, member=crew["writer_m"], raw=raw, fmt="csv")
    assert [(e.row, e.column) for e in rejected.value.errors] == [(2, "due"), (3, "due")]
    assert "has passed" in rejected.value.errors[0].message
    assert "not a date and time" in rejected.value.errors[1].message
    assert _count(session) == 0


def test_bad_rows_import_nothing_and_each_is_listed(session, crew):
    raw = (b"character,text,channels,campaign\n"
           b"walt-test,Fine.,,\n"
           b"nobody,Who?,,\n"
           b"pip,,,\n"
           b"pip,Hi,bluesky,\n"
           b"pip,Hi,,No Such Campaign\n")
    with pytest.raises(ImportRejected) as rejected:
        import_posts(session=session, member=crew["writer_m"], raw=raw, fmt="csv")
    session.rollback()
    assert [(e.row, e.column) for e in rejected.value.errors] == [(3, "character"), (4, "text"), (5, "channels"),
                                                                  (6, "campaign")]
    assert _count(session) == 0


@pytest.mark.parametrize(("raw", "fmt", "message"), [
    (b"", "csv", "empty"),
    (b"\xff\xfe\x00bad", "csv", "UTF-8"),
    (b"who,what\nx,y\n", "csv", "Unknown column"),
    (b"character\nwalt-test\n", "csv", "name the columns"),
    (b"character,text\n", "csv", "no posts"),
    (b"{not json", "json", "not valid JSON"),
    (b'{"posts": 3}', "json", "Expected"),
    (b"[" * 100_000, "json", "not valid JSON"),
    (b'[1, "x"]', "json", "object"),
])
def test_malformed_files_are_refused_with_a_message(session, crew, raw, fmt, message):
    with pytest.raises(ImportRejected) as rejected:
        import_posts(session=session, member=crew["writer_m"], raw=raw, fmt=fmt)
    assert message in " ".join(e.message for e in rejected.value.errors)


def test_export_then_import_round_trips(session, crew):
    create_draft(session=session, member=crew["writer_m"], character=crew["walt"],
                 content=PostContent.of_texts(["One, \"quoted\".", "Two\nlines."]))
    session.commit()
    for fmt in ("csv", "json"):
        exported = _export(session, crew, fmt)
        before = _count(session)
        imported = import_posts(session=session, member=crew["writer_m"], raw=exported, fmt=fmt)
        session.commit()
        assert _count(session) == before * 2
        assert [p.text for p in parts_of(session, session.get(Post, imported[0]))] == ["One, \"quoted\".",
                                                                                     "Two\nlines."]
    rows = list(csv.DictReader(io.StringIO(_export(session, crew, "csv").decode())))
    assert set(rows[0]) == {"id", "status", "version", "due_at", "character", "text", "channels", "campaign", "due"}
    assert json.loads(_export(session, crew, "json"))["posts"][0]["channels"] == ["Walt Test's feed"]


@pytest.mark.parametrize("start", ["=", "+", "-", "@", "\t", "\r"])
def test_csv_cells_that_a_spreadsheet_would_run_as_formulas_are_exported_as_text(session, crew, start):
    text = f"{start}HYPERLINK(\"https://evil.example\",\"x\")"
    create_draft(session=session, member=crew["writer_m"], character=crew["walt"],
                 content=PostContent.of_texts([text]))
    session.commit()
    [row] = csv.DictReader(io.StringIO(_export(session, crew, "csv").decode(), newline=""))
    assert row["text"] == "'" + text
    assert json.loads(_export(session, crew, "json"))["posts"][0]["parts"] == [text]
    [imported] = import_posts(session=session, member=crew["writer_m"], raw=_export(session, crew, "csv"), fmt="csv")
    assert [part.text for part in parts_of(session, session.get(Post, imported))] == [text]


def test_viewers_cannot_import(session, crew):
    with pytest.raises(Exception, match="does not allow"):
        import_posts(session=session, member=member(crew["workspace"], crew["viewer"], Role.VIEWER),
                     raw=b"character,text\nwalt-test,x\n", fmt="csv")


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(raw=st.binary(max_size=400), fmt=st.sampled_from(["csv", "json"]))
def test_arbitrary_bytes_never_crash(session, crew, raw, fmt):
    problems: list[object] = []
    try:
        import_posts(session=session, member=crew["writer_m"], raw=raw, fmt=fmt)
    except ImportRejected as rejected:
        problems = list(rejected.errors) or [None]
    assert None not in problems, "a refused import must say what is wrong"
    session.rollback()
