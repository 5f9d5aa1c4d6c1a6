"""Query by image."""

from __future__ import annotations

import time
from typing import Annotated

from fastapi import APIRouter, File, Form, UploadFile
from starlette.concurrency import run_in_threadpool

from service.api.deps import RegisterDep, SettingsDep, read_upload
from service.api.schemas import ErrorOut, SearchResponse, SearchResultOut, mark_url

router = APIRouter(prefix="/v1", tags=["search"])

_ERRORS = {
    413: {"model": ErrorOut, "description": "Upload or image too large."},
    415: {"model": ErrorOut, "description": "Not a supported image format."},
    422: {"model": ErrorOut, "description": "Corrupt image or invalid field."},
    409: {"model": ErrorOut, "description": "Index built with another model: reindex."},
}


@router.post("/search", response_model=SearchResponse, responses=_ERRORS)
async def search(
    register: RegisterDep,
    settings: SettingsDep,
    image: Annotated[UploadFile, File(description="The query mark image.")],
    k: Annotated[int, Form(ge=1, le=1000, description="Number of results.")] = 10,
) -> SearchResponse:
    """Marks most similar to the uploaded image, best first (cosine similarity)."""
    started = time.perf_counter()
    data = await read_upload(image, settings)
    results = await run_in_threadpool(register.search, data, k)
    return SearchResponse(
        results=[
            SearchResultOut(
                id=r.record.id,
                score=round(r.score, 6),
                name=r.record.name,
                owner=r.record.owner,
                nice_classes=r.record.nice_classes,
                status=r.record.status,
                image_url=mark_url(r.record.id, "/image"),
                thumbnail_url=mark_url(r.record.id, "/thumbnail"),
            )
            for r in results
        ],
        took_ms=round((time.perf_counter() - started) * 1000, 2),
    )
