"""Two registers on one data dir stand for two processes (each holds its own in-memory
index): what one writes the other applies from the vector log, incrementally, and two
saves keep each other's vectors."""

from __future__ import annotations

import numpy as np

from models.embedder import Embedder
from service.marks.metadata import MarkMetadata
from service.ops.consistency import check
from service.register import Register
from service.settings import Settings
from service.storage import vector_log
from tests.imagegen import make_mark, to_bytes


def add(register: Register, seed: int) -> None:
    register.add_mark(to_bytes(make_mark(seed)), MarkMetadata(id=f"m{seed}", name=f"M{seed}"))


def top(register: Register, seed: int) -> str | None:
    results = register.search(to_bytes(make_mark(seed)), 1)
    return results[0].record.id if results else None


def test_a_write_in_one_process_reaches_the_other_by_following(
    settings: Settings, embedder: Embedder
) -> None:
    with Register(settings, embedder) as server, Register(settings, embedder) as cli:
        add(server, 1)
        add(cli, 2)  # the "CLI" writes: the server has not seen it
        assert top(server, 2) != "m2"
        applied = server.index.follow()
        assert applied == 1 + len(cli.records.get("m2").components)
        assert top(server, 2) == "m2"
        assert server.index.follow() == 0  # nothing new: nothing done
        cli.remove(["m2"])
        server.index.follow()
        assert "m2" not in {r.record.id for r in server.search(to_bytes(make_mark(2)), 5)}
        assert len(server.store) == len(cli.store)


def test_replacing_a_mark_elsewhere_replaces_its_vectors_here(
    settings: Settings, embedder: Embedder
) -> None:
    with Register(settings, embedder) as server, Register(settings, embedder) as cli:
        add(cli, 3)
        server.index.follow()
        cli.add_mark(to_bytes(make_mark(4)), MarkMetadata(id="m3", name="now 4"))  # new image
        server.index.follow()
        assert set(server.store.ids().tolist()) == set(server.records.vector_ids())
        assert top(server, 4) == "m3"


def test_a_remove_here_of_a_mark_added_there_and_not_yet_seen_stays_removed(
    settings: Settings, embedder: Embedder
) -> None:
    with Register(settings, embedder) as server, Register(settings, embedder) as cli:
        add(cli, 5)
        server.remove(["m5"])  # the server deletes it before it followed the add
        server.index.follow()  # the add, then our own remove, in log order
        assert len(server.store) == 0 and server.records.count() == 0


def test_two_writers_saving_keep_each_others_vectors(
    settings: Settings, embedder: Embedder
) -> None:
    first, second = Register(settings, embedder), Register(settings, embedder)
    for seed in range(3):
        add(first, seed)
    for seed in range(10, 13):
        add(second, seed)
    first.save_index()
    second.save_index()  # it saved over the first's before: 3 of 6 marks' vectors lost
    first.close()
    second.close()
    report = check(first.layout)
    assert report.ok, report.to_dict()
    assert report.vectors_indexed == report.vectors_expected
    with Register(settings, embedder) as reopened:
        assert all(top(reopened, s) == f"m{s}" for s in (0, 1, 2, 10, 11, 12))


def test_the_log_is_pruned_once_saved_and_a_follower_behind_reloads(
    settings: Settings, embedder: Embedder
) -> None:
    with Register(settings, embedder) as server, Register(settings, embedder) as cli:
        add(cli, 6)
        cli.save_index()
        with cli.records.transaction() as conn:
            assert vector_log.prune(conn, cli.index.log_seq, keep_s=0) > 0
            assert vector_log.since(conn, 0) == []
        assert server.index.follow() == 0  # behind the pruned rows: the saved index again
        assert top(server, 6) == "m6"
        assert vector_log.saved_seq(server.index.path) == cli.index.log_seq


def test_the_saved_index_notes_its_place_in_the_log(settings: Settings, embedder: Embedder
                                                    ) -> None:
    with Register(settings, embedder) as register:
        add(register, 7)
        register.save_index()
        with register.records.connection() as conn:
            assert vector_log.saved_seq(register.index.path) == vector_log.head(conn) > 0
        with register.records.connection() as conn:
            rows = vector_log.since(conn, 0)
        assert {r.op for r in rows} == {"add"}
        vector = next(r.vector for r in rows if r.vector_id == register.records.get("m7").vector_id)
        np.testing.assert_allclose(vector, register.store.reconstruct(
            register.records.get("m7").vector_id), atol=1e-6)


def test_a_reindex_elsewhere_makes_the_others_load_the_new_index(
    settings: Settings, embedder: Embedder
) -> None:
    with Register(settings, embedder) as server, Register(settings, embedder) as cli:
        for seed in range(4):
            add(cli, seed)
        server.index.follow()
        before = server.store
        cli.reindex()
        add(server, 9)  # a write of the server's own after the swap, before it follows
        server.index.follow()
        assert server.store is not before  # loaded again from the re-indexed file
        assert all(top(server, s) == f"m{s}" for s in (0, 1, 2, 3, 9))
        assert set(server.store.ids().tolist()) == set(server.records.vector_ids())
