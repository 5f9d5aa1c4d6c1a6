"""Which marks of the register a search, a report or a watch may return.

Filters say which earlier marks a search may return. One definition of their semantics,
used by the CLI flags, the API form fields and the record store's SQL
(``RecordStore.vector_ids_matching``):

- ``nice_classes``: a mark matches if it shares any of the classes;
- ``vienna_codes``: prefix match on the code's levels, so ``26`` matches ``26.01.03`` and
  ``26.01`` matches ``26.01.03`` but not ``26.11.01``;
- ``status``: any of the statuses;
- ``filed_from`` / ``filed_to``: filing date in that closed range (marks without a date
  never match a date filter);
- ``owner``: case-insensitive substring of the owner's name.

Filters are applied inside the vector search (an id selector), never as "top k, then
filter", so k results come back however selective the filter is.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from service.marks.metadata import (
    VIENNA_CODE,
    MarkStatus,
    check_nice_classes,
    split_list,
    two_digit_vienna,
)
from service.marks.plain_errors import problem_text


class QueryError(ValueError):
    """A search parameter that does not validate (HTTP 422, CLI usage error)."""




class SearchFilters(BaseModel):
    """Restrictions on the marks a search returns. Every field is optional."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    nice_classes: list[int] = Field(default_factory=list, description="Any of these classes.")
    vienna_codes: list[str] = Field(
        default_factory=list, description='Prefixes: "26", "26.01" or "26.01.03".'
    )
    status: list[MarkStatus] = Field(default_factory=list, description="Any of these statuses.")
    filed_from: date | None = None
    filed_to: date | None = None
    owner: str | None = Field(None, description="Case-insensitive part of the owner's name.")

    @field_validator("nice_classes", "vienna_codes", "status", mode="before")
    @classmethod
    def _lists(cls, value: Any) -> Any:
        return split_list(value)

    @field_validator("nice_classes")
    @classmethod
    def _nice_range(cls, value: list[int]) -> list[int]:
        return check_nice_classes(value)

    @field_validator("vienna_codes")
    @classmethod
    def _vienna_prefixes(cls, value: list[str]) -> list[str]:
        for code in value:
            if VIENNA_CODE.match(code):
                continue
            written = two_digit_vienna(code)
            if written is not None:  # a prefix match on "26.1" would find nothing
                raise ValueError(f'Vienna codes have two digits a level: "{written}", '
                                 f'not "{code}"')
            raise ValueError(f'Vienna codes look like "26", "26.01" or "26.01.03", '
                             f'not "{code}"')
        return value

    @field_validator("filed_from", "filed_to", "owner", mode="before")
    @classmethod
    def _empty_is_none(cls, value: Any) -> Any:
        return None if value == "" else value

    def is_empty(self) -> bool:
        return not (self.nice_classes or self.vienna_codes or self.status or self.owner
                    or self.filed_from or self.filed_to)

    def describe(self) -> dict[str, Any]:
        """The filters that are set, JSON-ready (for responses and reports)."""
        return self.model_dump(mode="json", exclude_defaults=True)


def vienna_matches(prefix: str, code: str) -> bool:
    """``26.01`` matches ``26.01`` and ``26.01.03``; not ``26.010`` or ``26.11``."""
    return code == prefix or code.startswith(prefix + ".")


def parse_filters(**fields: Any) -> SearchFilters:
    """Build filters from loose inputs (comma lists, ISO dates); QueryError if invalid."""
    try:
        return SearchFilters.model_validate({k: v for k, v in fields.items() if v is not None})
    except ValidationError as exc:
        problems = "; ".join(problem_text(err, "filters") for err in exc.errors())
        raise QueryError(f"invalid filter {problems}") from exc
