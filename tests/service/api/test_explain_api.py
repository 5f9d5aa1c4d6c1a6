"""POST /v1/explain: heat-map overlays for a query and a result."""

from __future__ import annotations

import io

import pytest
from fastapi.testclient import TestClient
from PIL import Image

from tests.service.api.conftest import add_mark, png


def _explain(client: TestClient, **form: str) -> object:
    files = {"image": ("q.png", png(3), "image/png")} if "query_id" not in form else None
    return client.post("/v1/explain", data=form, files=files)


def test_explain_returns_a_side_by_side_png(seeded: TestClient) -> None:
    response = _explain(seeded, result_id="mark-3")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "image/png"
    image = Image.open(io.BytesIO(response.content))
    assert image.width > image.height > 100


def test_explain_json_has_heat_maps_and_the_score(seeded: TestClient) -> None:
    body = _explain(seeded, result_id="mark-3", format="json").json()
    assert body["score"] > 0.99  # the query is mark-3's own image
    grid = body["grid"]
    assert len(body["query_heat"]) == grid and len(body["result_heat"][0]) == grid
    assert all(0.0 <= v <= 1.0 for row in body["query_heat"] for v in row)
    assert max(v for row in body["query_heat"] for v in row) == 1.0


def test_explain_by_query_mark_id(client: TestClient) -> None:
    for seed in (1, 2):
        assert add_mark(client, png(seed), {"id": f"m{seed}"}).status_code == 201
    response = client.post("/v1/explain", data={"query_id": "m1", "result_id": "m2",
                                                "format": "json"})
    assert response.status_code == 200, response.text
    by_id = response.json()["score"]
    assert -1.0 <= by_id < 0.999
    uploaded = client.post("/v1/explain", data={"result_id": "m2", "format": "json"},
                           files={"image": ("q.png", png(1), "image/png")}).json()["score"]
    assert by_id == pytest.approx(uploaded, abs=1e-4)  # the stored m1 is the query


def test_explain_errors(seeded: TestClient) -> None:
    assert _explain(seeded, result_id="no-such-mark").status_code == 404
    both = seeded.post("/v1/explain", data={"result_id": "mark-1", "query_id": "mark-2"},
                       files={"image": ("q.png", png(3), "image/png")})
    assert both.status_code == 422 and "not both" in both.json()["detail"]
    neither = seeded.post("/v1/explain", data={"result_id": "mark-1"})
    assert neither.status_code == 422
    junk = seeded.post("/v1/explain", data={"result_id": "mark-1"},
                       files={"image": ("q.png", b"not an image", "image/png")})
    assert junk.status_code in (415, 422)
