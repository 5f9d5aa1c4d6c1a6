"""The vector store on a Milvus server, for registers beyond one process.

``TMSEARCH_VECTOR_STORE=milvus://host:port`` puts the register's vectors in Milvus
instead of the embedded FAISS index; records stay where they are (SQLite or
PostgreSQL). The semantics are the FAISS store's: ``add`` is an upsert by vector id,
``remove`` deletes by id, ``search`` returns the best ``k`` by cosine (inner product of
unit vectors) among allowed ids, less excluded ones, where conditions on the scalar
fields each vector carries hold (``index.field_filter``, turned into a Milvus expression
by ``milvus_expression``; the fields are ``service.storage.vector_fields``').

Collection schema (one collection per index build):

| field | type | what |
|---|---|---|
| ``vector_id`` | INT64, primary key | the records' vector id (whole mark or figure) |
| ``status`` | VARCHAR(16) | the mark's status, "" when none |
| ``nice`` | ARRAY<INT64>(45) | Nice classes |
| ``vienna`` | ARRAY<VARCHAR(16)>(128) | Vienna codes with every prefix by whole levels |
| ``filed`` | VARCHAR(10) | filing date (ISO), "" when none |
| ``v`` | FLOAT_VECTOR(dim) | the unit embedding |

Index (``TMSEARCH_MILVUS_INDEX``), metric IP:

- ``hnsw`` (default): HNSW, M=32, efConstruction=200, searched with ef = max(64, 2k).
  Vectors stay float32 (4 x dim bytes) plus the graph (about 2 x M x 4 bytes a vector).
- ``ivf_pq``: IVF_PQ, nlist=1024 per segment, m = dim/4 sub-quantisers of 8 bits (64
  bytes a vector at dim 256), searched with nprobe=64: for registers whose raw vectors
  would not fit the query nodes' memory. It loses recall (0.824 at 100k vectors, 0.115
  under a filter, ``scripts/bench_milvus.py``): Milvus 2.3 keeps no raw vectors to
  re-rank with. Milvus builds it for each sealed segment;
  segments still growing are searched exactly.

The index a collection was built with is in its description, so a register keeps
searching it as built; changing the setting takes effect at the next ``tmsearch
reindex``, which builds the new collection with it.
Searches run at consistency level ``Session`` by default: they see every write this
process acknowledged (as with FAISS, whose index is the process's own), at 2.7 ms a
query against 100k vectors here; ``Strong`` also waits for writes of other processes
and costs a time tick (200-400 ms here, ``scripts/bench_milvus.py``). Maintenance reads
(the ids, counts and presence that reconcile compares with the records) are always
``Strong``.

The register reaches its collection through an alias (``TMSEARCH_MILVUS_COLLECTION``,
default ``tmsearch``). A re-index builds a new collection ``<alias>_<token>``, fills,
indexes and loads it while searches go on against the old one, then "saving" the new
store moves the alias to it in one server-side operation and drops the old collection,
so no query ever sees a half-built index. The model version that made the vectors is in
the collection's description: a register opened with another model gets
``IndexMismatchError`` (re-index), as with a FAISS index file.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterable, Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import numpy as np

from index.base import IndexInfo, IndexMismatchError, SearchHits, VectorNotFound
from index.field_filter import FieldFilter

HNSW = {"M": 32, "efConstruction": 200}
IVF_PQ_NLIST, IVF_PQ_NPROBE = 1024, 64
INDEX_KINDS = ("hnsw", "ivf_pq")
MAX_TOPK = 16384  # Milvus' limit on k
_ID_CHUNK = 4096  # ids per ``in [...]`` expression
_ROW_CHUNK = 2048  # rows per insert


def index_params(kind: str, dim: int, **overrides: int) -> dict[str, Any]:
    """The Milvus index of ``kind`` ("hnsw" or "ivf_pq") for vectors of ``dim``:
    ``{"index": "HNSW" | "IVF_PQ", **build parameters}``."""
    if kind == "hnsw":
        return {"index": "HNSW", **HNSW, **overrides}
    if kind == "ivf_pq":
        m = next(m for m in (dim // 4, dim // 8, dim // 2, 1) if m and dim % m == 0)
        return {"index": "IVF_PQ", "nlist": IVF_PQ_NLIST, "m": m, "nbits": 8, **overrides}
    raise ValueError(f"a Milvus index is one of {', '.join(INDEX_KINDS)}, got {kind!r}")


def _search_params(params: dict[str, Any], k: int) -> dict[str, Any]:
    if params.get("index", "HNSW") == "IVF_PQ":
        return {"nprobe": min(IVF_PQ_NPROBE, int(params.get("nlist", IVF_PQ_NLIST)))}
    return {"ef": max(64, 2 * k)}


def _build_params(params: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in params.items() if k not in ("index", "consistency")}


def parse_uri(uri: str) -> str:
    """``milvus://host:port`` -> the client's ``http://host:port``."""
    parsed = urlparse(uri)
    if parsed.scheme != "milvus" or not parsed.hostname:
        raise ValueError(f"a Milvus vector store is milvus://host:port, got {uri!r}")
    return f"http://{parsed.hostname}:{parsed.port or 19530}"


