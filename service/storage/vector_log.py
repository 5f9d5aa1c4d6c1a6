"""The vector log: what every write did to the vectors, so that every process on a data
dir sees every other's writes, incrementally.

Each process holds the FAISS index in its own memory. A mark ingested by ``tmsearch
ingest`` while ``tmsearch serve`` runs must reach the server's index without a reload,
and two ingests that save the index at once must not lose each other's vectors. So the
vectors a write adds (and the ids it removes) are appended here, in the same transaction
as the records they belong to: a mark's record and its log rows commit together or not
at all. Other processes read the rows past the last one they applied (``since``) and
apply the ones their writer did not make; a saved index notes the last row it holds
(``<index file>.seq``), so a process that opens it applies only what came after.
A ``reload`` row (a re-index or repair swapped the whole index) tells the others to load
the saved index again instead.

Rows are pruned once a saved index holds them and no follower can still need them
(``KEEP_S`` old); a follower that fell further behind than that reloads the saved index.
The Milvus store needs none of this: its server is the one index every process shares.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from sqlalchemy import Connection, text

ADD, REMOVE, RELOAD = "add", "remove", "reload"
KEEP_S = 600.0  # rows a saved index holds stay this long for followers that lag
PRUNED_META = "vector_log_pruned_upto"


@dataclass(frozen=True)
class LogEntry:
    seq: int
    op: str
    vector_id: int | None
    vector: np.ndarray | None
    writer: str


def append(conn: Connection, writer: str, adds: Sequence[tuple[int, np.ndarray]] = (),
           removes: Iterable[int] = ()) -> None:
    """Log a write's removals, then its additions (inside the records' transaction)."""
    now = time.time()
    rows = [{"op": REMOVE, "vector_id": int(v), "vector": None, "writer": writer, "at": now}
            for v in removes]
    rows += [{"op": ADD, "vector_id": int(v), "writer": writer, "at": now,
              "vector": np.ascontiguousarray(vec, dtype="<f4").tobytes()} for v, vec in adds]
    if rows:
        conn.execute(text("INSERT INTO vector_log(op, vector_id, vector, writer, at) "
                          "VALUES (:op, :vector_id, :vector, :writer, :at)"), rows)


def append_reload(conn: Connection, writer: str) -> None:
    """Log that the saved index was replaced as a whole (re-index, repair)."""
    conn.execute(text("INSERT INTO vector_log(op, vector_id, vector, writer, at) "
                      "VALUES (:op, NULL, NULL, :writer, :at)"),
                 {"op": RELOAD, "writer": writer, "at": time.time()})


def since(conn: Connection, seq: int, limit: int = 20_000) -> list[LogEntry]:
    """The rows after ``seq``, oldest first (at most ``limit``)."""
    rows = conn.execute(text(
        "SELECT seq, op, vector_id, vector, writer FROM vector_log WHERE seq > :seq "
        "ORDER BY seq LIMIT :limit"), {"seq": seq, "limit": limit}).all()
    return [LogEntry(int(r[0]), str(r[1]), None if r[2] is None else int(r[2]),
                     None if r[3] is None else np.frombuffer(bytes(r[3]), dtype="<f4"),
                     str(r[4])) for r in rows]


def head(conn: Connection) -> int:
    """The last row's seq (0 for none)."""
    return int(conn.execute(text("SELECT COALESCE(MAX(seq), 0) FROM vector_log")).scalar_one())


def pruned_upto(conn: Connection) -> int:
    row = conn.execute(text("SELECT value FROM meta WHERE key = :key"),
                       {"key": PRUNED_META}).first()
    return 0 if row is None else int(row[0])


def prune(conn: Connection, saved_seq: int, keep_s: float = KEEP_S) -> int:
    """Delete rows a saved index holds that are older than ``keep_s``; how many."""
    cutoff = time.time() - keep_s
    upto = conn.execute(text("SELECT MAX(seq) FROM vector_log WHERE seq <= :saved AND at < :cut"),
                        {"saved": saved_seq, "cut": cutoff}).scalar_one()
    if upto is None:
        return 0
    deleted = conn.execute(text("DELETE FROM vector_log WHERE seq <= :upto"),
                           {"upto": int(upto)}).rowcount
    conn.execute(text("INSERT INTO meta(key, value) VALUES (:key, :value) ON CONFLICT(key) "
                      "DO UPDATE SET value = excluded.value"),
                 {"key": PRUNED_META, "value": str(int(upto))})
    return int(deleted or 0)


# -- the saved index's place in the log -----------------------------------------------
def seq_file(index_path: Path) -> Path:
    return index_path.with_name(index_path.name + ".seq")


def saved_seq(index_path: Path) -> int:
    """The last log row the saved index holds (0: none, or no note)."""
    try:
        return int(seq_file(index_path).read_text().strip() or 0)
    except (OSError, ValueError):
        return 0


def write_saved_seq(index_path: Path, seq: int) -> None:
    """Note ``seq`` beside the saved index (after it is saved: a crash between leaves an
    older note, and applying rows the index holds again changes nothing)."""
    path = seq_file(index_path)
    partial = path.with_name(path.name + ".tmp")
    partial.write_text(str(int(seq)))
    os.replace(partial, path)
