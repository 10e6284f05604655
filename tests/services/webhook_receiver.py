"""A local webhook receiver (http.server in a thread) that verifies Greenroom's signatures as docs/webhooks.md says."""

import hashlib
import hmac
import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

TOLERANCE_SECONDS = 300


def verify_signature(secret: str, header: str, body: bytes, *, now: float | None = None) -> bool:
    """Check an X-Greenroom-Signature header: the documented receiver-side algorithm, verbatim."""
    fields = dict(item.split("=", 1) for item in header.split(",") if "=" in item)
    timestamp, received = fields.get("t", ""), fields.get("v1", "")
    if not timestamp.isdigit() or abs((now or time.time()) - int(timestamp)) > TOLERANCE_SECONDS:
        return False
    expected = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, received)


@dataclass
class Delivery:
    """One request the receiver got."""

    path: str
    headers: dict[str, str]
    body: bytes
    signature_ok: bool

    @property
    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class WebhookReceiver:
    """What the receiver got, and how it answers next (status, headers, delay)."""

    url: str
    secret: str
    deliveries: list[Delivery] = field(default_factory=list)
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    seen_keys: set[str] = field(default_factory=set)
    queued: list[tuple[int, dict[str, str]]] = field(default_factory=list)

    def answer(self, status: int = 200, headers: dict[str, str] | None = None, delay: float = 0.0) -> None:
        """Set how requests are answered from now on."""
        self.status, self.headers, self.delay = status, headers or {}, delay

    def answer_once(self, status: int, headers: dict[str, str] | None = None) -> None:
        """Answer the next request (only) with `status`, e.g. a redirect."""
        self.queued.append((status, headers or {}))


@contextmanager
def running_receiver(secret: str) -> Iterator[WebhookReceiver]:
    """Serve a receiver on 127.0.0.1 in a thread; it verifies signatures and dedupes on Idempotency-Key."""
    state: dict[str, WebhookReceiver] = {}

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - http.server's naming
            receiver = state["receiver"]
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            ok = verify_signature(receiver.secret, self.headers.get("X-Greenroom-Signature", ""), body)
            key = self.headers.get("Idempotency-Key", "")
            if receiver.queued:
                self._reply(*receiver.queued.pop(0))
                return
            if ok and key not in receiver.seen_keys:  # a resent delivery is acknowledged, not handled twice
                receiver.seen_keys.add(key)
                receiver.deliveries.append(Delivery(self.path, dict(self.headers.items()), body, ok))
            elif not ok:
                receiver.deliveries.append(Delivery(self.path, dict(self.headers.items()), body, ok))
            time.sleep(receiver.delay)
            self._reply(receiver.status if ok else 401, receiver.headers)

        def _reply(self, status: int, headers: dict[str, str]) -> None:
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - http.server's signature
            pass  # keep test output clean

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    state["receiver"] = WebhookReceiver(url=f"http://127.0.0.1:{server.server_address[1]}/hooks/greenroom",
                                        secret=secret)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield state["receiver"]
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
