"""Open the register's vector store: the embedded FAISS index in the data dir, or a
Milvus collection when the settings name a server."""

from __future__ import annotations

from pathlib import Path

from index.base import IndexInfo, IndexMismatchError, VectorStore
from index.faiss_store import FaissStore


def open_store(location: str, index_path: Path, expect: IndexInfo, *,
               milvus_collection: str = "tmsearch", milvus_consistency: str = "Session",
               milvus_index: str = "hnsw") -> tuple[VectorStore, IndexMismatchError | None]:
    """The store at ``location`` ("faiss": the file at ``index_path``; else a Milvus URI)
    and, when it was made by another model or dimension than ``expect``, the mismatch.
    A mismatched store is still returned (a re-index replaces it); a FAISS file that does
    not exist yet is an empty index."""
    if location != "faiss":
        from index.milvus_store import MilvusStore, mismatch

        store = MilvusStore.open(location, milvus_collection, expect, milvus_consistency,
                                 check_model=False, index=milvus_index)
        if (store.info.model_version, store.info.dim) != (expect.model_version, expect.dim):
            return store, mismatch(store.collection, store.info, expect)
        return store, None
    if not index_path.is_file():
        return FaissStore(expect), None
    try:
        return FaissStore.load(index_path, expect=expect), None
    except IndexMismatchError as exc:
        return FaissStore(expect), exc
