"""API fixtures: an app per test, served in-process with its lifespan running."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from models.embedder import Embedder
from service.api.main import create_app
from service.register import Register
from service.security.access import Role
from service.security.keys import KeyStore
from service.settings import Settings
from service.storage.layout import DataDir
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
    """Start an app over ``settings`` (optionally changed); every client is closed after.
    The client sends a key of ``role`` (admin by default, so tests of other features
    see and may do everything); ``role=None`` sends no key."""
    open_clients: list[TestClient] = []

    def start(role: str | None = "admin", **changes: Any) -> TestClient:
        changed = settings.model_copy(update=changes)
        client = TestClient(create_app(changed, embedder))
        if role is not None:
            client.headers["Authorization"] = f"Bearer {new_key(changed, role)}"
        client.__enter__()
        open_clients.append(client)
        return client

    yield start
    for client in reversed(open_clients):
        if not getattr(client, "stopped", False):
            client.__exit__(None, None, None)


def new_key(settings: Settings, role: str) -> str:
    """A fresh API key of ``role`` in the data dir of ``settings``."""
    store = KeyStore(DataDir.of(settings).keys)
    try:
        return store.create(Role(role))[1]
    finally:
        store.close()


def stop(client: TestClient) -> None:
    """End a client's lifespan now (closes its register) without the fixture closing it again."""
    client.__exit__(None, None, None)
    client.stopped = True  # type: ignore[attr-defined]


@pytest.fixture
def client(make_client: Callable[..., TestClient]) -> TestClient:
    """An app over an empty register."""
    return make_client()


@pytest.fixture(scope="session")
def seed_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Marks mark-0..mark-11 at the top, and sub/mark-100, sub/mark-101 one level down."""
    folder = tmp_path_factory.mktemp("seed") / "in"
    write_marks(folder, SEEDS)
    write_marks(folder, [100, 101], subdir="sub")
    return folder


@pytest.fixture(scope="session")
def seeded_data_dir(
    tmp_path_factory: pytest.TempPathFactory, embedder: Embedder, seed_folder: Path
) -> Path:
    """A closed register of the 14 seed marks, ingested once and copied for each test."""
    data_dir = tmp_path_factory.mktemp("seeded") / "data"
    settings = Settings(data_dir=data_dir, device="cpu", workers=0, batch_size=32)
    with Register(settings, embedder) as register:
        summary = register.ingest_folder(seed_folder)
    assert (summary.added, summary.failed) == (len(SEEDS) + 2, 0)
    return data_dir


@pytest.fixture
def seeded(settings: Settings, seeded_data_dir: Path,
           make_client: Callable[..., TestClient]) -> TestClient:
    """An app over its own copy of the 14-mark register (ingested before the app started)."""
    shutil.copytree(seeded_data_dir, settings.data_dir)
    return make_client()
