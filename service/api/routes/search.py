"""Query by image."""

from __future__ import annotations

import time
from dataclasses import replace
from typing import Annotated

from fastapi import APIRouter, Depends, File, Form, UploadFile
from starlette.concurrency import run_in_threadpool

from service.api.deps import RegisterDep, SettingsDep, read_upload
from service.api.schemas import ErrorOut, SearchResponse
from service.api.search_params import form_options
from service.api.security import SearchCaller
from service.search.query import SearchOptions

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
    caller: SearchCaller,
    image: Annotated[UploadFile, File(description="The query mark image.")],
    options: Annotated[SearchOptions, Depends(form_options)],
    k: Annotated[int, Form(ge=1, le=1000, description="Number of results.")] = 10,
) -> SearchResponse:
    """Marks most similar to the uploaded image, best first (scores in [0, 1]).

    Filters narrow the marks searched (inside the index search, so k results come back
    when enough marks pass); a crop searches with a rectangle of the image.
    """
    started = time.perf_counter()
    options = replace(options, include_unpublished=caller.include_unpublished)
    data = await read_upload(image, settings)
    results = await run_in_threadpool(register.search, data, k, options)
    return SearchResponse.of(results, options, started)
