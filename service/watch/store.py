"""Watches, their watched marks and their alerts in the records database.

The tables are migration 0007's. Alerts are inserted inside the transaction that writes
the filing's record (``insert_alerts`` takes that connection), once per (watch, mark,
image): ``INSERT ... ON CONFLICT DO NOTHING`` on that unique key, so a retried or
resumed ingest never raises an alert twice.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from operator import itemgetter
from typing import NamedTuple

from sqlalchemy import Connection, text

from service.search.stored_query import StoredQuery
from service.security.access import published_sql
from service.storage.records import RecordStore

ALERT_STATUSES = ("new", "seen", "dismissed")
MAX_PER_PAGE = 200


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


class WatchError(ValueError):
    """A watch that cannot be made as asked (a clear 4xx / one CLI error line)."""


class WatchNotFound(LookupError):
    """No such watch, or not one the caller may see (both read the same)."""


@dataclass(frozen=True)
class WatchedMark:
    id: int
    label: str
    mark_id: str | None
    content_hash: str
    model_version: str


@dataclass(frozen=True)
class Watch:
    id: int
    name: str
    owner: str
    nice_classes: list[int]
    vienna_codes: list[str]
    min_risk: str | None
    min_score: float | None
    created_at: str
    marks: list[WatchedMark] = field(default_factory=list)


class AlertDraft(NamedTuple):
    """An alert before it is written: a filing that matched a watched mark (a tuple in
    the order ``insert_alerts`` writes it: tens of them a filing at scale)."""

    watch_id: int
    watched_mark_id: int
    mark_id: str
    content_hash: str
    score: float
    shape_score: float
    risk: str
    matched: str | None  # the filing's component that matched ("whole", "figure" ...)


@dataclass(frozen=True)
class Alert:
    id: int
    watch_id: int
    watch: str
    mark_id: str
    watched_mark: str
    score: float
    shape_score: float
    risk: str
    matched: str | None
    status: str
    delivery: str | None
    created_at: str


@dataclass(frozen=True)
class AlertQuery:
    """Which alerts to list: filters, the caller's reach and the page."""

    owner: str | None = None  # None: every owner's (admins, the CLI)
    include_unpublished: bool = True
    watch: str | None = None  # by name
    watch_id: int | None = None
    status: str | None = None
    risk: str | None = None
    since: str | None = None  # ISO date or time: alerts created at or after
    until: str | None = None
    alert_id: int | None = None
    page: int = 1
    per_page: int = 50


#: one alert, in AlertDraft's order then its time; ``{p}``: the driver's placeholder
_INSERT_ALERT = (
    "INSERT INTO alerts(watch_id, watched_mark_id, mark_id, content_hash, score, shape_score, "
    "risk, matched, created_at, status, delivery) VALUES ({p}, {p}, {p}, {p}, {p}, {p}, {p}, "
    "{p}, {p}, 'new', 'pending') ON CONFLICT(watch_id, mark_id, content_hash) DO NOTHING")
_WATCH_COLUMNS = "id, name, owner, nice_classes, vienna_codes, min_risk, min_score, created_at"


def _storable_id(value: int) -> bool:
    """Whether an id fits the databases' 64-bit integer (a larger one names no row)."""
    return 1 <= value <= 2**63 - 1


def _watch(row) -> Watch:  # type: ignore[no-untyped-def]
    return Watch(int(row[0]), str(row[1]), str(row[2]), json.loads(row[3]), json.loads(row[4]),
                 row[5], None if row[6] is None else float(row[6]), str(row[7]))


