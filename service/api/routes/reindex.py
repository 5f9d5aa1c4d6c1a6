"""Re-index while serving: start one in the background and follow it.

Searches keep answering from the current index and marks can still be added, updated and
removed; the new index replaces the old one whole when it is complete.
"""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Depends
from pydantic import BaseModel, Field

from service.api.deps import ReindexJobDep as JobDep
from service.api.schemas import ErrorOut
from service.api.security import require_admin

router = APIRouter(prefix="/v1/reindex", tags=["register"], dependencies=[Depends(require_admin)])


class ReindexIn(BaseModel):
    index: Literal["auto", "flat", "ivfpq", "hnsw"] | None = Field(
        None, description="Index type to build; default: the server's setting.")
    memory_budget: int | None = Field(
        None, ge=1, description="Bytes the index may take in memory (auto picks to fit).")


class ReindexOut(BaseModel):
    status: str = Field(description="idle, running, done or failed.")
    done: int
    total: int
    index: str | None = None
    started_at: float | None = None
    finished_at: float | None = None
    error: str | None = None


@router.post("", status_code=202, response_model=ReindexOut,
             responses={409: {"model": ErrorOut, "description": "A re-index is running."}})
def start_reindex(job: JobDep, body: ReindexIn | None = None) -> ReindexOut:
    """Start re-embedding every mark into a new index (202); poll ``GET /v1/reindex``."""
    body = body or ReindexIn()
    return ReindexOut(**job.start(body.index, body.memory_budget).to_dict())


@router.get("", response_model=ReindexOut)
def reindex_status(job: JobDep) -> ReindexOut:
    """The current or last re-index: progress, and its error if it failed."""
    return ReindexOut(**job.state.to_dict())
