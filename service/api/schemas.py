"""Response bodies of the HTTP API (what /docs shows)."""

from __future__ import annotations

from urllib.parse import quote

from pydantic import BaseModel, Field

from service.records import MarkRecord


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


class SearchResultOut(BaseModel):
    id: str
    score: float = Field(description="Cosine similarity, 1.0 = identical embedding.")
    name: str | None = None
    owner: str | None = None
    nice_classes: list[int] = Field(default_factory=list)
    status: str | None = None
    image_url: str
    thumbnail_url: str


class SearchResponse(BaseModel):
    results: list[SearchResultOut]
    took_ms: float


class ErrorOut(BaseModel):
    detail: str


class HealthOut(BaseModel):
    status: str
    marks: int
    model_version: str
    needs_reindex: bool
