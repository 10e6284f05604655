import secrets

import pytest
from pydantic import ValidationError

from characters.core.config import PLACEHOLDER_SECRET_KEY, PROJECT_ROOT, ConfigError, Settings, load_settings


def test_defaults_to_sqlite_under_instance(monkeypatch, tmp_path):
    monkeypatch.delenv("DATABASE_URL", raising=False)
    settings = load_settings(env_file=tmp_path / "missing.env")
    assert settings.database_url.startswith("sqlite:///")
    assert settings.database_url.endswith("instance/greenroom.sqlite3")


def test_reads_dotenv_file(monkeypatch, tmp_path):
    monkeypatch.delenv("DATABASE_URL", raising=False)
    env_file = tmp_path / ".env"
    env_file.write_text("DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1/x\nLLM_MODEL=smollm2\n")
    settings = load_settings(env_file=env_file)
    assert settings.database_url == "postgresql+psycopg://postgres@127.0.0.1/x"
    assert settings.llm_model == "smollm2"


def test_bad_value_names_the_key(monkeypatch, tmp_path):
    monkeypatch.setenv("SCHEDULER_POLL_SECONDS", "soon")
    with pytest.raises(ConfigError, match="SCHEDULER_POLL_SECONDS"):
        load_settings(env_file=tmp_path / "missing.env")


def test_unknown_database_scheme_is_refused(monkeypatch, tmp_path):
    monkeypatch.setenv("DATABASE_URL", "mysql://x")
    with pytest.raises(ConfigError, match="DATABASE_URL"):
        load_settings(env_file=tmp_path / "missing.env")


def test_production_refuses_placeholder_secret(monkeypatch, tmp_path):
    monkeypatch.setenv("GREENROOM_ENV", "production")
    monkeypatch.setenv("SECRET_KEY", PLACEHOLDER_SECRET_KEY)
    with pytest.raises(ConfigError, match="SECRET_KEY"):
        load_settings(env_file=tmp_path / "missing.env")


def test_production_accepts_a_real_secret():
    for _ in range(50):
        settings = Settings(greenroom_env="production", secret_key=secrets.token_urlsafe(32))
        assert settings.greenroom_env == "production"
    assert Settings(greenroom_env="production", secret_key=secrets.token_hex(32)).greenroom_env == "production"


@pytest.mark.parametrize("key", ["x" * 40, "changeme" * 5, "changeme" * 20, "abcdefghijklmnop" * 3, "ab" * 32,
                                 "0123456789" * 6, "correct-horse"])
def test_production_refuses_a_guessable_secret_whatever_its_length(key):
    with pytest.raises(ValidationError, match="SECRET_KEY") as caught:
        Settings(greenroom_env="production", secret_key=key)
    assert "secrets.token_urlsafe(32)" in str(caught.value)


def test_a_guessable_secret_is_fine_outside_production():
    assert Settings(greenroom_env="development", secret_key="x" * 40).secret_key == "x" * 40


def test_the_old_webhook_setting_name_still_allows_private_addresses(monkeypatch):
    monkeypatch.setenv("WEBHOOK_ALLOW_PRIVATE_TARGETS", "true")
    assert load_settings(env_file=None).outbound_allow_private_addresses


def test_unreadable_env_file_is_reported(tmp_path):
    env_file = tmp_path / ".env"
    env_file.write_bytes(b"SECRET_KEY=\xff\xfe\n")
    with pytest.raises(ConfigError, match=r"\.env"):
        load_settings(env_file=env_file)


def test_env_example_documents_every_setting_with_a_comment():
    lines = (PROJECT_ROOT / ".env.example").read_text().splitlines()
    keys = [line.split("=", 1)[0] for line in lines if line and not line.startswith("#")]
    assert sorted(keys) == sorted(name.upper() for name in Settings.model_fields)
    for index, line in enumerate(lines):
        if line and not line.startswith("#"):
            assert lines[index - 1].startswith("#"), f"{line} has no comment above it"
    assert load_settings(env_file=PROJECT_ROOT / ".env.example").secret_key == PLACEHOLDER_SECRET_KEY
