"""POST /v1/search: ranking, k, accepted formats, and every kind of bad upload."""

from __future__ import annotations

import io
import struct
import time
import zlib
from collections.abc import Callable

import numpy as np
import pytest
from fastapi.testclient import TestClient
from PIL import Image

from tests.imagegen import make_mark, to_bytes

from .conftest import SEEDS, add_mark, mark_count, png, search, top_ids

RESULT_FIELDS = {"id", "score", "name", "owner", "nice_classes", "vienna_codes", "status",
                 "filing_date", "image_url", "thumbnail_url", "match", "shape_score", "risk",
                 "text"}
ALL_IDS = {f"mark-{s}" for s in SEEDS} | {"sub/mark-100", "sub/mark-101"}


# -- ranking ------------------------------------------------------------------------------
def test_search_response_shape_and_top_1(seeded: TestClient) -> None:
    response = search(seeded, png(3), k=5)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert set(body) == {"results", "filters", "rotation_tolerant", "mode", "query_text",
                         "took_ms"}
    assert body["filters"] == {} and body["rotation_tolerant"] is False
    assert isinstance(body["took_ms"], int | float) and body["took_ms"] >= 0
    results = body["results"]
    assert len(results) == 5
    for result in results:
        assert set(result) == RESULT_FIELDS
        assert result["id"] in ALL_IDS
        assert result["image_url"] == f"/v1/marks/{result['id']}/image"
        assert result["thumbnail_url"] == f"/v1/marks/{result['id']}/thumbnail"
        assert result["nice_classes"] == []
    assert len({r["id"] for r in results}) == 5
    scores = [r["score"] for r in results]
    assert scores == sorted(scores, reverse=True)
    assert results[0]["id"] == "mark-3"
    assert results[0]["score"] == pytest.approx(1.0, abs=1e-3)
    assert results[1]["score"] < 0.999
    # the URLs in a result answer
    image = seeded.get(results[0]["image_url"])
    assert image.status_code == 200 and image.content == png(3)


def test_each_indexed_image_is_its_own_top_1(seeded: TestClient) -> None:
    for mark_id in sorted(ALL_IDS):
        seed = int(mark_id.rsplit("-", 1)[1])
        (top, *_rest) = search(seeded, png(seed), k=3).json()["results"]
        assert top["id"] == mark_id
        assert top["score"] == pytest.approx(1.0, abs=1e-3)


def test_search_results_carry_metadata(client: TestClient) -> None:
    meta = {"id": "TM-1", "name": "Acme", "owner": "Acme Ltd", "nice_classes": [42, 9],
            "status": "registered"}
    assert add_mark(client, png(1), meta).status_code == 201
    (hit,) = search(client, png(1), k=1).json()["results"]
    assert hit["id"] == "TM-1"
    assert (hit["name"], hit["owner"], hit["status"]) == ("Acme", "Acme Ltd", "registered")
    assert hit["nice_classes"] == [9, 42]


def test_k_is_respected(seeded: TestClient) -> None:
    assert len(top_ids(search(seeded, png(2), k=1))) == 1
    assert len(top_ids(search(seeded, png(2), k=7))) == 7
    assert len(top_ids(search(seeded, png(2)))) == 10  # the default
    everything = top_ids(search(seeded, png(2), k=500))  # more than the register holds
    assert len(everything) == len(ALL_IDS)
    assert set(everything) == ALL_IDS
    assert everything[0] == "mark-2"


@pytest.mark.parametrize("k", ["0", "-3", "1001", "ten"])
def test_invalid_k_is_422(seeded: TestClient, k: str) -> None:
    response = seeded.post("/v1/search", files={"image": ("q.png", png(1), "image/png")},
                           data={"k": k})
    assert response.status_code == 422
    assert "detail" in response.json()


def test_search_without_image_is_422(seeded: TestClient) -> None:
    response = seeded.post("/v1/search", data={"k": "3"})
    assert response.status_code == 422
    assert "detail" in response.json()


def test_search_on_empty_register_returns_no_results(client: TestClient) -> None:
    response = search(client, png(1))
    assert response.status_code == 200
    assert response.json()["results"] == []


