"""POST /v1/search: results, k, and every bad input answered 4xx with the server intact."""

from __future__ import annotations

import struct
import zlib
from pathlib import Path

import numpy as np
import pytest
from fastapi.testclient import TestClient
from PIL import Image

from models.embedder import Embedder
from service.api.main import create_app
from service.settings import Settings
from tests.imagegen import make_mark, to_bytes


def search(client: TestClient, data: bytes, k: int | None = None, name: str = "q.png"):
    form = {"k": str(k)} if k is not None else {}
    return client.post("/v1/search", files={"image": (name, data)}, data=form)


def marks_count(client: TestClient) -> int:
    return client.get("/healthz").json()["marks"]


def test_indexed_image_is_its_own_top_1(client: TestClient, seeded: list[Path]) -> None:
    response = search(client, seeded[3].read_bytes())
    assert response.status_code == 200
    body = response.json()
    assert body["took_ms"] >= 0
    assert len(body["results"]) == 10
    top = body["results"][0]
    assert top["id"] == "mark-3" and top["score"] == pytest.approx(1.0, abs=1e-4)
    assert set(top) == {"id", "score", "name", "owner", "nice_classes", "status",
                        "image_url", "thumbnail_url"}
    assert top["thumbnail_url"] == "/v1/marks/mark-3/thumbnail"
    scores = [r["score"] for r in body["results"]]
    assert scores == sorted(scores, reverse=True)


def test_k_is_respected(client: TestClient, seeded: list[Path]) -> None:
    assert len(search(client, seeded[0].read_bytes(), k=3).json()["results"]) == 3
    assert len(search(client, seeded[0].read_bytes(), k=500).json()["results"]) == 10
    assert search(client, seeded[0].read_bytes(), k=0).status_code == 422


def test_result_urls_resolve_for_ids_with_slashes(client: TestClient, seeded: list[Path]) -> None:
    top = search(client, seeded[8].read_bytes(), k=1).json()["results"][0]
    assert top["id"] == "sub/mark-8"
    assert client.get(top["image_url"]).status_code == 200
    assert client.get(top["thumbnail_url"]).headers["content-type"] == "image/png"


def png_claiming(width: int, height: int) -> bytes:
    data = bytearray(to_bytes(Image.new("L", (8, 8), 255)))
    body = bytearray(data[16:29])
    body[0:8] = struct.pack(">II", width, height)
    data[16:29] = body
    data[29:33] = struct.pack(">I", zlib.crc32(b"IHDR" + bytes(body)) & 0xFFFFFFFF)
    return bytes(data)


BAD_INPUTS = {
    "not an image": (b"definitely not an image", 415),
    "empty file": (b"", 422),
    "truncated png": (to_bytes(make_mark(1, size=256))[:600], 422),
    "decompression bomb": (png_claiming(60_000, 60_000), 413),
    "svg with script": (b'<svg xmlns="http://www.w3.org/2000/svg"><script>x</script></svg>', 415),
}


@pytest.mark.parametrize("case", list(BAD_INPUTS))
def test_bad_input_is_4xx_json_and_changes_nothing(
    client: TestClient, seeded: list[Path], case: str
) -> None:
    data, status = BAD_INPUTS[case]
    before = marks_count(client)
    response = search(client, data)
    assert response.status_code == status
    assert response.headers["content-type"] == "application/json"
    assert response.json()["detail"]
    assert marks_count(client) == before
    assert search(client, seeded[0].read_bytes(), k=1).json()["results"][0]["id"] == "mark-0"


def test_upload_over_the_size_limit_is_413(
    settings: Settings, embedder: Embedder, seeded: list[Path]
) -> None:
    small = settings.model_copy(update={"max_upload_bytes": 20_000})
    with TestClient(create_app(small, embedder)) as client:
        noise = np.random.default_rng(0).integers(0, 255, (200, 200, 3), dtype=np.uint8)
        response = search(client, to_bytes(Image.fromarray(noise)))
        assert response.status_code == 413
        assert "limit" in response.json()["detail"]


def test_missing_image_field_is_422(client: TestClient) -> None:
    assert client.post("/v1/search", data={"k": "3"}).status_code == 422


@pytest.mark.parametrize(
    "variant",
    ["gif_animated", "cmyk_jpeg", "png16", "palette_transparent", "rgba_transparent", "svg"],
)
def test_accepted_image_kinds(client: TestClient, variant: str) -> None:
    mark = make_mark(2)
    if variant == "gif_animated":
        data = to_bytes(mark, "GIF", save_all=True, append_images=[make_mark(50)], duration=50)
    elif variant == "cmyk_jpeg":
        data = to_bytes(mark.convert("CMYK"), "JPEG", quality=95)
    elif variant == "png16":
        grey = (np.asarray(mark.convert("L")).astype(np.uint16) * 257)
        data = to_bytes(Image.fromarray(grey))
    elif variant == "palette_transparent":
        data = to_bytes(mark.convert("P"), "PNG", transparency=0)
    elif variant == "rgba_transparent":
        rgba = mark.convert("RGBA")
        arr = np.asarray(rgba).copy()
        arr[(arr[..., :3] == 255).all(axis=2), 3] = 0  # white ground made transparent
        data = to_bytes(Image.fromarray(arr))
    else:
        data = (b'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 10 10">'
                b'<circle cx="5" cy="5" r="4" fill="#c00"/></svg>')
    response = search(client, data, k=3)
    assert response.status_code == 200, response.text
    results = response.json()["results"]
    assert len(results) == 3
    if variant in ("gif_animated", "rgba_transparent"):
        # the first frame / the mark composited on white is the indexed mark-2
        assert results[0]["id"] == "mark-2" and results[0]["score"] > 0.99
