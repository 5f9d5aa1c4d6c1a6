"""Records locations: what is accepted, what is refused with a reason, and that a
password never reaches a message."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from service.settings import Settings
from service.storage.db.engine import DatabaseUrlError, database_url, redacted
from service.storage.records import RecordStore, RecordStoreUnavailable


def test_a_path_is_a_sqlite_file(tmp_path: Path) -> None:
    url = database_url(tmp_path / "r.sqlite3")
    assert url.get_backend_name() == "sqlite" and url.database == str(tmp_path / "r.sqlite3")
    assert database_url(f"sqlite:///{tmp_path}/x.db").database == f"{tmp_path}/x.db"


@pytest.mark.parametrize("given", ["postgresql://u:p@db:5432/reg", "postgres://u:p@db/reg",
                                   "postgresql+psycopg://u:p@db/reg"])
def test_postgresql_urls_are_driven_by_psycopg(given: str) -> None:
    url = database_url(given)
    assert url.drivername == "postgresql+psycopg" and url.database == "reg"


@pytest.mark.parametrize("given, reason", [
    ("mysql://u:p@db/reg", "unsupported"),
    ("postgresql+asyncpg://u@db/reg", "psycopg"),
    ("sqlite://", "must be a file"),
    ("sqlite:///:memory:", "must be a file"),
])
def test_refused_urls_say_why(given: str, reason: str) -> None:
    with pytest.raises(DatabaseUrlError, match=reason):
        database_url(given)


def test_settings_refuse_a_bad_database_url() -> None:
    with pytest.raises(ValidationError, match="unsupported"):
        Settings(database_url="oracle://x/y")


def test_passwords_are_never_shown() -> None:
    assert "s3cret" not in redacted("postgresql://u:s3cret@db/reg")
    assert "s3cret" not in redacted(database_url("postgresql://u:s3cret@db/reg"))


def test_an_unreachable_server_is_one_clear_error() -> None:
    import socket

    with socket.socket() as sock:  # a port nothing listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with pytest.raises(RecordStoreUnavailable, match="cannot reach") as caught:
        RecordStore(f"postgresql://u:s3cret@127.0.0.1:{port}/reg")
    assert "s3cret" not in str(caught.value)
