"""Roles and API keys, and unpublished (filed) marks kept from the public on every path.

The register holds the 14 seed marks (published: no status) plus FILED, an exact copy of
seed mark-3's image filed but not published, and WORDY, a filed composite mark whose
words ("ZENITH") a search can find by text. Each test tries one way the public could
learn of them: a search that should find them first, their record, image, thumbnail,
similar-marks and explain routes, counts, batch reports, filters and words.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient
from PIL import Image, ImageDraw, ImageFont

from service.settings import Settings
from tests.imagegen import make_mark, to_bytes
from tests.service.api.conftest import add_mark, new_key, png, search, top_ids

FILED = "TM-FILED-1"
WORDY = "TM-FILED-WORDS"


def _wordy_png() -> bytes:
    image = Image.new("RGB", (320, 230), "white")
    image.paste(make_mark(40, 120), (100, 0))
    ImageDraw.Draw(image).text((40, 150), "ZENITH", font=ImageFont.load_default(size=48),
                               fill=(0, 0, 0))
    return to_bytes(image)


@pytest.fixture
def admin(seeded: TestClient) -> TestClient:
    """The seeded register with the two filed marks added (by an admin key)."""
    assert add_mark(seeded, png(3), {"id": FILED, "name": "Secret", "status": "filed",
                                     "owner": "Hidden Co"}).status_code == 201
    assert add_mark(seeded, _wordy_png(), {"id": WORDY, "status": "filed"}).status_code == 201
    return seeded


def _as(client: TestClient, settings: Settings, role: str | None) -> TestClient:
    """A second client on the same app, with a fresh key of ``role`` (None: no key)."""
    other = TestClient(client.app)  # the app is already running (its lifespan began)
    if role is not None:
        other.headers["Authorization"] = f"Bearer {new_key(settings, role)}"
    return other


@pytest.fixture
def public(admin: TestClient, settings: Settings) -> TestClient:
    return _as(admin, settings, None)


@pytest.fixture
def examiner(admin: TestClient, settings: Settings) -> TestClient:
    return _as(admin, settings, "examiner")


# -- keys and roles ----------------------------------------------------------------------

def test_wrong_malformed_and_revoked_keys_get_401(admin: TestClient, settings: Settings
                                                  ) -> None:
    for header in ("Bearer tms_00000000_" + "x" * 43, "Bearer nonsense", "Basic abc", "Bearer "):
        response = admin.get("/v1/register", headers={"Authorization": header})
        assert response.status_code == 401, header
        assert response.headers["www-authenticate"] == "Bearer"
        assert "detail" in response.json()
    key = new_key(settings, "examiner")
    headers = {"Authorization": f"Bearer {key}"}
    assert admin.get(f"/v1/marks/{FILED}", headers=headers).status_code == 200
    key_id = key.split("_")[1]
    assert admin.delete(f"/v1/keys/{key_id}").json()["revoked_at"]
    assert admin.get(f"/v1/marks/{FILED}", headers=headers).status_code == 401
    assert admin.get("/v1/marks/mark-1", headers=headers).status_code == 401


def test_roles_without_the_right_get_403(admin: TestClient, public: TestClient,
                                         examiner: TestClient) -> None:
    for client in (public, examiner):
        assert add_mark(client, png(50), {"id": "TM-X"}).status_code == 403
        assert client.delete("/v1/marks/mark-1").status_code == 403
        assert client.post("/v1/reindex").status_code == 403
        assert client.get("/v1/reindex").status_code == 403
        assert client.get("/v1/keys").status_code == 403
        assert client.post("/v1/keys", json={"role": "admin"}).status_code == 403
    assert admin.get("/v1/marks/TM-X").status_code == 404  # nothing was written
    assert admin.get("/v1/marks/mark-1").status_code == 200
    assert add_mark(admin, png(50), {"id": "TM-X"}).status_code == 201


def test_keys_over_http_are_shown_once_and_listed_without_secrets(admin: TestClient) -> None:
    made = admin.post("/v1/keys", json={"role": "examiner", "name": "desk 4"})
    assert made.status_code == 201
    key = made.json()["key"]
    assert key.startswith("tms_") and made.json()["role"] == "examiner"
    listed = admin.get("/v1/keys").json()
    assert any(k["key_id"] == made.json()["key_id"] and k["name"] == "desk 4" for k in listed)
    assert key not in admin.get("/v1/keys").text
    assert admin.post("/v1/keys", json={"role": "king"}).status_code == 422
    assert admin.delete("/v1/keys/ffffffff").status_code == 404


def test_anonymous_access_can_be_turned_off(
    settings: Settings, make_client: Callable[..., TestClient]
) -> None:
    client = make_client(role=None, anonymous_access=False)
    response = client.post("/v1/search", files={"image": ("q.png", png(1), "image/png")})
    assert response.status_code == 401 and response.headers["www-authenticate"] == "Bearer"
    assert client.get("/v1/register").status_code == 401
    assert client.get("/healthz").status_code == 200  # liveness stays open
    key = new_key(settings, "public")
    response = client.post("/v1/search", files={"image": ("q.png", png(1), "image/png")},
                           headers={"Authorization": f"Bearer {key}"})
    assert response.status_code == 200


# -- unpublished marks -------------------------------------------------------------------

def test_search_hides_filed_marks_from_the_public_only(public: TestClient,
                                                       examiner: TestClient) -> None:
    """FILED is an exact copy of mark-3: the examiner's top two, absent for the public,
    who still gets k results."""
    assert set(top_ids(search(examiner, png(3), k=2))) == {FILED, "mark-3"}
    found = top_ids(search(public, png(3), k=10))
    assert found[0] == "mark-3" and FILED not in found and WORDY not in found
    assert len(found) == 10


def test_record_image_thumbnail_and_similar_are_404_for_the_public(
    public: TestClient, examiner: TestClient
) -> None:
    for suffix in ("", "/image", "/thumbnail", "/similar"):
        hidden = public.get(f"/v1/marks/{FILED}{suffix}")
        missing = public.get(f"/v1/marks/TM-NO-SUCH{suffix}")
        assert hidden.status_code == missing.status_code == 404, suffix
        assert FILED in hidden.json()["detail"]  # the same answer as for no such mark
        assert examiner.get(f"/v1/marks/{FILED}{suffix}").status_code == 200, suffix
    assert "private" in examiner.get(f"/v1/marks/{FILED}/image").headers["cache-control"]


def test_similar_from_a_published_mark_leaves_filed_ones_out(public: TestClient,
                                                            examiner: TestClient) -> None:
    assert FILED in top_ids(examiner.get("/v1/marks/mark-3/similar", params={"k": 3}))
    found = top_ids(public.get("/v1/marks/mark-3/similar", params={"k": 13}))
    assert FILED not in found and WORDY not in found and len(found) == 13


def test_explain_refuses_filed_marks_either_side(public: TestClient,
                                                 examiner: TestClient) -> None:
    for fields in ({"result_id": FILED, "query_id": "mark-3"},
                   {"result_id": "mark-3", "query_id": FILED}):
        assert public.post("/v1/explain", data=fields).status_code == 404
        assert examiner.post("/v1/explain", data={**fields, "format": "json"}).status_code == 200
    upload = public.post("/v1/explain", data={"result_id": FILED},
                         files={"image": ("q.png", png(3), "image/png")})
    assert upload.status_code == 404


def test_counts_leave_filed_marks_out_for_the_public(public: TestClient,
                                                     examiner: TestClient) -> None:
    assert examiner.get("/v1/register").json()["marks"] == 16
    body = public.get("/v1/register").json()
    assert body["marks"] == 14 and body["vectors"] is None
    assert public.get("/healthz").json()["marks"] == 14


def test_filters_and_words_cannot_reach_filed_marks(public: TestClient,
                                                    examiner: TestClient) -> None:
    by_status = public.post("/v1/search", files={"image": ("q.png", png(3), "image/png")},
                            data={"status": "filed"})
    assert by_status.status_code == 200 and by_status.json()["results"] == []
    by_owner = public.post("/v1/search", files={"image": ("q.png", png(3), "image/png")},
                           data={"owner": "hidden"})
    assert by_owner.json()["results"] == []
    words = {"text": "ZENITH", "k": "16"}
    wordy = examiner.post("/v1/search", files={"image": ("q.png", png(7), "image/png")},
                          data=words).json()["results"]
    assert any(r["id"] == WORDY for r in wordy)  # the words found it for the examiner
    hidden = public.post("/v1/search", files={"image": ("q.png", png(7), "image/png")},
                         data=words).json()["results"]
    assert all(r["id"] not in (WORDY, FILED) for r in hidden)


def test_browsing_without_an_image_leaves_filed_marks_out(public: TestClient,
                                                          examiner: TestClient) -> None:
    everything = public.get("/v1/marks", params={"per_page": 100}).json()
    assert everything["total"] == 14
    assert {m["id"] for m in everything["marks"]}.isdisjoint({FILED, WORDY})
    for params in ({"status": "filed"}, {"owner": "hidden"}, {"text": "secret"}):
        body = public.get("/v1/marks", params=params).json()
        assert (body["marks"], body["total"]) == ([], 0), params
    seen = examiner.get("/v1/marks", params={"owner": "hidden"}).json()
    assert [m["id"] for m in seen["marks"]] == [FILED] and seen["total"] == 1
    assert examiner.get("/v1/marks", params={"per_page": 100}).json()["total"] == 16


def _finished(client: TestClient, report_id: str) -> dict:
    for _ in range(200):
        body = client.get(f"/v1/reports/{report_id}").json()
        if body["status"] != "running":
            return body
        time.sleep(0.05)
    raise AssertionError("report did not finish")


def test_batch_reports_keep_filed_marks_from_the_public(public: TestClient,
                                                        examiner: TestClient) -> None:
    files = [("images", ("a.png", png(3), "image/png"))]
    mine = public.post("/v1/reports", files=files, data={"k": "5"})
    assert mine.status_code == 202
    body = _finished(public, mine.json()["id"])
    ids = [r["id"] for q in body["queries"] for r in q["results"]]
    assert ids and FILED not in ids
    csv = public.get(f"/v1/reports/{mine.json()['id']}/report.csv")
    assert csv.status_code == 200 and FILED not in csv.text

    theirs = examiner.post("/v1/reports", files=files, data={"k": "5"})
    body = _finished(examiner, theirs.json()["id"])
    assert FILED in [r["id"] for q in body["queries"] for r in q["results"]]
    report_id = theirs.json()["id"]
    for path in ("", "/report.csv", "/report.pdf"):
        assert public.get(f"/v1/reports/{report_id}{path}").status_code == 404, path
        assert examiner.get(f"/v1/reports/{report_id}{path}").status_code == 200, path
