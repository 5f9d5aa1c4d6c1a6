"""Batch pre-check over HTTP: submit logos or a zip, follow progress, download CSV/PDF."""

from __future__ import annotations

import csv
import io
import time
from collections.abc import Callable
from typing import Any

from fastapi.testclient import TestClient
from pypdf import PdfReader

from service.reports.job_store import JobStore
from service.settings import Settings
from service.storage.layout import DataDir
from service.storage.records import RecordStore
from tests.service.api.conftest import png, stop
from tests.service.reports.test_reports import patched_zip, zip_of


def wait_done(client: TestClient, report_id: str, timeout: float = 60.0) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        body = client.get(f"/v1/reports/{report_id}").json()
        assert body["status"] in ("running", "done"), body
        if body["status"] == "done":
            return body
        time.sleep(0.1)
    raise AssertionError("report did not finish")


def test_logos_in_a_report_with_progress_and_downloads(seeded: TestClient) -> None:
    files = [("images", ("a.png", png(3), "image/png")),
             ("images", ("b.png", png(7), "image/png")),
             ("images", ("bad.png", b"not an image", "image/png"))]
    started = seeded.post("/v1/reports", files=files, data={"k": "2", "mode": "shape"})
    assert started.status_code == 202, started.text
    job = started.json()
    assert job["total"] == 3 and job["status"] in ("running", "done")
    body = wait_done(seeded, job["id"])
    assert body["done"] == 3 and "mode=shape" in body["options"]
    a, b, bad = body["queries"]
    assert [r["id"] for r in a["results"]][0] == "mark-3" and len(a["results"]) == 2
    assert b["results"][0]["id"] == "mark-7" and b["results"][0]["risk"] == "high"
    assert bad["error"] and bad["results"] == []

    csv_response = seeded.get(body["csv_url"])
    assert csv_response.status_code == 200
    assert csv_response.headers["content-type"].startswith("text/csv")
    assert "attachment" in csv_response.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(csv_response.text)))
    assert [r["query"] for r in rows] == ["a.png", "a.png", "b.png", "b.png", "bad.png"]

    pdf = seeded.get(body["pdf_url"])
    assert pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf"
    pages = PdfReader(io.BytesIO(pdf.content)).pages
    assert len(pages) == 3 and "Query 2 of 3: b.png" in pages[1].extract_text()


def test_a_zip_of_logos(seeded: TestClient) -> None:
    archive = zip_of({"x/one.png": png(1), "two.png": png(2), "readme.txt": b"hi"})
    started = seeded.post("/v1/reports", files={"archive": ("logos.zip", archive,
                                                            "application/zip")})
    assert started.status_code == 202
    body = wait_done(seeded, started.json()["id"])
    assert [q["name"] for q in body["queries"]] == ["x/one.png", "two.png"]
    assert body["queries"][0]["results"][0]["id"] == "mark-1"


def test_bad_report_requests_are_4xx(seeded: TestClient) -> None:
    assert seeded.post("/v1/reports", data={"k": "2"}).status_code == 422
    bad_zip = seeded.post("/v1/reports", files={"archive": ("x.zip", b"nope", "application/zip")})
    assert bad_zip.status_code == 422 and "zip" in bad_zip.json()["detail"]
    evil = zip_of({"../../etc/passwd.png": png(1)})
    response = seeded.post("/v1/reports", files={"archive": ("e.zip", evil, "application/zip")})
    assert response.status_code == 422 and "unsafe path" in response.json()["detail"]
    assert seeded.get("/v1/reports/nope").status_code == 404
    assert seeded.get("/v1/reports/nope/report.pdf").status_code == 404
    files = {"images": ("a.png", png(1), "image/png")}
    assert seeded.post("/v1/reports", files=files, data={"k": "0"}).status_code == 422
    job = seeded.post("/v1/reports", files=files).json()
    wait_done(seeded, job["id"])
    assert seeded.get(f"/v1/reports/{job['id']}/report.doc").status_code == 404


