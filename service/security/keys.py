"""API keys: created for a role, stored hashed, checked on every request, revoked.

A key is ``tms_<key id>_<secret>``: the key id (8 hex characters) names the key in
listings and logs and finds its row; the whole key is stored only as its SHA-256. A key
carries 256 random bits, so a plain hash is enough (a slow password hash protects
guessable secrets, which these are not) and checking one costs microseconds. The key
itself is shown once, when it is made.

Keys live in ``keys.sqlite3`` beside the records, so a backup carries them and a new
data dir starts with none; a register whose records are in a database server keeps them
there (table ``api_keys``, migration 0002), so every node of the service checks the same
keys (``DataDir.keys``, service/storage/layout.py).
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import threading
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import text

from service.security.access import Role
from service.storage.db.engine import create_records_engine, database_url
from service.storage.db.migrate import ensure_schema

KEYS_FILE = "keys.sqlite3"
_KEY = re.compile(r"^tms_([0-9a-f]{8})_[A-Za-z0-9_-]{20,100}$")
# the keys file's own schema (in a database server the migrations make the same table)
_SCHEMA = """
CREATE TABLE IF NOT EXISTS api_keys (
    key_id TEXT PRIMARY KEY,
    key_hash TEXT NOT NULL,
    role TEXT NOT NULL,
    name TEXT,
    created_at TEXT NOT NULL,
    revoked_at TEXT
)
"""
_COLUMNS = "key_id, role, name, created_at, revoked_at"


class UnknownKey(LookupError):
    """No key with that id."""


@dataclass(frozen=True)
class ApiKey:
    """A key's record (never the key itself)."""

    key_id: str
    role: Role
    name: str | None
    created_at: str
    revoked_at: str | None = None

    @property
    def active(self) -> bool:
        return self.revoked_at is None


def _hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _key(row: Any) -> ApiKey:
    return ApiKey(str(row.key_id), Role(row.role), row.name, str(row.created_at),
                  row.revoked_at)


class KeyStore:
    """The API keys of one register; thread-safe. ``location``: the keys file, or the
    URL of the register's database server (``DataDir.keys``)."""

    def __init__(self, location: str | Path) -> None:
        url = database_url(location)
        self.engine = create_records_engine(url)
        sqlite = url.get_backend_name() == "sqlite"
        self._lock: AbstractContextManager[Any] = threading.Lock() if sqlite else nullcontext()
        try:
            if sqlite:
                with self._lock, self.engine.begin() as conn:
                    conn.exec_driver_sql(_SCHEMA)
            else:
                ensure_schema(self.engine)
        except BaseException:
            self.engine.dispose()
            raise

    def close(self) -> None:
        with self._lock:
            self.engine.dispose()

    def create(self, role: Role, name: str | None = None) -> tuple[ApiKey, str]:
        """A new key for ``role``: its record and the key, which is not kept."""
        with self._lock, self.engine.begin() as conn:
            while True:
                key_id = secrets.token_hex(4)
                exists = conn.execute(text("SELECT 1 FROM api_keys WHERE key_id = :id"),
                                      {"id": key_id}).first()
                if not exists:
                    break
            key = f"tms_{key_id}_{secrets.token_urlsafe(32)}"
            record = ApiKey(key_id, Role(role), name, _now())
            conn.execute(text(
                "INSERT INTO api_keys (key_id, key_hash, role, name, created_at) "
                "VALUES (:key_id, :key_hash, :role, :name, :created_at)"),
                {"key_id": key_id, "key_hash": _hash(key), "role": record.role.value,
                 "name": name, "created_at": record.created_at})
        return record, key

    def authenticate(self, key: str) -> ApiKey | None:
        """The active key ``key`` is, or None (unknown, malformed or revoked)."""
        match = _KEY.match(key)
        if match is None:
            return None
        with self._lock, self.engine.connect() as conn:
            row = conn.execute(text(f"SELECT key_hash, {_COLUMNS} FROM api_keys "
                                    "WHERE key_id = :id"), {"id": match.group(1)}).first()
        if row is None or not hmac.compare_digest(row.key_hash, _hash(key)) \
                or row.revoked_at is not None:
            return None
        return _key(row)

    def list(self) -> list[ApiKey]:
        with self._lock, self.engine.connect() as conn:
            rows = conn.execute(text(
                f"SELECT {_COLUMNS} FROM api_keys ORDER BY created_at, key_id")).all()
        return [_key(r) for r in rows]

    def revoke(self, key_id: str) -> ApiKey:
        """Revoke a key (it then gets 401); UnknownKey if there is no such key."""
        with self._lock, self.engine.begin() as conn:
            conn.execute(text("UPDATE api_keys SET revoked_at = :now "
                              "WHERE key_id = :id AND revoked_at IS NULL"),
                         {"now": _now(), "id": key_id})
            row = conn.execute(text(f"SELECT {_COLUMNS} FROM api_keys WHERE key_id = :id"),
                               {"id": key_id}).first()
        if row is None:
            raise UnknownKey(key_id)
        return _key(row)
