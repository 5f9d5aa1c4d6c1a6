"""Map domain errors to HTTP statuses with a JSON ``{"detail": ...}`` body."""

from __future__ import annotations

import logging
import math

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from index.base import IndexMismatchError
from service.api.deps import get_metrics
from service.api.observability import request_id_of
from service.api.security import RateLimited
from service.marks.filters import QueryError
from service.marks.images import ImageError
from service.marks.metadata import MetadataError
from service.marks.plain_errors import problem_text
from service.ops.maintenance import ReindexRunning
from service.storage.stored_marks import MarkNotFound

log = logging.getLogger("tmsearch.api")


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(RequestValidationError)
    async def _request(_: Request, exc: RequestValidationError) -> JSONResponse:
        """FastAPI's own checks (a missing image, a k that is not a number) in the shape
        of every other error: one line, each field with what is wrong."""
        problems = "; ".join(problem_text(err) for err in exc.errors())
        return JSONResponse({"detail": problems or "invalid request"}, status_code=422)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        """A defect, not the caller's fault: logged with the request id, answered in JSON."""
        request_id = request_id_of(request.scope)
        log.error("unhandled error", exc_info=exc, extra={"fields": {"request_id": request_id}})
        return JSONResponse({"detail": "internal error; it has been logged",
                             "request_id": request_id}, status_code=500)

    @app.exception_handler(ImageError)
    async def _image(_: Request, exc: ImageError) -> JSONResponse:
        return JSONResponse({"detail": str(exc)}, status_code=exc.status)

    @app.exception_handler(MetadataError)
    async def _metadata(_: Request, exc: MetadataError) -> JSONResponse:
        return JSONResponse({"detail": f"invalid metadata: {exc}"}, status_code=422)

    @app.exception_handler(QueryError)
    async def _query(_: Request, exc: QueryError) -> JSONResponse:
        return JSONResponse({"detail": str(exc)}, status_code=422)  # says what was invalid

    @app.exception_handler(MarkNotFound)
    async def _missing(_: Request, exc: MarkNotFound) -> JSONResponse:
        return JSONResponse({"detail": f"no mark with id {exc.args[0]!r}"}, status_code=404)

    @app.exception_handler(ReindexRunning)
    async def _reindexing(_: Request, exc: ReindexRunning) -> JSONResponse:
        return JSONResponse({"detail": str(exc)}, status_code=409)

    @app.exception_handler(RateLimited)
    async def _limited(request: Request, exc: RateLimited) -> JSONResponse:
        get_metrics(request).rate_limited.labels(exc.kind, exc.role).inc()
        return JSONResponse({"detail": str(exc)}, status_code=429,
                            headers={"Retry-After": str(max(1, math.ceil(exc.retry_after)))})

    @app.exception_handler(IndexMismatchError)
    async def _mismatch(_: Request, exc: IndexMismatchError) -> JSONResponse:
        return JSONResponse({"detail": str(exc)}, status_code=409)

