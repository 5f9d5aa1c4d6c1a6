"""Batch reports run in the background, so a page can show progress and stay responsive.

One worker thread runs reports one after another (a report already batches its queries
through the model). Each job is a row in the records database and, once finished, files
under ``<data dir>/reports/<id>/`` (``report.csv``, ``report.pdf`` and ``result.json``,
see ``service.reports.job_store``), so reports outlive a restart: a finished one stays
downloadable until it expires (``report_keep_days``, and the newest ``report_keep``), one
that was running when the server stopped is marked failed.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from service.reports.batch import Report, run_report, write_csv, written_in_place
from service.reports.job_store import JobStore
from service.reports.pdf import write_pdf
from service.search.query import SearchOptions

if TYPE_CHECKING:  # types only: the register is opened by the app's lifespan
    from service.register import Register

REPORT_FILES = {"csv": ("report.csv", "text/csv"), "pdf": ("report.pdf", "application/pdf")}
DAY_S = 86_400.0


@dataclass
class ReportJob:
    id: str
    total: int
    done: int = 0
    status: str = "running"  # running | done | failed
    error: str | None = None
    report: Report | None = field(default=None, repr=False)  # while this process has it
    include_unpublished: bool = False  # its results may hold unpublished marks
    result: dict[str, Any] | None = field(default=None, repr=False)  # as kept on disk


#: a finished job as the API answers it (kept beside its files, read after a restart)
Describe = Callable[[ReportJob], dict[str, Any]]


class ReportJobs:
    """Submitted reports, by id; owned by the app (one per process)."""

    def __init__(self, register: Register, folder: Path, keep: int = 200,
                 keep_days: float = 7.0, describe: Describe | None = None) -> None:
        self.register = register
        self.folder = folder
        self.store = JobStore(register.records, folder)
        self.describe = describe
        self.keep, self.keep_s = keep, keep_days * DAY_S
        self._running: dict[str, ReportJob] = {}
        self._lock = threading.Lock()
        self._executor = ThreadPoolExecutor(1, thread_name_prefix="report")
        self.interrupted = self.store.mark_interrupted()
        self.store.expire(self.keep_s, self.keep)

    def submit(self, queries: list[tuple[str, bytes | Exception]], k: int,
               options: SearchOptions, language: str = "en") -> ReportJob:
        job = ReportJob(uuid.uuid4().hex[:16], total=len(queries),
                        include_unpublished=options.include_unpublished)
        self.store.insert(job.id, job.total, job.include_unpublished)
        with self._lock:
            self._running[job.id] = job
        self._executor.submit(self._run, job, queries, k, options, language)
        return job

    def _run(self, job: ReportJob, queries: list[tuple[str, bytes | Exception]], k: int,
             options: SearchOptions, language: str = "en") -> None:
        try:
            def progress(done: int) -> None:
                job.done = done

            report = run_report(self.register, queries, k, options, progress)
            target = self.folder / job.id
            target.mkdir(parents=True, exist_ok=True)
            with written_in_place(target / "report.csv", "w") as fh:
                write_csv(report, fh)
            with written_in_place(target / "report.pdf", "wb") as fh:
                write_pdf(report, fh, self._thumbnail, language)
            job.report, job.status = report, "done"
            if self.describe is not None:
                job.result = self.describe(job)
                self.store.write_result(job.id, job.result)
        except Exception as exc:  # noqa: BLE001 - reported on the job, never lost
            job.status, job.error = "failed", str(exc) or type(exc).__name__
        try:
            self.store.finish(job.id, job.status, job.done, job.error)
            self.store.expire(self.keep_s, self.keep)
        finally:
            with self._lock:
                self._running.pop(job.id, None)

    def _thumbnail(self, mark_id: str) -> bytes | None:
        try:
            return self.register.thumbnail(mark_id)
        except Exception:  # noqa: BLE001 - removed since: the PDF says "no image"
            return None

    def get(self, job_id: str, include_unpublished: bool = True) -> ReportJob:
        """A report by id; KeyError if unknown, or if it may hold unpublished marks and
        the caller may not see them."""
        with self._lock:
            job = self._running.get(job_id)
        if job is None:
            stored = self.store.get(job_id)
            if stored is None:
                raise KeyError(job_id)
            job = ReportJob(stored.id, stored.total, stored.done, stored.status, stored.error,
                            include_unpublished=stored.include_unpublished,
                            result=self.store.read_result(job_id))
        if job.include_unpublished and not include_unpublished:
            raise KeyError(job_id)
        return job

    def file(self, job_id: str, kind: str, include_unpublished: bool = True) -> Path:
        """The finished report's CSV or PDF; KeyError if unknown or not finished."""
        job = self.get(job_id, include_unpublished)
        path = self.folder / job.id / REPORT_FILES[kind][0]
        if job.status != "done" or not path.is_file():
            raise KeyError(job_id)
        return path

    def close(self) -> None:
        self._executor.shutdown(wait=True, cancel_futures=True)
