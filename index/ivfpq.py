"""Compressed search: an OPQ rotation, an inverted file and PQ codes, with an exact re-rank.

Memory is the PQ code (M bytes) plus the id in the inverted list (8 bytes) plus the id ->
row map of the exact vectors (16 bytes), and small fixed parts (coarse centroids, PQ
codebooks, the OPQ matrix). The exact vectors for re-ranking are float16 files mapped
from disk (``index.sidecar``): page cache, not heap, so not counted per mark.

Why re-rank: the PQ distance alone cannot order near-duplicate marks. Measured with
``python -m scripts.index_tuning`` (dim 256; indexed and query vectors are perturbed
copies, noise norm 0.3, of the 4,867 real vectors of the demo register; 500 queries;
1 FAISS thread on 2 shared cores; B/vec is process memory incl. our id map):

    N      setting                    B/vec  recall@10  ms/query
    200k   nprobe=16 rerank=0          62.3    0.415      0.27
    200k   nprobe=16 rerank=10         62.3    0.988      0.86
    200k   nprobe=16 rerank=20         62.3    0.993      1.30   <- defaults
    1M     nprobe=16 rerank=10         57.7    0.785      0.78
    1M     nprobe=16 rerank=20         57.7    0.966      0.98   <- defaults
    1M     nprobe=16 rerank=40         57.7    0.985      2.22
    (flat at 200k: 1072 B/vec, 18 ms/query; synthetic clustered vectors at 200k:
    recall 0.123 without re-rank, 0.991 with the defaults)

PQ alone reaches 0.42 (0.19 at 1M), far from 0.95, and more PQ bytes do not fit 128
bytes a mark (M=64: ~90 B/vec before fixed parts). nprobe barely matters on these data
(neighbours share a list; 8-64 give the same recall), the shortlist does: at 1M each
source has ~200 near-equal copies, so the top 10 must be picked out of many PQ ties.
OPQ to 128 dims before PQ32 beat plain PQ32 (0.991 vs 0.987 at rerank 10, 200k) and
OPQ48_192 (0.996) costs 16 more bytes a vector.
Memory: 57.7 B/vec = 81 bytes a mark at 1.4 vectors a mark; exact vectors on disk
512 B/vec. Build (train on 100k + add): 32 s for 200k, 58 s for 1M.

A search asks the inverted file for ``rerank * k`` candidates (``nprobe`` lists), reads
their exact vectors (page cache; a cold query reads ~200 pages) and keeps the best
``k``. ``rerank=0`` returns the PQ order.
``reconstruct`` returns the stored float16 vector (exact to about 1e-3).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import faiss
import numpy as np

from index.base import VectorNotFound
from index.engine import top_k
from index.fileformat import IndexFile
from index.sidecar import ExactVectors

DEFAULTS: dict[str, Any] = {"M": 32, "opq_dim": 128, "nprobe": 16, "rerank": 20}
MIN_POINTS_PER_LIST = 39  # FAISS warns (and k-means degrades) below this
PQ_CENTROIDS = 256
_QUERY_CHUNK = 256


class IvfPqEngine:
    kind = "ivfpq"
    approximate = True

    def __init__(self, dim: int, params: dict[str, Any], index: faiss.Index,
                 vectors: ExactVectors) -> None:
        self.dim = dim
        self.params = dict(params)
        self.index = index
        self.ivf = faiss.extract_index_ivf(index)
        self.vectors = vectors

    @classmethod
    def train(cls, dim: int, params: dict[str, Any], sample: np.ndarray,
              workdir: Path | None = None) -> IvfPqEngine:
        """A trained, empty engine; ``sample`` should be a few dozen points a list."""
        params = {**DEFAULTS, **params}
        m, opq_dim = int(params["M"]), int(params.get("opq_dim") or 0)
        nlist = int(params["nlist"])
        pre = f"OPQ{m}_{opq_dim}," if opq_dim else ""
        index = faiss.index_factory(dim, f"{pre}IVF{nlist},PQ{m}", faiss.METRIC_INNER_PRODUCT)
        _fast_training(index)
        index.train(np.ascontiguousarray(sample, dtype=np.float32))
        return cls(dim, params, index, ExactVectors(dim, tmp_root=workdir))

    @classmethod
    def from_file(cls, path: Path, content: IndexFile) -> IvfPqEngine:
        vectors = ExactVectors.open(path, content.info.dim, content.state["vectors"],
                                    content.arrays["row_ids"], content.arrays["rows"])
        index = faiss.deserialize_index(content.faiss_blob)
        return cls(content.info.dim, content.info.params, index, vectors)

    def __len__(self) -> int:
        return len(self.vectors)

    def trim(self) -> None:
        """Drop the spare capacity bulk adds leave in the inverted lists (std::vector
        growth: up to 2x the codes) by a serialise round trip, cheap at tens of bytes a
        vector."""
        self.index = faiss.deserialize_index(faiss.serialize_index(self.index))
        self.ivf = faiss.extract_index_ivf(self.index)

    def add(self, ids: np.ndarray, vectors: np.ndarray) -> None:
        present = self.vectors.contains(ids)
        if present.any():  # an upsert: drop the old code first
            self.index.remove_ids(faiss.IDSelectorBatch(ids[present]))
        self.index.add_with_ids(vectors, ids)
        self.vectors.put(ids, vectors)

    def remove(self, ids: np.ndarray) -> int:
        present = self.vectors.delete(ids)
        if present.any():
            self.index.remove_ids(faiss.IDSelectorBatch(ids[present]))
        return int(present.sum())

    def ids(self) -> np.ndarray:
        return self.vectors.rowmap.items()[0]

    def contains(self, ids: np.ndarray) -> np.ndarray:
        return self.vectors.contains(ids)

    def reconstruct(self, vector_id: int) -> np.ndarray:
        vectors, found = self.vectors.get(np.array([vector_id], np.int64))
        if not found[0]:
            raise VectorNotFound(vector_id)
        return vectors[0]

    def exact_vectors(self, ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return self.vectors.get(ids)

    def search(self, queries: np.ndarray, k: int, allowed: np.ndarray | None,
               options: dict[str, Any]) -> tuple[np.ndarray, np.ndarray]:
        nprobe = int(options.get("nprobe") or self.params["nprobe"])
        rerank = options.get("rerank")
        rerank = int(self.params["rerank"] if rerank is None else rerank)
        shortlist = max(k, min(k * rerank, len(self))) if rerank else k
        selector = None if allowed is None else faiss.IDSelectorBatch(allowed)
        params = faiss.SearchParametersIVF(nprobe=min(nprobe, self.ivf.nlist), sel=selector)
        out_s, out_i = [], []
        for start in range(0, len(queries), _QUERY_CHUNK):
            q = queries[start : start + _QUERY_CHUNK]
            scores, ids = self.index.search(q, shortlist, params=params)
            if rerank:
                scores, ids = self._rerank(q, ids, k)
            out_s.append(scores)
            out_i.append(ids)
        return np.concatenate(out_s), np.concatenate(out_i)

    def _rerank(self, queries: np.ndarray, ids: np.ndarray,
                k: int) -> tuple[np.ndarray, np.ndarray]:
        """Order a shortlist by exact inner product with the stored vectors."""
        vectors, found = self.vectors.get(ids.ravel())
        vectors = vectors.reshape(*ids.shape, self.dim)
        scores = np.einsum("qkd,qd->qk", vectors, queries)
        scores[~found.reshape(ids.shape)] = -np.inf
        return top_k(scores, ids, k)

    def to_file(self, path: Path) -> tuple[np.ndarray, dict[str, Any], dict[str, np.ndarray]]:
        state = {"vectors": self.vectors.save(path)}
        row_ids, rows = self.vectors.rowmap.items()
        arrays = {"row_ids": row_ids, "rows": rows}
        return faiss.serialize_index(self.index), state, arrays

    def after_save(self, path: Path) -> None:
        self.vectors.cleanup(path)

    def nbytes(self) -> int:
        ivf = self.ivf
        codes = len(self) * (ivf.code_size + 8)
        lists = ivf.nlist * (ivf.d * 4 + 48)  # coarse centroids + two std::vector a list
        pq = faiss.downcast_index(ivf).pq
        codebooks = pq.M * pq.ksub * pq.dsub * 4
        opq = self.dim * ivf.d * 4 if ivf.d != self.dim or self.params.get("opq_dim") else 0
        return int(codes + lists + codebooks + opq + self.vectors.nbytes_in_memory)

    def describe(self) -> dict[str, Any]:
        return {key: self.params.get(key)
                for key in ("nlist", "M", "opq_dim", "nprobe", "rerank", "trained_on")} | {
            "exact_vectors_on_disk_bytes": self.vectors.nbytes_on_disk,
            "dead_rows_on_disk": self.vectors.dead_rows,
        }


def _fast_training(index: faiss.Index) -> None:
    """Training settings measured to cost little recall once re-ranked: FAISS's factory
    default polysemous training alone took ~80 s of a 100 s train on 100k vectors (and
    polysemous codes are not used here); 20 OPQ iterations on 32k points instead of 50 on
    64k cost 0.002 recall@10 after re-ranking."""
    ivf = faiss.downcast_index(faiss.extract_index_ivf(index))
    ivf.do_polysemous_training = False
    ivf.cp.niter = 10
    ivf.pq.cp.max_points_per_centroid = 128
    if isinstance(index, faiss.IndexPreTransform):
        opq = faiss.downcast_VectorTransform(index.chain.at(0))
        opq.niter = 20
        opq.max_train_points = 32768
