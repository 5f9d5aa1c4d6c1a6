"""Mark records and their images: read, add or replace, remove."""

from __future__ import annotations

import json
import time
from dataclasses import replace
from typing import Annotated

from fastapi import APIRouter, Depends, File, Form, Query, Request, Response, UploadFile
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from service.api.deps import MetricsDep, RegisterDep, SettingsDep, read_upload
from service.api.schemas import ErrorOut, MarkOut, MarkPageOut, SearchResponse
from service.api.search_params import filter_query, query_options
from service.api.security import AdminDep, PrincipalDep, SearchCaller, upload_limit
from service.marks.filters import SearchFilters
from service.marks.images import ImageError
from service.marks.metadata import MarkMetadata, MetadataError, parse_metadata
from service.register import Register
from service.search.query import SearchOptions
from service.storage.record_listing import MAX_PER_PAGE
from service.storage.stored_marks import MarkNotFound

router = APIRouter(prefix="/v1/marks", tags=["marks"])
_NOT_FOUND = {404: {"model": ErrorOut, "description": "No such mark."}}
def _cache(principal: PrincipalDep) -> dict[str, str]:
    """Images of marks anyone may see can sit in shared caches; what a key unlocked
    (unpublished marks) must not."""
    scope = "private" if principal.key_id else "public"
    return {"Cache-Control": f"{scope}, max-age=300", "Vary": "Authorization"}


def _record_named_like_a_sub_resource(register: Register, mark_id: str, suffix: str,
                                      include_unpublished: bool) -> MarkOut | None:
    """Ids may contain slashes, so ``/v1/marks/logos/image`` can mean the image of mark
    ``logos`` or the record of mark ``logos/image``. The image wins when mark ``logos``
    exists (for this caller); otherwise this is the record of ``logos/image``."""
    def visible(record_id: str) -> MarkOut | None:
        try:
            return MarkOut.of(register.get(record_id, include_unpublished))
        except MarkNotFound:
            return None

    if visible(mark_id) is None:
        return visible(f"{mark_id}/{suffix}")
    return None


@router.get("", response_model=MarkPageOut, responses={422: {"model": ErrorOut}})
async def list_marks(
    register: RegisterDep,
    caller: SearchCaller,
    filters: Annotated[SearchFilters, Depends(filter_query)],
    text: Annotated[str | None, Query(
        description="Part of the mark's name or words, case-insensitive.",
        max_length=200)] = None,
    page: Annotated[int, Query(ge=1, le=1_000_000, description="1-based page.")] = 1,
    per_page: Annotated[int, Query(ge=1, le=MAX_PER_PAGE)] = 20,
) -> MarkPageOut:
    """Browse the register without an image: the marks passing the filters, newest filing
    first, under the same visibility rules as search (filed marks for examiners only)."""
    listing = await run_in_threadpool(register.browse, filters, text, page, per_page,
                                      caller.include_unpublished)
    return MarkPageOut.of(listing)


@router.get("/{mark_id:path}/image", responses=_NOT_FOUND)
async def mark_image(register: RegisterDep, principal: PrincipalDep, mark_id: str
                     ) -> Response:
    """The stored image of a mark (as uploaded for PNG/JPEG/GIF/WebP, else PNG)."""
    unpublished = principal.include_unpublished
    if (record := _record_named_like_a_sub_resource(register, mark_id, "image",
                                                    unpublished)) is not None:
        return JSONResponse(record.model_dump())
    data, media_type = await run_in_threadpool(register.image, mark_id, unpublished)
    return Response(data, media_type=media_type, headers=_cache(principal))


@router.get("/{mark_id:path}/thumbnail", responses=_NOT_FOUND)
async def mark_thumbnail(register: RegisterDep, principal: PrincipalDep, mark_id: str
                         ) -> Response:
    unpublished = principal.include_unpublished
    if (record := _record_named_like_a_sub_resource(register, mark_id, "thumbnail",
                                                    unpublished)) is not None:
        return JSONResponse(record.model_dump())
    data = await run_in_threadpool(register.thumbnail, mark_id, unpublished)
    return Response(data, media_type="image/png", headers=_cache(principal))


@router.get("/{mark_id:path}/similar", response_model=SearchResponse,
            responses={**_NOT_FOUND, 422: {"model": ErrorOut}})
async def similar_marks(
    register: RegisterDep,
    caller: SearchCaller,
    mark_id: str,
    options: Annotated[SearchOptions, Depends(query_options)],
    k: Annotated[int, Query(ge=1, le=1000, description="Number of results.")] = 10,
) -> SearchResponse | JSONResponse:
    """Marks most similar to a mark in the register (the mark itself is left out)."""
    options = replace(options, include_unpublished=caller.include_unpublished)
    if (record := _record_named_like_a_sub_resource(register, mark_id, "similar",
                                                    options.include_unpublished)) is not None:
        return JSONResponse(record.model_dump())
    started = time.perf_counter()
    results = await run_in_threadpool(register.similar, mark_id, k, options)
    return SearchResponse.of(results, options, started)


@router.get("/{mark_id:path}", response_model=MarkOut, responses=_NOT_FOUND)
async def get_mark(register: RegisterDep, principal: PrincipalDep, mark_id: str) -> MarkOut:
    return MarkOut.of(register.get(mark_id, principal.include_unpublished))


@router.post(
    "",
    response_model=MarkOut,
    status_code=201,
    dependencies=[upload_limit],
    responses={
        200: {"model": MarkOut, "description": "An existing mark was replaced."},
        413: {"model": ErrorOut}, 415: {"model": ErrorOut}, 422: {"model": ErrorOut},
    },
)
async def add_mark(
    register: RegisterDep,
    settings: SettingsDep,
    metrics: MetricsDep,
    admin: AdminDep,
    request: Request,
    response: Response,
    image: Annotated[UploadFile, File(description="The mark image.")],
    metadata: Annotated[
        str, Form(description='JSON object, e.g. {"id": "TM-1", "name": "Acme", ...}.')
    ],
) -> MarkOut:
    """Add a mark, or replace the mark with the same id (201 created, 200 replaced)."""
    try:
        meta = _metadata_of(metadata)
        data = await read_upload(image, settings)
        record, created = await run_in_threadpool(register.add_mark, data, meta)
    except (ImageError, MetadataError):
        metrics.ingest_errors.inc()
        raise
    response.status_code = 201 if created else 200
    return MarkOut.of(record)


def _metadata_of(text: str) -> MarkMetadata:
    try:
        fields = json.loads(text)
    except json.JSONDecodeError as exc:
        raise MetadataError(f"metadata is not valid JSON: {exc}") from exc
    if not isinstance(fields, dict):
        raise MetadataError("metadata must be a JSON object")
    meta = parse_metadata(fields)
    if not meta.id:
        raise MetadataError("metadata needs an 'id'")
    return meta


@router.delete("/{mark_id:path}", status_code=204, responses=_NOT_FOUND)
async def delete_mark(register: RegisterDep, admin: AdminDep, mark_id: str) -> Response:
    removed = await run_in_threadpool(register.remove, [mark_id])
    if not removed:
        raise MarkNotFound(mark_id)
    return Response(status_code=204)
