"""API keys: created for a role, stored hashed, checked on every request, revoked.

A key is ``tms_<key id>_<secret>``: the key id (8 hex characters) names the key in
listings and logs and finds its row; the whole key is stored only as its SHA-256. A key
carries 256 random bits, so a plain hash is enough (a slow password hash protects
guessable secrets, which these are not) and checking one costs microseconds. The key
itself is shown once, when it is made.

Keys live in ``keys.sqlite3`` beside the records, so a backup carries them and a new
data dir starts with none.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import sqlite3
import threading
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from service.access import Role

KEYS_FILE = "keys.sqlite3"
_KEY = re.compile(r"^tms_([0-9a-f]{8})_[A-Za-z0-9_-]{20,100}$")
_SCHEMA = """
CREATE TABLE IF NOT EXISTS api_keys (
    key_id TEXT PRIMARY KEY,
    key_hash TEXT NOT NULL,
    role TEXT NOT NULL,
    name TEXT,
    created_at TEXT NOT NULL,
    revoked_at TEXT
);
"""


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


class KeyStore:
    """The API keys of one data dir; thread-safe (one connection, serialised)."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._conn = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._lock = threading.Lock()
        with self._lock:
            self._conn.execute("PRAGMA journal_mode=WAL")
            self._conn.execute("PRAGMA synchronous=FULL")
            self._conn.executescript(_SCHEMA)

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    def create(self, role: Role, name: str | None = None) -> tuple[ApiKey, str]:
        """A new key for ``role``: its record and the key, which is not kept."""
        with self._lock:
            while True:
                key_id = secrets.token_hex(4)
                exists = self._conn.execute(
                    "SELECT 1 FROM api_keys WHERE key_id=?", (key_id,)).fetchone()
                if not exists:
                    break
            key = f"tms_{key_id}_{secrets.token_urlsafe(32)}"
            record = ApiKey(key_id, Role(role), name, _now())
            self._conn.execute(
                "INSERT INTO api_keys (key_id, key_hash, role, name, created_at) "
                "VALUES (?, ?, ?, ?, ?)",
                (key_id, _hash(key), record.role.value, name, record.created_at))
        return record, key

    def authenticate(self, key: str) -> ApiKey | None:
        """The active key ``key`` is, or None (unknown, malformed or revoked)."""
        match = _KEY.match(key)
        if match is None:
            return None
        with self._lock:
            row = self._conn.execute(
                "SELECT key_id, key_hash, role, name, created_at, revoked_at FROM api_keys "
                "WHERE key_id=?", (match.group(1),)).fetchone()
        if row is None or not hmac.compare_digest(row[1], _hash(key)) or row[5] is not None:
            return None
        return ApiKey(row[0], Role(row[2]), row[3], row[4], row[5])

    def list(self) -> list[ApiKey]:
        with self._lock:
            rows = self._conn.execute(
                "SELECT key_id, role, name, created_at, revoked_at FROM api_keys "
                "ORDER BY created_at, key_id").fetchall()
        return [ApiKey(r[0], Role(r[1]), r[2], r[3], r[4]) for r in rows]

    def revoke(self, key_id: str) -> ApiKey:
        """Revoke a key (it then gets 401); UnknownKey if there is no such key."""
        with self._lock:
            self._conn.execute(
                "UPDATE api_keys SET revoked_at=? WHERE key_id=? AND revoked_at IS NULL",
                (_now(), key_id))
            row = self._conn.execute(
                "SELECT key_id, role, name, created_at, revoked_at FROM api_keys "
                "WHERE key_id=?", (key_id,)).fetchone()
        if row is None:
            raise UnknownKey(key_id)
        return ApiKey(row[0], Role(row[1]), row[2], row[3], row[4])
