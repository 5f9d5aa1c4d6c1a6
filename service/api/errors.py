"""Map domain errors to HTTP statuses with a JSON ``{"detail": ..., "code": ...}`` body.

``detail`` says what went wrong, in English; ``code`` is stable (``unsupported_image``,
``invalid_query``, ``not_found``, ...), so the page can say it in the reader's language.
"""

from __future__ import annotations

import logging
import math

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

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
from service.watch.store import WatchError, WatchNotFound

log = logging.getLogger("tmsearch.api")
#: the code of an HTTP error raised as an HTTPException (roles, missing routes and reports)
STATUS_CODES = {400: "invalid_request", 401: "unauthorized", 403: "forbidden",
                404: "not_found", 405: "not_allowed", 409: "conflict", 413: "too_large",
                415: "unsupported_image", 422: "invalid_request", 429: "rate_limited",
                431: "headers_too_large"}


def error(status: int, detail: str, code: str, **extra: object) -> JSONResponse:
    """The one shape of every error answer."""
    headers = extra.pop("headers", None)
    return JSONResponse({"detail": detail, "code": code, **extra}, status_code=status,
                        headers=headers)  # type: ignore[arg-type]


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(RequestValidationError)
    async def _request(_: Request, exc: RequestValidationError) -> JSONResponse:
        """FastAPI's own checks (a missing image, a k that is not a number) in the shape
        of every other error: one line, each field with what is wrong."""
        problems = "; ".join(problem_text(err) for err in exc.errors())
        return error(422, problems or "invalid request", "invalid_request")

    @app.exception_handler(StarletteHTTPException)
    async def _http(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        return error(exc.status_code, str(exc.detail),
                     STATUS_CODES.get(exc.status_code, "error"), headers=exc.headers)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        """A defect, not the caller's fault: logged with the request id, answered in JSON.
        Starlette answers it outside every middleware, so the id header is set here."""
        request_id = request_id_of(request.scope)
        log.error("unhandled error", exc_info=exc, extra={"fields": {"request_id": request_id}})
        return error(500, "internal error; it has been logged", "internal_error",
                     request_id=request_id,
                     headers={"X-Request-ID": request_id} if request_id else None)

    @app.exception_handler(ImageError)
    async def _image(_: Request, exc: ImageError) -> JSONResponse:
        code = {413: "too_large", 415: "unsupported_image"}.get(exc.status, "invalid_image")
        return error(exc.status, str(exc), code)

    @app.exception_handler(MetadataError)
    async def _metadata(_: Request, exc: MetadataError) -> JSONResponse:
        return error(422, f"invalid metadata: {'; '.join(exc.problems)}", "invalid_metadata")

    @app.exception_handler(QueryError)
    async def _query(_: Request, exc: QueryError) -> JSONResponse:
        return error(422, str(exc), "invalid_query")  # the message says what was invalid

    @app.exception_handler(MarkNotFound)
    async def _missing(_: Request, exc: MarkNotFound) -> JSONResponse:
        return error(404, f"no mark with id {exc.args[0]!r}", "not_found")

    @app.exception_handler(WatchError)
    async def _watch(_: Request, exc: WatchError) -> JSONResponse:
        return error(422, str(exc), "invalid_watch")

    @app.exception_handler(WatchNotFound)
    async def _no_watch(_: Request, exc: WatchNotFound) -> JSONResponse:
        return error(404, str(exc.args[0]), "not_found")

    @app.exception_handler(ReindexRunning)
    async def _reindexing(_: Request, exc: ReindexRunning) -> JSONResponse:
        return error(409, str(exc), "reindex_running")

    @app.exception_handler(RateLimited)
    async def _limited(request: Request, exc: RateLimited) -> JSONResponse:
        get_metrics(request).rate_limited.labels(exc.kind, exc.role).inc()
        return error(429, str(exc), "rate_limited",
                     headers={"Retry-After": str(max(1, math.ceil(exc.retry_after)))})

    @app.exception_handler(IndexMismatchError)
    async def _mismatch(_: Request, exc: IndexMismatchError) -> JSONResponse:
        return error(409, str(exc), "index_mismatch")

