"""The full local Bluesky network with its AppView (npm @atproto/dev-env TestNetwork), for listening and analytics.

Started once per test session: PLC, PDS, AppView and Ozone in one Node process, the AppView's tables in a throwaway
PostgreSQL database (greenroom_appview_<random>, dropped at the end) and Redis at 127.0.0.1:6379. Reading through
the PDS (notifications, threads, counts) needs the AppView to have indexed a write: poll, never sleep a fixed time.
"""

import json
import os
import secrets
import shutil
import subprocess
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import httpx
import psycopg
from atproto import Client, models
from atproto_client.request import Request

from tests.services.ports import free_port, stop, wait_until

APPVIEW_DIR = Path(__file__).resolve().parent / "appview"
PG_ADMIN_DSN = os.environ.get("GREENROOM_TEST_PG", "postgresql://postgres@127.0.0.1:5432/postgres")
REDIS_HOST = os.environ.get("GREENROOM_TEST_REDIS", "127.0.0.1:6379")
START_TIMEOUT_SECONDS = 180  # 10-18 s alone; a busy 2-core machine is slower
CLIENT_TIMEOUT_SECONDS = 60
Result = TypeVar("Result")


@dataclass(frozen=True)
class AppviewAccount:
    """An account on the test network: its password (for a fan's own client) and an app password (for a channel)."""

    did: str
    handle: str
    password: str
    app_password: str


class AppviewNetwork:
    """The running network: the PDS and AppView URLs, accounts, clients, and waiting for the AppView to catch up."""

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        # Letters and underscores only (the AppView refuses digits); the database is throwaway, so one name will do.
        self.schema = "greenroom"
        self.database = f"greenroom_appview_{uuid.uuid4().hex[:12]}"
        self.plc_port, self.pds_port, self.bsky_port, self.ozone_port = (free_port() for _ in range(4))
        self.pds_url = f"http://localhost:{self.pds_port}"
        self.bsky_url = f"http://localhost:{self.bsky_port}"
        self.log_path = workdir / "appview.log"
        self.started_in = 0.0
        self._process: subprocess.Popen[bytes] | None = None
        self._admin: psycopg.Connection[Any] | None = None

    def start(self) -> None:
        """Create the throwaway database and start the network; return once the PDS and AppView answer."""
        started = time.monotonic()
        self._admin = psycopg.connect(PG_ADMIN_DSN, autocommit=True)
        self._admin.execute(f'CREATE DATABASE "{self.database}"')
        base = PG_ADMIN_DSN.rsplit("/", 1)[0]
        tmpdir = self.workdir / "tmp"  # the PDS and image caches are written under TMPDIR and never removed
        tmpdir.mkdir(parents=True, exist_ok=True)
        env = {**os.environ, "DB_POSTGRES_URL": f"{base}/{self.database}", "REDIS_HOST": REDIS_HOST,
               "TMPDIR": str(tmpdir), "LOG_ENABLED": "false"}
        with self.log_path.open("ab") as log:
            self._process = subprocess.Popen(
                ["node", "run.mjs", self.schema, str(self.plc_port), str(self.pds_port), str(self.bsky_port),
                 str(self.ozone_port)], cwd=APPVIEW_DIR, stdout=log, stderr=subprocess.STDOUT, env=env)
        try:
            wait_until(self._ready, timeout=START_TIMEOUT_SECONDS, process=self._process, what="the AppView network")
        except RuntimeError as error:
            self.stop()
            raise RuntimeError(f"{error}; its log:\n{self.log_path.read_text(errors='replace')[-3000:]}") from None
        self.started_in = time.monotonic() - started

    def stop(self) -> None:
        """Close the network (SIGTERM → net.close()) and drop its database."""
        if self._process is not None:
            stop(self._process, timeout=30)
            self._process = None
        if self._admin is not None:
            self._admin.execute(f'DROP DATABASE IF EXISTS "{self.database}" WITH (FORCE)')
            self._admin.close()
            self._admin = None

    def _ready(self) -> bool:
        return '"ready":true' in self.log_path.read_text(errors="replace") and _answers(
            f"{self.pds_url}/xrpc/com.atproto.server.describeServer")

    def create_account(self, name: str) -> AppviewAccount:
        """Create `name`.test (a random password) and return it with a fresh app password."""
        handle = f"{name}.test"
        password = secrets.token_urlsafe(16)
        client = self.client()
        created = client.com.atproto.server.create_account(models.ComAtprotoServerCreateAccount.Data(
            handle=handle, email=f"{name}@example.test", password=password))
        client.login(handle, password, fetch_bsky_profile=False)
        app_password = client.com.atproto.server.create_app_password(
            models.ComAtprotoServerCreateAppPassword.Data(name="greenroom-test")).password
        return AppviewAccount(did=created.did, handle=handle, password=password, app_password=app_password)

    def client(self, account: AppviewAccount | None = None) -> Client:
        """Return an SDK client on the PDS, logged in as `account` when given (one login: the PDS limits them)."""
        client = Client(base_url=self.pds_url, request=Request(timeout=CLIENT_TIMEOUT_SECONDS))
        if account is not None:
            # No profile fetch (a new account has no profile record to index yet); `me` is what the SDK's
            # send_post, like and repost need to know who is writing.
            client.login(account.handle, account.password, fetch_bsky_profile=False)
            client.me = models.AppBskyActorDefs.ProfileViewDetailed(did=account.did, handle=account.handle)
        return client

    def wait_for(self, found: Callable[[], Result | None], *, timeout: float = 30.0, what: str = "the AppView"
                 ) -> Result:
        """Poll `found` until it returns something (the AppView indexes a write in about 0.2-1.3 s)."""
        deadline = time.monotonic() + timeout
        while True:
            result = found()
            if result is not None and result is not False:
                return result
            if time.monotonic() > deadline:
                raise AssertionError(f"{what} did not show up within {timeout:.0f} s")
            time.sleep(0.2)


def _answers(url: str) -> bool:
    try:
        return httpx.get(url, timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


@contextmanager
def running_appview() -> Iterator[AppviewNetwork]:
    """Start the whole network in a fresh temporary folder, yield it, then stop it and remove its files."""
    if not (APPVIEW_DIR / "node_modules" / "@atproto" / "dev-env").is_dir():
        raise RuntimeError("The AppView network is not installed: run `make .stamps/appview` "
                           "(npm ci in tests/services/appview).")
    workdir = Path(tempfile.mkdtemp(prefix="greenroom-appview-"))
    network = AppviewNetwork(workdir)
    try:
        network.start()
        yield network
    finally:
        network.stop()
        shutil.rmtree(workdir, ignore_errors=True)


def describe(network: AppviewNetwork) -> str:
    """Return the network's URLs as one JSON line (for a failing test's message)."""
    return json.dumps({"pds": network.pds_url, "bsky": network.bsky_url, "database": network.database})
