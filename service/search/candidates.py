"""Which earlier marks a search considers: the scope the filters allow, the index hits
turned into each mark's best evidence, and the marks whose words alike bring in.

The first stage of a search (service/search/ranking.py has the rules it applies).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np

from index.base import SearchHits, VectorStore
from index.field_filter import FieldFilter
from service.marks.filters import SearchFilters
from service.search.query import SearchOptions
from service.search.ranking import (
    MIN_WORDS_SIMILARITY,
    QueryRow,
    crowding,
    crowding_penalties,
    row_evidence,
)
from service.search.text_match import text_similarity
from service.storage.mark_record import MarkRecord
from service.storage.records import RecordStore
from service.storage.vector_fields import field_filter

#: a mark's best evidence, the vector it was found on and the query view that found it
Best = dict[str, tuple[float, int, int]]


@dataclass(frozen=True)
class Scope:
    """The vectors a search may return: an allow list (filters the records resolved), a
    deny list (unpublished marks), or conditions on the vectors' fields the store applies
    itself."""

    allowed: np.ndarray | None = None
    excluded: np.ndarray | None = None
    where: FieldFilter | None = None

    @property
    def empty(self) -> bool:
        return self.allowed is not None and self.allowed.size == 0

    @cached_property
    def allowed_set(self) -> set[int] | None:
        """The allow list as a set, when the records made it (not the store's filter)."""
        if self.allowed is None or self.where is not None:
            return None
        return set(self.allowed.tolist())

    def search(self, store: VectorStore, matrix: np.ndarray, depth: int) -> SearchHits:
        return store.search(matrix, depth, self.allowed, excluded_ids=self.excluded,
                            where=self.where)


def search_scope(options: SearchOptions, records: RecordStore, native_filters: bool) -> Scope:
    """The scope of ``options``' filters and visibility; a store that filters natively
    gets field conditions, and only the owner (a text match) is resolved by the records."""
    filters = options.filters
    if native_filters:
        allowed = None
        if filters.owner:
            allowed = np.array(records.vector_ids_matching(SearchFilters(owner=filters.owner)),
                               np.int64)
        return Scope(allowed, where=field_filter(filters, options.include_unpublished))
    if not filters.is_empty():
        return Scope(np.array(records.vector_ids_matching(filters, options.include_unpublished),
                              np.int64))
    if not options.include_unpublished:
        return Scope(excluded=np.array(records.unpublished_vector_ids(), np.int64))
    return Scope()


@dataclass
class RowEvidence:
    """One query's rows after the index search: each row's evidence on its hits (before
    the crowding penalty), the penalty, and the hits' owners."""

    evidences: list[np.ndarray]
    penalties: list[float]
    owners: list[list[MarkRecord | None]]


def row_evidences(hits: SearchHits, lo: int, meta: list[QueryRow], whole: list[bool],
                  records: dict[int, MarkRecord]) -> RowEvidence:
    """Evidence of every row ``lo + i`` on its hits, and each row's crowding penalty."""
    evidences, crowds, owners = [], [], []
    for r, row in enumerate(meta, lo):
        ids = hits.ids[r]
        row_owners = [records.get(int(v)) for v in ids]  # looked up once a hit
        on_component = np.array([rec is not None and rec.vector_id != v
                                 for v, rec in zip(ids, row_owners, strict=True)], dtype=bool)
        evidence = row_evidence(row, hits.scores[r], on_component)
        evidences.append(evidence)
        owners.append(row_owners)
        crowds.append(crowding(evidence[ids >= 0]))
    return RowEvidence(evidences, crowding_penalties(crowds, meta, whole), owners)


def best_per_mark(hits: SearchHits, lo: int, meta: list[QueryRow], rows: RowEvidence,
                  options: SearchOptions) -> Best:
    """Each mark's best evidence over the rows and its vectors (less the rows' penalties),
    leaving out excluded marks and those unpublished since the index search."""
    best: Best = {}
    for r, row, evidence, penalty, row_owners in zip(
            range(lo, lo + len(meta)), meta, rows.evidences, rows.penalties, rows.owners,
            strict=True):
        for v, value, record in zip(hits.ids[r], evidence - penalty, row_owners, strict=True):
            if record is None or record.id in options.exclude_ids:
                continue  # removed since, or excluded (the mark searched from)
            if not (options.include_unpublished or record.published):
                continue  # filed since the index search ran
            if record.id not in best or value > best[record.id][0]:
                best[record.id] = (float(value), int(v), row.view)
    return best


def add_word_candidates(best: Best, records: dict[int, MarkRecord], words: str,
                        matrix: np.ndarray, meta: list[QueryRow], penalties: list[float],
                        store: VectorStore, record_store: RecordStore, scope: Scope,
                        options: SearchOptions) -> None:
    """Marks whose words resemble the query's but whose shape was not in the hits: their
    shape evidence is computed from their stored vectors, as the hits' was. They pass the
    filters as the hits did: by the allowed ids, or (a store that filters natively) by
    the records' SQL restricted to these few marks."""
    found = record_store.marks_with_words(words)
    new = [m for m in found if m not in best and m not in options.exclude_ids
           and text_similarity(words, found[m]) >= MIN_WORDS_SIMILARITY]
    allowed = scope.allowed_set
    if allowed is None and not options.filters.is_empty() and new:
        allowed = set(record_store.vector_ids_matching(options.filters, True, mark_ids=new))
    for record in record_store.get_many(new).values():
        if allowed is not None and record.vector_id not in allowed:
            continue
        if not (options.include_unpublished or record.published):
            continue
        scored: list[tuple[float, int, int]] = []
        for v in record.all_vector_ids():
            try:
                vector = store.reconstruct(v)
            except Exception:  # noqa: BLE001 - vector not in this index (being rebuilt)
                continue
            raw = matrix @ vector
            on_component = np.array([v != record.vector_id])
            values = [float(row_evidence(row, raw[i:i + 1], on_component)[0]) - penalty
                      for i, (row, penalty) in enumerate(zip(meta, penalties, strict=True))]
            i = int(np.argmax(values))
            scored.append((values[i], v, meta[i].view))
        if scored:
            best[record.id] = max(scored, key=lambda s: s[0])
            for _, v, _ in scored:
                records[v] = record
