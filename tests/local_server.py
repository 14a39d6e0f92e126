"""Starting a server the tests talk to on 127.0.0.1: a free port, a wait for /health, a clean stop."""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def local_server(argv: list[str], port: int, log_path: Path, timeout_s: float = 180,
                 env: dict[str, str] | None = None) -> Iterator[str]:
    """Runs argv (a server listening on 127.0.0.1:port) in its own process group, yields its base URL
    once GET /health answers 200, and stops the whole group afterwards. The server's output goes to
    log_path, whose tail is shown when it dies or never becomes healthy."""
    with local_server_process(argv, port, log_path, timeout_s, env) as (_, url):
        yield url


@contextmanager
def local_server_process(argv: list[str], port: int, log_path: Path, timeout_s: float = 180,
                         env: dict[str, str] | None = None) -> Iterator[tuple[subprocess.Popen, str]]:
    """local_server, yielding (the server's process, its base URL): for tests that signal it themselves."""
    url = f"http://127.0.0.1:{port}"
    with open(log_path, "w") as log:
        proc = subprocess.Popen(argv, cwd=REPO, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
                                env={**os.environ, "PYTHONPATH": str(REPO), **(env or {})})
        try:
            deadline = time.time() + timeout_s
            while not _healthy(url):
                if proc.poll() is not None:
                    pytest.fail(f"{argv[:3]} exited with {proc.returncode}:\n{tail(log_path)}")
                if time.time() > deadline:
                    pytest.fail(f"{argv[:3]}: no healthy /health within {timeout_s:.0f} s:\n{tail(log_path)}")
                time.sleep(0.3)
            yield proc, url
        finally:
            _stop(proc)


def _healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(url + "/health", timeout=2) as r:
            return r.status == 200
    except OSError:
        return False


def _stop(proc: subprocess.Popen) -> None:
    for sig, wait_s in ((signal.SIGTERM, 20), (signal.SIGKILL, 10)):
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            return
        try:
            proc.wait(timeout=wait_s)
            return
        except subprocess.TimeoutExpired:
            continue


def tail(path: Path, chars: int = 3000) -> str:
    return path.read_text(errors="replace")[-chars:]
