"""A watch's alerts as a CSV or PDF download (issue 19.3).

The same reach as ``GET /v1/alerts`` (service/api/routes/watches.py): the watch's owner
or an admin, another owner's watch answering 404 as a missing one does, and alerts on
filed marks only for roles that see filed marks. The files are made on request (they
are small and always current), by service/reports/alert_export.py.
"""

from __future__ import annotations

import io
from typing import Annotated, Literal

from fastapi import APIRouter, Path, Query, Response

from service.api.deps import RegisterDep
from service.api.routes.watches import OwnerDep
from service.api.schemas import ErrorOut
from service.api.security import Principal, search_limit
from service.register import Register
from service.reports.alert_export import (
    MAX_PDF_ALERTS,
    AlertExport,
    collect_alerts,
    write_alerts_csv,
    write_alerts_pdf,
)

router = APIRouter(tags=["watch"])
_ERRORS = {404: {"model": ErrorOut, "description": "No such watch (or not yours)."},
           422: {"model": ErrorOut, "description": "A status or risk no alert has."}}
WatchId = Annotated[int, Path(description="The watch's id (one that names none: 404).")]
StatusFilter = Annotated[str | None, Query(description="Only alerts of this status: new, "
                                                       "seen or dismissed.")]
RiskFilter = Annotated[str | None, Query(description="Only alerts of this risk: low, "
                                                     "medium or high.")]


def _export(register: Register, owner: Principal, watch_id: int, status: str | None,
            risk: str | None, limit: int | None = None) -> AlertExport:
    """The watch's alerts as ``owner`` may see them (404 for another owner's watch)."""
    reach = None if owner.role.sees_every_watch else owner.key_id  # as GET /v1/alerts
    watch = register.watches.get(watch_id, reach)
    return collect_alerts(register.watches.store, register.records, watch,
                          owner.include_unpublished, status, risk, limit)


def _attachment(watch_id: int, suffix: str) -> dict[str, str]:
    # the watch's name may hold anything: the file is named by its id
    return {"Content-Disposition": f'attachment; filename="tmsearch-watch-{watch_id}-'
                                   f'alerts.{suffix}"'}


@router.get("/v1/watches/{watch_id}/alerts.csv", response_class=Response, responses={
    200: {"content": {"text/csv": {}}, "description": "One row per alert, newest first."},
    **_ERRORS})
def alerts_csv(register: RegisterDep, owner: OwnerDep, watch_id: WatchId,
               status: StatusFilter = None, risk: RiskFilter = None) -> Response:
    """Every alert of the watch as CSV: alert id, created at, watch, the filing's mark id,
    name and owner, the watched mark, score, risk, matched component and status."""
    export = _export(register, owner, watch_id, status, risk)
    text = io.StringIO()
    write_alerts_csv(export, text)
    return Response(text.getvalue().encode("utf-8"), media_type="text/csv; charset=utf-8",
                    headers=_attachment(watch_id, "csv"))


@router.get("/v1/watches/{watch_id}/alerts.pdf", response_class=Response, responses={
    200: {"content": {"application/pdf": {}},
          "description": f"The newest {MAX_PDF_ALERTS} alerts with thumbnails."},
    **_ERRORS}, dependencies=[search_limit])
def alerts_pdf(register: RegisterDep, owner: OwnerDep, watch_id: WatchId,
               status: StatusFilter = None, risk: RiskFilter = None,
               language: Annotated[Literal["en", "zh"], Query(
                   description="English or Simplified Chinese.")] = "en") -> Response:
    """The watch's alerts as PDF: each filing's thumbnail beside the watched mark it looks
    like, with the score and risk level (the newest alerts when there are very many)."""
    export = _export(register, owner, watch_id, status, risk, MAX_PDF_ALERTS)
    unpublished = owner.include_unpublished

    def thumbnail(mark_id: str) -> bytes | None:
        try:
            return register.thumbnail(mark_id, unpublished)
        except Exception:  # noqa: BLE001 - removed meanwhile or unreadable: "no image"
            return None

    pdf = io.BytesIO()
    write_alerts_pdf(export, pdf, thumbnail, language)
    return Response(pdf.getvalue(), media_type="application/pdf",
                    headers=_attachment(watch_id, "pdf"))
