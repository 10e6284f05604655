"""A local OpenAI-compatible chat server with scripted answers: streaming, errors, delays, JSON-schema refusal.

It speaks real HTTP on 127.0.0.1, so the adapter's whole stack (openai SDK, httpx2, retries, timeouts, SSE
parsing, closing a stream) runs as in production. Each request takes the next scripted `Reply`; when the script
is empty the default reply answers.
"""

import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

SCHEMA_REFUSAL = "response_format.type 'json_schema' is not supported; use 'text' or 'json_object'"


@dataclass
class Reply:
    """How the server answers one request."""

    content: str = '{"text": "Make them want it."}'
    status: int = 200
    delay: float = 0.0  # seconds before the answer starts
    pieces: int = 4  # a streamed answer is cut into this many chunks
    piece_delay: float = 0.0
    usage: bool = True


@dataclass
class FakeOpenAI:
    """The server's script and what it saw."""

    url: str = ""
    script: list[Reply] = field(default_factory=list)
    default: Reply = field(default_factory=Reply)
    reject_json_schema: bool = False
    requests: list[dict[str, Any]] = field(default_factory=list)
    authorization: list[str] = field(default_factory=list)
    disconnects: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def then(self, *replies: Reply) -> "FakeOpenAI":
        """Queue replies for the next requests."""
        self.script.extend(replies)
        return self

    def next_reply(self, body: dict[str, Any], authorization: str) -> Reply:
        with self._lock:
            self.requests.append(body)
            self.authorization.append(authorization)
            if self.reject_json_schema and (body.get("response_format") or {}).get("type") == "json_schema":
                return Reply(status=400, content=SCHEMA_REFUSAL)
            return self.script.pop(0) if self.script else self.default


def _chunk(content: str, finish: str | None = None) -> dict[str, Any]:
    delta = {"content": content} if content else {}
    return {"id": "fake", "object": "chat.completion.chunk", "created": 0, "model": "fake",
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}


class _Handler(BaseHTTPRequestHandler):
    server: "_Server"

    def log_message(self, format: str, *args: Any) -> None:
        """Stay quiet: pytest shows failures, not access logs."""

    def do_GET(self) -> None:
        if self.path.rstrip("/") == "/v1/models":
            self._json(200, {"object": "list", "data": [{"id": "fake", "object": "model"}]})
        else:
            self._json(404, {"error": {"message": "not found"}})

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))) or b"{}")
        fake = self.server.fake
        reply = fake.next_reply(body, self.headers.get("Authorization", ""))
        time.sleep(reply.delay)
        if reply.status != 200:
            # retry-after-ms keeps the SDK's retries fast in tests; real servers send Retry-After.
            self._json(reply.status, {"error": {"message": reply.content or "error", "type": "fake"}},
                       {"retry-after-ms": "10"})
            return
        if body.get("stream"):
            self._stream(reply)
            return
        self._json(200, {
            "id": "fake", "object": "chat.completion", "created": 0, "model": "fake",
            "choices": [{"index": 0, "message": {"role": "assistant", "content": reply.content},
                         "finish_reason": "stop"}],
            "usage": {"prompt_tokens": 42, "completion_tokens": 7, "total_tokens": 49},
        })

    def _stream(self, reply: Reply) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.end_headers()
        size = max(1, -(-len(reply.content) // reply.pieces))
        events = [_chunk(reply.content[i : i + size]) for i in range(0, len(reply.content), size)]
        events.append(_chunk("", "stop"))
        if reply.usage:
            events.append({"id": "fake", "object": "chat.completion.chunk", "created": 0, "model": "fake",
                           "choices": [], "usage": {"prompt_tokens": 42, "completion_tokens": 7,
                                                    "total_tokens": 49}})
        try:
            for event in events:
                self.wfile.write(f"data: {json.dumps(event)}\n\n".encode())
                self.wfile.flush()
                time.sleep(reply.piece_delay)
            self.wfile.write(b"data: [DONE]\n\n")
            self.wfile.flush()
        except (BrokenPipeError, ConnectionResetError):
            with self.server.fake._lock:
                self.server.fake.disconnects += 1

    def _json(self, status: int, payload: dict[str, Any], headers: dict[str, str] | None = None) -> None:
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    fake: FakeOpenAI


@contextmanager
def fake_openai_server() -> Iterator[FakeOpenAI]:
    """Run a FakeOpenAI on a free loopback port for the duration of the block."""
    server = _Server(("127.0.0.1", 0), _Handler)
    server.fake = FakeOpenAI(url=f"http://127.0.0.1:{server.server_address[1]}/v1")
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.fake
    finally:
        server.shutdown()
        server.server_close()
