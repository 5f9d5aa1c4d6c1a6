"""`tmsearch serve` as a real process on 127.0.0.1: health, docs and a search."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

from models.embedder import Embedder
from service.register import Register
from service.settings import Settings
from tests.imagegen import write_marks


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_serve_answers_health_docs_and_search(
    settings: Settings, embedder: Embedder, tmp_path: Path
) -> None:
    paths = write_marks(tmp_path / "in", range(5))
    with Register(settings, embedder) as reg:
        reg.ingest_folder(tmp_path / "in")
    port = free_port()
    exe = Path(sys.executable).parent / "tmsearch"
    proc = subprocess.Popen(
        [str(exe), "--data-dir", str(settings.data_dir), "--device", "cpu", "serve",
         "--host", "127.0.0.1", "--port", str(port)],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.time() + 60
        while True:
            try:
                if httpx.get(f"{base}/healthz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert proc.poll() is None, proc.stdout.read().decode() if proc.stdout else ""
            assert time.time() < deadline, "server did not start within 60 s"
            time.sleep(0.3)
        assert httpx.get(f"{base}/healthz").json()["marks"] == 5
        assert httpx.get(f"{base}/docs").status_code == 200
        response = httpx.post(f"{base}/v1/search", files={"image": ("q.png",
                              paths[2].read_bytes())}, data={"k": "2"}, timeout=30)
        assert response.json()["results"][0]["id"] == "mark-2"
    finally:
        proc.terminate()
        proc.wait(timeout=30)
