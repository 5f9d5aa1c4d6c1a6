"""A search, one way down: prepare the query, find the candidates, rank them.

``Searcher`` is the register's search service (``Register.search`` and friends delegate
here): the query image becomes views and index rows (service/marks/pipeline.py,
service/search/ranking.py ``query_rows``), one index search finds the candidates
(service/search/candidates.py), and the ranking makes one score a mark
(service/search/ranking.py): the best evidence, colour and words.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import replace
from typing import Protocol

import numpy as np

from index.base import SearchHits, VectorStore
from models.embedder import Embedder
from service.marks.colour import SearchMode
from service.marks.components import MAX_FIGURES
from service.marks.filters import QueryError
from service.marks.images import decode_image
from service.marks.ocr import TextReader
from service.marks.pipeline import PreparedQuery, PrepareSpec, batched, query_inputs
from service.marks.words import normalise_text
from service.search.candidates import (
    Scope,
    add_word_candidates,
    best_per_mark,
    row_evidences,
    search_scope,
)
from service.search.explain import Explanation
from service.search.explain import explain as explain_pair
from service.search.query import SearchOptions
from service.search.ranking import (
    MIN_WORDS_SIMILARITY,
    QueryRow,
    final_score,
    query_rows,
    shape_score,
)
from service.search.results import Results, SearchResult, WordsMatch
from service.search.risk import RiskThresholds
from service.search.stored_query import StoredQuery
from service.search.text_match import text_similarity
from service.settings import Settings
from service.storage.mark_record import MarkRecord
from service.storage.stored_marks import StoredMarks

#: index hits a stored query's rows look at to measure their crowding
CROWDING_DEPTH = 50
#: index hits fetched per wanted mark: a mark has up to 1 + MAX_FIGURES vectors
COMPONENT_DEPTH = 1 + MAX_FIGURES


class LiveIndex(Protocol):
    """What a search needs of the register's index: the store as it is now (a re-index
    swaps it), whether it filters natively, and whether it may be searched at all."""

    @property
    def store(self) -> VectorStore: ...

    @property
    def native_filters(self) -> bool: ...

    def require_index(self) -> None: ...


class Searcher:
    """Searches of one register: by image, by a mark in it, in batches; explanations."""

    def __init__(self, index: LiveIndex, marks: StoredMarks, embedder: Embedder,
                 spec: PrepareSpec, settings: Settings, reader: TextReader | None,
                 risk: RiskThresholds) -> None:
        self.index = index
        self.marks = marks
        self.embedder = embedder
        self.spec = spec
        self.settings = settings
        self.reader = reader
        self.risk = risk

    # -- the ways in ----------------------------------------------------------------------
    def search(self, data: bytes, k: int | None = None, options: SearchOptions | None = None
               ) -> Results:
        """Marks most similar to the image in ``data``, best first."""
        options = options or SearchOptions()
        query = query_inputs(data, self.spec, options.crop, options.rotation_tolerant,
                             self._query_reader(options))
        return self.search_prepared([query], k, options)[0]

    def similar(self, mark_id: str, k: int | None = None, options: SearchOptions | None = None
                ) -> Results:
        """Marks most similar to a mark already in the register (itself left out)."""
        options = options or SearchOptions()
        record = self.marks.get(mark_id, options.include_unpublished)
        data = self.marks.images.read(record.image_key, record.media_type)
        spec = self.marks.stored_spec(data)
        # the mark's words were read at ingest; a crop may cut them, so it is read again
        reader = self._query_reader(options) if options.crop else None
        query = query_inputs(data, spec, options.crop, options.rotation_tolerant, reader)
        if options.crop is None and options.read_text and options.text is None:
            query = replace(query, text=record.text or "")
        options = replace(options, exclude_ids=options.exclude_ids | {mark_id})
        return self.search_prepared([query], k, options)[0]

    def search_many(self, queries: Iterable[tuple[str, bytes | Exception]],
                    k: int | None = None, options: SearchOptions | None = None,
                    ) -> Iterator[tuple[str, list[SearchResult] | Exception]]:
        """Many queries, embedded in batches with the model loaded once; order kept."""
        options = options or SearchOptions()
        for chunk in batched(queries, self.settings.batch_size):
            prepared: list[PreparedQuery] = []
            slots: list[tuple[str, int | Exception]] = []
            for name, data in chunk:
                if isinstance(data, Exception):
                    slots.append((name, data))
                    continue
                try:
                    prepared.append(query_inputs(
                        data, self.spec, options.crop, options.rotation_tolerant,
                        self._query_reader(options)))
                    slots.append((name, len(prepared) - 1))
                except Exception as exc:  # noqa: BLE001 - reported per query
                    slots.append((name, exc))
            results = self.search_prepared(prepared, k, options) if prepared else []
            for name, slot in slots:
                yield name, slot if isinstance(slot, Exception) else results[slot]

    def explain(self, result_id: str, data: bytes | None = None, query_id: str | None = None,
                include_unpublished: bool = True) -> Explanation:
        """Which regions of the query and of a result drive their similarity (heat maps).
        The query is uploaded bytes or a mark already in the register. The score is the
        one a default search gives the pair (service/search/ranking.py), so the
        explanation shows the number on the result card; 0.0 when the result is not among
        the search's ``max_k`` best."""
        if (data is None) == (query_id is None):
            raise QueryError("give either a query image or a query mark id, not both")
        result = self.marks.stored_image(self.marks.get(result_id, include_unpublished))
        options = SearchOptions(include_unpublished=include_unpublished)
        k = self.settings.max_k
        if query_id is not None:
            query = self.marks.stored_image(self.marks.get(query_id, include_unpublished))
            found = self.similar(query_id, k, options) if query_id != result_id else None
        else:
            assert data is not None
            query = decode_image(data, self.spec.limits).image
            found = self.search(data, k, options)
        score = 1.0 if found is None else next(
            (r.score for r in found if r.record.id == result_id), 0.0)
        return replace(explain_pair(self.embedder, query, result), score=score)

    def stored_query(self, data: bytes, mark_id: str | None = None) -> StoredQuery:
        """What a default search with this image (or with the register's mark ``mark_id``,
        its image in ``data``) sends, kept for a watch (service/watch/): its rows, and each
        row's crowding penalty against the register as it is now."""
        return self.stored_queries([(data, mark_id)])[0]

    def stored_queries(self, images: Sequence[tuple[bytes, str | None]]) -> list[StoredQuery]:
        """``stored_query`` for many images at once: one network pass and one index search
        a batch, which is what planning thousands of watched marks (a re-index to a new
        model, a bulk import) needs."""
        planned: list[StoredQuery] = []
        for chunk in batched(list(images), self.settings.batch_size):
            planned += self._stored_batch(chunk)
        return planned

    def _stored_batch(self, images: Sequence[tuple[bytes, str | None]]) -> list[StoredQuery]:
        options = SearchOptions(include_unpublished=True)
        queries = []
        for data, mark_id in images:
            spec = self.spec if mark_id is None else self.marks.stored_spec(data)
            query = query_inputs(data, spec, None, False, self._query_reader(options))
            if mark_id is not None:  # its words were read at ingest
                query = replace(query, text=self.marks.get(mark_id).text or "")
            queries.append(query)
        matrix, plans = self._query_rows(queries)
        store = self.index.store
        hits, records = None, {}
        if len(store) > 0:
            hits = store.search(matrix, CROWDING_DEPTH)
            records = self.marks.records.get_by_vector_ids(
                [int(i) for i in np.unique(hits.ids) if i >= 0])
        planned = []
        for query, (lo, meta) in zip(queries, plans, strict=True):
            whole = [view.part is None for view in query.views]
            penalties = [0.0] * len(meta) if hits is None else \
                row_evidences(hits, lo, meta, whole, records).penalties
            colours = [query.colour if view.colour is None else view.colour
                       for view in query.views]
            planned.append(StoredQuery.of(matrix[lo:lo + len(meta)], meta, penalties, whole,
                                          colours, self.embedder.layout,
                                          normalise_text(query.text)))
        return planned

    # -- one way down -----------------------------------------------------------------------
    def search_prepared(self, queries: Sequence[PreparedQuery], k: int | None = None,
                        options: SearchOptions | None = None) -> list[Results]:
        """Batch search. Each query is one or more views (prepared network inputs); a mark
        scores its best view on shape, combined with colour as the mode says. Filters
        select the candidate vectors inside the index search."""
        self.index.require_index()
        options = options or SearchOptions()
        k = min(k or self.settings.default_k, self.settings.max_k)
        if not queries:
            return []
        scope = search_scope(options, self.marks.records, self.index.native_filters)
        if scope.empty:
            return [Results() for _ in queries]
        matrix, plans = self._query_rows(queries)
        # a mark owns several vectors (whole + components): fetch enough to fill k marks
        depth = (k + len(options.exclude_ids)) * COMPONENT_DEPTH
        if options.mode is SearchMode.colour:
            depth *= 2  # colour can lift a mark that is further away in shape
        store = self.index.store  # one store for the whole search, even across a swap
        hits = scope.search(store, matrix, depth)
        records = self.marks.records.get_by_vector_ids(
            [int(i) for i in np.unique(hits.ids) if i >= 0])
        return [self._rank(query, lo, meta, matrix, hits, records, k, options, scope, store)
                for query, (lo, meta) in zip(queries, plans, strict=True)]

    def _query_reader(self, options: SearchOptions) -> TextReader | None:
        """OCR for the query image unless its words are typed or reading is off."""
        return self.reader if options.read_text and options.text is None else None

    def _query_rows(self, queries: Sequence[PreparedQuery]
                    ) -> tuple[np.ndarray, list[tuple[int, list[QueryRow]]]]:
        """All queries' index rows in one matrix (one network pass for every view), and
        per query the first row's number and what each row is."""
        flat = [view.model_input for query in queries for view in query.views]
        stored = self.embedder.embed_prepared(flat)
        plans: list[tuple[int, list[QueryRow]]] = []
        blocks: list[np.ndarray] = []
        first_view = total = 0
        for query in queries:
            count = len(query.views)
            rows, meta = query_rows(stored[first_view:first_view + count],
                                    [view.part is None for view in query.views],
                                    flat[first_view:first_view + count],
                                    self.embedder.layout, query.cut)
            blocks.append(rows)
            plans.append((total, meta))
            first_view += count
            total += len(rows)
        return np.concatenate(blocks), plans

    def _rank(self, query: PreparedQuery, lo: int, meta: list[QueryRow], matrix: np.ndarray,
              hits: SearchHits, records: dict[int, MarkRecord], k: int,
              options: SearchOptions, scope: Scope, store: VectorStore) -> Results:
        """One query's results: each mark's best evidence, then colour and words."""
        whole = [view.part is None for view in query.views]
        rows = row_evidences(hits, lo, meta, whole, records)
        best = best_per_mark(hits, lo, meta, rows, options)
        words = normalise_text(query.text if options.text is None else options.text)
        if words:  # marks found by their words join those found by shape
            add_word_candidates(best, records, words, matrix[lo:lo + len(meta)], meta,
                                rows.penalties, store, self.marks.records, scope, options)
        ranked = []
        for evidence, v, view in best.values():
            record = records[v]
            shape = shape_score(evidence)
            own = query.views[view].colour  # a figure's own colours, when a part matched
            colour = None if record.colour is None else float(
                record.colour @ (query.colour if own is None else own))
            matched = None
            if words and record.text:
                similarity = text_similarity(words, normalise_text(record.text))
                if similarity >= MIN_WORDS_SIMILARITY:
                    matched = WordsMatch(words, record.text, similarity)
            score = final_score(shape, colour, None if matched is None else matched.similarity,
                                options.mode)
            ranked.append(SearchResult(record, score, record.component(v),
                                       query.views[view].part, shape,
                                       self.risk.level(score), matched))
        results = Results(sorted(ranked, key=lambda r: -r.score)[:k])
        results.query_text = words
        return results
