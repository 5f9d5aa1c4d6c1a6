"""Where report jobs are kept: a row per job in the records database (``report_jobs``)
and, for a finished one, its files under ``<data dir>/reports/<id>/`` (the CSV, the PDF
and ``result.json``, what ``GET /v1/reports/{id}`` answers). A restart finds every job
again; one that was running when its server stopped is marked failed, since its
searches died with it.
"""

from __future__ import annotations

import json
import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import text

from service.storage.records import RecordStore

RESULT_FILE = "result.json"
INTERRUPTED = "the server stopped while this report ran; submit it again"


@dataclass
class StoredJob:
    id: str
    status: str
    done: int
    total: int
    error: str | None
    include_unpublished: bool
    created_at: float
    finished_at: float | None


class JobStore:
    """The ``report_jobs`` table and the jobs' folders."""

    def __init__(self, records: RecordStore, folder: Path) -> None:
        self.records = records
        self.folder = folder

    def insert(self, job_id: str, total: int, include_unpublished: bool) -> None:
        with self.records.transaction() as conn:
            conn.execute(text(
                "INSERT INTO report_jobs(id, status, done, total, include_unpublished, "
                "created_at) VALUES (:id, 'running', 0, :total, :unpublished, :now)"),
                {"id": job_id, "total": total, "unpublished": include_unpublished,
                 "now": time.time()})

    def finish(self, job_id: str, status: str, done: int, error: str | None) -> None:
        with self.records.transaction() as conn:
            conn.execute(text(
                "UPDATE report_jobs SET status = :status, done = :done, error = :error, "
                "finished_at = :now WHERE id = :id"),
                {"id": job_id, "status": status, "done": done, "error": error,
                 "now": time.time()})

    def get(self, job_id: str) -> StoredJob | None:
        with self.records.connection() as conn:
            row = conn.execute(text(
                "SELECT id, status, done, total, error, include_unpublished, created_at, "
                "finished_at FROM report_jobs WHERE id = :id"), {"id": job_id}).first()
        if row is None:
            return None
        return StoredJob(str(row[0]), str(row[1]), int(row[2]), int(row[3]), row[4],
                         bool(row[5]), float(row[6]), None if row[7] is None else float(row[7]))

    def write_result(self, job_id: str, result: dict[str, Any]) -> None:
        target = self.folder / job_id
        target.mkdir(parents=True, exist_ok=True)
        partial = target / (RESULT_FILE + ".partial")
        partial.write_text(json.dumps(result))
        partial.replace(target / RESULT_FILE)

    def read_result(self, job_id: str) -> dict[str, Any] | None:
        try:
            return json.loads((self.folder / job_id / RESULT_FILE).read_text())
        except (OSError, ValueError):
            return None

    def mark_interrupted(self) -> int:
        """Jobs left running by a server that stopped: failed (on start-up)."""
        with self.records.transaction() as conn:
            return int(conn.execute(text(
                "UPDATE report_jobs SET status = 'failed', error = :error, finished_at = :now "
                "WHERE status = 'running'"), {"error": INTERRUPTED, "now": time.time()}
            ).rowcount or 0)

    def expire(self, keep_s: float, keep_count: int) -> list[str]:
        """Forget finished jobs older than ``keep_s`` or beyond the newest ``keep_count``,
        and delete their files; the ids forgotten."""
        cutoff = time.time() - keep_s
        with self.records.transaction() as conn:
            rows = conn.execute(text(
                "SELECT id, created_at FROM report_jobs WHERE status != 'running' "
                "ORDER BY created_at DESC")).all()
            old = [str(r[0]) for n, r in enumerate(rows) if n >= keep_count or r[1] < cutoff]
            for job_id in old:
                conn.execute(text("DELETE FROM report_jobs WHERE id = :id"), {"id": job_id})
        for job_id in old:
            shutil.rmtree(self.folder / job_id, ignore_errors=True)
        return old

