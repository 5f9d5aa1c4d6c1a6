"""Batch reports run in the background, so a page can show progress and stay responsive.

One worker thread runs reports one after another (a report already batches its queries
through the model); finished reports are written under ``<data dir>/reports/<id>/`` as
``report.csv`` and ``report.pdf`` and the oldest are forgotten beyond ``keep``.
"""

from __future__ import annotations

import shutil
import threading
import uuid
from collections import OrderedDict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from service.reports.batch import Report, run_report, write_csv, write_pdf
from service.search.query import SearchOptions

if TYPE_CHECKING:  # types only: the register is opened by the app's lifespan
    from service.register import Register

REPORT_FILES = {"csv": ("report.csv", "text/csv"), "pdf": ("report.pdf", "application/pdf")}


@dataclass
class ReportJob:
    id: str
    total: int
    done: int = 0
    status: str = "running"  # running | done | failed
    error: str | None = None
    report: Report | None = field(default=None, repr=False)
    include_unpublished: bool = False  # its results may hold unpublished marks


class ReportJobs:
    """Submitted reports, by id; owned by the app (one per process)."""

    def __init__(self, register: Register, folder: Path, keep: int = 50) -> None:
        self.register = register
        self.folder = folder
        self.keep = keep
        self._jobs: OrderedDict[str, ReportJob] = OrderedDict()
        self._lock = threading.Lock()
        self._executor = ThreadPoolExecutor(1, thread_name_prefix="report")

    def submit(self, queries: list[tuple[str, bytes | Exception]], k: int,
               options: SearchOptions) -> ReportJob:
        job = ReportJob(uuid.uuid4().hex[:16], total=len(queries),
                        include_unpublished=options.include_unpublished)
        with self._lock:
            self._jobs[job.id] = job
            while len(self._jobs) > self.keep:
                old, _ = self._jobs.popitem(last=False)
                shutil.rmtree(self.folder / old, ignore_errors=True)
        self._executor.submit(self._run, job, queries, k, options)
        return job

    def _run(self, job: ReportJob, queries: list[tuple[str, bytes | Exception]], k: int,
             options: SearchOptions) -> None:
        try:
            def progress(done: int) -> None:
                job.done = done

            report = run_report(self.register, queries, k, options, progress)
            target = self.folder / job.id
            target.mkdir(parents=True, exist_ok=True)
            with (target / "report.csv").open("w", newline="", encoding="utf-8") as fh:
                write_csv(report, fh)
            with (target / "report.pdf").open("wb") as fh:
                write_pdf(report, fh, self._thumbnail)
            job.report = report
            job.status = "done"
        except Exception as exc:  # noqa: BLE001 - reported on the job, never lost
            job.status, job.error = "failed", str(exc) or type(exc).__name__

    def _thumbnail(self, mark_id: str) -> bytes | None:
        try:
            return self.register.thumbnail(mark_id)
        except Exception:  # noqa: BLE001 - removed since: the PDF says "no image"
            return None

    def get(self, job_id: str, include_unpublished: bool = True) -> ReportJob:
        """A report by id; KeyError if unknown, or if it may hold unpublished marks and
        the caller may not see them."""
        with self._lock:
            job = self._jobs[job_id]
        if job.include_unpublished and not include_unpublished:
            raise KeyError(job_id)
        return job

    def file(self, job_id: str, kind: str, include_unpublished: bool = True) -> Path:
        """The finished report's CSV or PDF; KeyError if unknown or not finished."""
        job = self.get(job_id, include_unpublished)
        if job.status != "done":
            raise KeyError(job_id)
        return self.folder / job.id / REPORT_FILES[kind][0]

    def close(self) -> None:
        self._executor.shutdown(wait=True, cancel_futures=True)
