"""What a real ``tmsearch serve`` answers to the hardening probe's requests at the HTTP
level: every refusal is JSON (an oversized header 431, a declared or streamed body over
the limit 413, a malformed request 400), a hostile SVG is a 4xx and the server stays up."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator

import httpx
import pytest

from tests.service.server_process import HOST, TMSEARCH, clean_env, served

LIMIT = 2 * 1024 * 1024  # TMSEARCH_MAX_ARCHIVE_BYTES below: bodies up to 3 MB are read


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, int]]:
    root = tmp_path_factory.mktemp("limits")
    env = clean_env(max_archive_bytes=str(LIMIT))
    with served(root / "data", root / "serve.log", env) as (_, base):
        yield base, int(base.rsplit(":", 1)[1])


def raw(port: int, request: bytes) -> tuple[int, dict[str, str], bytes]:
    """Send bytes as they are; the status, headers and body of the answer."""
    with socket.create_connection((HOST, port), timeout=30) as sock:
        sock.sendall(request)
        data = b""
        while True:
            chunk = sock.recv(65536)
            if not chunk:
                break
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = dict(line.split(": ", 1) for line in lines[1:] if ": " in line)
    return int(lines[0].split()[1]), {k.lower(): v for k, v in headers.items()}, body


def assert_json_refusal(status: int, headers: dict[str, str], body: bytes, want: int) -> None:
    assert status == want, body
    assert headers["content-type"].startswith("application/json")
    assert json.loads(body)["detail"]


pytestmark = pytest.mark.skipif(not TMSEARCH.is_file(), reason="console script not installed")


def test_a_1_mb_authorization_header_is_431_json(server: tuple[str, int]) -> None:
    base, port = server
    request = (b"GET /healthz HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + b"a" * 1_000_000
               + b"\r\nConnection: close\r\n\r\n")
    assert_json_refusal(*raw(port, request), 431)  # the connection was reset before
    assert httpx.get(f"{base}/healthz").status_code == 200


def test_a_declared_length_over_the_limit_is_413_json_before_the_body(
    server: tuple[str, int]
) -> None:
    _, port = server
    request = (b"POST /v1/search HTTP/1.1\r\nHost: x\r\nContent-Length: 999999999\r\n"
               b"Content-Type: multipart/form-data; boundary=b\r\nConnection: close\r\n\r\n--b")
    assert_json_refusal(*raw(port, request), 413)


def test_a_streamed_body_over_the_limit_is_413_json(server: tuple[str, int]) -> None:
    base, _ = server

    def chunks() -> Iterator[bytes]:
        yield b"--b\r\nContent-Disposition: form-data; name=\"image\"; filename=\"a.png\"\r\n\r\n"
        for _ in range(8):
            yield b"\0" * (1024 * 1024)

    response = httpx.post(f"{base}/v1/search", content=chunks(), timeout=60,
                          headers={"content-type": "multipart/form-data; boundary=b"})
    assert response.status_code == 413, response.text
    assert response.json()["detail"]


def test_a_malformed_request_is_400_json(server: tuple[str, int]) -> None:
    _, port = server
    assert_json_refusal(*raw(port, b"GARBAGE\x00 / HTTP/9\r\n\r\n"), 400)


def test_hostile_svg_and_thin_images_through_the_real_server(server: tuple[str, int]) -> None:
    base, _ = server
    deep = ('<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 100 100">' + "<g>" * 300
            + '<rect width="50" height="50"/>' + "</g>" * 300 + "</svg>")
    response = httpx.post(f"{base}/v1/search", timeout=60,
                          files={"image": ("x.svg", deep.encode(), "image/svg+xml")})
    assert response.status_code == 413 and "nested" in response.json()["detail"]
    assert httpx.get(f"{base}/healthz").status_code == 200  # it killed the server before
