"""Record-store fixtures: each test that takes ``store`` runs on SQLite and on a real
PostgreSQL server (marked postgres)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from service.storage.mark_record import NewImage
from service.storage.records import RecordStore


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def location(request: pytest.FixtureRequest, tmp_path: Path) -> str | Path:
    """Where a test's records live: a SQLite file, or a new PostgreSQL database."""
    if request.param == "postgres":
        return request.getfixturevalue("postgres_url")
    return tmp_path / "r.sqlite3"


@pytest.fixture
def store(location: str | Path) -> Iterator[RecordStore]:
    s = RecordStore(location)
    yield s
    s.close()


def img(n: int) -> NewImage:
    return NewImage(f"hash{n}", f"key{n}", "image/png")


