"""Liveness and readiness for load balancers and operators."""

from __future__ import annotations

from fastapi import APIRouter

from service.api.deps import RegisterDep
from service.api.schemas import HealthOut

router = APIRouter(tags=["health"])


@router.get("/healthz", response_model=HealthOut)
async def healthz(register: RegisterDep) -> HealthOut:
    return HealthOut(
        status="ok" if register.index_error is None else "needs-reindex",
        marks=register.records.count(include_unpublished=False),  # anyone may ask
        model_version=register.embedder.version,
        needs_reindex=register.index_error is not None,
    )
