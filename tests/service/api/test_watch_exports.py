"""A watch's alerts as CSV and PDF downloads: the rows an owner's alerts make, the same
reach as the alerts listing (another owner's watch reads as missing, filed filings only
for roles that see filed marks), a PDF in English and Chinese with the watch and the
filings in it."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient
from pypdf import PdfReader

from service.reports.alert_export import CSV_COLUMNS
from service.reports.pdf import CJK_FONT
from service.settings import Settings
from tests.service.api.conftest import add_mark, png
from tests.service.api.test_watches_api import _as, _watch
from tests.service.watch.test_watches import PROTECTED, _png, _redrawn


@pytest.fixture
def admin(make_client: Callable[..., TestClient]) -> TestClient:
    client = make_client()
    for seed in range(20, 26):
        assert add_mark(client, png(seed), {"id": f"other-{seed}"}).status_code == 201
    return client


def _rows(response) -> list[dict[str, str]]:  # noqa: ANN001 - an httpx response
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/csv")
    assert response.headers["content-disposition"].startswith("attachment")
    reader = csv.DictReader(io.StringIO(response.content.decode("utf-8")))
    assert tuple(reader.fieldnames or ()) == CSV_COLUMNS
    return list(reader)


def _pdf_text(response) -> str:  # noqa: ANN001 - an httpx response
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/pdf"
    assert response.content.startswith(b"%PDF-")
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(response.content)).pages)


def test_an_owner_downloads_the_alerts_as_csv(admin: TestClient, settings: Settings) -> None:
    agent = _as(admin, settings, "agent")
    watch = _watch(agent, name="Acme watch").json()
    assert add_mark(admin, _redrawn(PROTECTED), {"id": "copycat", "name": "Copy Cat",
                                                 "owner": "Rival Ltd"}).status_code == 201
    assert add_mark(admin, _redrawn(PROTECTED), {"id": "copy-2", "name": "=HYPERLINK(1)",
                                                 "owner": "+Other"}).status_code == 201
    listed = agent.get("/v1/alerts").json()["alerts"]
    assert len(listed) == 2

    rows = _rows(agent.get(f"/v1/watches/{watch['id']}/alerts.csv"))
    assert [int(r["alert_id"]) for r in rows] == [a["id"] for a in listed]  # newest first
    by_id = {r["mark_id"]: r for r in rows}
    for alert in listed:
        row = by_id[alert["mark_id"]]
        assert row["created_at"] == alert["created_at"]
        assert (row["watch"], row["watched_mark"], row["status"]) == \
            ("Acme watch", "ours.png", "new")
        assert float(row["score"]) == pytest.approx(alert["score"], abs=1e-4)
        assert row["risk"] == alert["risk"] and row["risk"] in ("medium", "high")
        assert row["matched_component"] == (alert["matched"] or "whole")
    assert (by_id["copycat"]["name"], by_id["copycat"]["owner"]) == ("Copy Cat", "Rival Ltd")
    # a spreadsheet never runs a filing's name as a formula
    assert (by_id["copy-2"]["name"], by_id["copy-2"]["owner"]) == ("'=HYPERLINK(1)", "'+Other")

    seen_id = by_id["copycat"]["alert_id"]
    assert agent.patch(f"/v1/alerts/{seen_id}", json={"status": "seen"}).status_code == 200
    seen = _rows(agent.get(f"/v1/watches/{watch['id']}/alerts.csv", params={"status": "seen"}))
    assert [(r["mark_id"], r["status"]) for r in seen] == [("copycat", "seen")]
    # an admin sees every owner's watch; its export is the same file
    assert _rows(admin.get(f"/v1/watches/{watch['id']}/alerts.csv")) == _rows(
        agent.get(f"/v1/watches/{watch['id']}/alerts.csv"))


def test_another_owners_watch_reads_as_missing(admin: TestClient, settings: Settings) -> None:
    owner, other = _as(admin, settings, "agent"), _as(admin, settings, "examiner")
    watch_id = _watch(owner).json()["id"]
    add_mark(admin, _redrawn(PROTECTED), {"id": "copycat"})
    for suffix in ("csv", "pdf"):
        theirs = other.get(f"/v1/watches/{watch_id}/alerts.{suffix}")
        missing = other.get(f"/v1/watches/999999/alerts.{suffix}")
        assert theirs.status_code == missing.status_code == 404
        assert theirs.json()["code"] == missing.json()["code"] == "not_found"
        assert theirs.json()["detail"].replace(str(watch_id), "N") == \
            missing.json()["detail"].replace("999999", "N")
        assert _as(admin, settings, "public").get(
            f"/v1/watches/{watch_id}/alerts.{suffix}").status_code == 403
        assert _as(admin, settings, None).get(
            f"/v1/watches/{watch_id}/alerts.{suffix}").status_code == 401
    assert len(_rows(owner.get(f"/v1/watches/{watch_id}/alerts.csv"))) == 1


def test_filed_filings_only_for_roles_that_see_them(admin: TestClient, settings: Settings
                                                    ) -> None:
    agent, examiner = _as(admin, settings, "agent"), _as(admin, settings, "examiner")
    agent_watch = _watch(agent).json()["id"]
    examiner_watch = _watch(examiner).json()["id"]
    add_mark(admin, _redrawn(PROTECTED), {"id": "secret", "status": "filed"})
    add_mark(admin, _redrawn(PROTECTED), {"id": "copycat", "status": "published"})
    assert [r["mark_id"] for r in _rows(agent.get(
        f"/v1/watches/{agent_watch}/alerts.csv"))] == ["copycat"]
    assert sorted(r["mark_id"] for r in _rows(examiner.get(
        f"/v1/watches/{examiner_watch}/alerts.csv"))) == ["copycat", "secret"]
    assert "secret" not in _pdf_text(agent.get(f"/v1/watches/{agent_watch}/alerts.pdf"))
    assert "secret" in _pdf_text(examiner.get(f"/v1/watches/{examiner_watch}/alerts.pdf"))


def test_the_pdf_names_the_watch_and_its_filings_in_both_languages(
        admin: TestClient, settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    agent = _as(admin, settings, "agent")
    assert add_mark(admin, _png(PROTECTED), {"id": "ours-registered"}).status_code == 201
    made = agent.post("/v1/watches", data={"name": "Acme 监测", "mark_ids": "ours-registered",
                                           "min_risk": "low"})
    assert made.status_code == 201, made.text
    watch_id = made.json()["id"]
    add_mark(admin, _redrawn(PROTECTED), {"id": "TM-COPY-1", "name": "乐百氏",
                                          "owner": "重庆山城科技有限公司"})
    add_mark(admin, _redrawn(PROTECTED), {"id": "TM-COPY-2"})
    url = f"/v1/watches/{watch_id}/alerts.pdf"

    english = _pdf_text(agent.get(url))
    for words in ("Trademark watch alerts", "Acme", "ours-registered", "TM-COPY-1",
                  "TM-COPY-2", "Score", "Risk", "2 alerts"):
        assert words in english, (words, english)
    # each filing's thumbnail beside the watched register mark's: four pictures drawn, two
    # stored (both copies are one drawing; the PDF keeps a picture once)
    first = PdfReader(io.BytesIO(agent.get(url).content)).pages[0]
    assert first.get_contents().get_data().count(b" Do") == 4
    assert len(first.images) == 2 and all(p.image.size[0] > 0 for p in first.images)
    if CJK_FONT.is_file():  # Chinese names print in either language
        assert "Acme 监测" in english and "乐百氏" in english and "重庆山城科技有限公司" in english
        chinese = _pdf_text(agent.get(url, params={"language": "zh"}))
        for words in ("商标监测预警报告", "Acme 监测", "TM-COPY-1", "TM-COPY-2", "近似度",
                      "风险等级", "被监测商标", "未读", "共 2 条预警"):
            assert words in chinese, (words, chinese)

    # very many alerts: the PDF keeps the newest and says so
    monkeypatch.setattr("service.api.routes.watch_exports.MAX_PDF_ALERTS", 1)
    newest = agent.get("/v1/alerts").json()["alerts"][0]["mark_id"]
    short = _pdf_text(agent.get(url))
    assert "the newest 1 of 2 alerts" in short and newest in short
    assert ({"TM-COPY-1", "TM-COPY-2"} - {newest}).pop() not in short


@pytest.mark.parametrize("params, code", [
    ({"status": "old"}, "invalid_watch"),
    ({"risk": "extreme"}, "invalid_watch"),
    ({"language": "fr"}, "invalid_request"),
])
def test_bad_export_queries_get_a_clear_4xx(make_client: Callable[..., TestClient],
                                            params: dict, code: str) -> None:
    admin = make_client()
    watch_id = _watch(admin).json()["id"]
    response = admin.get(f"/v1/watches/{watch_id}/alerts.pdf", params=params)
    assert response.status_code == 422, response.text
    assert response.json()["code"] == code and response.json()["detail"]
    assert admin.get("/v1/watches/abc/alerts.csv").status_code == 422
    for beyond in (0, 2**70):  # ids no watch can have: missing, like any other
        assert admin.get(f"/v1/watches/{beyond}/alerts.csv").status_code == 404