class WatchStore:
    """SQL for watches and alerts, over the register's record store (one database)."""

    def __init__(self, records: RecordStore) -> None:
        self.records = records

    # -- watches ------------------------------------------------------------------------
    def create(self, name: str, owner: str,
               marks: Sequence[tuple[str, str | None, str, str, StoredQuery, bytes]],
               nice_classes: Sequence[int] = (), vienna_codes: Sequence[str] = (),
               min_risk: str | None = None, min_score: float | None = None) -> Watch:
        """A new watch of ``marks`` (label, register mark id, content hash, model version,
        stored query and image bytes each)."""
        with self.records.transaction() as conn:
            taken = conn.execute(text("SELECT 1 FROM watches WHERE owner = :o AND name = :n"),
                                 {"o": owner, "n": name}).first()
            if taken is not None:
                raise WatchError(f"a watch named {name!r} exists already")
            conn.execute(text(
                "INSERT INTO watches(name, owner, nice_classes, vienna_codes, min_risk, "
                "min_score, created_at) VALUES (:n, :o, :c, :v, :r, :s, :t)"),
                {"n": name, "o": owner, "c": json.dumps(sorted(set(nice_classes))),
                 "v": json.dumps(sorted(set(vienna_codes))), "r": min_risk, "s": min_score,
                 "t": now_iso()})
            watch_id = int(conn.execute(text(
                "SELECT id FROM watches WHERE owner = :o AND name = :n"),
                {"o": owner, "n": name}).scalar_one())
            conn.execute(text(
                "INSERT INTO watched_marks(watch_id, label, mark_id, content_hash, "
                "model_version, plan, image) VALUES (:w, :l, :m, :h, :v, :p, :i)"),
                [{"w": watch_id, "l": label, "m": mark_id, "h": digest, "v": version,
                  "p": query.to_bytes(), "i": image}
                 for label, mark_id, digest, version, query, image in marks])
            self._bump(conn)
        return self.get(watch_id)

    def get(self, watch_id: int, owner: str | None = None) -> Watch:
        if not _storable_id(watch_id):  # no row has it; the database cannot even be asked
            raise WatchNotFound(f"watch not found: {watch_id}")
        with self.records.connection() as conn:
            row = conn.execute(text(f"SELECT {_WATCH_COLUMNS} FROM watches WHERE id = :id"),
                               {"id": watch_id}).first()
            if row is None or (owner is not None and row[2] != owner):
                raise WatchNotFound(f"watch not found: {watch_id}")
            return self._with_marks(conn, [_watch(row)])[0]

    def find(self, name: str, owner: str | None = None) -> Watch:
        """The watch named ``name`` (of ``owner``; None: of anyone, if only one has it)."""
        sql = f"SELECT {_WATCH_COLUMNS} FROM watches WHERE name = :n"
        params: dict = {"n": name}
        if owner is not None:
            sql += " AND owner = :o"
            params["o"] = owner
        with self.records.connection() as conn:
            rows = conn.execute(text(sql), params).all()
            if len(rows) != 1:
                raise WatchNotFound(f"watch not found: {name}" if not rows else
                                    f"several owners have a watch named {name!r}: give its id")
            return self._with_marks(conn, [_watch(rows[0])])[0]

    def list(self, owner: str | None = None) -> list[Watch]:
        sql = f"SELECT {_WATCH_COLUMNS} FROM watches"
        params: dict = {}
        if owner is not None:
            sql += " WHERE owner = :o"
            params["o"] = owner
        with self.records.connection() as conn:
            return self._with_marks(conn, [_watch(r) for r in
                                           conn.execute(text(sql + " ORDER BY id"), params)])

    def remove(self, watch_id: int) -> None:
        with self.records.transaction() as conn:
            for table, column in (("watched_marks", "watch_id"), ("watches", "id")):
                conn.execute(text(f"DELETE FROM {table} WHERE {column} = :id"), {"id": watch_id})
            conn.execute(text("DELETE FROM alert_deliveries WHERE alert_id IN "
                              "(SELECT id FROM alerts WHERE watch_id = :id)"), {"id": watch_id})
            conn.execute(text("DELETE FROM alerts WHERE watch_id = :id"), {"id": watch_id})
            self._bump(conn)

    def plans(self, known: set[int] | None = None
              ) -> list[tuple[Watch, WatchedMark, StoredQuery]]:
        """Every watched mark (but the ``known`` ids) with its watch and stored query."""
        watches = {w.id: w for w in self.list()}
        known = known or set()
        with self.records.connection() as conn:
            rows = [r for r in conn.execute(text(
                "SELECT id, watch_id, label, mark_id, content_hash, model_version "
                "FROM watched_marks ORDER BY id")) if int(r[0]) not in known]
            plans = {int(r[0]): bytes(r[1]) for r in conn.execute(text(
                "SELECT id, plan FROM watched_marks WHERE id > :low"),
                {"low": min((int(r[0]) for r in rows), default=0) - 1})}
        return [(watches[int(r[1])], WatchedMark(int(r[0]), r[2], r[3], r[4], r[5]),
                 StoredQuery.from_bytes(plans[int(r[0])])) for r in rows
                if int(r[1]) in watches]

    def stale(self, model_version: str) -> list[tuple[int, bytes]]:
        """(id, image) of the watched marks planned with another model."""
        with self.records.connection() as conn:
            return [(int(r[0]), bytes(r[1])) for r in conn.execute(text(
                "SELECT id, image FROM watched_marks WHERE model_version != :v ORDER BY id"),
                {"v": model_version})]

    def replace_plan(self, watched_mark_id: int, model_version: str, query: StoredQuery
                     ) -> None:
        with self.records.transaction() as conn:
            conn.execute(text("UPDATE watched_marks SET plan = :p, model_version = :v "
                              "WHERE id = :id"),
                         {"p": query.to_bytes(), "v": model_version, "id": watched_mark_id})
            self._bump(conn)

    def watched_mark_ids(self) -> set[int]:
        with self.records.connection() as conn:
            return {int(r[0]) for r in conn.execute(text("SELECT id FROM watched_marks"))}

    def version(self) -> str:
        """Changes whenever a watch is made or removed (the index follows it)."""
        return self.records.get_meta("watches_version") or "0"

    @staticmethod
    def _bump(conn: Connection) -> None:
        row = conn.execute(text("SELECT value FROM meta WHERE key = 'watches_version'")).first()
        value = str(int(row[0]) + 1) if row is not None else "1"
        conn.execute(text("INSERT INTO meta(key, value) VALUES ('watches_version', :v) "
                          "ON CONFLICT(key) DO UPDATE SET value = excluded.value"), {"v": value})

    @staticmethod
    def _with_marks(conn: Connection, watches: list[Watch]) -> list[Watch]:
        if not watches:
            return []
        marks: dict[int, list[WatchedMark]] = {w.id: [] for w in watches}
        for r in conn.execute(text(
                "SELECT id, watch_id, label, mark_id, content_hash, model_version "
                "FROM watched_marks ORDER BY id")):
            if int(r[1]) in marks:
                marks[int(r[1])].append(WatchedMark(int(r[0]), r[2], r[3], r[4], r[5]))
        return [Watch(**{**w.__dict__, "marks": marks[w.id]}) for w in watches]

    # -- alerts -------------------------------------------------------------------------
    @staticmethod
    def insert_alerts(conn: Connection, drafts: Sequence[AlertDraft]) -> None:
        """Write ``drafts`` in the caller's transaction (the filing's), each once. Each
        starts ``pending`` in the webhook outbox (service/watch/webhook.py), whichever
        process wrote it: a server with a webhook delivers what a CLI ingest raised."""
        if not drafts:
            return
        mark = "?" if conn.dialect.paramstyle == "qmark" else "%s"
        created = now_iso()
        # in the order of the indexes (watch, mark): a batch's thousands of alerts walk
        # each index once instead of landing on random pages (half the time a row)
        ordered = sorted(drafts, key=itemgetter(0, 2))
        conn.exec_driver_sql(_INSERT_ALERT.format(p=mark),  # the driver's executemany:
                             [(*d, created) for d in ordered])  # no per-row binding

    def alerts(self, query: AlertQuery) -> tuple[list[Alert], int]:
        """A page of alerts, newest first, and how many match in all. Alerts on marks the
        caller may not see (filed, for public and agent keys) are left out, count too."""
        where = ["1 = 1"]
        params: dict = {}
        if query.owner is not None:
            where.append("w.owner = :owner")
            params["owner"] = query.owner
        if not query.include_unpublished:
            where.append(published_sql("m.status"))
        for column, value in (("w.name", query.watch), ("a.status", query.status),
                              ("a.risk", query.risk)):
            if value is not None:
                key = column.split(".")[1]
                where.append(f"{column} = :{key}")
                params[key] = value
        if query.watch_id is not None:
            where.append("a.watch_id = :watch_id")
            params["watch_id"] = query.watch_id
        if query.alert_id is not None:
            where.append("a.id = :alert_id")
            params["alert_id"] = query.alert_id
        if query.since:
            where.append("a.created_at >= :since")
            params["since"] = query.since
        if query.until:
            where.append("a.created_at <= :until")
            params["until"] = query.until
        base = ("FROM alerts a JOIN watches w ON w.id = a.watch_id "
                "JOIN marks m ON m.id = a.mark_id "
                "JOIN watched_marks wm ON wm.id = a.watched_mark_id "
                f"WHERE {' AND '.join(where)}")
        per_page = max(1, min(query.per_page, MAX_PER_PAGE))
        with self.records.connection() as conn:
            total = int(conn.execute(text(f"SELECT COUNT(*) {base}"), params).scalar_one())
            rows = conn.execute(text(
                "SELECT a.id, a.watch_id, w.name, a.mark_id, wm.label, a.score, a.shape_score, "
                f"a.risk, a.matched, a.status, a.delivery, a.created_at {base} "
                "ORDER BY a.created_at DESC, a.id DESC LIMIT :limit OFFSET :offset"),
                {**params, "limit": per_page,
                 "offset": (max(1, query.page) - 1) * per_page}).all()
        return [Alert(int(r[0]), int(r[1]), r[2], r[3], r[4], float(r[5]), float(r[6]), r[7],
                      r[8], r[9], r[10], str(r[11])) for r in rows], total

    def set_status(self, alert_id: int, status: str, query: AlertQuery) -> Alert:
        """Mark an alert seen, dismissed or new again (only one the caller may see)."""
        if status not in ALERT_STATUSES:
            raise WatchError(f"status must be one of {', '.join(ALERT_STATUSES)}, got {status!r}")
        alert = self.alert(alert_id, query)
        with self.records.transaction() as conn:
            conn.execute(text("UPDATE alerts SET status = :s WHERE id = :id"),
                         {"s": status, "id": alert_id})
        return Alert(**{**alert.__dict__, "status": status})

    def alert(self, alert_id: int, query: AlertQuery) -> Alert:
        """One alert the caller may see (``query``'s owner and visibility), else not found."""
        if not _storable_id(alert_id):
            raise WatchNotFound(f"alert not found: {alert_id}")
        found, _ = self.alerts(AlertQuery(owner=query.owner, alert_id=alert_id,
                                          include_unpublished=query.include_unpublished))
        if not found:
            raise WatchNotFound(f"alert not found: {alert_id}")
        return found[0]
