"""Start and stop real scheduler processes (`tests.scheduler.entry`) for the crash and chaos tests."""

import faulthandler
import multiprocessing
import multiprocessing.process
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import IO

from sqlalchemy.engine import Engine

PROJECT_ROOT = Path(__file__).resolve().parents[2]
# Short leases so that a killed process's deliveries are recovered within seconds.
FAST_OPTIONS = ("--lease-seconds", "2", "--reap-seconds", "0.5", "--poll-seconds", "0.5", "--sweep-seconds", "5")


class SchedulerProcess:
    """One scheduler process publishing to a test receiver; its output goes to a log file.

    By default a real `python -m tests.scheduler.entry` child. With `forked=True` the child comes from a
    multiprocessing fork server that imported everything once: the same code and loop, but it starts in
    milliseconds instead of seconds, so a test can kill and restart processes every second on a busy machine.
    """

    def __init__(self, engine: Engine, receiver_url: str | None, log_path: Path, *options: str, lookups: bool = True,
                 forked: bool = False, env: dict[str, str] | None = None) -> None:
        """Publish to the receiver at `receiver_url`, or with the real publishers when it is None (see entry.py)."""
        self.options = list(options)
        self.forked = forked
        self.env = {"DATABASE_URL": engine.url.render_as_string(hide_password=False),
                    "GREENROOM_TEST_RECEIVER": receiver_url or "", "GREENROOM_TEST_LOOKUPS": "1" if lookups else "0",
                    "GREENROOM_ENV": "test", **(env or {})}
        self.log_path = log_path
        self.log: IO[str] | None = None
        self.process: subprocess.Popen[str] | multiprocessing.process.BaseProcess | None = None
        self.log_start = 0  # where this run's output begins in the log (earlier runs stay for debugging)

    def start(self) -> "SchedulerProcess":
        self.log = self.log_path.open("a")
        self.log_start = self.log.tell()
        if self.forked:
            self.process = _FORK_SERVER.Process(target=_run_forked, args=(str(self.log_path), self.env, self.options),
                                                daemon=True)
            self.process.start()
        else:
            self.process = subprocess.Popen([sys.executable, "-m", "tests.scheduler.entry", *self.options],
                                            cwd=PROJECT_ROOT, env={**os.environ, **self.env}, stdout=self.log,
                                            stderr=subprocess.STDOUT, text=True)
        return self

    def running(self) -> bool:
        if isinstance(self.process, subprocess.Popen):
            return self.process.poll() is None
        return self.process is not None and self.process.is_alive()

    def ready(self) -> bool:
        """Return whether the process has finished starting (it logs "started on ..." once its jobs run)."""
        return self.running() and "started on" in self.output()[self.log_start:]

    def kill(self) -> None:
        """SIGKILL: no handler runs, nothing is flushed or released."""
        self._signal(signal.SIGKILL)
        self._wait(30)
        self._close_log()

    def terminate(self, timeout: float = 60) -> int:
        """SIGTERM and wait for the graceful stop; return the exit code (SIGKILL and fail after `timeout`)."""
        try:
            # A process still importing has no SIGTERM handler yet and would just die: let it start first.
            wait_for(lambda: not self.running() or self.ready(), timeout, "the scheduler to start")
            if self.running():
                self._signal(signal.SIGTERM)
            return self._wait(timeout)
        finally:
            if self.running():  # never leave a scheduler running after a test; first log where it hangs
                self._signal(signal.SIGUSR1)
                time.sleep(0.5)
                self._signal(signal.SIGKILL)
                self._wait(30)
            self._close_log()

    def output(self) -> str:
        return self.log_path.read_text() if self.log_path.exists() else ""

    def _signal(self, number: int) -> None:
        assert self.process is not None
        assert self.process.pid is not None
        if self.running():
            os.kill(self.process.pid, number)

    def _wait(self, timeout: float) -> int:
        assert self.process is not None
        if isinstance(self.process, subprocess.Popen):
            return self.process.wait(timeout=timeout)
        self.process.join(timeout)
        if self.process.exitcode is None:
            raise subprocess.TimeoutExpired("scheduler", timeout)
        return self.process.exitcode

    def _close_log(self) -> None:
        if self.log is not None:
            self.log.close()
            self.log = None


def _run_forked(log_path: str, env: dict[str, str], options: list[str]) -> None:
    """Run the scheduler in a forked child, writing to the log file like a subprocess would."""
    descriptor = os.open(log_path, os.O_WRONLY | os.O_APPEND | os.O_CREAT)
    os.dup2(descriptor, 1)
    os.dup2(descriptor, 2)
    faulthandler.register(signal.SIGUSR1, all_threads=True)  # a hung stop shows every thread's stack
    os.environ.update(env)
    from tests.scheduler.entry import main

    main(options)


_FORK_SERVER = multiprocessing.get_context("forkserver")
# The real publishers too: the Bluesky client alone takes seconds to import, and the PDS chaos run restarts often.
_FORK_SERVER.set_forkserver_preload(["tests.scheduler.entry", "scheduler.publishers.bluesky",
                                     "scheduler.publishers.mastodon", "scheduler.publishers.webhook"])


def stop_all(processes: list[SchedulerProcess]) -> list[int]:
    """Stop every process (gracefully when possible); return their exit codes, -9 for any that had to be killed."""
    codes = []
    for process in processes:
        try:
            codes.append(process.terminate())
        except (AssertionError, subprocess.TimeoutExpired):
            codes.append(-signal.SIGKILL)
    return codes


def wait_for(condition: Callable[[], bool], timeout: float, what: str) -> None:
    """Poll `condition` until it holds; fail with `what` after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)
