"""API fixtures: an app per test, served in-process with its lifespan running."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from models.embedder import Embedder
from service.api.main import create_app
from service.register import Register
from service.settings import Settings
from tests.imagegen import make_mark, to_bytes, write_marks

SEEDS = range(12)


def png(seed: int, size: int = 128) -> bytes:
    return to_bytes(make_mark(seed, size=size))


def search(client: TestClient, data: bytes, k: int | None = None,
           filename: str = "query.png", content_type: str = "image/png") -> httpx.Response:
    form = {"k": str(k)} if k is not None else {}
    return client.post("/v1/search", files={"image": (filename, data, content_type)}, data=form)


def top_ids(response: httpx.Response) -> list[str]:
    assert response.status_code == 200, response.text
    return [r["id"] for r in response.json()["results"]]


def add_mark(client: TestClient, data: bytes, metadata: Any,
             filename: str = "mark.png") -> httpx.Response:
    body = metadata if isinstance(metadata, str) else json.dumps(metadata)
    return client.post("/v1/marks", files={"image": (filename, data, "image/png")},
                       data={"metadata": body})


def mark_count(client: TestClient) -> int:
    response = client.get("/healthz")
    assert response.status_code == 200
    return response.json()["marks"]


@pytest.fixture
def make_client(
    settings: Settings, embedder: Embedder
) -> Iterator[Callable[..., TestClient]]:
    """Start an app over ``settings`` (optionally changed); every client is closed after."""
    open_clients: list[TestClient] = []

    def start(**changes: Any) -> TestClient:
        client = TestClient(create_app(settings.model_copy(update=changes), embedder))
        client.__enter__()
        open_clients.append(client)
        return client

    yield start
    for client in reversed(open_clients):
        client.__exit__(None, None, None)


@pytest.fixture
def client(make_client: Callable[..., TestClient]) -> TestClient:
    """An app over an empty register."""
    return make_client()


@pytest.fixture
def seed_folder(tmp_path: Path) -> Path:
    """Marks mark-0..mark-11 at the top, and sub/mark-100, sub/mark-101 one level down."""
    folder = tmp_path / "in"
    write_marks(folder, SEEDS)
    write_marks(folder, [100, 101], subdir="sub")
    return folder


@pytest.fixture
def seeded(settings: Settings, embedder: Embedder, seed_folder: Path,
           make_client: Callable[..., TestClient]) -> TestClient:
    """An app over a register of 14 marks ingested from a folder before the app starts."""
    with Register(settings, embedder) as register:
        summary = register.ingest_folder(seed_folder)
    assert (summary.added, summary.failed) == (len(SEEDS) + 2, 0)
    return make_client()
