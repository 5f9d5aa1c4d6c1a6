"""Query latency and throughput over HTTP against a real ``tmsearch serve``.

The server runs in its own process on 127.0.0.1 (as in production, one process); the
clients are asyncio tasks in this one, each sending ``POST /v1/search`` with a real mark
image and waiting for the answer before the next, so ``concurrency`` is the number of
requests in flight. Every answer must be 200 with k results: an error is counted, never
timed.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

from scripts.benchmarks.stats import percentiles_ms, rss_bytes


@dataclass
class Server:
    url: str
    process: subprocess.Popen[bytes]

    @property
    def rss(self) -> int:
        return rss_bytes(self.process.pid)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def serve(data_dir: Path, timeout: float = 180.0, env: dict[str, str] | None = None
          ) -> Iterator[Server]:
    """``tmsearch serve`` on a free port for the duration of the block. Its rate limits
    are off: a benchmark's clients all come from 127.0.0.1 without a key, and it
    measures the service, not its limits."""
    port = free_port()
    unlimited = {"TMSEARCH_RATE_LIMITS": json.dumps({"public": {"search": 0, "upload": 0}})}
    log = open(data_dir / "bench-server.log", "wb")  # noqa: SIM115 - closed below
    process = subprocess.Popen(
        [sys.executable, "-m", "service.cli", "--data-dir", str(data_dir), "serve",
         "--host", "127.0.0.1", "--port", str(port)],
        stdout=log, stderr=subprocess.STDOUT, env={**os.environ, **unlimited, **(env or {})})
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + timeout
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"server exited ({process.returncode}); see {log.name}")
            try:
                if httpx.get(f"{url}/healthz", timeout=2.0).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"server did not answer within {timeout:.0f} s")
            time.sleep(0.25)
        yield Server(url, process)
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
        log.close()


async def _client(client: httpx.AsyncClient, url: str, images: Sequence[bytes], k: int,
                  stop_at: float, latencies: list[float], errors: list[str],
                  rng: random.Random) -> None:
    while time.perf_counter() < stop_at:
        data = rng.choice(images)
        started = time.perf_counter()
        try:
            response = await client.post(f"{url}/v1/search", data={"k": str(k)},
                                         files={"image": ("query.png", data, "image/png")})
        except httpx.HTTPError as exc:
            errors.append(repr(exc))
            continue
        elapsed = time.perf_counter() - started
        if response.status_code != 200 or len(response.json()["results"]) != k:
            errors.append(f"{response.status_code}: {response.text[:200]}")
            continue
        latencies.append(elapsed)


def load(url: str, images: Sequence[bytes], concurrency: int, seconds: float, k: int = 10,
         seed: int = 0) -> dict[str, float]:
    """``concurrency`` clients for ``seconds``: latency percentiles, QPS and errors."""

    async def run() -> tuple[list[float], list[str], float]:
        latencies: list[float] = []
        errors: list[str] = []
        limits = httpx.Limits(max_connections=concurrency)
        async with httpx.AsyncClient(timeout=120.0, limits=limits) as client:
            started = time.perf_counter()
            stop_at = started + seconds
            await asyncio.gather(*(
                _client(client, url, images, k, stop_at, latencies, errors,
                        random.Random(seed + i)) for i in range(concurrency)))
            return latencies, errors, time.perf_counter() - started

    # a thread of its own: the caller may already run an event loop (pytest-playwright)
    with ThreadPoolExecutor(max_workers=1) as thread:
        latencies, errors, wall = thread.submit(asyncio.run, run()).result()
    return {"concurrency": concurrency, "requests": len(latencies), "errors": len(errors),
            "qps": len(latencies) / wall, **percentiles_ms(latencies),
            "first_error": errors[0] if errors else ""}