# -- bad uploads --------------------------------------------------------------------------
def truncated_png() -> bytes:
    data = to_bytes(make_mark(5))
    return data[: len(data) // 2]


def bomb_png(width: int = 60_000, height: int = 60_000) -> bytes:
    """A small real PNG whose IHDR claims a huge size (CRC fixed so it parses)."""
    data = bytearray(to_bytes(make_mark(5, size=32)))
    assert data[12:16] == b"IHDR"
    data[16:24] = struct.pack(">II", width, height)
    data[29:33] = struct.pack(">I", zlib.crc32(bytes(data[12:29])))
    with pytest.raises(Image.DecompressionBombError):  # Pillow parses it and sees the size
        Image.open(io.BytesIO(bytes(data)))
    return bytes(data)


def noise_png(side: int = 128) -> bytes:
    rng = np.random.default_rng(0)
    return to_bytes(Image.fromarray(rng.integers(0, 256, (side, side, 3), dtype=np.uint8)))


SCRIPT_SVG = (b'<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10">'
              b'<script>alert(1)</script><circle cx="5" cy="5" r="4"/></svg>')
EXTERNAL_SVG = (b'<svg xmlns="http://www.w3.org/2000/svg" '
                b'xmlns:xlink="http://www.w3.org/1999/xlink" width="10" height="10">'
                b'<image xlink:href="http://example.com/x.png" width="10" height="10"/></svg>')
XXE_SVG = (b'<?xml version="1.0"?><!DOCTYPE svg [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
           b'<svg xmlns="http://www.w3.org/2000/svg"><text>&x;</text></svg>')

BAD_UPLOADS: dict[str, tuple[Callable[[], bytes], int]] = {
    "not-an-image": (lambda: b"this is plain text, not an image\n" * 10, 415),
    "html": (lambda: b"<html><body>hello</body></html>", 415),
    "truncated-png": (truncated_png, 422),
    "zero-bytes": (lambda: b"", 422),
    "png-magic-only": (lambda: b"\x89PNG\r\n\x1a\n", 422),
    "decompression-bomb": (bomb_png, 413),
    "svg-with-script": (lambda: SCRIPT_SVG, 415),
    "svg-external-ref": (lambda: EXTERNAL_SVG, 415),
    "svg-entities": (lambda: XXE_SVG, 415),
}


@pytest.mark.parametrize("endpoint", ["search", "marks"])
@pytest.mark.parametrize("case", sorted(BAD_UPLOADS))
def test_bad_upload_gets_4xx_json_and_changes_nothing(
    seeded: TestClient, case: str, endpoint: str
) -> None:
    make, status = BAD_UPLOADS[case]
    before = mark_count(seeded)
    started = time.perf_counter()
    if endpoint == "search":
        response = search(seeded, make(), k=3)
    else:
        response = add_mark(seeded, make(), {"id": "new-mark", "name": "Bad"})
    elapsed = time.perf_counter() - started
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    assert isinstance(response.json()["detail"], str) and response.json()["detail"]
    assert elapsed < 5, f"{case} took {elapsed:.1f} s"
    # the server keeps serving, and the register is unchanged
    assert mark_count(seeded) == before
    assert seeded.get("/v1/marks/new-mark").status_code == 404
    assert top_ids(search(seeded, png(4), k=1)) == ["mark-4"]


def test_bomb_is_refused_quickly_with_a_clear_message(seeded: TestClient) -> None:
    started = time.perf_counter()
    response = search(seeded, bomb_png())
    assert time.perf_counter() - started < 2
    assert response.status_code == 413
    assert "decompression bomb" in response.json()["detail"]


def test_moderate_pixel_count_over_the_limit_is_413(make_client: Callable[..., TestClient]) -> None:
    """Below Pillow's own bomb guard: the register's max_image_pixels decides."""
    client = make_client(max_image_pixels=100 * 100)
    response = search(client, png(1, size=128))
    assert response.status_code == 413
    assert "pixels" in response.json()["detail"]


@pytest.mark.parametrize("endpoint", ["search", "marks"])
def test_upload_over_max_upload_bytes_is_413(
    make_client: Callable[..., TestClient], endpoint: str
) -> None:
    client = make_client(max_upload_bytes=20_000)
    assert add_mark(client, png(1), {"id": "small"}).status_code == 201
    big = noise_png()
    assert len(big) > 20_000
    if endpoint == "search":
        response = search(client, big)
    else:
        response = add_mark(client, big, {"id": "big"})
    assert response.status_code == 413
    assert "20,000" in response.json()["detail"]
    assert mark_count(client) == 1
    assert top_ids(search(client, png(1), k=5)) == ["small"]


def test_upload_exactly_at_the_limit_is_accepted(make_client: Callable[..., TestClient]) -> None:
    data = png(2)
    client = make_client(max_upload_bytes=len(data))
    assert add_mark(client, data, {"id": "exact"}).status_code == 201
    assert top_ids(search(client, data, k=1)) == ["exact"]


# -- accepted formats ---------------------------------------------------------------------
def animated_gif(first: int, second: int) -> bytes:
    frames = [make_mark(first), make_mark(second)]
    buf = io.BytesIO()
    frames[0].save(buf, format="GIF", save_all=True, append_images=frames[1:], duration=100,
                   loop=0)
    data = buf.getvalue()
    with Image.open(io.BytesIO(data)) as im:
        assert im.n_frames == 2
    return data


def cmyk_jpeg(seed: int) -> bytes:
    data = to_bytes(make_mark(seed).convert("CMYK"), "JPEG", quality=95)
    with Image.open(io.BytesIO(data)) as im:
        assert im.mode == "CMYK"
    return data


def grey16_png(seed: int) -> bytes:
    grey = np.asarray(make_mark(seed).convert("L"), dtype=np.uint16) * 257
    data = to_bytes(Image.fromarray(grey.astype("<u2")))
    with Image.open(io.BytesIO(data)) as im:
        assert im.mode == "I;16"
    return data


def palette_png_with_transparency(seed: int) -> bytes:
    """The white ground becomes a transparent palette entry whose colour is black."""
    image = make_mark(seed).quantize(colors=16)
    palette = image.getpalette()
    white = max(range(16), key=lambda i: sum(palette[3 * i: 3 * i + 3]))
    palette[3 * white: 3 * white + 3] = [0, 0, 0]
    image.putpalette(palette)
    data = to_bytes(image, transparency=white)
    with Image.open(io.BytesIO(data)) as im:
        assert im.mode == "P" and im.info.get("transparency") == white
    return data


def rgba_on_transparent(seed: int) -> bytes:
    rgb = np.asarray(make_mark(seed))
    alpha = np.where((rgb == 255).all(axis=2), 0, 255).astype(np.uint8)
    # the hidden colour of transparent pixels must not matter
    rgb = np.where(alpha[..., None] == 0, np.array([0, 0, 0], np.uint8), rgb)
    data = to_bytes(Image.fromarray(np.dstack([rgb, alpha]).astype(np.uint8), "RGBA"))
    with Image.open(io.BytesIO(data)) as im:
        assert im.mode == "RGBA"
    return data


ACCEPTED: dict[str, tuple[Callable[[], bytes], str]] = {
    "animated-gif-first-frame": (lambda: animated_gif(3, 7), "mark-3"),
    "cmyk-jpeg": (lambda: cmyk_jpeg(4), "mark-4"),
    "palette-png-transparency": (lambda: palette_png_with_transparency(6), "mark-6"),
    "rgba-transparent-background": (lambda: rgba_on_transparent(8), "mark-8"),
    "bmp": (lambda: to_bytes(make_mark(9), "BMP"), "mark-9"),
    "tiff": (lambda: to_bytes(make_mark(10), "TIFF"), "mark-10"),
    "webp-lossless": (lambda: to_bytes(make_mark(11), "WEBP", lossless=True), "mark-11"),
}


@pytest.mark.parametrize("case", sorted(ACCEPTED))
def test_accepted_formats_find_their_mark(seeded: TestClient, case: str) -> None:
    make, expected = ACCEPTED[case]
    # a client's file name and content type are ignored: the bytes decide
    response = search(seeded, make(), k=3, filename="upload.bin",
                      content_type="application/octet-stream")
    assert response.status_code == 200, response.text
    assert top_ids(response)[0] == expected


def test_rgba_transparent_background_matches_the_mark_on_white(seeded: TestClient) -> None:
    on_white = search(seeded, png(8), k=3).json()["results"]
    transparent = search(seeded, rgba_on_transparent(8), k=3).json()["results"]
    assert transparent[0]["id"] == on_white[0]["id"] == "mark-8"
    assert transparent[0]["score"] == pytest.approx(1.0, abs=1e-3)


def test_16_bit_greyscale_png_is_scaled_not_clipped(seeded: TestClient) -> None:
    """A 16-bit PNG is found as its 8-bit twin (a clip to white would erase the mark)."""
    grey8 = to_bytes(make_mark(5).convert("L"))
    assert add_mark(seeded, grey8, {"id": "grey-5"}).status_code == 201
    response = search(seeded, grey16_png(5), k=3)
    assert response.status_code == 200, response.text
    (top, *_rest) = response.json()["results"]
    assert top["id"] == "grey-5"
    assert top["score"] == pytest.approx(1.0, abs=1e-3)


CIRCLE_SVG = (b'<?xml version="1.0" encoding="UTF-8"?>\n'
              b'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 100 100" width="100" '
              b'height="100"><circle cx="50" cy="50" r="40" fill="#c00000"/></svg>')


def test_svg_is_accepted_for_search_and_as_a_mark(seeded: TestClient) -> None:
    response = search(seeded, CIRCLE_SVG, k=3, filename="circle.svg",
                      content_type="image/svg+xml")
    assert response.status_code == 200
    assert len(response.json()["results"]) == 3

    created = add_mark(seeded, CIRCLE_SVG, {"id": "circle", "name": "Circle"},
                       filename="circle.svg")
    assert created.status_code == 201, created.text
    (top, *_rest) = search(seeded, CIRCLE_SVG, k=3).json()["results"]
    assert top["id"] == "circle"
    assert top["score"] == pytest.approx(1.0, abs=1e-3)
    stored = seeded.get("/v1/marks/circle/image")
    assert stored.headers["content-type"] == "image/png"  # SVG is stored rendered
    with Image.open(io.BytesIO(stored.content)) as im:
        assert im.format == "PNG"
        px = im.convert("RGB").getpixel((im.width // 2, im.height // 2))
        assert px[0] > 150 and px[1] < 80 and px[2] < 80  # the red circle, drawn
