"""`greenroom characters import|export`: cards in and out of a workspace from the command line."""

from pathlib import Path

import tavern_card
from sqlmodel import select

from characters.bibles.bible import get_character, list_characters, list_versions
from characters.bibles.cards import parse_card
from characters.core.models import Character, Role
from tests.factories import add_member, make_character, make_user, make_workspace
from web.cli import main

CARD_FIXTURES = Path(__file__).resolve().parents[1] / "characters" / "fixtures" / "cards"


def _workspace(session, slug="fans"):
    """A workspace whose first owner is the founder; a second owner joins later."""
    founder = make_user(session, f"founder@{slug}.example")
    workspace = make_workspace(session, founder, slug)
    add_member(session, workspace, f"later-owner@{slug}.example", Role.OWNER)
    return workspace, founder


def test_import_prints_the_new_slug_and_acts_as_the_first_owner(runner, session, tmp_path):
    workspace, founder = _workspace(session)
    result = runner.invoke(main, ["characters", "import", str(CARD_FIXTURES / "v3-juniper.charx"),
                                  "--workspace", "fans"])
    assert result.exit_code == 0, result.output
    slug = result.stdout.strip()
    session.rollback()
    character = get_character(session, workspace, slug)
    assert character.avatar_png is not None
    version = list_versions(session, character)[0]
    assert version.created_by_id == founder.id
    assert version.note.startswith("Imported from v3-juniper.charx")


def test_import_reports_warnings_on_stderr(runner, session):
    _workspace(session)
    result = runner.invoke(main, ["characters", "import", str(CARD_FIXTURES / "v1-marlow.json"), "--workspace", "fans"])
    assert result.exit_code == 0, result.output
    assert result.stdout.strip().count("\n") == 0  # only the slug: scripts can capture it
    assert "Warning: The card has no Greenroom settings" in result.stderr


def test_import_of_a_bad_card_is_one_clear_line_and_saves_nothing(runner, session, tmp_path):
    workspace, _ = _workspace(session)
    bad = tmp_path / "broken.json"
    bad.write_text('{"spec": "chara_card_v2", "data": {"name": ')
    result = runner.invoke(main, ["characters", "import", str(bad), "--workspace", "fans"])
    assert result.exit_code == 1
    assert "Error: This card cannot be imported: the file is not valid JSON" in result.output
    assert "Traceback" not in result.output
    session.rollback()
    assert list_characters(session, workspace) == []


def test_import_errors_for_a_missing_file_or_workspace(runner, session, tmp_path):
    _workspace(session)
    missing_file = runner.invoke(main, ["characters", "import", str(tmp_path / "nope.json"), "--workspace", "fans"])
    assert missing_file.exit_code == 2
    assert "does not exist" in missing_file.output
    no_workspace = runner.invoke(main, ["characters", "import", str(CARD_FIXTURES / "v2-otto.png"),
                                        "--workspace", "nowhere"])
    assert no_workspace.exit_code == 1
    assert "No such workspace." in no_workspace.output
    assert session.exec(select(Character)).first() is None


def test_export_json_and_png_parse_back(runner, session, tmp_path):
    workspace, founder = _workspace(session)
    make_character(session, workspace, founder, "Walt Test", timezone="America/New_York",
                   canon_posts=["Make them want it."])
    json_out, png_out = tmp_path / "walt.json", tmp_path / "walt.png"
    for file_format, out in (("json", json_out), ("png", png_out)):
        result = runner.invoke(main, ["characters", "export", "walt-test", "--workspace", "fans",
                                      "--format", file_format, "--out", str(out)])
        assert result.exit_code == 0, result.output
        assert f"Wrote {out}" in result.output
    from_json = parse_card(json_out.read_bytes(), "walt.json").card
    from_png = parse_card(png_out.read_bytes(), "walt.png").card
    assert from_json.greenroom.timezone == from_png.greenroom.timezone == "America/New_York"
    assert from_png.greenroom.canon_posts == ["Make them want it."]
    assert tavern_card.parse_card(json_out.read_bytes())["data"]["name"] == "Walt Test"
    assert tavern_card.parse_png_card(png_out.read_bytes())["data"]["name"] == "Walt Test"


def test_export_errors_for_an_unknown_character_or_another_workspaces_character(runner, session, tmp_path):
    workspace, founder = _workspace(session)
    other, other_owner = _workspace(session, "others")
    make_character(session, other, other_owner, "Their Secret")
    out = tmp_path / "x.json"
    for slug in ("nobody", "their-secret"):
        result = runner.invoke(main, ["characters", "export", slug, "--workspace", "fans", "--out", str(out)])
        assert result.exit_code == 1
        assert "No such character in this workspace." in result.output
    assert not out.exists()
    bad_format = runner.invoke(main, ["characters", "export", "x", "--workspace", "fans", "--format", "gif",
                                      "--out", str(out)])
    assert bad_format.exit_code == 2


def test_export_then_import_round_trip(runner, session, tmp_path):
    workspace, founder = _workspace(session)
    make_character(session, workspace, founder, "Walt Test", era={"label": "1962", "end_year": 1962})
    out = tmp_path / "walt.png"
    runner.invoke(main, ["characters", "export", "walt-test", "--workspace", "fans", "--format", "png",
                         "--out", str(out)])
    result = runner.invoke(main, ["characters", "import", str(out), "--workspace", "fans"])
    assert result.stdout.strip() == "walt-test-copy"  # a re-import is a named copy, never a silent duplicate
    session.rollback()
    copy = get_character(session, workspace, "walt-test-copy")
    assert copy.name == "Walt Test (copy)"
    assert list_versions(session, copy)[0].card["extensions"]["greenroom"]["era"]["end_year"] == 1962
