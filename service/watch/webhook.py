"""Alert delivery: the alerts table is the outbox, a webhook URL its destination.

Every alert starts ``pending``, whichever process wrote it (in the filing's transaction,
so a crash cannot lose it). ``WebhookSender.deliver_due`` claims
the pending alerts that are due (``sending``, in one write transaction, so two servers
never post the same alert at once), POSTs each as JSON and records every attempt in
``alert_deliveries``: a 2xx answer makes it ``delivered``; anything else is tried again
after a backoff that doubles (``BACKOFF_S``, at most ``MAX_ATTEMPTS`` tries, then
``failed``). A process killed between a POST and its record leaves the alert
``sending``; after ``STALE_S`` it is pending again, so delivery is at least once, and
every POST carries the alert id as ``Idempotency-Key`` for a receiver to drop a repeat.
A server runs the sender in the background; ``tmsearch watch deliver`` runs one pass.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import httpx
from sqlalchemy import text

from service.storage.records import RecordStore
from service.watch.store import now_iso

BACKOFF_S = 5.0  # the wait before the second try; doubled after each failure
MAX_ATTEMPTS = 8
STALE_S = 120.0  # a claim older than this (its process died) is pending again
TIMEOUT_S = 10.0
BATCH = 50


@dataclass(frozen=True)
class DeliveryReport:
    delivered: int = 0
    retrying: int = 0
    failed: int = 0


def _ago(seconds: float) -> str:
    return (datetime.now(UTC) - timedelta(seconds=seconds)).isoformat(timespec="seconds")


class WebhookSender:
    """Posts pending alerts to one URL and records each attempt."""

    def __init__(self, records: RecordStore, url: str, client: httpx.Client | None = None,
                 backoff_s: float = BACKOFF_S) -> None:
        self.records = records
        self.url = url
        self.client = client or httpx.Client(timeout=TIMEOUT_S)
        self.backoff_s = backoff_s
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def deliver_due(self) -> DeliveryReport:
        """One pass: every due pending alert posted once."""
        claimed = self._claim()
        report = {"delivered": 0, "retrying": 0, "failed": 0}
        for alert_id, attempt, payload in claimed:
            code, error = self._post(alert_id, payload)
            ok = code is not None and 200 <= code < 300
            state = "delivered" if ok else ("failed" if attempt >= MAX_ATTEMPTS else "pending")
            with self.records.transaction() as conn:
                conn.execute(text(
                    "UPDATE alert_deliveries SET status_code = :c, error = :e "
                    "WHERE alert_id = :a AND attempt = :n"),
                    {"c": code, "e": error, "a": alert_id, "n": attempt})
                conn.execute(text("UPDATE alerts SET delivery = :s WHERE id = :a"),
                             {"s": state, "a": alert_id})
            report["delivered" if ok else "failed" if state == "failed" else "retrying"] += 1
        return DeliveryReport(**report)

    def _claim(self) -> list[tuple[int, int, dict]]:
        """Due pending alerts, marked ``sending`` with a new attempt row, and their JSON."""
        with self.records.transaction() as conn:
            conn.execute(text(  # claims of dead processes
                "UPDATE alerts SET delivery = 'pending' WHERE delivery = 'sending' AND id IN "
                "(SELECT alert_id FROM alert_deliveries GROUP BY alert_id "
                "HAVING MAX(at) < :stale)"), {"stale": _ago(STALE_S)})
            rows = conn.execute(text(
                "SELECT a.id, a.mark_id, a.score, a.shape_score, a.risk, a.matched, "
                "a.created_at, w.id, w.name, w.owner, wm.label, wm.mark_id, m.name, m.owner, "
                "m.status, (SELECT COUNT(*) FROM alert_deliveries d WHERE d.alert_id = a.id), "
                "(SELECT MAX(at) FROM alert_deliveries d WHERE d.alert_id = a.id) "
                "FROM alerts a JOIN watches w ON w.id = a.watch_id "
                "JOIN watched_marks wm ON wm.id = a.watched_mark_id "
                "JOIN marks m ON m.id = a.mark_id "
                "WHERE a.delivery = 'pending' ORDER BY a.id LIMIT :n"), {"n": BATCH}).all()
            claimed = []
            for r in rows:
                attempts, last = int(r[15]), r[16]
                if attempts and last > _ago(self.backoff_s * 2 ** (attempts - 1)):
                    continue  # not due yet
                attempt = attempts + 1
                conn.execute(text(
                    "INSERT INTO alert_deliveries(alert_id, attempt, at) VALUES (:a, :n, :t)"),
                    {"a": r[0], "n": attempt, "t": now_iso()})
                conn.execute(text("UPDATE alerts SET delivery = 'sending' WHERE id = :a"),
                             {"a": r[0]})
                claimed.append((int(r[0]), attempt, {
                    "alert_id": int(r[0]), "watch": {"id": int(r[7]), "name": r[8],
                                                     "owner": r[9]},
                    "mark": {"id": r[1], "name": r[12], "owner": r[13], "status": r[14]},
                    "watched_mark": {"label": r[10], "mark_id": r[11]},
                    "score": float(r[2]), "shape_score": float(r[3]), "risk": r[4],
                    "matched": r[5], "created_at": r[6], "attempt": attempt}))
        return claimed

    def _post(self, alert_id: int, payload: dict) -> tuple[int | None, str | None]:
        try:
            response = self.client.post(self.url, json=payload,
                                        headers={"Idempotency-Key": f"tmsearch-alert-{alert_id}"})
        except httpx.HTTPError as exc:
            return None, f"{type(exc).__name__}: {exc}"[:500]
        error = None if response.is_success else response.text[:500]
        return response.status_code, error

    # -- in the background (a server) ----------------------------------------------------
    def start(self, every_s: float = 2.0) -> None:
        def loop() -> None:
            while not self._stop.wait(every_s):
                try:
                    self.deliver_due()
                except Exception:  # noqa: BLE001 - the next pass tries again
                    continue

        self._thread = threading.Thread(target=loop, name="tmsearch-webhook", daemon=True)
        self._thread.start()

    def close(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=TIMEOUT_S + 1)
        self.client.close()


def attempts_of(records: RecordStore, alert_id: int) -> list[tuple[int, str, int | None,
                                                                   str | None]]:
    """Every delivery attempt of an alert: (attempt, at, status code, error)."""
    with records.connection() as conn:
        return [(int(r[0]), str(r[1]), r[2], r[3]) for r in conn.execute(text(
            "SELECT attempt, at, status_code, error FROM alert_deliveries "
            "WHERE alert_id = :a ORDER BY attempt"), {"a": alert_id})]


def wait_delivered(records: RecordStore, alert_id: int, timeout_s: float = 10.0) -> str | None:
    """The alert's delivery state once it is no longer pending or sending (tests, CLI)."""
    deadline = time.monotonic() + timeout_s
    while True:
        with records.connection() as conn:
            state = conn.execute(text("SELECT delivery FROM alerts WHERE id = :a"),
                                 {"a": alert_id}).scalar_one_or_none()
        if state not in ("pending", "sending") or time.monotonic() > deadline:
            return state
        time.sleep(0.1)
