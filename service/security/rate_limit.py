"""Requests per minute per caller, by role and kind of request (token buckets).

A caller is its API key, or its client address when it sends none. Each (caller, kind)
pair has a bucket that holds a minute's allowance and refills continuously, so short
bursts pass and a sustained excess gets 429 with the seconds to wait. Limits live in
one process: behind several server processes each counts its own requests.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from service.security.access import Role

KINDS = ("search", "upload")  # search: queries of any kind; upload: marks and batch reports
DEFAULT_LIMITS: dict[str, dict[str, int]] = {  # per minute; 0: no limit
    "public": {"search": 120, "upload": 20},
    "agent": {"search": 600, "upload": 100},
    "examiner": {"search": 1200, "upload": 300},
    "admin": {"search": 0, "upload": 0},
}
_MAX_BUCKETS = 100_000  # beyond this, buckets idle long enough to be full are dropped


@dataclass
class _Bucket:
    tokens: float
    stamp: float


class RateLimiter:
    def __init__(self, limits: Mapping[str, Mapping[str, int]] | None = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        merged = {role: dict(kinds) for role, kinds in DEFAULT_LIMITS.items()}
        for role, kinds in (limits or {}).items():
            merged.setdefault(Role(role).value, {}).update(kinds)
        self.limits = merged
        self._clock = clock
        self._buckets: dict[tuple[str, str], _Bucket] = {}
        self._lock = threading.Lock()

    def per_minute(self, role: Role, kind: str) -> int:
        return int(self.limits.get(role.value, {}).get(kind, 0))

    def check(self, caller: str, role: Role, kind: str) -> float | None:
        """Take one request from the caller's bucket: None if allowed, else the seconds
        until one more request will be."""
        limit = self.per_minute(role, kind)
        if limit <= 0:
            return None
        rate = limit / 60.0
        now = self._clock()
        with self._lock:
            bucket = self._buckets.get((caller, kind))
            if bucket is None:
                if len(self._buckets) >= _MAX_BUCKETS:
                    self._prune(now)
                bucket = self._buckets[(caller, kind)] = _Bucket(float(limit), now)
            bucket.tokens = min(float(limit), bucket.tokens + (now - bucket.stamp) * rate)
            bucket.stamp = now
            if bucket.tokens >= 1.0:
                bucket.tokens -= 1.0
                return None
            return (1.0 - bucket.tokens) / rate

    def _prune(self, now: float) -> None:
        """Drop buckets that have refilled (idle for a minute): they hold no state."""
        stale = [key for key, b in self._buckets.items() if now - b.stamp >= 60.0]
        for key in stale:
            del self._buckets[key]
