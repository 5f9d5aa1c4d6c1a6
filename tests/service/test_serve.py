"""``tmsearch serve`` as a real process: it starts, answers over HTTP, and stops cleanly."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from models.embedder import Embedder
from service.register import Register
from service.settings import Settings
from tests.imagegen import make_mark, to_bytes, write_marks
from tests.service.server_process import TMSEARCH, served


@pytest.mark.skipif(not TMSEARCH.is_file(), reason="console script not installed")
def test_serve_answers_http(
    tmp_path: Path, settings: Settings, embedder: Embedder
) -> None:
    folder = tmp_path / "in"
    write_marks(folder, range(5))
    write_marks(folder, [10], subdir="sub")
    with Register(settings, embedder) as register:
        assert register.ingest_folder(folder).added == 6

    log = tmp_path / "serve.log"
    with served(settings.data_dir, log) as (proc, base):
        with httpx.Client(base_url=base, timeout=30) as http:
            health = http.get("/healthz").json()
            assert health["marks"] == 6
            assert health["status"] == "ok"
            assert health["model_version"] == embedder.version

            docs = http.get("/docs")
            assert docs.status_code == 200 and "text/html" in docs.headers["content-type"]
            assert http.get("/openapi.json").status_code == 200
            assert http.get("/").status_code == 200

            response = http.post(
                "/v1/search",
                files={"image": ("q.png", to_bytes(make_mark(10)), "image/png")},
                data={"k": "3"},
            )
            assert response.status_code == 200, response.text
            results = response.json()["results"]
            assert len(results) == 3
            assert results[0]["id"] == "sub/mark-10"
            assert results[0]["score"] == pytest.approx(1.0, abs=1e-3)
            # the URLs it hands out work through a real server (%2F in the id)
            image = http.get(results[0]["image_url"])
            assert image.status_code == 200
            assert image.content == (folder / "sub" / "mark-10.png").read_bytes()
            assert http.get(results[0]["thumbnail_url"]).status_code == 200
            assert http.get("/v1/marks/sub/mark-10").json()["id"] == "sub/mark-10"

            bad = http.post("/v1/search", files={"image": ("x.png", b"nope", "image/png")})
            assert bad.status_code == 415
            assert http.get("/healthz").json()["marks"] == 6
    # SIGTERM: a graceful shutdown (uvicorn may re-raise the signal once it is done)
    assert proc.returncode in (0, -15), log.read_text()
    assert "Application shutdown complete" in log.read_text()
