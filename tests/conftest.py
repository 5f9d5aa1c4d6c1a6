"""Shared fixtures: one loaded model per test session, a fresh register per test."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from models.embedder import Embedder
from service.register import Register
from service.settings import Settings


@pytest.fixture(scope="session")
def embedder() -> Embedder:
    return Embedder(device="cpu", batch_size=32)


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(data_dir=tmp_path / "data", device="cpu", workers=0, batch_size=32)


@pytest.fixture
def postgres_settings(tmp_path: Path, postgres_url: str) -> Settings:
    """``settings`` with the records in a new PostgreSQL database (modules that run
    other modules' tests on PostgreSQL override ``settings`` with it)."""
    return Settings(data_dir=tmp_path / "data", device="cpu", workers=0, batch_size=32,
                    database_url=postgres_url)


@pytest.fixture
def register(settings: Settings, embedder: Embedder) -> Iterator[Register]:
    reg = Register(settings, embedder)
    yield reg
    reg.close()


@pytest.fixture(scope="session")
def milvus_uri(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A Milvus server for the session (started on first use, by tests marked milvus)."""
    from scripts.milvus_server import milvus_server

    with milvus_server(tmp_path_factory.mktemp("milvus")) as uri:
        yield uri


@pytest.fixture(scope="session")
def postgres_server_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A PostgreSQL server for the session (started on first use, by tests marked
    postgres); a URL of its maintenance database."""
    from scripts.postgres_server import postgres_server

    with postgres_server(tmp_path_factory.mktemp("postgres")) as url:
        yield url


@pytest.fixture
def postgres_url(postgres_server_url: str, request: pytest.FixtureRequest) -> str:
    """A new, empty database for one test."""
    import hashlib

    from scripts.postgres_server import create_database

    name = "t_" + hashlib.sha1(request.node.nodeid.encode()).hexdigest()[:20]
    return create_database(postgres_server_url, name)
