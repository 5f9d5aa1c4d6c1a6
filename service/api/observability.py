"""Request ids, structured access logs and Prometheus metrics, for operators.

Every request gets an id (the caller's ``X-Request-ID`` when it is a sane token, else a
new one), echoed in the response and written in one JSON access-log line: method,
route template, status, milliseconds, role, key id and client address. Never the query
string's values, the body, the image bytes or a key itself: a key is logged by its id.

``/metrics`` exposes, per route template, a request counter (by status) and a latency
histogram, the rate-limit refusals, the marks refused on upload, and at scrape time the
register's size, index size and model version. Each app owns its metrics registry (no
process-wide state), so several apps in one process (tests) never mix their counts.
"""

from __future__ import annotations

import json
import logging
import re
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.core import GaugeMetricFamily, InfoMetricFamily, Metric
from starlette.types import ASGIApp, Message, Receive, Scope, Send

access_log = logging.getLogger("tmsearch.access")
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
_LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


class Metrics:
    """The app's metrics; ``register`` is read at scrape time (it may not be open yet)."""

    def __init__(self, register: Callable[[], Any | None]) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter("tmsearch_http_requests", "HTTP requests answered.",
                                ["method", "route", "status"], registry=self.registry)
        self.latency = Histogram("tmsearch_http_request_duration_seconds",
                                 "Time to answer an HTTP request.", ["method", "route"],
                                 buckets=_LATENCY_BUCKETS, registry=self.registry)
        self.rate_limited = Counter("tmsearch_rate_limited", "Requests refused with 429.",
                                    ["kind", "role"], registry=self.registry)
        self.ingest_errors = Counter("tmsearch_ingest_errors",
                                     "Marks refused on upload (bad image or metadata).",
                                     registry=self.registry)
        self.registry.register(_RegisterCollector(register))

    def observe(self, method: str, route: str, status: int, seconds: float) -> None:
        self.requests.labels(method, route, str(status)).inc()
        self.latency.labels(method, route).observe(seconds)


class _RegisterCollector:
    def __init__(self, register: Callable[[], Any | None]) -> None:
        self._register = register

    def collect(self) -> Iterator[Metric]:
        register = self._register()
        if register is None:
            return
        marks = GaugeMetricFamily("tmsearch_marks", "Marks in the register.")
        marks.add_metric([], register.records.count())
        yield marks
        vectors = GaugeMetricFamily("tmsearch_index_vectors",
                                    "Vectors in the index (whole marks and components).")
        vectors.add_metric([], len(register.store))
        yield vectors
        memory = GaugeMetricFamily("tmsearch_index_memory_bytes",
                                   "Process memory the index takes.")
        memory.add_metric([], register.store.memory_bytes())
        yield memory
        model = InfoMetricFamily("tmsearch_model", "The embedding model and the index kind.")
        model.add_metric([], {"version": register.embedder.version,
                              "index": register.store.info.kind})
        yield model


def request_id_of(scope: Scope) -> str | None:
    return scope.get("state", {}).get("request_id")


class RequestObserver:
    """Pure ASGI middleware: request id, access log line, request metrics."""

    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        given = dict(scope.get("headers") or []).get(b"x-request-id", b"").decode("latin-1")
        request_id = given if _REQUEST_ID.match(given) else uuid.uuid4().hex
        scope.setdefault("state", {})["request_id"] = request_id
        started = time.perf_counter()
        status = 500

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
                message["headers"] = [*message.get("headers", []),
                                      (b"x-request-id", request_id.encode())]
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            seconds = time.perf_counter() - started
            route = getattr(scope.get("route"), "path", None) or "unmatched"
            self.metrics.observe(scope["method"], route, status, seconds)
            principal = scope.get("state", {}).get("principal")
            access_log.info("request", extra={"fields": {
                "request_id": request_id, "method": scope["method"], "route": route,
                "status": status, "ms": round(1000 * seconds, 1),
                "role": getattr(getattr(principal, "role", None), "value", None),
                "key_id": getattr(principal, "key_id", None),
                "client": (scope.get("client") or ("unknown",))[0],
            }})


class JsonFormatter(logging.Formatter):
    """One JSON object a line: time, level, logger, message and the record's fields."""

    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, Any] = {
            "ts": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
                  + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(), "logger": record.name,
            "message": record.getMessage(),
        }
        out.update(getattr(record, "fields", {}))
        if record.exc_info:
            out["error"] = self.formatException(record.exc_info)
        return json.dumps(out, default=str)


def configure_json_logging(level: int = logging.INFO) -> None:
    """Route the service's logs (and uvicorn's) to stderr as JSON lines."""
    handler = logging.StreamHandler()
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for name in ("uvicorn", "uvicorn.error"):
        logging.getLogger(name).handlers[:] = []
        logging.getLogger(name).propagate = True
    logging.getLogger("uvicorn.access").disabled = True  # ours carries the request id
