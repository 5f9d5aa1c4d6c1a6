"""The register with its records in a real PostgreSQL server gives the SQLite register's
answers, and the register's own tests pass on it: ingest (skips, updates, metadata
files, bad files), removal, replacement, re-index, crash repair on open, filters, words.
With Milvus beside it, the whole multi-machine stack answers like the embedded one."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from models.embedder import Embedder
from service.register import Register
from service.settings import Settings
from tests.imagegen import make_mark, to_bytes, write_marks
from tests.service.register_cases import OPTIONS, SEEDS, meta, result_ids

# The register's own tests, collected again here, where `settings` (below) puts the
# records in PostgreSQL: the same assertions hold on either database.
from tests.service.test_register import (  # noqa: F401
    test_add_mark_creates_then_replaces,
    test_bad_files_reported_and_batch_continues,
    test_crash_before_index_save_is_repaired_on_open,
    test_file_with_an_invalid_metadata_row_fails_whole_and_no_duplicate_later,
    test_metadata_file_gives_ids_and_fields_and_metadata_only_updates,
    test_reindex_keeps_results_and_swaps_index,
    test_reingest_skips_unchanged_and_updates_changed,
    test_remove_then_search_and_id_map,
    test_stats,
)
from tests.service.test_register_search import (  # noqa: F401
    test_selective_filter_still_returns_k_results,
    test_similar_leaves_out_the_mark_and_honours_filters,
)
from tests.service.test_register_words import (  # noqa: F401
    test_marks_found_only_by_their_words_join_the_results,
    test_typed_words_raise_the_mark_with_those_words,
    test_word_candidates_obey_filters_and_exclusions,
)

pytestmark = pytest.mark.postgres


@pytest.fixture
def settings(postgres_settings: Settings) -> Settings:
    return postgres_settings


def test_the_records_are_in_postgresql(register: Register) -> None:
    register.add_mark(to_bytes(make_mark(1)), meta(1))
    assert register.records.backend == "postgresql"
    assert not (register.data_dir / "records.sqlite3").exists()
    assert register.stats()["marks"] == 1


def test_forked_ingest_workers_leave_the_pool_working(settings: Settings, embedder: Embedder,
                                                     tmp_path: Path) -> None:
    """Worker processes fork with the pool's connections open; they never touch them,
    and the parent's connections still work after they are gone."""
    write_marks(tmp_path / "in", range(10))
    with Register(settings.model_copy(update={"workers": 2}), embedder) as register:
        register.add_mark(to_bytes(make_mark(50)), meta(50))  # connections open before fork
        summary = register.ingest_folder(tmp_path / "in")
        assert (summary.added, summary.failed) == (10, 0)
        assert register.records.count() == 11
        assert result_ids(register, 3, OPTIONS["examiner"], 1) == ["mark-3"]
        register.add_mark(to_bytes(make_mark(51)), meta(51))
        assert register.records.count() == 12


@contextmanager
def _pair(base: Path, embedder: Embedder, first: dict, second: dict
          ) -> Iterator[tuple[Register, Register]]:
    """The same 30 marks in two registers set up differently."""
    settings = Settings(device="cpu", workers=0, batch_size=32)
    registers = [Register(settings.model_copy(update={"data_dir": base / name, **changes}),
                          embedder) for name, changes in (("a", first), ("b", second))]
    try:
        for register in registers:
            for seed in SEEDS:
                register.add_mark(to_bytes(make_mark(seed)), meta(seed))
        yield registers[0], registers[1]
    finally:
        for register in registers:
            register.close()


@pytest.fixture(scope="module")
def sqlite_and_postgres(tmp_path_factory: pytest.TempPathFactory, embedder: Embedder,
                        postgres_server_url: str) -> Iterator[tuple[Register, Register]]:
    from scripts.postgres_server import create_database

    url = create_database(postgres_server_url, f"pair_{uuid.uuid4().hex[:12]}")
    with _pair(tmp_path_factory.mktemp("pg-pair"), embedder, {}, {"database_url": url}) as both:
        yield both


@pytest.mark.parametrize("name", list(OPTIONS))
def test_postgresql_answers_like_sqlite(sqlite_and_postgres: tuple[Register, Register],
                                        name: str) -> None:
    on_sqlite, on_postgres = sqlite_and_postgres
    assert (on_sqlite.records.backend, on_postgres.records.backend) == ("sqlite", "postgresql")
    for seed in (1, 3, 8, 14, 22):
        expected = result_ids(on_sqlite, seed, OPTIONS[name])
        assert result_ids(on_postgres, seed, OPTIONS[name]) == expected, (name, seed)
    assert on_postgres.records.count(include_unpublished=False) == \
        on_sqlite.records.count(include_unpublished=False)


@pytest.mark.milvus
def test_postgresql_and_milvus_answer_like_sqlite_and_faiss(
    tmp_path: Path, embedder: Embedder, postgres_url: str, milvus_uri: str
) -> None:
    """The multi-machine stack: records in PostgreSQL, vectors in Milvus."""
    national = {"database_url": postgres_url, "vector_store": milvus_uri,
                "milvus_collection": f"reg_{uuid.uuid4().hex[:10]}"}
    with _pair(tmp_path, embedder, {}, national) as (embedded, distributed):
        assert (distributed.records.backend, distributed.stats()["index_type"]) == \
            ("postgresql", "milvus")
        for register in (embedded, distributed):
            register.remove(["mark-10"])
            register.add_mark(to_bytes(make_mark(99)), meta(20))  # a new image for mark-20
        for name, options in OPTIONS.items():
            for seed in (3, 10, 99):
                assert result_ids(distributed, seed, options) == \
                    result_ids(embedded, seed, options), (name, seed)
        assert distributed.reindex() == len(SEEDS) - 1
        assert result_ids(distributed, 99, OPTIONS["examiner"], 1) == ["mark-20"]
        assert len(distributed.store) == len(distributed.records.vector_ids())
