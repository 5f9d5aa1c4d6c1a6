"""Watches and alerts over HTTP: made by a key, seen by that key and admins only (another
owner's watch answers exactly as a missing one), alerts on filed marks only for roles that
see filed marks, clear 4xx errors that change nothing."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient

from service.settings import Settings
from tests.service.api.conftest import add_mark, new_key, png
from tests.service.watch.test_watches import PROTECTED, _png, _redrawn


def _as(client: TestClient, settings: Settings, role: str | None) -> TestClient:
    other = TestClient(client.app)
    if role is not None:
        other.headers["Authorization"] = f"Bearer {new_key(settings, role)}"
    return other


@pytest.fixture
def admin(make_client: Callable[..., TestClient]) -> TestClient:
    client = make_client()
    for seed in range(20, 26):
        assert add_mark(client, png(seed), {"id": f"other-{seed}"}).status_code == 201
    return client


def _watch(client: TestClient, name: str = "ours", **form: str):  # noqa: ANN202
    return client.post("/v1/watches", data={"name": name, **form},
                       files=[("images", ("ours.png", _png(PROTECTED), "image/png"))])


def test_an_agent_watches_a_mark_and_sees_the_alert(admin: TestClient, settings: Settings
                                                    ) -> None:
    agent = _as(admin, settings, "agent")
    made = _watch(agent, nice_classes="9,42", min_risk="medium")
    assert made.status_code == 201, made.text
    watch = made.json()
    assert watch["nice_classes"] == [9, 42] and watch["marks"][0]["label"] == "ours.png"
    assert add_mark(admin, _redrawn(PROTECTED), {"id": "copycat", "nice_classes": [9]}
                    ).status_code == 201
    listed = agent.get("/v1/alerts").json()
    assert listed["total"] == 1 and listed["pages"] == 1
    alert = listed["alerts"][0]
    assert (alert["watch"], alert["mark_id"], alert["status"]) == ("ours", "copycat", "new")
    # the alert's score is the one the watched mark's search gives the filing
    found = admin.post("/v1/search", files={"image": ("q.png", _png(PROTECTED), "image/png")},
                       data={"k": "20"}).json()["results"]
    assert alert["score"] == pytest.approx(
        next(r["score"] for r in found if r["id"] == "copycat"), abs=1e-4)
    seen = agent.patch(f"/v1/alerts/{alert['id']}", json={"status": "seen"})
    assert seen.status_code == 200 and seen.json()["status"] == "seen"
    assert agent.get("/v1/alerts", params={"status": "new"}).json()["total"] == 0
    assert agent.get("/v1/alerts", params={"watch_id": watch["id"]}).json()["total"] == 1
    assert agent.get("/v1/alerts", params={"watch_id": watch["id"] + 1}).json()["total"] == 0
    assert agent.get(f"/v1/watches/{watch['id']}").json()["name"] == "ours"
    assert agent.delete(f"/v1/watches/{watch['id']}").status_code == 200
    assert agent.get("/v1/alerts").json()["total"] == 0


def test_another_owners_watch_reads_as_missing(admin: TestClient, settings: Settings) -> None:
    owner, other = _as(admin, settings, "agent"), _as(admin, settings, "agent")
    watch_id = _watch(owner).json()["id"]
    add_mark(admin, _redrawn(PROTECTED), {"id": "copycat"})
    alert_id = owner.get("/v1/alerts").json()["alerts"][0]["id"]
    for method, template, real, body in (
            ("get", "/v1/watches/{}", watch_id, None),
            ("delete", "/v1/watches/{}", watch_id, None),
            ("patch", "/v1/alerts/{}", alert_id, {"status": "seen"})):
        extra = {"json": body} if body else {}
        theirs = getattr(other, method)(template.format(real), **extra)
        missing = getattr(other, method)(template.format(999999), **extra)
        assert theirs.status_code == missing.status_code == 404
        assert theirs.json()["detail"].replace(str(real), "N") == \
            missing.json()["detail"].replace("999999", "N")
        assert theirs.json()["code"] == missing.json()["code"] == "not_found"
    assert other.get("/v1/watches").json() == []
    assert other.get("/v1/alerts").json()["total"] == 0
    assert [w["id"] for w in admin.get("/v1/watches").json()] == [watch_id]  # admins see all
    assert admin.get("/v1/alerts").json()["total"] == 1
    assert owner.get(f"/v1/watches/{watch_id}").status_code == 200


def test_alerts_on_filed_marks_only_for_roles_that_see_them(admin: TestClient,
                                                            settings: Settings) -> None:
    agent, examiner = _as(admin, settings, "agent"), _as(admin, settings, "examiner")
    _watch(agent)
    _watch(examiner)
    add_mark(admin, _redrawn(PROTECTED), {"id": "secret", "status": "filed"})
    assert agent.get("/v1/alerts").json() == {"alerts": [], "total": 0, "page": 1,
                                               "per_page": 50, "pages": 1}
    assert [a["mark_id"] for a in examiner.get("/v1/alerts").json()["alerts"]] == ["secret"]


def test_who_may_keep_watches(admin: TestClient, settings: Settings) -> None:
    anonymous, public = _as(admin, settings, None), _as(admin, settings, "public")
    assert _watch(anonymous).status_code == 401
    assert _watch(public).status_code == 403
    assert public.get("/v1/alerts").status_code == 403
    assert admin.get("/v1/watches").json() == []


@pytest.mark.parametrize("form, code", [
    ({"min_risk": "severe"}, "invalid_watch"),
    ({"nice_classes": "9,x"}, "invalid_watch"),
    ({"nice_classes": "99"}, "invalid_watch"),
    ({"mark_ids": "no-such-mark"}, "invalid_watch"),
    ({"min_score": "2"}, "invalid_request"),
])
def test_bad_watches_get_a_clear_4xx_and_change_nothing(admin: TestClient, form: dict,
                                                        code: str) -> None:
    response = _watch(admin, **form)
    assert response.status_code == 422, response.text
    assert response.json()["code"] == code and response.json()["detail"]
    assert admin.get("/v1/watches").json() == []


def test_bad_alert_queries(admin: TestClient) -> None:
    assert admin.get("/v1/alerts", params={"status": "old"}).status_code == 422
    assert admin.get("/v1/alerts", params={"risk": "extreme"}).status_code == 422
    assert admin.patch("/v1/alerts/1", json={"status": "seen"}).status_code == 404
    assert admin.get("/v1/watches/abc").status_code == 422
    for beyond in (2**63, 10**30, -1, 0):  # ids no database row can have read as missing
        for method, path in (("get", "/v1/watches/{}"), ("delete", "/v1/watches/{}"),
                             ("get", "/v1/watches/{}/alerts.csv")):
            answer = getattr(admin, method)(path.format(beyond))
            assert answer.status_code == 404 and answer.json()["code"] == "not_found"
        answer = admin.patch(f"/v1/alerts/{beyond}", json={"status": "seen"})
        assert answer.status_code == 404 and answer.json()["code"] == "not_found"
    assert _watch(admin, name="twice").status_code == 201
    again = _watch(admin, name="twice")
    assert again.status_code == 422 and "exists already" in again.json()["detail"]
