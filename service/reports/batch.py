"""Batch pre-check reports: many query logos, their top matches, as CSV and as PDF.

An applicant pre-checks a set of logos before filing, an examiner files the report with
the application: so a report names the filters, the date and the model version it was
made with, and shows each query beside its matches (thumbnails, scores, risk levels).
The CLI (``tmsearch report``) and the API (``/v1/reports``) both build a :class:`Report`
with :func:`run_report` and write it with :func:`write_csv` and ``service.reports.pdf``'s
``write_pdf``.
"""

from __future__ import annotations

import contextlib
import csv
import io
import os
import zipfile
import zlib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath
from typing import IO, TYPE_CHECKING, Any

from service.search.query import SearchOptions

if TYPE_CHECKING:  # types only: the register (and torch) load where a report runs
    from service.register import Register
    from service.search.results import SearchResult

#: bounds on a zip of query logos (an upload from the public)
MAX_ZIP_FILES = 200
MAX_ZIP_TOTAL_BYTES = 200 * 1024 * 1024
MAX_ZIP_RATIO = 100  # uncompressed / compressed, per member: zip bombs are refused
ZIP_IMAGE_SUFFIXES = frozenset({".png", ".jpg", ".jpeg", ".gif", ".bmp", ".tif", ".tiff",
                                ".webp", ".svg"})


class ReportError(ValueError):
    """A batch that cannot be read (a bad zip, too many files): HTTP 4xx, CLI usage error."""


@dataclass
class ReportQuery:
    """One query logo of a report and what it found (or why it failed)."""

    name: str
    image: bytes | None = None  # the query as uploaded, for the PDF's thumbnail
    results: list[SearchResult] = field(default_factory=list)
    error: str | None = None


@dataclass
class Report:
    queries: list[ReportQuery]
    options: SearchOptions
    k: int
    model_version: str
    created: str = field(
        default_factory=lambda: datetime.now(UTC).isoformat(timespec="seconds"))

    def describe_options(self) -> str:
        """The filters and options the searches used, for the report's header."""
        parts = [f"{key}={value}" for key, value in self.options.filters.describe().items()]
        parts.append(f"mode={self.options.mode.value}")
        if self.options.rotation_tolerant:
            parts.append("rotation_tolerant")
        if self.options.text:
            parts.append(f"text={self.options.text}")
        return ", ".join(parts) if parts else "none"


def read_zip(data: bytes, max_files: int = MAX_ZIP_FILES,
             max_total: int = MAX_ZIP_TOTAL_BYTES
             ) -> Iterator[tuple[str, bytes | ReportError]]:
    """The image members of a zip, bounded in count, total size and compression ratio.

    Names are only labels (nothing is written to disk) but unsafe ones are still refused,
    so a report never shows a path that climbs out of the archive. A member that cannot
    be read (encrypted, a bad CRC, an unknown compression) comes as its error: the report
    shows it as that logo's failure and checks the others.
    """
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, OSError, EOFError, ValueError) as exc:
        raise ReportError("not a readable zip archive") from exc
    members = [m for m in archive.infolist() if not m.is_dir()
               and PurePosixPath(m.filename).suffix.lower() in ZIP_IMAGE_SUFFIXES]
    if len(members) > max_files:
        raise ReportError(f"the zip holds {len(members)} images; the limit is {max_files}")
    if sum(m.file_size for m in members) > max_total:
        raise ReportError(f"the zip's images unpack to more than {max_total:,} bytes")
    for member in members:
        path = PurePosixPath(member.filename)
        if path.is_absolute() or ".." in path.parts or "\\" in member.filename:
            raise ReportError(f"unsafe path in zip: {member.filename!r}")
        if member.file_size > MAX_ZIP_RATIO * max(member.compress_size, 1):
            raise ReportError(f"{member.filename}: compression ratio too high (zip bomb?)")
        if member.flag_bits & 0x1:
            yield member.filename, ReportError("encrypted in the zip; zip it without a password")
            continue
        try:
            with archive.open(member) as fh:
                content = fh.read(member.file_size + 1)
        except (zipfile.BadZipFile, NotImplementedError, RuntimeError, EOFError, OSError,
                zlib.error) as exc:  # bad CRC, unknown compression, truncated data
            yield member.filename, ReportError(f"cannot be read from the zip ({exc})")
            continue
        if len(content) > member.file_size:
            raise ReportError(f"{member.filename}: larger than the zip says")
        yield member.filename, content


def run_report(
    register: Register,
    queries: Iterable[tuple[str, bytes | Exception]],
    k: int,
    options: SearchOptions,
    on_progress: Callable[[int], None] | None = None,
) -> Report:
    """Search every query (batched, model loaded once) and collect a report."""
    items = list(queries)
    data = dict(items)
    out: list[ReportQuery] = []
    for done, (name, outcome) in enumerate(register.search_many(items, k, options), start=1):
        image = data[name] if isinstance(data[name], bytes) else None
        if isinstance(outcome, Exception):
            out.append(ReportQuery(name, image, error=str(outcome) or type(outcome).__name__))
        else:
            out.append(ReportQuery(name, image, list(outcome)))
        if on_progress:
            on_progress(done)
    return Report(out, options, k, register.embedder.version)


CSV_COLUMNS = ("query", "rank", "mark_id", "name", "owner", "score", "shape_score", "risk",
               "matched_component", "matched_words", "nice_classes", "status", "error")


def write_csv(report: Report, fh: IO[str]) -> None:
    """One row per (query, match); a failed query gets one row with its error."""
    writer = csv.writer(fh)
    writer.writerow(CSV_COLUMNS)
    for query in report.queries:
        if query.error is not None:
            writer.writerow([query.name, "", "", "", "", "", "", "", "", "", "", "",
                             query.error])
            continue
        for rank, r in enumerate(query.results, start=1):
            rec = r.record
            writer.writerow([
                query.name, rank, rec.id, rec.name or "", rec.owner or "", f"{r.score:.4f}",
                f"{r.shape_score if r.shape_score is not None else r.score:.4f}",
                r.risk.value, r.component.kind if r.component else "whole",
                r.words.mark if r.words else "", ";".join(map(str, rec.nice_classes)),
                rec.status or "", "",
            ])


@contextlib.contextmanager
def written_in_place(path: Path, mode: str) -> Iterator[IO[Any]]:
    """Write beside ``path`` and rename into place when complete: a failed write leaves
    no empty or half-written report file."""
    partial = path.with_name(path.name + ".partial")
    try:
        with partial.open(mode, **({} if "b" in mode else {"newline": "", "encoding": "utf-8"})
                          ) as fh:
            yield fh
        os.replace(partial, path)
    finally:
        partial.unlink(missing_ok=True)
