import json

from sqlmodel import select

from characters.core.models import Conversation, EngagementSnapshot, Membership, User, Workspace
from web.cli import main


def test_users_create_with_password_stdin(runner, session):
    result = runner.invoke(main, ["users", "create", "ada@example.com", "--admin", "--password-stdin"],
                           input="correct-horse-battery\n")
    assert result.exit_code == 0, result.output
    user = session.exec(select(User)).one()
    assert user.is_admin
    assert user.email == "ada@example.com"


def test_users_create_prompts_for_the_password(runner, session):
    result = runner.invoke(main, ["users", "create", "ada@example.com"],
                           input="correct-horse-battery\ncorrect-horse-battery\n")
    assert result.exit_code == 0, result.output
    assert session.exec(select(User)).one().display_name == "ada"


def test_cli_errors_are_one_clear_line(runner, session):
    runner.invoke(main, ["users", "create", "ada@example.com", "--password-stdin"], input="correct-horse-battery\n")
    duplicate = runner.invoke(main, ["users", "create", "ADA@example.com", "--password-stdin"],
                              input="correct-horse-battery\n")
    assert duplicate.exit_code == 1
    assert "already exists" in duplicate.output
    short = runner.invoke(main, ["users", "create", "bo@example.com", "--password-stdin"], input="short\n")
    assert short.exit_code == 1
    assert "at least 10 characters" in short.output
    assert "Traceback" not in duplicate.output + short.output


def test_users_create_refuses_a_guessable_password_with_advice(runner, session):
    result = runner.invoke(main, ["users", "create", "ada@example.com", "--password-stdin"], input="password12\n")
    assert result.exit_code == 1
    assert "too easy to guess" in result.output
    assert "common password" in result.output
    assert session.exec(select(User)).first() is None


def test_workspaces_and_members(runner, session):
    runner.invoke(main, ["users", "create", "ada@example.com", "--password-stdin"], input="correct-horse-battery\n")
    runner.invoke(main, ["users", "create", "bo@example.com", "--password-stdin"], input="correct-horse-battery\n")
    created = runner.invoke(main, ["workspaces", "create", "fans", "--name", "Fans", "--owner", "ada@example.com"])
    assert created.exit_code == 0, created.output
    added = runner.invoke(main, ["members", "add", "fans", "bo@example.com", "--role", "editor"])
    assert added.exit_code == 0, added.output
    roles = {m.role for m in session.exec(select(Membership)).all()}
    assert roles == {"owner", "editor"}
    again = runner.invoke(main, ["workspaces", "create", "fans", "--name", "Again", "--owner", "ada@example.com"])
    assert again.exit_code == 1
    assert "taken" in again.output
    ghost = runner.invoke(main, ["members", "add", "fans", "ghost@example.com", "--role", "writer"])
    assert ghost.exit_code == 1
    assert "No user with email" in ghost.output
    bad_role = runner.invoke(main, ["members", "add", "fans", "bo@example.com", "--role", "king"])
    assert bad_role.exit_code == 2


def test_seed_demo_is_idempotent(runner, session):
    first = runner.invoke(main, ["seed-demo"])
    second = runner.invoke(main, ["seed-demo"])
    assert first.exit_code == second.exit_code == 0, first.output + second.output
    assert "writer@demo.greenroom.example" in first.output
    assert len(session.exec(select(Workspace)).all()) == 1
    assert len(session.exec(select(User)).all()) == 3
    # The demo's audience and numbers come with it, once.
    assert len(session.exec(select(Conversation)).all()) == 16
    assert session.exec(select(EngagementSnapshot)).first() is not None


def test_db_upgrade_is_repeatable(runner):
    result = runner.invoke(main, ["db", "upgrade"])
    assert result.exit_code == 0, result.output
    assert "up to date" in result.output


def test_bad_configuration_names_the_key(runner):
    result = runner.invoke(main, ["db", "upgrade"], env={"DATABASE_URL": "mysql://nope"})
    assert result.exit_code == 1
    assert "DATABASE_URL" in result.output


def test_eval_consistency_prints_a_table_then_json(shared_dir):
    from click.testing import CliRunner

    result = CliRunner().invoke(main, ["eval", "consistency", str(shared_dir / "eval" / "consistency-dev")])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.output.strip().splitlines()[-1])
    assert set(summary) == {"roc_auc", "recall", "false_alarm_rate", "median_ms", "n"}
    assert summary["n"] == 176
    assert summary["roc_auc"] >= 0.95


def test_eval_consistency_on_a_wrong_folder_is_a_clear_error(tmp_path):
    from click.testing import CliRunner

    result = CliRunner().invoke(main, ["eval", "consistency", str(tmp_path)])
    assert result.exit_code == 1
    assert "posts.jsonl" in result.output
