"""/healthz, the docs, the search page, and an index built by another model."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from index.faiss_store import FaissStore
from models.embedder import Embedder
from service.register import Register
from service.settings import Settings
from service.storage.layout import INDEX_FILE
from tests.imagegen import write_marks

from .conftest import add_mark, mark_count, png, search, top_ids


def test_healthz(seeded: TestClient, embedder: Embedder) -> None:
    response = seeded.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {
        "status": "ok",
        "marks": 14,
        "model_version": embedder.version,
        "needs_reindex": False,
    }


def test_healthz_counts_follow_writes(client: TestClient) -> None:
    assert mark_count(client) == 0
    add_mark(client, png(1), {"id": "a"})
    add_mark(client, png(2), {"id": "b"})
    assert mark_count(client) == 2
    client.delete("/v1/marks/a")
    assert mark_count(client) == 1


def test_docs_and_openapi(client: TestClient) -> None:
    docs = client.get("/docs")
    assert docs.status_code == 200
    assert "text/html" in docs.headers["content-type"]
    assert "swagger" in docs.text.lower()
    spec = client.get("/openapi.json")
    assert spec.status_code == 200
    paths = spec.json()["paths"]
    assert "post" in paths["/v1/search"]
    assert "post" in paths["/v1/marks"]
    assert "/healthz" in paths
    assert {"get", "delete"} <= set(paths["/v1/marks/{mark_id}"])
    assert "/" not in paths  # the page is not part of the API


def test_search_page_and_its_static_files(client: TestClient) -> None:
    page = client.get("/")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert "<html" in page.text.lower()
    assert "/static/app.js" in page.text
    for asset in ("/static/app.js", "/static/style.css"):
        assert client.get(asset).status_code == 200, asset
    assert client.get("/static/nope.js").status_code == 404


def test_unknown_route_is_404(client: TestClient) -> None:
    assert client.get("/v2/search").status_code == 404


# -- model mismatch -----------------------------------------------------------------------
@pytest.fixture
def foreign_index(settings: Settings, embedder: Embedder, tmp_path: Path) -> Settings:
    """A register whose saved index claims to come from another model."""
    write_marks(tmp_path / "in", range(5))
    with Register(settings, embedder) as register:
        register.ingest_folder(tmp_path / "in")
    path = settings.resolved_data_dir / INDEX_FILE
    store = FaissStore.load(path)
    assert len(store) >= 5  # whole marks plus components
    store.info.model_version = "some-older-model@000000000000"
    store.save(path)
    assert FaissStore.read_info(path).model_version == "some-older-model@000000000000"
    return settings


def test_model_mismatch_answers_409_with_the_fix(
    foreign_index: Settings, make_client: Callable[..., TestClient], embedder: Embedder
) -> None:
    client = make_client()
    health = client.get("/healthz").json()
    assert health == {"status": "needs-reindex", "marks": 5,
                      "model_version": embedder.version, "needs_reindex": True}

    response = search(client, png(1))
    assert response.status_code == 409
    assert response.headers["content-type"].startswith("application/json")
    detail = response.json()["detail"]
    assert "tmsearch reindex" in detail
    assert "some-older-model@000000000000" in detail

    # writes are refused too (they would mix two models' vectors), and change nothing
    assert add_mark(client, png(9), {"id": "new"}).status_code == 409
    assert client.delete("/v1/marks/mark-1").status_code == 409
    assert mark_count(client) == 5
    # the records themselves stay readable
    assert client.get("/v1/marks/mark-1").status_code == 200
    assert client.get("/v1/marks/mark-1/image").content == png(1)
    # the stale index on disk is left alone for `tmsearch reindex`
    path = foreign_index.resolved_data_dir / INDEX_FILE
    assert FaissStore.read_info(path).model_version == "some-older-model@000000000000"


def test_reindex_clears_the_mismatch(
    foreign_index: Settings, make_client: Callable[..., TestClient], embedder: Embedder
) -> None:
    with Register(foreign_index, embedder) as register:
        assert register.index_error is not None
        assert register.reindex() == 5
    client = make_client()
    assert client.get("/healthz").json()["needs_reindex"] is False
    assert top_ids(search(client, png(3), k=1)) == ["mark-3"]


def test_register_view(seeded: TestClient) -> None:
    body = seeded.get("/v1/register").json()
    assert body["marks"] == 14 and body["vectors"] >= 14
    assert body["index_type"] and body["model_version"] and body["last_ingest"]
    assert body["needs_reindex"] is False and "high >=" in body["risk_thresholds"]
