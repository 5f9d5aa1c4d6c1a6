"""Response bodies of the HTTP API (what /docs shows)."""

from __future__ import annotations

import time
from typing import Any
from urllib.parse import quote

from pydantic import BaseModel, Field

from service.search.query import SearchOptions
from service.search.results import SearchResult
from service.storage.mark_record import MarkRecord
from service.storage.record_listing import MarkPage


def mark_url(mark_id: str, suffix: str = "") -> str:
    return f"/v1/marks/{quote(mark_id, safe='')}{suffix}"


class MarkOut(BaseModel):
    id: str
    name: str | None = None
    owner: str | None = None
    application_number: str | None = None
    registration_number: str | None = None
    nice_classes: list[int] = Field(default_factory=list)
    vienna_codes: list[str] = Field(default_factory=list)
    status: str | None = None
    filing_date: str | None = None
    image_url: str
    thumbnail_url: str
    created_at: str
    updated_at: str

    @classmethod
    def of(cls, record: MarkRecord) -> MarkOut:
        return cls(
            id=record.id,
            name=record.name,
            owner=record.owner,
            application_number=record.application_number,
            registration_number=record.registration_number,
            nice_classes=record.nice_classes,
            vienna_codes=record.vienna_codes,
            status=record.status,
            filing_date=record.filing_date,
            image_url=mark_url(record.id, "/image"),
            thumbnail_url=mark_url(record.id, "/thumbnail"),
            created_at=record.created_at,
            updated_at=record.updated_at,
        )


class MarkPageOut(BaseModel):
    """One page of ``GET /v1/marks``: the marks passing the filters, newest filing first."""

    marks: list[MarkOut]
    total: int = Field(description="Marks passing the filters, on every page.")
    page: int
    per_page: int
    pages: int

    @classmethod
    def of(cls, listing: MarkPage) -> MarkPageOut:
        return cls(marks=[MarkOut.of(r) for r in listing.marks], total=listing.total,
                   page=listing.page, per_page=listing.per_page, pages=listing.pages)


class WordsOut(BaseModel):
    """The query's words against the result's verbal element."""

    query: str = Field(description="The query's words, normalised (typed or read by OCR).")
    mark: str = Field(description="The result's verbal element as read at ingest.")
    similarity: float = Field(description="0..1, character-bigram Dice of the words.")


class MatchOut(BaseModel):
    """What matched: a component of the result (or the whole mark) and a part of the query,
    and the words when both have similar ones."""

    component: str = Field(description="whole or figure (of the result).")
    box: list[int] | None = Field(None, description="x, y, w, h in the result's stored image.")
    query_part: str = Field(description="whole or figure (of the query).")
    query_box: list[int] | None = Field(None, description="x, y, w, h in the query image.")
    words: WordsOut | None = Field(None, description="Similar words, when there are.")

    @classmethod
    def of(cls, result: SearchResult) -> MatchOut:
        return cls(**result.match())


class SearchResultOut(BaseModel):
    id: str
    score: float = Field(description="The score results are ranked by, in [0, 1] (1.0 = the "
                                     "same drawing): shape, colour by the mode, and words "
                                     "(service/search/ranking.py).")
    shape_score: float = Field(description="Shape similarity alone, in [0, 1].")
    risk: str = Field(description="high, medium or low: the score against thresholds "
                                  "calibrated on the evaluation.")
    name: str | None = None
    text: str | None = Field(None, description="The mark's verbal element (OCR at ingest).")
    owner: str | None = None
    nice_classes: list[int] = Field(default_factory=list)
    vienna_codes: list[str] = Field(default_factory=list)
    status: str | None = None
    filing_date: str | None = None
    image_url: str
    thumbnail_url: str
    match: MatchOut

    @classmethod
    def of(cls, result: SearchResult) -> SearchResultOut:
        r = result.record
        return cls(
            id=r.id, score=round(result.score, 6),
            shape_score=round(result.shape_score if result.shape_score is not None
                              else result.score, 6),
            risk=result.risk.value, name=r.name, text=r.text, owner=r.owner,
            nice_classes=r.nice_classes, vienna_codes=r.vienna_codes, status=r.status,
            filing_date=r.filing_date, image_url=mark_url(r.id, "/image"),
            thumbnail_url=mark_url(r.id, "/thumbnail"), match=MatchOut.of(result),
        )


class SearchResponse(BaseModel):
    results: list[SearchResultOut]
    filters: dict[str, Any] = Field(default_factory=dict, description="The filters applied.")
    rotation_tolerant: bool = False
    mode: str = "composite"
    query_text: str | None = Field(None, description="The query's words, typed or read.")
    took_ms: float

    @classmethod
    def of(cls, results: list[SearchResult], options: SearchOptions, started: float
           ) -> SearchResponse:
        return cls(
            results=[SearchResultOut.of(r) for r in results],
            filters=options.filters.describe(),
            rotation_tolerant=options.rotation_tolerant,
            mode=options.mode.value,
            query_text=getattr(results, "query_text", None) or None,
            took_ms=round((time.perf_counter() - started) * 1000, 2),
        )


class ErrorOut(BaseModel):
    detail: str


class HealthOut(BaseModel):
    status: str
    marks: int
    model_version: str
    needs_reindex: bool
