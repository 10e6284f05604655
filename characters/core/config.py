"""Settings from the environment and `.env`, validated once at start by every entry point."""

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

PROJECT_ROOT = Path(__file__).resolve().parents[2]
INSTANCE_DIR = PROJECT_ROOT / "instance"
PLACEHOLDER_SECRET_KEY = "change-me"  # noqa: S105 - the value .env.example ships, refused in production


class ConfigError(RuntimeError):
    """Raised when a setting is missing or invalid; the message names the key."""


class Settings(BaseSettings):
    """Every Greenroom setting; `.env.example` documents each one."""

    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")

    greenroom_env: Literal["development", "production", "test"] = "development"
    secret_key: str = PLACEHOLDER_SECRET_KEY
    database_url: str = ""
    ratelimit_storage_uri: str = "memory://"
    login_rate_limit: str = "10 per minute"
    api_rate_limit: str = "300 per minute"
    session_cookie_secure: bool = False
    scheduler_poll_seconds: float = Field(default=5.0, gt=0)
    llm_base_url: str = ""
    llm_api_key: str = ""
    llm_model: str = ""
    llm_timeout_seconds: float = Field(default=60.0, gt=0)
    consistency_llm_judge: bool = False
    channel_secrets_key: str = ""
    channel_secrets_old_keys: str = ""
    webhook_allow_private_targets: bool = False
    webhook_timeout_seconds: float = Field(default=10.0, gt=0, le=120)
    argon2_profile: Literal["rfc_9106_low_memory", "cheapest"] = "rfc_9106_low_memory"

    @field_validator("database_url")
    @classmethod
    def _default_database(cls, value: str) -> str:
        if value:
            if not value.startswith(("sqlite", "postgresql")):
                raise ValueError("must start with sqlite:// or postgresql+psycopg://")
            return value
        return f"sqlite:///{INSTANCE_DIR / 'greenroom.sqlite3'}"

    @model_validator(mode="after")
    def _refuse_placeholder_secret_in_production(self) -> "Settings":
        if self.greenroom_env == "production" and (
            self.secret_key == PLACEHOLDER_SECRET_KEY or len(self.secret_key) < 32
        ):
            raise ValueError("SECRET_KEY must be set to a random value of 32+ characters in production")
        return self


def load_settings(env_file: str | Path | None = ".env") -> Settings:
    """Read and validate settings, turning validation errors into one readable ConfigError."""
    try:
        return Settings(_env_file=env_file)
    except ValidationError as error:
        problems = []
        for item in error.errors():
            key = ".".join(str(part) for part in item["loc"]).upper() or "SETTINGS"
            problems.append(f"{key}: {item['msg']}")
        raise ConfigError("Invalid configuration: " + "; ".join(problems)) from None
    except (OSError, UnicodeDecodeError) as error:
        raise ConfigError(f"Cannot read the settings file {env_file}: {error}") from None


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """Return the process-wide settings, loaded on first use (never at import time)."""
    return load_settings()
