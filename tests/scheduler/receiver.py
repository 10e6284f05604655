"""A local HTTP receiver that counts deliveries per idempotency key, and a publisher that posts to it.

The chaos and crash tests run real scheduler processes whose every channel publishes here, so the test can
count what actually reached "the network": a key received twice is a duplicate post.
"""

import json
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections import Counter
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from characters.core.models import ChannelKind
from scheduler.publishers.base import (
    CannotTell,
    Found,
    Lookup,
    PublishError,
    PublishOutcome,
    PublishRequest,
    RemoteRef,
    SafeToResend,
    SessionSlot,
)


class Receiver:
    """Accepts POST /publish (JSON with a "key"), answers GET /lookup?key=...; can hold requests open."""

    def __init__(self) -> None:
        self.counts: Counter[str] = Counter()
        self.lock = threading.Lock()
        self.received = threading.Event()  # set on each delivery, for tests that wait for one
        self.hold = threading.Event()  # while set, /publish records the key and then hangs until released
        self.release = threading.Event()
        self.delay = 0.0  # seconds each POST takes after it is recorded, like a slow network
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                return

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                try:
                    key = json.loads(body)["key"]
                except (ValueError, KeyError):  # cut short by a killed sender: nothing was delivered
                    self._answer(400, {"error": "incomplete request"})
                    return
                with receiver.lock:
                    receiver.counts[key] += 1
                receiver.received.set()
                time.sleep(receiver.delay)
                if receiver.hold.is_set():
                    receiver.release.wait(timeout=60)
                self._answer(200, {"id": key, "url": f"http://receiver.test/{key}"})

            def do_GET(self) -> None:
                key = urllib.parse.parse_qs(urllib.parse.urlparse(self.path).query).get("key", [""])[0]
                with receiver.lock:
                    found = receiver.counts[key] > 0
                self._answer(200 if found else 404, {"id": key, "url": f"http://receiver.test/{key}"})

            def _answer(self, status: int, payload: dict[str, Any]) -> None:
                data = json.dumps(payload).encode()
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):  # the sender was killed mid-request
                    pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}"

    def __enter__(self) -> "Receiver":
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release.set()
        self.server.shutdown()
        self.server.server_close()

    def snapshot(self) -> Counter[str]:
        with self.lock:
            return Counter(self.counts)


class HttpPublisher:
    """Publishes a delivery as one POST to the receiver; finds earlier ones with GET /lookup when allowed."""

    def __init__(self, base_url: str, *, lookups: bool = True, kind: ChannelKind = ChannelKind.FEED) -> None:
        self.base_url = base_url
        self.lookups = lookups
        self.kind = kind

    def publish(self, request: PublishRequest) -> PublishOutcome:
        body = json.dumps({"key": request.idempotency_key, "parts": [part.text for part in request.parts]})
        http_request = urllib.request.Request(  # noqa: S310 - the local test receiver
            f"{self.base_url}/publish", data=body.encode(), method="POST", headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(http_request, timeout=30) as response:  # noqa: S310 - local test server
                answer = json.loads(response.read())
        except urllib.error.URLError as error:
            raise PublishError(f"receiver unreachable: {error}", retryable=True) from error
        return PublishOutcome(refs=[RemoteRef(id=answer["id"], url=answer["url"])])

    def look_up(self, request: PublishRequest, *, since: datetime, now: datetime) -> Lookup:
        """Found, or proven absent: the receiver records every key it got (unless lookups are switched off)."""
        if not self.lookups:
            return CannotTell("this test network cannot be searched.")
        query = urllib.parse.urlencode({"key": request.idempotency_key})
        try:
            with urllib.request.urlopen(f"{self.base_url}/lookup?{query}", timeout=10) as response:  # noqa: S310
                answer = json.loads(response.read())
        except urllib.error.HTTPError as error:
            if error.code == 404:
                return SafeToResend("the receiver never got it.")
            raise PublishError(f"receiver answered {error.code}", retryable=True) from error
        except urllib.error.URLError as error:
            raise PublishError(f"receiver unreachable: {error}", retryable=True) from error
        return Found(PublishOutcome(refs=[RemoteRef(id=answer["id"], url=answer["url"])]))

    def check_connection(self, settings: dict[str, Any], secrets: dict[str, Any],
                         session: SessionSlot | None = None) -> str:
        return f"test receiver at {self.base_url}"
