"""Re-index through the API: started in the background, followed, searches answered."""

from __future__ import annotations

import time

from fastapi.testclient import TestClient

from tests.service.api.conftest import png, search, top_ids


def wait_done(client: TestClient, timeout: float = 60.0) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        status = client.get("/v1/reindex").json()
        if status["status"] != "running":
            return status
        time.sleep(0.05)
    raise AssertionError("the re-index did not finish")


def test_reindex_runs_in_the_background_into_the_kind_asked(seeded: TestClient) -> None:
    assert seeded.get("/v1/reindex").json()["status"] == "idle"
    started = seeded.post("/v1/reindex", json={"index": "hnsw"})
    assert started.status_code == 202, started.text
    assert started.json()["status"] == "running"
    assert top_ids(search(seeded, png(4), k=3))[0] == "mark-4"  # answered meanwhile
    status = wait_done(seeded)
    assert status["status"] == "done", status
    assert status["done"] == status["total"] == 14
    assert seeded.get("/v1/register").json()["index_type"] == "hnsw"
    assert top_ids(search(seeded, png(4), k=3))[0] == "mark-4"


def test_reindex_errors_are_reported(seeded: TestClient) -> None:
    assert seeded.post("/v1/reindex", json={"index": "nope"}).status_code == 422
    seeded.post("/v1/reindex", json={"index": "flat", "memory_budget": 1000})
    status = wait_done(seeded)
    assert status["status"] == "failed" and "budget" in status["error"]
    assert top_ids(search(seeded, png(2), k=1)) == ["mark-2"]  # old index still serves
