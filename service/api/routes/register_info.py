"""The register at a glance, for the page's register view and for operators."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from service.api.deps import RegisterDep
from service.api.security import PrincipalDep

router = APIRouter(prefix="/v1", tags=["register"])


class RegisterOut(BaseModel):
    marks: int
    marks_with_words: int = Field(description="Marks whose verbal element was read (OCR).")
    vectors: int | None = Field(
        None, description="Index vectors: whole marks and figure components (not shown "
        "to the public role, whose counts are of published marks).")
    model_version: str
    model_trained: bool
    index_type: str
    records: str = Field(description="The records database: sqlite or postgresql.")
    index: dict[str, Any] = Field(
        default_factory=dict, description="The index's parameters, size and memory.")
    needs_reindex: bool
    risk_thresholds: str
    last_ingest: str | None = None
    last_reindex: str | None = None


class AccessOut(BaseModel):
    role: str = Field(description="public, agent, examiner or admin.")
    key_id: str | None = Field(None, description="The key's id; none without a key.")


@router.get("/access", response_model=AccessOut)
def access(principal: PrincipalDep) -> AccessOut:
    """The role this request acts as (its key's, or the public role without one)."""
    return AccessOut(role=principal.role.value, key_id=principal.key_id)


@router.get("/register", response_model=RegisterOut)
async def register_info(register: RegisterDep, principal: PrincipalDep) -> RegisterOut:
    """Size, model, index type and last changes of the register."""
    stats = await run_in_threadpool(register.stats, principal.include_unpublished)
    return RegisterOut(**{name: stats[name] for name in RegisterOut.model_fields})
