"""Mark records over HTTP: read, images, add/replace, delete, validation."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from PIL import Image

from index.faiss_store import FaissStore
from models.embedder import Embedder
from service.api.main import create_app
from service.settings import Settings
from tests.imagegen import make_mark, to_bytes


def add(client: TestClient, data: bytes, metadata: object):
    meta = metadata if isinstance(metadata, str) else json.dumps(metadata)
    return client.post("/v1/marks", files={"image": ("m.png", data)}, data={"metadata": meta})


def top(client: TestClient, data: bytes) -> dict:
    return client.post("/v1/search", files={"image": ("q.png", data)},
                       data={"k": "1"}).json()["results"][0]


def test_get_mark_record_and_images(client: TestClient, seeded: list[Path]) -> None:
    record = client.get("/v1/marks/mark-1").json()
    assert record["id"] == "mark-1" and record["image_url"] == "/v1/marks/mark-1/image"
    image = client.get("/v1/marks/mark-1/image")
    assert image.headers["content-type"] == "image/png"
    assert image.content == seeded[1].read_bytes()  # PNG stored as uploaded
    thumb = Image.open(io.BytesIO(client.get("/v1/marks/mark-1/thumbnail").content))
    assert max(thumb.size) <= 160
    assert client.get("/v1/marks/sub/mark-9").json()["id"] == "sub/mark-9"


@pytest.mark.parametrize("suffix", ["", "/image", "/thumbnail"])
def test_unknown_mark_is_404_json(client: TestClient, suffix: str) -> None:
    response = client.get(f"/v1/marks/nope{suffix}")
    assert response.status_code == 404
    assert "nope" in response.json()["detail"]


def test_add_then_replace_mark(client: TestClient) -> None:
    first, second = to_bytes(make_mark(101)), to_bytes(make_mark(102))
    meta = {"id": "TM-101", "name": "Acme", "owner": "Acme Ltd", "nice_classes": [9, 42],
            "vienna_codes": ["26.01.01"], "status": "registered", "filing_date": "2020-01-31"}
    created = add(client, first, meta)
    assert created.status_code == 201
    body = created.json()
    assert body["nice_classes"] == [9, 42] and body["filing_date"] == "2020-01-31"
    found = top(client, first)
    assert found["id"] == "TM-101" and found["name"] == "Acme" and found["owner"] == "Acme Ltd"

    replaced = add(client, second, {"id": "TM-101", "name": "Acme 2"})
    assert replaced.status_code == 200 and replaced.json()["name"] == "Acme 2"
    assert top(client, second)["id"] == "TM-101"
    assert top(client, first)["id"] != "TM-101" or top(client, first)["score"] < 0.999
    assert client.get("/healthz").json()["marks"] == 11


@pytest.mark.parametrize(
    "metadata",
    [
        "{not json", "[1, 2]", {"name": "no id"}, {"id": "x", "nice_classes": [99]},
        {"id": "x", "vienna_codes": ["A.B"]}, {"id": "x", "status": "pending"},
    ],
)
def test_invalid_metadata_is_422_and_changes_nothing(client: TestClient, metadata: object) -> None:
    response = add(client, to_bytes(make_mark(5)), metadata)
    assert response.status_code == 422
    assert response.json()["detail"]
    assert client.get("/healthz").json()["marks"] == 10
    assert client.get("/v1/marks/x").status_code == 404


def test_bad_image_upload_changes_nothing(client: TestClient) -> None:
    response = add(client, b"GIF89a-broken", {"id": "bad"})
    assert response.status_code in (415, 422)
    assert client.get("/v1/marks/bad").status_code == 404
    assert client.get("/healthz").json()["marks"] == 10


def test_delete_mark(client: TestClient, seeded: list[Path]) -> None:
    assert client.delete("/v1/marks/mark-2").status_code == 204
    assert client.get("/v1/marks/mark-2").status_code == 404
    assert client.delete("/v1/marks/mark-2").status_code == 404
    assert top(client, seeded[2].read_bytes())["id"] != "mark-2"
    assert client.get("/healthz").json()["marks"] == 9


def test_index_of_another_model_answers_409(
    settings: Settings, embedder: Embedder, seeded: list[Path]
) -> None:
    path = settings.resolved_data_dir / "index" / "vectors.tmsi"
    store = FaissStore.load(path)
    store.info.model_version = "older@0"
    store.save(path)
    with TestClient(create_app(settings, embedder)) as client:
        health = client.get("/healthz").json()
        assert health["needs_reindex"] is True
        response = client.post("/v1/search", files={"image": ("q.png", seeded[0].read_bytes())})
        assert response.status_code == 409
        assert "tmsearch reindex" in response.json()["detail"]
