from datetime import timedelta

import pytest
from sqlmodel import select

from characters.accounts.sessions import (
    IDLE_TIMEOUT,
    LAST_SEEN_RESOLUTION,
    REMEMBER_LIFETIME,
    SESSION_LIFETIME,
    describe_user_agent,
    end_session,
    end_sessions,
    expires_at,
    find_session,
    live_sessions,
    mark_seen,
    start_session,
)
from characters.accounts.tokens import hash_token
from characters.core.errors import NotFound
from characters.core.models import UserSession, utcnow
from tests.factories import make_user

FIREFOX_LINUX = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"


def _start(session, user, *, remember=False, now=None, user_agent=FIREFOX_LINUX):
    new = start_session(session, user, remember=remember, user_agent=user_agent, ip_address="203.0.113.7", now=now)
    session.commit()
    return new


def test_a_sign_in_is_stored_by_the_hash_of_its_secret_and_found_by_the_secret(session):
    user = make_user(session)
    new = _start(session, user)
    stored = session.exec(select(UserSession)).one()
    assert stored.token_hash == hash_token(new.secret) != new.secret
    assert find_session(session, new.secret) == (stored, user)
    assert (stored.user_agent, stored.ip_address) == (FIREFOX_LINUX, "203.0.113.7")


def test_each_sign_in_gets_its_own_secret(session):
    user = make_user(session)
    assert _start(session, user).secret != _start(session, user).secret


@pytest.mark.parametrize("secret", ["", "1", "x" * 101, "not-a-known-secret"])
def test_unknown_or_malformed_secrets_find_nothing(session, secret):
    _start(session, make_user(session))
    assert find_session(session, secret) is None


def test_an_ended_sign_in_no_longer_lets_in(session):
    user = make_user(session)
    new = _start(session, user)
    end_session(session, user, new.sign_in.id)
    session.commit()
    assert find_session(session, new.secret) is None
    end_session(session, user, new.sign_in.id)  # ending twice changes nothing


def test_a_plain_sign_in_ends_after_idling_and_at_its_lifetime(session):
    user = make_user(session)
    start = utcnow() - timedelta(days=1)
    new = _start(session, user, now=start)
    assert expires_at(new.sign_in) == start + IDLE_TIMEOUT
    assert find_session(session, new.secret, now=start + IDLE_TIMEOUT - timedelta(seconds=1)) is not None
    assert find_session(session, new.secret, now=start + IDLE_TIMEOUT) is None
    # Used now and then, it still ends SESSION_LIFETIME after it began.
    new.sign_in.last_seen_at = start + SESSION_LIFETIME - timedelta(hours=1)
    assert find_session(session, new.secret, now=start + SESSION_LIFETIME - timedelta(minutes=1)) is not None
    assert find_session(session, new.secret, now=start + SESSION_LIFETIME) is None


def test_a_remembered_sign_in_survives_idling_until_its_lifetime(session):
    user = make_user(session)
    start = utcnow()
    new = _start(session, user, remember=True, now=start)
    assert find_session(session, new.secret, now=start + timedelta(days=29)) is not None
    assert find_session(session, new.secret, now=start + REMEMBER_LIFETIME) is None


def test_a_deactivated_users_sign_ins_stop_working(session):
    user = make_user(session)
    new = _start(session, user)
    user.is_active = False
    session.add(user)
    session.commit()
    assert find_session(session, new.secret) is None


def test_last_seen_is_written_at_most_once_per_resolution(session):
    user = make_user(session)
    start = utcnow()
    new = _start(session, user, now=start)
    assert not mark_seen(session, new.sign_in, start + LAST_SEEN_RESOLUTION - timedelta(seconds=1))
    later = start + LAST_SEEN_RESOLUTION
    assert mark_seen(session, new.sign_in, later)
    session.commit()
    assert session.get(UserSession, new.sign_in.id).last_seen_at == later
    assert not mark_seen(session, new.sign_in, later + timedelta(seconds=1))


