"""The FastAPI app: a thin assembly of routers around one register per process."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles
from fastapi_offline import FastAPIOffline
from starlette.concurrency import run_in_threadpool

from models.embedder import Embedder
from service.api.deps import AppState, Services
from service.api.errors import install_error_handlers
from service.api.observability import Metrics, RequestObserver
from service.api.request_limits import RequestLimits
from service.api.routes import (
    explain,
    health,
    keys,
    marks,
    metrics,
    pages,
    register_info,
    reindex,
    reports,
    search,
    watch_exports,
    watches,
)
from service.api.routes.reports import describe_report
from service.ops.reindex_job import ReindexJob
from service.register import Register
from service.reports.jobs import ReportJobs
from service.security.keys import KeyStore
from service.security.rate_limit import RateLimiter
from service.settings import Settings
from service.watch.webhook import WebhookSender

FORM_OVERHEAD_BYTES = 1024 * 1024  # form fields and multipart framing beside the files


def create_app(settings: Settings | None = None, embedder: Embedder | None = None) -> FastAPI:
    """Build the app; the model and index load once, in the lifespan."""
    settings = settings or Settings()
    state = AppState(settings, Metrics(
        lambda: None if state.services is None else state.services.register))

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        register = await run_in_threadpool(Register, settings, embedder)
        register.follow_other_writers(settings.follow_interval_s)
        services = Services(
            register=register,
            reports=ReportJobs(register, register.layout.reports, settings.report_keep,
                               settings.report_keep_days, describe=describe_report),
            reindex=ReindexJob(register),
            keys=KeyStore(register.layout.keys),
            limiter=RateLimiter(settings.rate_limits),
        )
        state.services = services
        sender = None
        if settings.watch_webhook_url:  # watch alerts to the configured receiver
            sender = WebhookSender(register.records, settings.watch_webhook_url)
            sender.start(settings.watch_webhook_every_s)
        try:
            yield
        finally:
            if sender is not None:
                await run_in_threadpool(sender.close)
            await run_in_threadpool(services.reindex.wait)
            await run_in_threadpool(services.reports.close)
            await run_in_threadpool(register.close)
            services.keys.close()
            state.services = None

    # Swagger UI (/docs) from files in the fastapi-offline package, not a CDN: an
    # examination centre's network may reach nothing outside (ReDoc is left out: it loads
    # its logo from a CDN whatever it is told)
    app = FastAPIOffline(
        redoc_url=None,
        title="tmsearch",
        summary="Trademark image similarity search",
        version="0.1.0",
        lifespan=lifespan,
    )
    app.state.tmsearch = state
    # whole requests beyond this are refused (413 JSON) before they are read; each upload
    # is further held to max_upload_bytes. The observer, outermost, logs the refusals too.
    app.add_middleware(RequestLimits, max_body=settings.max_archive_bytes + FORM_OVERHEAD_BYTES)
    app.add_middleware(RequestObserver, metrics=state.metrics)
    install_error_handlers(app)
    app.include_router(search.router)
    app.include_router(explain.router)
    app.include_router(marks.router)
    app.include_router(reports.router)
    app.include_router(register_info.router)
    app.include_router(reindex.router)
    app.include_router(watches.router)
    app.include_router(watch_exports.router)
    app.include_router(keys.router)
    app.include_router(health.router)
    app.include_router(metrics.router)
    app.include_router(pages.router)
    app.mount("/static", StaticFiles(directory=pages.STATIC_DIR), name="static")
    return app
