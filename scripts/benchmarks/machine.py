"""What the benchmark ran on, printed with every table: numbers mean nothing without it."""

from __future__ import annotations

import os
import platform


def describe() -> dict[str, str | int]:
    cpu = platform.processor() or "unknown CPU"
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as fh:
            for line in fh:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    memory = 0
    try:
        with open("/proc/meminfo", encoding="ascii") as fh:
            memory = int(fh.readline().split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    import faiss
    import torch

    gpu = torch.cuda.get_device_name(0) if torch.cuda.is_available() else "none"
    return {"cpu": cpu, "cores": len(os.sched_getaffinity(0)),
            "memory_gb": round(memory / 2**30, 1), "gpu": gpu, "python": platform.python_version(),
            "torch": torch.__version__, "faiss": faiss.__version__}