def test_an_oversized_logo_fails_alone(make_client: Any, seeded_data_dir: Any,
                                       settings: Any) -> None:
    import shutil

    shutil.copytree(seeded_data_dir, settings.data_dir)
    client = make_client(max_upload_bytes=2000)
    files = [("images", ("small.png", png(4, size=32), "image/png")),
             ("images", ("big.png", png(5, size=512), "image/png"))]
    body = wait_done(client, client.post("/v1/reports", files=files).json()["id"])
    small, big = body["queries"]
    assert small["error"] is None and "limit" in big["error"]


def test_reports_outlive_a_restart(seeded: TestClient,
                                   make_client: Callable[..., TestClient]) -> None:
    files = [("images", ("a.png", png(3), "image/png"))]
    job = seeded.post("/v1/reports", files=files, data={"k": "2"}).json()
    before = wait_done(seeded, job["id"])
    stop(seeded)  # the server stops; its memory is gone
    again = make_client()
    after = again.get(f"/v1/reports/{job['id']}")
    assert after.status_code == 200, after.text  # 404 before: jobs lived in memory
    assert after.json() == before
    pdf = again.get(after.json()["pdf_url"])
    assert pdf.status_code == 200 and len(PdfReader(io.BytesIO(pdf.content)).pages) == 1
    assert again.get(after.json()["csv_url"]).status_code == 200


def test_a_report_running_at_a_crash_is_failed_after_the_restart(
    seeded: TestClient, make_client: Callable[..., TestClient], settings: Settings
) -> None:
    stop(seeded)
    records = RecordStore(DataDir.of(settings).records)
    try:
        JobStore(records, DataDir.of(settings).reports).insert("crashed0000000", 4, False)
    finally:
        records.close()
    client = make_client()
    body = client.get("/v1/reports/crashed0000000").json()
    assert body["status"] == "failed" and "stopped" in body["error"]
    assert client.get("/v1/reports/crashed0000000/report.pdf").status_code == 404


def test_finished_reports_expire(seeded: TestClient,
                                 make_client: Callable[..., TestClient]) -> None:
    job = seeded.post("/v1/reports", files={"images": ("a.png", png(1), "image/png")}).json()
    wait_done(seeded, job["id"])
    stop(seeded)
    kept = make_client(report_keep_days=1.0)
    assert kept.get(f"/v1/reports/{job['id']}").status_code == 200
    stop(kept)
    expired = make_client(report_keep_days=0.0)
    assert expired.get(f"/v1/reports/{job['id']}").status_code == 404
    assert not (DataDir.of(expired.app.state.tmsearch.settings).reports / job["id"]).exists()


def test_a_zip_with_an_encrypted_member_reports_that_logo_and_checks_the_rest(
    seeded: TestClient,
) -> None:
    archive = patched_zip({"one.png": png(1), "locked.png": png(2), "three.png": png(3)},
                          "locked.png", "encrypted")
    started = seeded.post("/v1/reports", files={"archive": ("logos.zip", archive,
                                                            "application/zip")})
    assert started.status_code == 202, started.text  # a 500 before
    body = wait_done(seeded, started.json()["id"])
    by_name = {q["name"]: q for q in body["queries"]}
    assert "encrypted" in by_name["locked.png"]["error"]
    assert by_name["one.png"]["results"][0]["id"] == "mark-1"
    assert by_name["three.png"]["results"][0]["id"] == "mark-3"


def test_a_report_in_chinese(seeded: TestClient) -> None:
    from service.reports.pdf import CJK_FONT

    if not CJK_FONT.is_file():
        import pytest

        pytest.skip("Debian's fonts-wqy-zenhei is not installed (make fonts)")
    files = {"images": ("a.png", png(3), "image/png")}
    job = seeded.post("/v1/reports", files=files, data={"k": "2", "language": "zh"}).json()
    body = wait_done(seeded, job["id"])
    text = PdfReader(io.BytesIO(seeded.get(body["pdf_url"]).content)).pages[0].extract_text()
    assert "检索图样 1/1" in text and "近似度" in text
    bad = seeded.post("/v1/reports", files=files, data={"language": "fr"})
    assert bad.status_code == 422 and bad.json()["code"] == "invalid_request"
