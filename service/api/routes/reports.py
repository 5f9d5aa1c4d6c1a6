"""Batch pre-check reports: submit many logos (files or a zip), follow progress, download
the report as CSV or PDF."""

from __future__ import annotations

from dataclasses import replace
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, File, Form, HTTPException, UploadFile
from fastapi.responses import FileResponse
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from service.api.deps import ReportJobsDep as JobsDep
from service.api.deps import SettingsDep, read_upload
from service.api.schemas import ErrorOut, SearchResultOut
from service.api.search_params import form_options
from service.api.security import PrincipalDep, UploadCaller
from service.marks.images import ImageTooLarge
from service.reports.batch import MAX_ZIP_FILES, ReportError, read_zip
from service.reports.jobs import REPORT_FILES, ReportJob
from service.search.query import SearchOptions

router = APIRouter(prefix="/v1/reports", tags=["reports"])

_NOT_FOUND = {404: {"model": ErrorOut, "description": "No such report (or not finished)."}}


class ReportQueryOut(BaseModel):
    name: str
    error: str | None = None
    results: list[SearchResultOut] = Field(default_factory=list)


class ReportOut(BaseModel):
    id: str
    status: str = Field(description="running, done or failed.")
    done: int = Field(description="Queries searched so far.")
    total: int
    error: str | None = None
    created: str | None = None
    model_version: str | None = None
    options: str | None = Field(None, description="The filters and options used.")
    queries: list[ReportQueryOut] = Field(default_factory=list, description="When done.")
    csv_url: str | None = None
    pdf_url: str | None = None

    @classmethod
    def of(cls, job: ReportJob) -> ReportOut:
        if job.report is None and job.result is not None:  # finished, read from disk
            return cls.model_validate(job.result)
        out = cls(id=job.id, status=job.status, done=job.done, total=job.total,
                  error=job.error)
        report = job.report
        if report is not None:
            out.created, out.model_version = report.created, report.model_version
            out.options = report.describe_options()
            out.queries = [ReportQueryOut(name=q.name, error=q.error,
                                          results=[SearchResultOut.of(r) for r in q.results])
                           for q in report.queries]
            out.csv_url = f"/v1/reports/{job.id}/report.csv"
            out.pdf_url = f"/v1/reports/{job.id}/report.pdf"
        return out


def describe_report(job: ReportJob) -> dict[str, Any]:
    """A finished job as ``GET /v1/reports/{id}`` answers it, kept beside its files."""
    return ReportOut.of(job).model_dump(mode="json")


@router.post("", status_code=202, response_model=ReportOut, responses={
    413: {"model": ErrorOut, "description": "An upload is too large."},
    422: {"model": ErrorOut, "description": "No logos, too many, or a bad zip."}})
async def submit_report(
    jobs: JobsDep,
    settings: SettingsDep,
    caller: UploadCaller,
    options: Annotated[SearchOptions, Depends(form_options)],
    images: Annotated[list[UploadFile] | None, File(description="Query logos.")] = None,
    archive: Annotated[UploadFile | None, File(description="A zip of query logos.")] = None,
    k: Annotated[int, Form(ge=1, le=50, description="Matches per logo.")] = 5,
    language: Annotated[Literal["en", "zh"], Form(
        description="The PDF's language: English or Simplified Chinese.")] = "en",
) -> ReportOut:
    """Start a pre-check of many logos; poll ``GET /v1/reports/{id}`` for progress."""
    queries: list[tuple[str, bytes | Exception]] = []
    for upload in images or []:
        try:
            queries.append((upload.filename or f"logo-{len(queries) + 1}",
                            await read_upload(upload, settings)))
        except ImageTooLarge as exc:  # one oversized logo is reported, not fatal
            queries.append((upload.filename or f"logo-{len(queries) + 1}", exc))
    if archive is not None:
        data = await archive.read(settings.max_archive_bytes + 1)
        if len(data) > settings.max_archive_bytes:
            raise ImageTooLarge(
                f"zip is larger than the limit of {settings.max_archive_bytes:,} bytes")
        try:
            queries += await run_in_threadpool(lambda: list(read_zip(data)))
        except ReportError as exc:
            raise HTTPException(422, f"invalid zip: {exc}") from exc
    if not queries:
        raise HTTPException(422, "give one or more logos (images) or a zip (archive)")
    if len(queries) > MAX_ZIP_FILES:
        raise HTTPException(422, f"{len(queries)} logos; the limit is {MAX_ZIP_FILES}")
    names = [name for name, _ in queries]
    if len(set(names)) != len(names):  # the report is keyed by name: keep them apart
        queries = [(f"{i + 1}-{name}", data) for i, (name, data) in enumerate(queries)]
    options = replace(options, include_unpublished=caller.include_unpublished)
    return ReportOut.of(jobs.submit(queries, k, options, language))


@router.get("/{report_id}", response_model=ReportOut, responses=_NOT_FOUND)
async def report_status(jobs: JobsDep, principal: PrincipalDep, report_id: str) -> Any:
    """Progress of a report and, when done, its matches and download links."""
    try:
        return ReportOut.of(jobs.get(report_id, principal.include_unpublished))
    except KeyError as exc:
        raise HTTPException(404, f"no report with id {report_id!r}") from exc


@router.get("/{report_id}/report.{kind}", responses=_NOT_FOUND, response_class=FileResponse)
async def report_file(jobs: JobsDep, principal: PrincipalDep, report_id: str, kind: str
                      ) -> FileResponse:
    """The finished report as CSV or PDF (an attachment)."""
    if kind not in REPORT_FILES:
        raise HTTPException(404, f"no report format {kind!r}: csv or pdf")
    try:
        path = jobs.file(report_id, kind, principal.include_unpublished)
    except KeyError as exc:
        raise HTTPException(404, f"no finished report with id {report_id!r}") from exc
    name, media_type = REPORT_FILES[kind]
    return FileResponse(path, media_type=media_type, filename=f"tmsearch-{report_id}-{name}")
