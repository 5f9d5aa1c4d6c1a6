"""Who may see and do what: roles, and which marks are published.

One definition used by the record store's SQL, the register's searches and reads, and
the API's key checks, so a filed (not yet published) application cannot leak through a
path that forgot a check:

- ``public`` searches and views published marks (anyone, without a key, unless the
  server turns anonymous access off);
- ``agent`` (an owner or their trademark agent) sees what the public sees and keeps
  watches over new filings (service/watch/), seeing only its own watches and alerts;
- ``examiner`` also sees unpublished marks (status ``filed``);
- ``admin`` also ingests, updates, removes, re-indexes and manages keys.

A mark without a status counts as published: it is what a register ingested without
metadata holds, and what the demo serves.
"""

from __future__ import annotations

from enum import StrEnum

from service.marks.metadata import MarkStatus

UNPUBLISHED_STATUSES: frozenset[str] = frozenset({MarkStatus.filed.value})


class Role(StrEnum):
    public = "public"
    agent = "agent"
    examiner = "examiner"
    admin = "admin"

    @property
    def sees_unpublished(self) -> bool:
        return self in (Role.examiner, Role.admin)

    @property
    def sees_every_watch(self) -> bool:
        """Every owner's watches and alerts (else only the key's own)."""
        return self is Role.admin

    @property
    def can_write(self) -> bool:
        """Ingest, update, remove, re-index, manage keys."""
        return self is Role.admin


def is_published(status: str | None) -> bool:
    return status not in UNPUBLISHED_STATUSES


def published_sql(column: str = "status") -> str:
    """A SQL condition true for published marks (no parameters needed)."""
    listed = ",".join(f"'{s}'" for s in sorted(UNPUBLISHED_STATUSES))
    return f"({column} IS NULL OR {column} NOT IN ({listed}))"
