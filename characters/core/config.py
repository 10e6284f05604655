"""Settings from the environment and `.env`, validated once at start by every entry point."""

import math
import zlib
from collections import Counter
from email.utils import parseaddr
from functools import lru_cache
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

from pydantic import AliasChoices, Field, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

PROJECT_ROOT = Path(__file__).resolve().parents[2]
INSTANCE_DIR = PROJECT_ROOT / "instance"
PLACEHOLDER_SECRET_KEY = "change-me"  # noqa: S105 - the value .env.example ships, refused in production
MIN_SECRET_KEY_BITS = 128
SECRET_KEY_RECIPE = 'python -c "import secrets; print(secrets.token_urlsafe(32))"'  # noqa: S105 - a command, not a secret


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
    # Lets webhooks, Mastodon, Bluesky and their connection tests reach loopback and private addresses (a receiver
    # on this machine, a self-hosted PDS). WEBHOOK_ALLOW_PRIVATE_TARGETS is its older name and still works.
    outbound_allow_private_addresses: bool = Field(default=False, validation_alias=AliasChoices(
        "outbound_allow_private_addresses", "webhook_allow_private_targets"))
    webhook_timeout_seconds: float = Field(default=10.0, gt=0, le=120)
    argon2_profile: Literal["rfc_9106_low_memory", "cheapest"] = "rfc_9106_low_memory"
    # Where links in emails point (password resets); empty = the address the request came in on.
    public_base_url: str = ""
    # Outgoing mail; without SMTP_HOST, messages are written to the log instead (development).
    smtp_host: str = ""
    smtp_port: int = Field(default=587, ge=1, le=65535)
    smtp_security: Literal["starttls", "ssl", "none"] = "starttls"
    smtp_username: str = ""
    smtp_password: str = ""
    smtp_timeout_seconds: float = Field(default=10.0, gt=0, le=120)
    mail_from: str = "Greenroom <greenroom@localhost>"

    @field_validator("database_url")
    @classmethod
    def _default_database(cls, value: str) -> str:
        if value:
            if not value.startswith(("sqlite", "postgresql")):
                raise ValueError("must start with sqlite:// or postgresql+psycopg://")
            return value
        return f"sqlite:///{INSTANCE_DIR / 'greenroom.sqlite3'}"

    @field_validator("public_base_url")
    @classmethod
    def _absolute_base_url(cls, value: str) -> str:
        value = value.strip().rstrip("/")
        parts = urlsplit(value)
        if value and (parts.scheme not in ("http", "https") or not parts.netloc or parts.query or parts.fragment):
            raise ValueError("must be an absolute http(s) address such as https://greenroom.example.org")
        return value

    @field_validator("mail_from")
    @classmethod
    def _one_address(cls, value: str) -> str:
        if "@" not in parseaddr(value)[1]:
            raise ValueError('must be an email address, e.g. "Greenroom <greenroom@example.org>"')
        return value

    @model_validator(mode="after")
    def _refuse_guessable_secret_in_production(self) -> "Settings":
        bits = max(0, round(secret_key_bits(self.secret_key)))
        if self.greenroom_env == "production" and bits < MIN_SECRET_KEY_BITS:
            raise ValueError(f"SECRET_KEY is too easy to guess for production (about {bits} bits of entropy, "
                             f"{MIN_SECRET_KEY_BITS} needed); make one with {SECRET_KEY_RECIPE}")
        return self


def secret_key_bits(key: str) -> float:
    """Estimate a key's entropy in bits: its character entropy times its length once repeats are compressed away."""
    if not key:
        return 0.0
    # Length alone lets "a" * 40 through, and character entropy alone lets "changeme" * 10 through: zlib finds the
    # repeats, so a key counts only as long as its compressed form (less zlib's fixed overhead).
    counts = Counter(key).values()
    per_character = -sum(count / len(key) * math.log2(count / len(key)) for count in counts)
    data = key.encode("utf-8")
    effective_length = min(len(key), len(zlib.compress(data, 9)) - len(zlib.compress(b"", 9)))
    return per_character * max(effective_length, 0)


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
