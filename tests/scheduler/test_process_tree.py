"""`greenroom serve` and `greenroom scheduler` never leave the publishing child running after they stop."""

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine

from tests.factories import CHANNEL_KEY
from tests.scheduler.processes import PROJECT_ROOT, wait_for

# Real processes, started and killed: the chaos tier (tests/conftest.py marks the others by path).
pytestmark = pytest.mark.chaos

GREENROOM = str(Path(sys.executable).with_name("greenroom"))
COMMANDS = {"scheduler": ["scheduler"], "serve": ["serve", "--port", "0", "--with-scheduler"]}


def children_of(pid: int) -> list[int]:
    """Return the pids whose parent is `pid`, from /proc."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue  # it ended while we looked
            # The command name in parentheses may hold spaces: the fields after it are fixed.
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(entry.name))
    return found


def descendants(pid: int) -> list[int]:
    """Return every process under `pid`, children first."""
    result = children_of(pid)
    for child in list(result):
        result.extend(descendants(child))
    return result


def alive(pid: int) -> bool:
    """Return whether `pid` still runs (a zombie waiting for its reaper counts as gone)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


@pytest.fixture(params=sorted(COMMANDS))
def started(request: pytest.FixtureRequest, engine: Engine,
            tmp_path: Path) -> Iterator[tuple[subprocess.Popen[str], list[int]]]:
    """Start the command with its scheduler child; yield it once the child runs, and the child pids."""
    log_path = tmp_path / "greenroom.log"
    env = {**os.environ, "DATABASE_URL": engine.url.render_as_string(hide_password=False), "GREENROOM_ENV": "test",
           "CHANNEL_SECRETS_KEY": CHANNEL_KEY}
    with log_path.open("w") as log:
        parent = subprocess.Popen([GREENROOM, *COMMANDS[request.param]], cwd=PROJECT_ROOT, env=env, stdout=log,
                                  stderr=subprocess.STDOUT, text=True)
    try:
        wait_for(lambda: "started on" in log_path.read_text() or parent.poll() is not None, 60,
                 "the scheduler child to start")
        assert parent.poll() is None, log_path.read_text()
        children = descendants(parent.pid)
        assert children, log_path.read_text()
        yield parent, children
    finally:
        for pid in [parent.pid, *descendants(parent.pid)]:  # never leave anything running after a test
            if alive(pid):
                os.kill(pid, signal.SIGKILL)
        parent.wait()


def test_sigterm_stops_the_parent_and_every_child(started):
    parent, children = started
    parent.send_signal(signal.SIGTERM)
    assert parent.wait(timeout=30) is not None
    wait_for(lambda: not any(alive(pid) for pid in children), 5, "every child to be gone")


def test_a_sigkilled_parent_leaves_no_child(started):
    parent, children = started
    parent.kill()
    parent.wait()
    wait_for(lambda: not any(alive(pid) for pid in children), 10, "the orphaned child to stop on its own")
