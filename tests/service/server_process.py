"""A real ``tmsearch serve`` process for tests: started on a free port of 127.0.0.1,
waited for until ``/healthz`` answers, stopped with SIGTERM (killed if it hangs)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

TMSEARCH = Path(sys.executable).parent / "tmsearch"
HOST = "127.0.0.1"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


def clean_env(**settings: str) -> dict[str, str]:
    """The environment without this machine's TMSEARCH_* settings, plus ``settings``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("TMSEARCH_")}
    env.update({f"TMSEARCH_{name.upper()}": value for name, value in settings.items()})
    return env


def wait_until_ready(proc: subprocess.Popen, base: str, log: Path, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"tmsearch serve exited with {proc.returncode}:\n{log.read_text()}")
        try:
            if httpx.get(f"{base}/healthz", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.25)
    pytest.fail(f"tmsearch serve not ready after {timeout} s:\n{log.read_text()}")


@contextmanager
def served(data_dir: Path, log: Path, env: dict[str, str] | None = None
           ) -> Iterator[tuple[subprocess.Popen, str]]:
    """``tmsearch serve`` on ``data_dir``: (the process, its base URL)."""
    port = free_port()
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            [str(TMSEARCH), "--data-dir", str(data_dir), "--device", "cpu", "serve", "--host",
             HOST, "--port", str(port)],
            stdout=out, stderr=subprocess.STDOUT, env=env or clean_env(), cwd=log.parent)
    base = f"http://{HOST}:{port}"
    try:
        wait_until_ready(proc, base, log)
        yield proc, base
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)
