"""Channel credentials at rest: Fernet round trip, rotation with old keys, and clear errors for bad or wrong keys."""

import secrets
import stat

import pytest

from characters.core.config import ConfigError, Settings
from characters.publishing.secrets import SecretBox, SecretsUnreadable, generate_key, secret_box


def test_round_trip_never_stores_plain_text():
    box = SecretBox(generate_key())
    token = box.encrypt({"app_password": "abcd-efgh-ijkl-mnop"})
    assert "abcd" not in token
    assert box.decrypt(token) == {"app_password": "abcd-efgh-ijkl-mnop"}


def test_rotation_re_encrypts_with_the_new_primary_key():
    old_key, new_key = generate_key(), generate_key()
    token = SecretBox(old_key).encrypt({"access_token": "t0k3n"})
    during = SecretBox(new_key, [old_key])
    assert during.decrypt(token) == {"access_token": "t0k3n"}  # old tokens stay readable mid-rotation
    rotated = during.rotate(token)
    assert SecretBox(new_key).decrypt(rotated) == {"access_token": "t0k3n"}  # no longer needs the old key
    with pytest.raises(SecretsUnreadable):
        SecretBox(old_key).decrypt(rotated)


def test_a_wrong_key_is_a_clear_error_that_names_the_settings():
    token = SecretBox(generate_key()).encrypt({"x": 1})
    with pytest.raises(SecretsUnreadable, match="CHANNEL_SECRETS_OLD_KEYS"):
        SecretBox(generate_key()).decrypt(token)
    with pytest.raises(SecretsUnreadable):
        SecretBox(generate_key()).rotate(token)
    with pytest.raises(SecretsUnreadable):
        SecretBox(generate_key()).decrypt("not a token at all")


@pytest.mark.parametrize("bad", ["short", "x" * 44, "é" * 44])
def test_a_malformed_key_is_a_config_error(bad):
    with pytest.raises(ConfigError, match="CHANNEL_SECRETS_KEY is not a valid key"):
        SecretBox(bad)
    with pytest.raises(ConfigError, match="CHANNEL_SECRETS_OLD_KEYS"):
        SecretBox(generate_key(), [bad])


def test_settings_supply_the_primary_and_old_keys(tmp_path):
    old_key, new_key = generate_key(), generate_key()
    token = SecretBox(old_key).encrypt({"a": "b"})
    box = secret_box(Settings(channel_secrets_key=new_key, channel_secrets_old_keys=f" {old_key} ,"),
                     dev_key_file=tmp_path / "unused.key")
    assert box.decrypt(token) == {"a": "b"}
    assert not (tmp_path / "unused.key").exists()


@pytest.mark.parametrize("env", ["production", "test"])
def test_a_missing_key_outside_development_is_a_config_error(env, tmp_path):
    settings = Settings(greenroom_env=env, secret_key=secrets.token_urlsafe(32), channel_secrets_key="")
    with pytest.raises(ConfigError, match="CHANNEL_SECRETS_KEY is not set"):
        secret_box(settings, dev_key_file=tmp_path / "k")


def test_development_generates_a_private_key_file_once(tmp_path):
    key_file = tmp_path / "instance" / "channel-secrets.key"
    settings = Settings(greenroom_env="development", channel_secrets_key="")
    token = secret_box(settings, dev_key_file=key_file).encrypt({"k": "v"})
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert secret_box(settings, dev_key_file=key_file).decrypt(token) == {"k": "v"}  # the same key next time
