"""Everything a route depends on, as typed getters over one typed app state.

``AppState`` is built by ``create_app`` (service/api/main.py): the settings and the
metrics at once, the register and the services around it in the lifespan (no module
singletons). Routes ask for what they need with the ``...Dep`` annotations below and
never read ``app.state`` themselves.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request, UploadFile

from service.api.observability import Metrics
from service.marks.images import ImageTooLarge
from service.ops.reindex_job import ReindexJob
from service.register import Register
from service.reports.jobs import ReportJobs
from service.security.keys import KeyStore
from service.security.rate_limit import RateLimiter
from service.settings import Settings


@dataclass
class Services:
    """What the lifespan opens: the register and the services that work on it."""

    register: Register
    reports: ReportJobs
    reindex: ReindexJob
    keys: KeyStore
    limiter: RateLimiter


@dataclass
class AppState:
    """The app's state: set up before the first request, closed after the last."""

    settings: Settings
    metrics: Metrics
    services: Services | None = None  # None before the lifespan opened them

    @property
    def ready(self) -> Services:
        if self.services is None:  # requests arrive only once the lifespan has started
            raise RuntimeError("the register is not open yet")
        return self.services


def app_state(request: Request) -> AppState:
    return request.app.state.tmsearch


def get_settings(request: Request) -> Settings:
    return app_state(request).settings


def get_metrics(request: Request) -> Metrics:
    return app_state(request).metrics


def get_register(request: Request) -> Register:
    return app_state(request).ready.register


def get_report_jobs(request: Request) -> ReportJobs:
    return app_state(request).ready.reports


def get_reindex_job(request: Request) -> ReindexJob:
    return app_state(request).ready.reindex


def get_keys(request: Request) -> KeyStore:
    return app_state(request).ready.keys


def get_limiter(request: Request) -> RateLimiter:
    return app_state(request).ready.limiter


SettingsDep = Annotated[Settings, Depends(get_settings)]
MetricsDep = Annotated[Metrics, Depends(get_metrics)]
RegisterDep = Annotated[Register, Depends(get_register)]
ReportJobsDep = Annotated[ReportJobs, Depends(get_report_jobs)]
ReindexJobDep = Annotated[ReindexJob, Depends(get_reindex_job)]
KeysDep = Annotated[KeyStore, Depends(get_keys)]
LimiterDep = Annotated[RateLimiter, Depends(get_limiter)]


async def read_upload(upload: UploadFile, settings: Settings) -> bytes:
    """Read an upload, refusing more than ``max_upload_bytes`` without reading it all."""
    data = await upload.read(settings.max_upload_bytes + 1)
    if len(data) > settings.max_upload_bytes:
        raise ImageTooLarge(
            f"upload is larger than the limit of {settings.max_upload_bytes:,} bytes"
        )
    return data
