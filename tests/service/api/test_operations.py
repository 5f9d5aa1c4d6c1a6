"""What operators rely on: request ids, JSON access logs without secrets, /metrics, rate
limits with Retry-After, and hostile uploads answered with 4xx JSON while serving on."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient

from service.api.observability import JsonFormatter
from service.settings import Settings
from tests.service.api.conftest import new_key, png, search, top_ids
from tests.service.marks.test_images import png_claiming
from tests.service.reports.test_reports import zip_of


def test_request_ids_are_echoed_or_made(seeded: TestClient) -> None:
    given = seeded.get("/healthz", headers={"X-Request-ID": "abc-123"})
    assert given.headers["x-request-id"] == "abc-123"
    made = seeded.get("/healthz", headers={"X-Request-ID": "bad id\nwith newline"})
    assert made.headers["x-request-id"] != "bad id\nwith newline"
    assert len(made.headers["x-request-id"]) == 32
    assert seeded.get("/nope").headers["x-request-id"]


def test_every_error_answer_carries_the_request_id(client: TestClient,
                                                  caplog: pytest.LogCaptureFixture) -> None:
    """4xx answers pass the request observer; a defect's 500 is answered by Starlette
    outside every middleware, and carries the id all the same (header and body)."""
    def broken() -> None:
        raise RuntimeError("a defect")

    client.app.add_api_route("/v1/broken-for-the-test", broken)  # type: ignore[attr-defined]
    tolerant = TestClient(client.app, raise_server_exceptions=False)
    for path, status in (("/nope", 404), ("/v1/marks?page=0", 422),
                         ("/v1/broken-for-the-test", 500)):
        answer = tolerant.get(path, headers={"X-Request-ID": f"e-{status}"})
        assert answer.status_code == status, path
        assert answer.headers["x-request-id"] == f"e-{status}", path
    assert answer.json() == {"detail": "internal error; it has been logged",
                             "code": "internal_error", "request_id": "e-500"}
    logged = [r for r in caplog.records if r.getMessage() == "unhandled error"]
    assert logged and logged[0].fields["request_id"] == "e-500"  # type: ignore[attr-defined]


def test_access_log_is_json_with_the_route_and_no_key_or_image(
    seeded: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    key = seeded.headers["Authorization"].split()[1]
    with caplog.at_level(logging.INFO, logger="tmsearch.access"):
        search(seeded, png(3), k=2)
        seeded.get("/v1/marks/mark-1", headers={"X-Request-ID": "r-42"})
    records = [r for r in caplog.records if r.name == "tmsearch.access"]
    lines = [json.loads(JsonFormatter().format(r)) for r in records]
    by_route = {line["route"]: line for line in lines}
    hit = by_route["/v1/search"]
    assert hit["status"] == 200 and hit["method"] == "POST" and hit["ms"] > 0
    assert hit["role"] == "admin" and hit["key_id"] == key.split("_")[1]
    assert by_route["/v1/marks/{mark_id:path}"]["request_id"] == "r-42"
    text = "\n".join(JsonFormatter().format(r) for r in records)
    assert key not in text and "PNG" not in text and "\\x89" not in text


def test_metrics_count_requests_and_show_the_register(
    seeded: TestClient, settings: Settings
) -> None:
    search(seeded, png(3), k=2)
    search(seeded, png(4), k=2)
    body = seeded.get("/metrics").text
    assert 'tmsearch_http_requests_total{method="POST",route="/v1/search",status="200"} 2.0' \
        in body
    assert 'tmsearch_http_request_duration_seconds_bucket{le="+Inf",method="POST",' \
           'route="/v1/search"} 2.0' in body
    assert "tmsearch_marks 14.0" in body and "tmsearch_index_vectors" in body
    assert 'tmsearch_model_info{index="flat",version="' in body
    anonymous = TestClient(seeded.app)
    assert anonymous.get("/metrics").status_code == 403  # no key: the public role
    public = {"Authorization": f"Bearer {new_key(settings, 'public')}"}
    assert anonymous.get("/metrics", headers=public).status_code == 403
    examiner = {"Authorization": f"Bearer {new_key(settings, 'examiner')}"}
    assert anonymous.get("/metrics", headers=examiner).status_code == 200


def test_upload_refusals_are_counted(seeded: TestClient) -> None:
    response = seeded.post("/v1/marks", files={"image": ("x.png", b"not an image", "image/png")},
                           data={"metadata": json.dumps({"id": "TM-BAD"})})
    assert response.status_code == 415
    assert "tmsearch_ingest_errors_total 1.0" in seeded.get("/metrics").text


def test_rate_limit_answers_429_with_retry_after_per_caller(
    settings: Settings, make_client: Callable[..., TestClient]
) -> None:
    client = make_client(role=None, rate_limits={"public": {"search": 3}})
    answers = [search(client, png(1), k=1).status_code for _ in range(4)]
    assert answers == [200, 200, 200, 429]
    limited = search(client, png(1), k=1)
    assert limited.status_code == 429 and int(limited.headers["retry-after"]) >= 1
    assert "3 a minute" in limited.json()["detail"]
    keyed = {"Authorization": f"Bearer {new_key(settings, 'public')}"}  # its own bucket
    response = client.post("/v1/search", files={"image": ("q.png", png(1), "image/png")},
                           headers=keyed)
    assert response.status_code == 200
    assert 'tmsearch_rate_limited_total{kind="search",role="public"}' in client.get(
        "/metrics", headers={"Authorization": f"Bearer {new_key(settings, 'admin')}"}).text


HOSTILE = {
    "too many bytes": ("q.png", b"\x89PNG\r\n\x1a\n" + b"\0" * (11 * 1024 * 1024), 413),
    "decompression bomb": ("q.png", png_claiming(60_000, 60_000), 413),
    "text named .png": ("q.png", b"GIF is what I am not" * 10, 415),
    "html named .svg": ("q.svg", b"<html><script>alert(1)</script></html>", 415),
    "svg entities": ("q.svg", b'<?xml version="1.0"?><!DOCTYPE s [<!ENTITY a "b">]>'
                     b'<svg xmlns="http://www.w3.org/2000/svg">&a;</svg>', 415),
    "svg external": ("q.svg", b'<svg xmlns="http://www.w3.org/2000/svg">'
                     b'<image href="http://example.com/x.png"/></svg>', 415),
    "truncated png": ("q.png", png(2)[:60], 422),
    "empty": ("q.png", b"", 422),
}


@pytest.mark.parametrize("case", list(HOSTILE))
def test_hostile_uploads_get_4xx_json_and_the_server_serves_on(seeded: TestClient,
                                                               case: str) -> None:
    name, data, status = HOSTILE[case]
    response = seeded.post("/v1/search", files={"image": (name, data, "image/png")})
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    assert response.json()["detail"]
    assert top_ids(search(seeded, png(3), k=1)) == ["mark-3"]


def test_a_request_over_the_body_limit_is_refused_before_it_is_read(
    make_client: Callable[..., TestClient]
) -> None:
    client = make_client(max_archive_bytes=200_000)
    body = b"x" * 2_000_000
    response = client.post("/v1/search", content=body,
                           headers={"Content-Type": "multipart/form-data; boundary=x"})
    assert response.status_code == 413
    after = search(client, png(3), k=1)  # the server answers the next request as usual
    assert after.status_code == 200 and after.json()["results"] == []


@pytest.mark.parametrize("entries,message", [
    ({"../../etc/evil.png": png(1)}, "unsafe path"),
    ({"/abs.png": png(1)}, "unsafe path"),
    ({f"m{i}.png": png(1) for i in range(3)}, "limit is 2"),
    ({"bomb.png": b"\0" * 5_000_000}, "compression ratio"),
])
def test_hostile_zips_are_422(make_client: Callable[..., TestClient], monkeypatch,
                              entries: dict[str, bytes], message: str) -> None:
    import service.api.routes.reports as reports_api

    monkeypatch.setattr(reports_api, "MAX_ZIP_FILES", 2)
    client = make_client()
    response = client.post("/v1/reports", files={"archive": ("a.zip", zip_of(entries),
                                                              "application/zip")})
    assert response.status_code == 422, response.text
    assert message in response.json()["detail"]
