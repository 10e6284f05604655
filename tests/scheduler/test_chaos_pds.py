"""Chaos against the real PDS: two scheduler processes, one SIGKILLed every 3–5 s, and a 20 s PDS outage.

A short version of `python -m bench.chaos_bench` (300 posts): no post twice on Bluesky, none lost, and at most 1 %
held for a person, because recovery looks each maybe-sent post up by its record key and re-sends what is absent.
The channel logs in a handful of times at most, not once per delivery: every process shares the saved session.
"""

import pytest

from tests.scheduler.pds_chaos import run_chaos
from tests.services.pds import running_pds

pytestmark = pytest.mark.chaos

POSTS = 60


@pytest.fixture
def pds(tmp_path_factory):
    # Its own server: this test stops and starts it.
    with running_pds(tmp_path_factory.mktemp("chaos-pds")) as server:
        yield server


@pytest.mark.parametrize("engine", ["postgresql"], indirect=True)  # several processes share one database
def test_killing_schedulers_and_the_pds_never_duplicates_loses_or_holds_a_post(engine, pds, tmp_path):
    result = run_chaos(engine, pds, tmp_path, posts=POSTS, spread_seconds=30, outage_at=8, outage_seconds=20,
                       deadline_seconds=420)
    print(f"\nPDS chaos: {result}")
    assert result.exit_codes == [0, 0]
    assert result.kills >= 5
    assert result.outage_seconds >= 18
    assert result.duplicates == 0
    assert result.lost == 0
    assert result.unsettled == 0, result.errors
    assert result.held_share <= 1.0, result.errors
    assert result.published + result.held + result.failed == POSTS
    assert result.failed == 0, result.errors
    assert result.logins <= 4  # the first processes may each log in before one has saved the session
