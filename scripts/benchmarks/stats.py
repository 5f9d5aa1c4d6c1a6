"""Summaries of timings: medians over repeats, latency percentiles."""

from __future__ import annotations

import statistics
from collections.abc import Sequence

import numpy as np


def median(values: Sequence[float]) -> float:
    return float(statistics.median(values)) if values else float("nan")


def percentiles_ms(seconds: Sequence[float]) -> dict[str, float]:
    """p50, p95 and p99 of latencies given in seconds, in milliseconds."""
    if not seconds:
        return {"p50_ms": float("nan"), "p95_ms": float("nan"), "p99_ms": float("nan")}
    ms = np.asarray(seconds) * 1000.0
    p50, p95, p99 = np.percentile(ms, [50, 95, 99])
    return {"p50_ms": float(p50), "p95_ms": float(p95), "p99_ms": float(p99)}


def rss_bytes(pid: int) -> int:
    """Resident memory of a process (Linux), 0 where it cannot be read."""
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0
