"""Mark metadata: the fields an office records beside the image, validated in one place.

Used by the metadata files of ``tmsearch ingest`` (JSON lines or CSV with a ``file``
column) and by the JSON part of ``POST /v1/marks``.
"""

from __future__ import annotations

import csv
import json
import re
from collections.abc import Iterator
from datetime import date
from enum import StrEnum
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from service.marks.plain_errors import problem_text

VIENNA_CODE = re.compile(r"^\d{2}(\.\d{2}){0,2}$")  # category, division, section
_VIENNA_LOOSE = re.compile(r"^\d{1,2}(\.\d{1,2}){0,2}$")


def two_digit_vienna(code: str) -> str | None:
    """``26.1.3`` -> ``26.01.03``: the written form of a Vienna code whose levels lack a
    leading zero; None for what is no Vienna code at all."""
    if not _VIENNA_LOOSE.match(code):
        return None
    return ".".join(level.zfill(2) for level in code.split("."))
MARK_ID = re.compile(r"^[^\x00-\x1f]{1,512}$")


class MarkStatus(StrEnum):
    filed = "filed"
    published = "published"
    registered = "registered"
    expired = "expired"
    refused = "refused"


class MetadataError(ValueError):
    """A metadata row or document that does not validate.

    Its text holds one line per bad field (``file.csv:3: nice_classes: ...``), so a row
    with three bad fields reads as three lines, each naming where it is.
    """

    @property
    def problems(self) -> list[str]:
        return str(self).splitlines()


def split_list(value: Any) -> Any:
    """CSV cells and form fields hold lists as "9, 42" or "9;42"; JSON gives real lists."""
    if value in (None, ""):
        return []
    if isinstance(value, str):
        parts = [p.strip() for p in re.split(r"[;,|]", value)]
        return [p for p in parts if p]
    return value


def check_nice_classes(value: list[int]) -> list[int]:
    """Nice classes are 1..45; sorted, without repeats."""
    bad = [c for c in value if not 1 <= c <= 45]
    if bad:
        raise ValueError(f"Nice classes are 1..45, got {bad}")
    return sorted(set(value))


class MarkMetadata(BaseModel):
    """Everything about a mark except its image. All fields are optional."""

    model_config = ConfigDict(extra="ignore", str_strip_whitespace=True)

    id: str | None = Field(None, description="Mark id; default derives from the file path.")
    name: str | None = None
    owner: str | None = None
    application_number: str | None = None
    registration_number: str | None = None
    nice_classes: list[int] = Field(default_factory=list, description="Nice classes 1..45.")
    vienna_codes: list[str] = Field(default_factory=list, description='e.g. "26.01.01".')
    status: MarkStatus | None = None
    filing_date: date | None = None

    @field_validator("id")
    @classmethod
    def _check_id(cls, value: str | None) -> str | None:
        if value is not None and not MARK_ID.match(value):
            raise ValueError("id must be 1..512 characters without control characters")
        return value

    @field_validator("nice_classes", mode="before")
    @classmethod
    def _nice_list(cls, value: Any) -> Any:
        return split_list(value)

    @field_validator("nice_classes")
    @classmethod
    def _nice_range(cls, value: list[int]) -> list[int]:
        return check_nice_classes(value)

    @field_validator("vienna_codes", mode="before")
    @classmethod
    def _vienna_list(cls, value: Any) -> Any:
        return split_list(value)

    @field_validator("vienna_codes")
    @classmethod
    def _vienna_format(cls, value: list[str]) -> list[str]:
        """A mark's codes in their written form (``26.1`` is stored as ``26.01``)."""
        written = [two_digit_vienna(c) for c in value]
        bad = [c for c, w in zip(value, written, strict=True) if w is None]
        if bad:
            raise ValueError(f'Vienna codes look like "26.01.01", got {bad}')
        return [w for w in written if w is not None]

    @field_validator(
        "id", "status", "filing_date", "name", "owner", "application_number",
        "registration_number", mode="before",
    )
    @classmethod
    def _empty_is_none(cls, value: Any) -> Any:
        return None if value == "" else value


def parse_metadata(data: dict[str, Any]) -> MarkMetadata:
    try:
        return MarkMetadata.model_validate(data)
    except ValidationError as exc:
        problems = "\n".join(problem_text(err, "metadata") for err in exc.errors())
        raise MetadataError(problems) from exc


def read_metadata_file(path: Path) -> Iterator[tuple[str, MarkMetadata | MetadataError]]:
    """Yield ``(file, metadata or error)`` per row of a JSON-lines or CSV file.

    A bad row is yielded as an error (reported, then skipped by the caller) rather than
    aborting the whole file; a file that is not UTF-8 text, or a CSV without a ``file``
    column, raises MetadataError.
    """
    try:
        yield from _read_rows(path)
    except UnicodeDecodeError as exc:
        raise MetadataError(f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start})"
                            ) from exc
    except csv.Error as exc:
        raise MetadataError(f"{path}: not a readable CSV file: {exc}") from exc


def _read_rows(path: Path) -> Iterator[tuple[str, MarkMetadata | MetadataError]]:
    if path.suffix.lower() == ".csv":
        with open(path, newline="", encoding="utf-8-sig") as fh:
            reader = csv.DictReader(fh)
            if not reader.fieldnames or "file" not in reader.fieldnames:
                raise MetadataError(f"{path}: a CSV metadata file needs a 'file' column")
            for number, row in enumerate(reader, start=2):
                yield from _row(row, f"{path}:{number}")
        return
    with open(path, encoding="utf-8") as fh:
        for number, line in enumerate(fh, start=1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as exc:
                yield f"<line {number}>", MetadataError(f"{path}:{number}: invalid JSON: {exc}")
                continue
            if not isinstance(row, dict):
                yield f"<line {number}>", MetadataError(f"{path}:{number}: not a JSON object")
                continue
            yield from _row(row, f"{path}:{number}")


def _row(row: dict[str, Any], where: str) -> Iterator[tuple[str, MarkMetadata | MetadataError]]:
    file = str(row.get("file") or "").strip().replace("\\", "/")
    if not file:
        yield f"<{where}>", MetadataError(f"{where}: no 'file' given")
        return
    try:
        yield file, parse_metadata(row)
    except MetadataError as exc:
        yield file, MetadataError("\n".join(f"{where}: {line}" for line in exc.problems))
