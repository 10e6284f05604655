"""mastodon-mock (PyPI): a stateful Mastodon API server, run as its own process for the Mastodon publisher tests."""

import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from mastodon import Mastodon

from tests.services.ports import free_port, stop, wait_until

SEEDED_TOKEN = "mock_token"  # the token mastodon-mock seeds for its first account
START_TIMEOUT_SECONDS = 90  # a busy 2-core machine is slow to import FastAPI


@dataclass(frozen=True)
class MastodonServer:
    """The running mock: its URL, start-up time, and its test-only control endpoints."""

    url: str
    started_in: float

    def reset(self) -> None:
        """Forget every status, upload and fault rule (between tests)."""
        httpx.post(f"{self.url}/api/v1/_mock/reset", timeout=10).raise_for_status()
        httpx.delete(f"{self.url}/api/v1/_mock/faults", timeout=10).raise_for_status()

    def add_fault(self, **rule: Any) -> None:
        """Make matching requests fail (see mastodon-mock's fault injection: status, ratelimit, latency...)."""
        httpx.post(f"{self.url}/api/v1/_mock/faults", json=rule, timeout=10).raise_for_status()

    def client(self, token: str = SEEDED_TOKEN) -> Mastodon:
        """Return a Mastodon.py client for checking what the publisher did."""
        return Mastodon(access_token=token, api_base_url=self.url, version_check_mode="none")


def _answers(url: str) -> bool:
    try:
        return httpx.get(f"{url}/api/v1/instance", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


@contextmanager
def running_mastodon(workdir: Path) -> Iterator[MastodonServer]:
    """Start `mastodon_mock serve --in-memory` on a loopback port, yield it, and stop it afterwards."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log_path = workdir / "mastodon-mock.log"
    started = time.monotonic()
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "mastodon_mock", "serve", "--in-memory", "--host", "127.0.0.1", "--port", str(port),
             "--log-level", "warning"], stdout=log, stderr=subprocess.STDOUT)
        try:
            try:
                wait_until(lambda: _answers(url), timeout=START_TIMEOUT_SECONDS, process=process, what="mastodon-mock")
            except RuntimeError as error:
                raise RuntimeError(f"{error}; its log:\n{log_path.read_text(errors='replace')[-3000:]}") from None
            yield MastodonServer(url=url, started_in=time.monotonic() - started)
        finally:
            stop(process)
