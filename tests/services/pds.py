"""A real Bluesky PDS (the npm @atproto/pds beside an in-memory PLC) for the Bluesky publisher tests.

The server can be stopped and started again on the same ports and data directory (an outage): accounts, records and
sessions live in the data directory and the JWT secret is fixed, so sessions issued before the outage still work.
"""

import json
import os
import secrets
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
from atproto import Client, models
from atproto_client.request import Request

from tests.services.ports import free_port, stop, wait_until

PDS_DIR = Path(__file__).resolve().parent / "pds"
START_TIMEOUT_SECONDS = 120  # a busy 2-core machine has taken 20 s
# The SDK's default of 5 s: creating an account has taken longer on a busy 2-core machine.
CLIENT_TIMEOUT_SECONDS = 60


@dataclass(frozen=True)
class PdsAccount:
    """An account on the test PDS with an app password, as a channel would hold it."""

    did: str
    handle: str
    app_password: str


class PdsServer:
    """The running PDS: its URL, how long it took to start, a way to add accounts, and to stop and start it."""

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.plc_port, self.pds_port = free_port(), free_port()
        self.url = f"http://localhost:{self.pds_port}"
        self.log_path = workdir / "pds.log"
        self.started_in = 0.0
        self._process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        """Start the server (again) on its ports and data directory; return once it answers."""
        started = time.monotonic()
        with self.log_path.open("ab") as log:
            # LOG_ENABLED: one JSON line per request, so a test can count logins the server saw.
            self._process = subprocess.Popen(
                ["node", "run.mjs", str(self.plc_port), str(self.pds_port), str(self.workdir / "data")], cwd=PDS_DIR,
                stdout=log, stderr=subprocess.STDOUT, env={**os.environ, "LOG_ENABLED": "true", "LOG_LEVEL": "info"})
        try:
            wait_until(lambda: _describes_itself(self.url), timeout=START_TIMEOUT_SECONDS, process=self._process,
                       what="the test PDS")
        except RuntimeError as error:
            raise RuntimeError(f"{error}; its log:\n{self.log_path.read_text(errors='replace')[-3000:]}") from None
        self.started_in = time.monotonic() - started

    def stop(self, *, crash: bool = False) -> None:
        """Stop the server (SIGTERM, then SIGKILL; at once with `crash`): connections are refused until `start`."""
        if self._process is not None:
            if crash:  # an outage: a graceful stop waits for the clients' open connections
                self._process.kill()
                self._process.wait(timeout=10)
            else:
                stop(self._process)
            self._process = None

    def requests_to(self, method: str) -> int:
        """Return how many requests for `method` (an XRPC name, e.g. com.atproto.server.createSession) it answered."""
        count = 0
        for line in self.log_path.read_text(errors="replace").splitlines():
            if method in line and line.startswith("{"):
                try:
                    entry = json.loads(line)
                except ValueError:
                    continue
                if str(entry.get("req", {}).get("url", "")).startswith(f"/xrpc/{method}") and "res" in entry:
                    count += 1
        return count

    def create_account(self, name: str) -> PdsAccount:
        """Create `name`.test with a random password and return it with a fresh app password."""
        handle = f"{name}.test"
        password = secrets.token_urlsafe(16)
        client = self._client()
        created = client.com.atproto.server.create_account(models.ComAtprotoServerCreateAccount.Data(
            handle=handle, email=f"{name}@example.test", password=password))
        client.login(handle, password, fetch_bsky_profile=False)
        app_password = client.com.atproto.server.create_app_password(
            models.ComAtprotoServerCreateAppPassword.Data(name="greenroom-test")).password
        return PdsAccount(did=created.did, handle=handle, app_password=app_password)

    def list_posts(self, did: str) -> list[models.ComAtprotoRepoListRecords.Record]:
        """Return every app.bsky.feed.post record of `did`, read straight from the repository."""
        client = self._client()
        records: list[models.ComAtprotoRepoListRecords.Record] = []
        cursor = None
        while True:
            response = client.com.atproto.repo.list_records(models.ComAtprotoRepoListRecords.Params(
                repo=did, collection="app.bsky.feed.post", limit=100, cursor=cursor))
            records += response.records
            cursor = response.cursor
            if not cursor or not response.records:
                return records


    def _client(self) -> Client:
        return Client(base_url=self.url, request=Request(timeout=CLIENT_TIMEOUT_SECONDS))


def _describes_itself(url: str) -> bool:
    try:
        return httpx.get(f"{url}/xrpc/com.atproto.server.describeServer", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


@contextmanager
def running_pds(workdir: Path) -> Iterator[PdsServer]:
    """Start a fresh PLC + PDS on loopback ports under `workdir`, yield it, and stop it afterwards."""
    if not (PDS_DIR / "node_modules" / "@atproto" / "pds").is_dir():
        raise RuntimeError("The test PDS is not installed: run `make .stamps/pds` (npm ci in tests/services/pds).")
    server = PdsServer(workdir)
    try:
        server.start()
        yield server
    finally:
        server.stop()
