"""Explanations: heat maps of the regions that drive a query-result similarity."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, File, Form, Response, UploadFile
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from service.api.deps import RegisterDep, SettingsDep, read_upload
from service.api.schemas import ErrorOut
from service.api.security import SearchCaller
from service.search.explain import side_by_side_png

router = APIRouter(prefix="/v1", tags=["explain"])


class ExplanationOut(BaseModel):
    score: float = Field(description="The pair's score in a default search (0..1), as on "
                         "the result card.")
    grid: int
    query_heat: list[list[float]] = Field(description="Similarity drop per cell, 0..1.")
    result_heat: list[list[float]]
    query_max_drop: float = Field(description="Below about 0.05 the map is mostly noise.")
    result_max_drop: float


@router.post(
    "/explain",
    responses={
        200: {"content": {"image/png": {}}, "description": "Side-by-side overlay (PNG) or JSON."},
        404: {"model": ErrorOut}, 413: {"model": ErrorOut}, 415: {"model": ErrorOut},
        422: {"model": ErrorOut},
    },
    response_model=None,
)
async def explain(
    register: RegisterDep,
    settings: SettingsDep,
    caller: SearchCaller,
    result_id: Annotated[str, Form(description="Id of the result mark to explain.")],
    image: Annotated[UploadFile | None, File(description="The query image.")] = None,
    query_id: Annotated[str | None, Form(description="Or: a mark in the register.")] = None,
    format: Annotated[Literal["png", "json"], Form(description="png overlay or json")] = "png",
) -> Response | ExplanationOut:
    """Why a result is similar to a query: heat maps over both (occlusion sensitivity),
    so an examiner can point at the regions that justify a citation."""
    data = await read_upload(image, settings) if image is not None else None
    result = await run_in_threadpool(register.explain, result_id, data, query_id,
                                     caller.include_unpublished)
    if format == "json":
        return ExplanationOut(
            score=round(result.score, 6), grid=result.grid,
            query_heat=result.query_heat.round(4).tolist(),
            result_heat=result.result_heat.round(4).tolist(),
            query_max_drop=round(result.query_max_drop, 6),
            result_max_drop=round(result.result_max_drop, 6),
        )
    png = await run_in_threadpool(side_by_side_png, result)
    return Response(png, media_type="image/png")