class MilvusStore:
    """One collection of a Milvus server, reached by the register through an alias."""

    kind = "milvus"
    native_filters = True  # filters are expressions over the vectors' fields

    def __init__(self, client: Any, info: IndexInfo, collection: str, alias: str,
                 consistency: str = "Session", index: str = "hnsw") -> None:
        self.client = client
        self.index = index  # the kind a re-index builds (``fresh``)
        self.info = info
        self.collection = collection
        self.alias = alias
        self.consistency = consistency
        # Reads name the collection, not the alias: the client's Session consistency
        # tracks its writes per name. A search that began on the old store before a
        # re-index's swap still finds its collection: replaced ones are dropped only at
        # the next save or on close.
        self._retired: list[str] = []

    # -- opening ------------------------------------------------------------------------
    @classmethod
    def open(cls, uri: str, alias: str, expect: IndexInfo, consistency: str = "Session",
             check_model: bool = True, index: str = "hnsw") -> MilvusStore:
        """The collection behind ``alias``, or a new empty one with an ``index`` (then
        aliased) when there is none; IndexMismatchError if its vectors were made by
        another model (unless ``check_model`` is off: the register then refuses searches
        until a re-index)."""
        index_params(index, expect.dim)  # an unknown kind fails before any change
        from pymilvus import MilvusClient

        client = MilvusClient(uri=parse_uri(uri))
        aliases = client.list_aliases().get("aliases", []) if client.list_collections() else []
        if alias in aliases:
            collection = client.describe_alias(alias)["collection_name"]
            info = _info_of(client, collection)
            if check_model and (info.model_version != expect.model_version
                                or info.dim != expect.dim):
                raise mismatch(collection, info, expect)
            client.load_collection(collection)
            return cls(client, info, collection, alias, consistency, index)
        store = cls.create(client, expect, alias, consistency, index)
        client.create_alias(store.collection, alias)
        return store

    @classmethod
    def create(cls, client: Any, info: IndexInfo, alias: str, consistency: str = "Session",
               index: str = "hnsw", **overrides: int) -> MilvusStore:
        """A new, empty, loaded collection with an ``index`` (build parameters changed by
        ``overrides``), not yet behind the alias."""
        from pymilvus import DataType, MilvusClient

        params = index_params(index, info.dim, **overrides)
        info = IndexInfo(info.model_version, info.dim, cls.kind,
                         {**params, "consistency": consistency})
        schema = MilvusClient.create_schema(auto_id=False, enable_dynamic_field=False,
                                            description=json.dumps(asdict(info)))
        schema.add_field("vector_id", DataType.INT64, is_primary=True)
        schema.add_field("status", DataType.VARCHAR, max_length=16)
        schema.add_field("nice", DataType.ARRAY, element_type=DataType.INT64, max_capacity=45)
        schema.add_field("vienna", DataType.ARRAY, element_type=DataType.VARCHAR,
                         max_capacity=128, max_length=16)
        schema.add_field("filed", DataType.VARCHAR, max_length=10)
        schema.add_field("v", DataType.FLOAT_VECTOR, dim=info.dim)
        built = client.prepare_index_params()
        built.add_index("v", index_type=params["index"], metric_type="IP",
                        params=_build_params(params))
        collection = f"{alias}_{secrets.token_hex(6)}"
        client.create_collection(collection, schema=schema, index_params=built,
                                 consistency_level=consistency)
        client.load_collection(collection)
        return cls(client, info, collection, alias, consistency, index)

    def fresh(self, info: IndexInfo | None = None) -> MilvusStore:
        """An empty collection for a re-index (of vectors made by ``info``'s model: the
        register's, which may differ from this collection's), not yet aliased."""
        return MilvusStore.create(self.client, info or self.info, self.alias, self.consistency,
                                  self.index)

    # -- writes -------------------------------------------------------------------------
    def add(self, ids: np.ndarray, vectors: np.ndarray,
            fields: Sequence[dict[str, Any]] | None = None) -> None:
        """Upsert ``vectors`` under ``ids`` with their scalar fields (empty if none)."""
        ids = np.asarray(ids, dtype=np.int64)
        vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        empty = {"status": "", "nice": [], "vienna": [], "filed": ""}
        for start in range(0, len(ids), _ROW_CHUNK):
            rows = [{"vector_id": int(i), "v": v.tolist(),
                     **(fields[start + n] if fields is not None else empty)}
                    for n, (i, v) in enumerate(zip(ids[start:start + _ROW_CHUNK],
                                                   vectors[start:start + _ROW_CHUNK],
                                                   strict=True))]
            self.client.upsert(self.collection, rows)

    def remove(self, ids: Iterable[int]) -> int:
        wanted = np.unique(np.fromiter(ids, dtype=np.int64))
        present = wanted[self.contains(wanted)]
        for start in range(0, len(present), _ID_CHUNK):
            chunk = present[start:start + _ID_CHUNK].tolist()
            self.client.delete(self.collection, filter=f"vector_id in {chunk}")
        return len(present)

    def save(self, path: Path | None = None) -> None:
        """Flush, and put this collection behind the alias (a re-index's swap: one
        server-side step). The collection it replaces is dropped at the next save or on
        close, once searches that resolved the alias before the swap are done. ``path``
        is unused: the server keeps the vectors."""
        self.client.flush(self.collection)
        self._drop_retired()
        current = self.client.describe_alias(self.alias)["collection_name"] \
            if self.alias in self.client.list_aliases().get("aliases", []) else None
        if current is None:
            self.client.create_alias(self.collection, self.alias)
        elif current != self.collection:
            self.client.alter_alias(self.collection, self.alias)
            self._retired.append(current)

    def close(self) -> None:
        self._drop_retired()

    def _drop_retired(self) -> None:
        while self._retired:
            old = self._retired.pop()
            self.client.release_collection(old)
            self.client.drop_collection(old)

    # -- reads --------------------------------------------------------------------------
    def __len__(self) -> int:
        rows = self.client.query(self.collection, filter="", output_fields=["count(*)"],
                                 consistency_level="Strong")
        return int(rows[0]["count(*)"])

    def ids(self) -> np.ndarray:
        iterator = self.client.query_iterator(self.collection, batch_size=16384, filter="",
                                              output_fields=["vector_id"],
                                              consistency_level="Strong")
        out: list[int] = []
        try:
            while batch := iterator.next():
                out.extend(int(row["vector_id"]) for row in batch)
        finally:
            iterator.close()
        return np.array(sorted(out), dtype=np.int64)

    def contains(self, ids: np.ndarray) -> np.ndarray:
        ids = np.asarray(ids, dtype=np.int64)
        found: set[int] = set()
        for start in range(0, len(ids), _ID_CHUNK):
            chunk = ids[start:start + _ID_CHUNK].tolist()
            rows = self.client.query(self.collection, filter=f"vector_id in {chunk}",
                                     output_fields=["vector_id"], consistency_level="Strong")
            found.update(int(r["vector_id"]) for r in rows)
        return np.array([int(i) in found for i in ids], dtype=bool)

    def vectors(self, ids: np.ndarray) -> np.ndarray:
        """The stored vectors of ``ids``, in their order, in one round trip a chunk;
        VectorNotFound for the first that is missing."""
        ids = np.asarray(ids, dtype=np.int64)
        found: dict[int, np.ndarray] = {}
        for start in range(0, len(ids), _ID_CHUNK):
            rows = self.client.get(self.collection, ids=ids[start:start + _ID_CHUNK].tolist(),
                                   output_fields=["v"], consistency_level=self.consistency)
            found.update((int(r["vector_id"]), np.asarray(r["v"], np.float32)) for r in rows)
        missing = [int(i) for i in ids if int(i) not in found]
        if missing:
            raise VectorNotFound(missing[0])
        return np.stack([found[int(i)] for i in ids]) if len(ids) else \
            np.empty((0, self.info.dim), np.float32)

    def reconstruct(self, vector_id: int) -> np.ndarray:
        rows = self.client.get(self.collection, ids=[int(vector_id)], output_fields=["v"],
                               consistency_level=self.consistency)
        if not rows:
            raise VectorNotFound(vector_id)
        return np.asarray(rows[0]["v"], dtype=np.float32)

    def search(self, queries: np.ndarray, k: int, allowed_ids: np.ndarray | None = None, *,
               excluded_ids: np.ndarray | None = None, where: FieldFilter | None = None
               ) -> SearchHits:
        """Best ``k`` per query (ids, cosine), -1 / 0.0 padded, among ``allowed_ids`` less
        ``excluded_ids``, where every condition of ``where`` holds."""
        queries = np.ascontiguousarray(queries, dtype=np.float32)
        if queries.ndim == 1:
            queries = queries[None, :]
        k = max(0, min(int(k), MAX_TOPK))
        out_ids = np.full((len(queries), k), -1, np.int64)
        out_scores = np.zeros((len(queries), k), np.float32)
        if k == 0 or (allowed_ids is not None and len(allowed_ids) == 0):
            return SearchHits(out_ids, out_scores)
        parts = [f"({milvus_expression(where)})"] if where else []
        if allowed_ids is not None:
            parts.append(f"vector_id in {np.unique(allowed_ids).astype(np.int64).tolist()}")
        if excluded_ids is not None and len(excluded_ids):
            parts.append(
                f"vector_id not in {np.unique(excluded_ids).astype(np.int64).tolist()}")
        found = self.client.search(
            self.collection, data=queries.tolist(), limit=k, filter=" and ".join(parts),
            anns_field="v",
            search_params={"metric_type": "IP", "params": _search_params(self.info.params, k)},
            consistency_level=self.consistency)
        for row, hits in enumerate(found):
            for col, hit in enumerate(hits[:k]):
                out_ids[row, col] = int(hit["id"])
                out_scores[row, col] = float(hit["distance"])
        return SearchHits(out_ids, out_scores)

    # -- reporting ----------------------------------------------------------------------
    def memory_bytes(self) -> int:
        return 0  # held by the Milvus server, not by this process

    def describe(self) -> dict[str, Any]:
        return {"kind": self.kind, "collection": self.collection, "alias": self.alias,
                "vectors": len(self), "index": "HNSW",
                **{k: v for k, v in self.info.params.items() if k != "consistency"},
                "search": _search_params(self.info.params, 10), "metric": "IP",
                "consistency": self.consistency}

    def drop(self) -> None:
        """Delete this collection (a re-index that failed before its swap)."""
        self.client.release_collection(self.collection)
        self.client.drop_collection(self.collection)


def mismatch(collection: str, found: IndexInfo, expect: IndexInfo) -> IndexMismatchError:
    return IndexMismatchError(
        f"the Milvus collection {collection} was built with model {found.model_version} "
        f"(dim {found.dim}) but the loaded model is {expect.model_version} (dim "
        f"{expect.dim}); run `tmsearch reindex`")


def _info_of(client: Any, collection: str) -> IndexInfo:
    description = client.describe_collection(collection).get("description") or "{}"
    try:
        return IndexInfo(**json.loads(description))
    except (TypeError, ValueError) as exc:
        raise IndexMismatchError(f"the Milvus collection {collection} was not made by "
                                 "tmsearch (no index header in its description)") from exc


def milvus_expression(where: FieldFilter) -> str:
    """The Milvus boolean expression of ``where`` (values as JSON literals, so a string
    can never close its quotes)."""
    parts = []
    for cond in where:
        value = json.dumps(list(cond.value) if isinstance(cond.value, tuple) else cond.value)
        if cond.op == "contains any":
            parts.append(f"array_contains_any({cond.field}, {value})")
        else:
            parts.append(f"{cond.field} {cond.op} {value}")
    return " and ".join(parts)
