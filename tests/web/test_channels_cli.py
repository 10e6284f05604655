"""`greenroom channels`: add channels from scripts (secrets on stdin), list them, make and rotate the key."""

from sqlmodel import select

from characters.core.models import Channel, ChannelKind
from characters.publishing.secrets import SecretBox, generate_key
from tests.factories import make_character, make_user, make_workspace
from web.cli import main

KEY = generate_key()


def _world(session):
    owner = make_user(session, "owner@cli.example")
    workspace = make_workspace(session, owner, "fans")
    return make_character(session, workspace, owner, "Pip Test")


def _invoke(runner, args, key=KEY, **options):
    return runner.invoke(main, ["channels", *args], env={"CHANNEL_SECRETS_KEY": key, "GREENROOM_ENV": "test"},
                         **options)


def _channel(session, kind):
    session.rollback()
    return session.exec(select(Channel).where(Channel.kind == kind)).one()


def test_add_bluesky_reads_the_app_password_from_stdin(runner, session):
    character = _world(session)
    result = _invoke(runner, ["add", "--workspace", "fans", "--character", character.slug, "--kind", "bluesky",
                              "--handle", "pip.bsky.social", "--app-password-stdin"], input="abcd-efgh-ijkl-mnop\n")
    assert result.exit_code == 0, result.output
    assert "abcd" not in result.output
    assert "@pip.bsky.social" in result.output
    channel = _channel(session, ChannelKind.BLUESKY)
    assert channel.settings == {"service_url": "https://bsky.social", "handle": "pip.bsky.social"}
    assert SecretBox(KEY).decrypt(channel.secret_token) == {"app_password": "abcd-efgh-ijkl-mnop"}


def test_add_mastodon_prompts_for_the_token_without_echo(runner, session):
    character = _world(session)
    result = _invoke(runner, ["add", "--workspace", "fans", "--character", character.slug, "--kind", "mastodon",
                              "--api-base-url", "https://mastodon.example"], input="tok-0123456789\n")
    assert result.exit_code == 0, result.output
    assert "tok-0123456789" not in result.output
    assert SecretBox(KEY).decrypt(_channel(session, ChannelKind.MASTODON).secret_token) == {
        "access_token": "tok-0123456789"}


def test_add_webhook_prints_the_signing_secret_once(runner, session):
    character = _world(session)
    result = _invoke(runner, ["add", "--workspace", "fans", "--character", character.slug, "--kind", "webhook",
                              "--url", "https://hooks.example.org/in", "--label", "Site"])
    assert result.exit_code == 0, result.output
    secret = result.output.split("Signing secret (shown only once): ", 1)[1].strip()
    assert SecretBox(KEY).decrypt(_channel(session, ChannelKind.WEBHOOK).secret_token) == {"signing_secret": secret}
    listed = _invoke(runner, ["list", "--workspace", "fans"])
    assert "webhook\tactive\tSite" in listed.output
    assert "feed" in listed.output
    assert secret not in listed.output


def test_bad_input_and_unknown_names_are_one_clear_line(runner, session):
    character = _world(session)
    bad = _invoke(runner, ["add", "--workspace", "fans", "--character", character.slug, "--kind", "bluesky",
                           "--handle", "not a handle", "--app-password-stdin"], input="abcd-efgh\n")
    assert bad.exit_code == 1
    assert "handle" in bad.output
    assert "Traceback" not in bad.output
    missing = _invoke(runner, ["add", "--workspace", "fans", "--character", "nobody", "--kind", "webhook",
                               "--url", "https://hooks.example.org"])
    assert missing.exit_code == 1
    assert "No such character" in missing.output


def test_a_missing_key_is_a_clear_error(runner, session):
    character = _world(session)
    result = _invoke(runner, ["add", "--workspace", "fans", "--character", character.slug, "--kind", "webhook",
                              "--url", "https://hooks.example.org"], key="")
    assert result.exit_code == 1
    assert "CHANNEL_SECRETS_KEY is not set" in result.output


def test_rotate_key_re_encrypts_everything_with_the_new_key(runner, session):
    character = _world(session)
    old_key, new_key = KEY, generate_key()
    _invoke(runner, ["add", "--workspace", "fans", "--character", character.slug, "--kind", "mastodon",
                     "--api-base-url", "https://mastodon.example", "--token-stdin"], input="tok-0123456789\n")
    without_old = _invoke(runner, ["rotate-key"], key=new_key)
    assert without_old.exit_code == 1
    assert "CHANNEL_SECRETS_OLD_KEYS" in without_old.output
    result = runner.invoke(main, ["channels", "rotate-key"], env={
        "CHANNEL_SECRETS_KEY": new_key, "CHANNEL_SECRETS_OLD_KEYS": old_key, "GREENROOM_ENV": "test"})
    assert result.exit_code == 0, result.output
    assert "Re-encrypted 1 channel secret" in result.output
    token = _channel(session, ChannelKind.MASTODON).secret_token
    assert SecretBox(new_key).decrypt(token) == {"access_token": "tok-0123456789"}


def test_new_key_prints_a_usable_key(runner):
    result = runner.invoke(main, ["channels", "new-key"])
    assert result.exit_code == 0
    assert SecretBox(result.output.strip()).decrypt(SecretBox(result.output.strip()).encrypt({"a": 1})) == {"a": 1}