def test_marking_an_ended_sign_in_seen_does_not_revive_it(session):
    user = make_user(session)
    start = utcnow() - timedelta(hours=1)
    new = _start(session, user, now=start)
    stale = session.get(UserSession, new.sign_in.id).model_copy()
    end_sessions(session, user)
    session.commit()
    assert not mark_seen(session, stale, utcnow())
    assert find_session(session, new.secret) is None


def test_another_users_sign_in_cannot_be_ended(session):
    ada, bo = make_user(session, "ada@example.com"), make_user(session, "bo@example.com")
    bos = _start(session, bo)
    with pytest.raises(NotFound):
        end_session(session, ada, bos.sign_in.id)
    with pytest.raises(NotFound):
        end_session(session, ada, 999_999)
    assert find_session(session, bos.secret) is not None


def test_ending_the_others_keeps_one_and_spares_other_users(session):
    ada, bo = make_user(session, "ada@example.com"), make_user(session, "bo@example.com")
    here, phone, laptop, bos = _start(session, ada), _start(session, ada), _start(session, ada), _start(session, bo)
    assert end_sessions(session, ada, keep=here.sign_in) == 2
    session.commit()
    assert [find_session(session, new.secret) is not None for new in (here, phone, laptop, bos)] == [
        True, False, False, True]
    assert live_sessions(session, ada) == [here.sign_in]
    assert end_sessions(session, ada) == 1


def test_live_sessions_lists_the_most_recently_used_first_and_leaves_out_expired_ones(session):
    user = make_user(session)
    old = _start(session, user, now=utcnow() - IDLE_TIMEOUT - timedelta(minutes=1))
    first = _start(session, user, now=utcnow() - timedelta(minutes=10))
    second = _start(session, user, remember=True)
    assert live_sessions(session, user) == [second.sign_in, first.sign_in]
    assert old.sign_in not in live_sessions(session, user)


def test_a_new_sign_in_forgets_the_users_ended_and_expired_ones(session):
    ada, bo = make_user(session, "ada@example.com"), make_user(session, "bo@example.com")
    expired = _start(session, ada, now=utcnow() - SESSION_LIFETIME)
    ended = _start(session, ada)
    end_session(session, ada, ended.sign_in.id)
    kept, bos_ended = _start(session, ada), _start(session, bo)
    end_session(session, bo, bos_ended.sign_in.id)
    session.commit()
    latest = _start(session, ada)
    # By their hashes: SQLite hands a deleted row's id out again.
    stored = set(session.exec(select(UserSession.token_hash)).all())
    assert stored == {hash_token(new.secret) for new in (kept, bos_ended, latest)}
    assert hash_token(expired.secret) not in stored


def test_a_long_user_agent_is_cut_to_the_column(session):
    new = _start(session, make_user(session), user_agent="x" * 1000)
    assert len(new.sign_in.user_agent) == 300


@pytest.mark.parametrize(("user_agent", "described"), [
    (FIREFOX_LINUX, "Firefox on Linux"),
    ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 "
     "Safari/537.36 Edg/131.0.0.0", "Edge on Windows"),
    ("Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 "
     "Safari/605.1.15", "Safari on macOS"),
    ("Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
     "Version/18.1 Mobile/15E148 Safari/604.1", "Safari on iPhone"),
    ("Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Mobile "
     "Safari/537.36", "Chrome on Android"),
    ("Mozilla/5.0 (Linux; Android 14; SM-S918B) AppleWebKit/537.36 (KHTML, like Gecko) SamsungBrowser/26.0 "
     "Chrome/122.0.0.0 Mobile Safari/537.36", "Samsung Internet on Android"),
    ("Mozilla/5.0 (X11; CrOS x86_64 14541.0.0) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 "
     "Safari/537.36", "Chrome on ChromeOS"),
    ("Mozilla/5.0 (Windows NT 10.0; Win64; x64)", "A browser on Windows"),
    ("curl/8.5.0", "Unknown browser"),
    ("", "Unknown browser"),
])
def test_a_user_agent_is_described_in_plain_words(user_agent, described):
    assert describe_user_agent(user_agent) == described
