"""A real Bluesky PDS (the npm @atproto/pds beside an in-memory PLC) for the Bluesky publisher tests."""

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

from tests.services.ports import free_port, stop, wait_until

PDS_DIR = Path(__file__).resolve().parent / "pds"
START_TIMEOUT_SECONDS = 60


@dataclass(frozen=True)
class PdsAccount:
    """An account on the test PDS with an app password, as a channel would hold it."""

    did: str
    handle: str
    app_password: str


@dataclass(frozen=True)
class PdsServer:
    """The running PDS: its URL, how long it took to start, and a way to add accounts."""

    url: str
    started_in: float

    def create_account(self, name: str) -> PdsAccount:
        """Create `name`.test with a random password and return it with a fresh app password."""
        handle = f"{name}.test"
        password = secrets.token_urlsafe(16)
        client = Client(base_url=self.url)
        created = client.com.atproto.server.create_account(models.ComAtprotoServerCreateAccount.Data(
            handle=handle, email=f"{name}@example.test", password=password))
        client.login(handle, password, fetch_bsky_profile=False)
        app_password = client.com.atproto.server.create_app_password(
            models.ComAtprotoServerCreateAppPassword.Data(name="greenroom-test")).password
        return PdsAccount(did=created.did, handle=handle, app_password=app_password)

    def list_posts(self, did: str) -> list[models.ComAtprotoRepoListRecords.Record]:
        """Return every app.bsky.feed.post record of `did`, read straight from the repository."""
        client = Client(base_url=self.url)
        response = client.com.atproto.repo.list_records(models.ComAtprotoRepoListRecords.Params(
            repo=did, collection="app.bsky.feed.post", limit=100))
        return list(response.records)


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
    plc_port, pds_port = free_port(), free_port()
    url = f"http://localhost:{pds_port}"
    log_path = workdir / "pds.log"
    started = time.monotonic()
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            ["node", "run.mjs", str(plc_port), str(pds_port), str(workdir / "data")], cwd=PDS_DIR,
            stdout=log, stderr=subprocess.STDOUT, env={**os.environ, "LOG_ENABLED": "false"})
        try:
            try:
                wait_until(lambda: _describes_itself(url), timeout=START_TIMEOUT_SECONDS, process=process,
                           what="the test PDS")
            except RuntimeError as error:
                raise RuntimeError(f"{error}; its log:\n{log_path.read_text(errors='replace')[-3000:]}") from None
            yield PdsServer(url=url, started_in=time.monotonic() - started)
        finally:
            stop(process)
