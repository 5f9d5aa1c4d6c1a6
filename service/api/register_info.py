"""The register at a glance, for the page's register view and for operators."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from service.api.deps import RegisterDep

router = APIRouter(prefix="/v1", tags=["register"])


class RegisterOut(BaseModel):
    marks: int
    marks_with_words: int = Field(description="Marks whose verbal element was read (OCR).")
    vectors: int = Field(description="Index vectors: whole marks and figure components.")
    model_version: str
    model_trained: bool
    index_type: str
    index: dict[str, Any] = Field(
        default_factory=dict, description="The index's parameters, size and memory.")
    needs_reindex: bool
    risk_thresholds: str
    last_ingest: str | None = None
    last_reindex: str | None = None


@router.get("/register", response_model=RegisterOut)
async def register_info(register: RegisterDep) -> RegisterOut:
    """Size, model, index type and last changes of the register."""
    stats = await run_in_threadpool(register.stats)
    return RegisterOut(**{name: stats[name] for name in RegisterOut.model_fields})
