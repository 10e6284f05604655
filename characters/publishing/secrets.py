"""Channel credentials encrypted at rest with Fernet; MultiFernet reads old keys while a rotation runs."""

import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

from characters.core.config import INSTANCE_DIR, ConfigError, Settings

DEV_KEY_FILE = INSTANCE_DIR / "channel-secrets.key"


class SecretsUnreadable(ConfigError):
    """A stored secret does not decrypt with any configured key (the key changed without being listed as old)."""


def generate_key() -> str:
    """Return a new random key in the form CHANNEL_SECRETS_KEY expects."""
    return Fernet.generate_key().decode("ascii")


def _fernet(value: str, setting: str) -> Fernet:
    try:
        return Fernet(value.strip().encode("ascii"))
    except (ValueError, UnicodeEncodeError):
        raise ConfigError(
            f"{setting} is not a valid key: it must be 32 random bytes in URL-safe base64 (44 characters); "
            "make one with `greenroom channels new-key`."
        ) from None


class SecretBox:
    """Encrypts credentials with the primary key and decrypts with the primary or any old key."""

    def __init__(self, primary: str, old: Sequence[str] = (), *, setting: str = "CHANNEL_SECRETS_KEY") -> None:
        keys = [_fernet(primary, setting)]
        keys += [_fernet(key, "CHANNEL_SECRETS_OLD_KEYS") for key in old if key.strip()]
        self._fernet = MultiFernet(keys)

    def encrypt(self, credentials: dict[str, Any]) -> str:
        """Return a token holding `credentials` as JSON, encrypted with the primary key."""
        return self._fernet.encrypt(json.dumps(credentials, sort_keys=True).encode("utf-8")).decode("ascii")

    def decrypt(self, token: str) -> dict[str, Any]:
        """Return the credentials in `token`, or raise SecretsUnreadable."""
        try:
            data = json.loads(self._fernet.decrypt(token.encode("ascii")))
        except (InvalidToken, UnicodeEncodeError, ValueError):
            raise SecretsUnreadable(
                "Stored channel credentials cannot be decrypted with CHANNEL_SECRETS_KEY or CHANNEL_SECRETS_OLD_KEYS; "
                "if the key was changed, list the previous one in CHANNEL_SECRETS_OLD_KEYS."
            ) from None
        if not isinstance(data, dict):
            raise SecretsUnreadable("Stored channel credentials are not a JSON object.")
        return data

    def rotate(self, token: str) -> str:
        """Return `token` re-encrypted with the primary key (readable with any configured key)."""
        try:
            return self._fernet.rotate(token.encode("ascii")).decode("ascii")
        except (InvalidToken, UnicodeEncodeError):
            raise SecretsUnreadable(
                "A stored secret cannot be decrypted with any configured key; add the key it was written with to "
                "CHANNEL_SECRETS_OLD_KEYS and rotate again."
            ) from None


def secret_box(settings: Settings, *, dev_key_file: Path = DEV_KEY_FILE) -> SecretBox:
    """Return the box for the configured keys; development generates and keeps a key under instance/."""
    old = settings.channel_secrets_old_keys.split(",")
    if settings.channel_secrets_key.strip():
        return SecretBox(settings.channel_secrets_key, old)
    if settings.greenroom_env != "development":
        raise ConfigError(
            "CHANNEL_SECRETS_KEY is not set: channel credentials cannot be stored or read without it. "
            "Make one with `greenroom channels new-key` and put it in the environment or .env."
        )
    return SecretBox(_development_key(dev_key_file), old, setting=str(dev_key_file))


def _development_key(path: Path) -> str:
    """Read the development key, creating it (readable by this user only) on first use."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass  # another process created it first; read theirs
        else:
            with os.fdopen(descriptor, "w") as handle:
                handle.write(generate_key() + "\n")
    return path.read_text().strip()
