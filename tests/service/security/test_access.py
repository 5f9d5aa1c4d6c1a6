"""Roles, publication status and the keys behind them, below the API."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
from typer.testing import CliRunner

from service.cli import app
from service.marks.filters import parse_filters
from service.marks.metadata import MarkMetadata
from service.register import Register
from service.search.query import SearchOptions
from service.security.access import Role, is_published
from service.security.keys import KEYS_FILE, KeyStore, UnknownKey
from service.storage.layout import DataDir
from service.storage.stored_marks import MarkNotFound
from tests.imagegen import make_mark, to_bytes


def test_roles_and_publication() -> None:
    assert not Role.public.sees_unpublished and not Role.public.can_write
    assert Role.examiner.sees_unpublished and not Role.examiner.can_write
    assert Role.admin.sees_unpublished and Role.admin.can_write
    assert not is_published("filed")
    assert all(is_published(s) for s in (None, "published", "registered", "expired", "refused"))


def test_keys_are_stored_hashed_checked_and_revoked(tmp_path: Path) -> None:
    store = KeyStore(tmp_path / KEYS_FILE)
    record, key = store.create(Role.examiner, "desk 4")
    assert store.authenticate(key) == record and record.active
    assert store.authenticate(key[:-1] + ("A" if key[-1] != "A" else "B")) is None
    assert store.authenticate("tms_" + record.key_id) is None
    store.close()
    assert key.encode() not in (tmp_path / KEYS_FILE).read_bytes()  # only its hash is kept
    store = KeyStore(tmp_path / KEYS_FILE)
    assert store.authenticate(key) == record  # survives a restart
    revoked = store.revoke(record.key_id)
    assert revoked.revoked_at is not None and store.authenticate(key) is None
    with pytest.raises(UnknownKey):
        store.revoke("00000000")
    assert [k.key_id for k in store.list()] == [record.key_id]
    store.close()


@pytest.mark.postgres
def test_keys_in_the_database_server_are_shared_by_every_node(
    tmp_path: Path, postgres_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With the records in PostgreSQL the keys are there too: a key made on one node
    (here, by the CLI) works on every other, and a revocation anywhere holds everywhere."""
    monkeypatch.setenv("TMSEARCH_DATABASE_URL", postgres_url)
    made = CliRunner().invoke(app, ["--data-dir", str(tmp_path / "node-a"), "keys", "create",
                                    "--role", "examiner"])
    assert made.exit_code == 0, made.output
    key = made.output.strip().splitlines()[-1]
    assert not (tmp_path / "node-a" / KEYS_FILE).exists()
    node_b, node_c = (KeyStore(DataDir(tmp_path / n, postgres_url).keys) for n in "bc")
    found = node_b.authenticate(key)
    assert found is not None and found.role is Role.examiner
    node_c.revoke(found.key_id)
    assert node_b.authenticate(key) is None
    node_b.close()
    node_c.close()


def test_cli_keys_create_prints_the_key_on_its_last_line(tmp_path: Path) -> None:
    runner = CliRunner()
    base = ["--data-dir", str(tmp_path)]
    made = runner.invoke(app, [*base, "keys", "create", "--role", "admin", "--name", "ops"])
    assert made.exit_code == 0, made.output
    key = made.output.strip().splitlines()[-1]
    store = KeyStore(tmp_path / KEYS_FILE)
    found = store.authenticate(key)
    store.close()
    assert found is not None and found.role is Role.admin and found.name == "ops"
    listed = runner.invoke(app, [*base, "keys", "list"])
    assert found.key_id in listed.output and "admin" in listed.output and key not in listed.output
    assert runner.invoke(app, [*base, "keys", "revoke", found.key_id]).exit_code == 0
    assert "revoked" in runner.invoke(app, [*base, "keys", "list"]).output
    assert runner.invoke(app, [*base, "keys", "revoke", "ffffffff"]).exit_code == 1
    assert runner.invoke(app, [*base, "keys", "create", "--role", "king"]).exit_code == 2


def test_register_hides_filed_marks_unless_asked(register: Register) -> None:
    for seed in range(6):
        register.add_mark(to_bytes(make_mark(seed)), MarkMetadata(id=f"mark-{seed}"))
    register.add_mark(to_bytes(make_mark(2)),
                      MarkMetadata(id="filed-2", status="filed", nice_classes=[9]))
    query = to_bytes(make_mark(2))
    shown = SearchOptions(include_unpublished=True)
    assert {r.record.id for r in register.search(query, 2, shown)} == {"filed-2", "mark-2"}
    hidden = register.search(query, 10)  # the default: published marks only
    assert "filed-2" not in [r.record.id for r in hidden] and len(hidden) == 6
    filtered = SearchOptions(filters=parse_filters(nice_classes="9"))
    assert list(register.search(query, 10, filtered)) == []
    assert [r.record.id for r in register.search(query, 10, replace(
        filtered, include_unpublished=True))] == ["filed-2"]
    with pytest.raises(MarkNotFound):
        register.get("filed-2", include_unpublished=False)
    with pytest.raises(MarkNotFound):
        register.similar("filed-2")
    assert "filed-2" not in [r.record.id for r in register.similar("mark-2")]
    assert register.stats(include_unpublished=False)["marks"] == 6
    assert register.stats()["marks"] == 7
