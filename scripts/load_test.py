"""A bounded load test on 127.0.0.1: searches mixed with ingests against a real server.

    python -m scripts.load_test --seconds 60 --clients 16

A register of the demo's rendered marks is built in a temporary data dir (or
``--data-dir`` is used as it is, queried with its own stored images), ``tmsearch
serve`` starts on a free port, and ``--clients`` asyncio clients each loop for
``--seconds``: nine requests in ten are ``POST /v1/search`` with a mark image, one in
ten a ``POST /v1/marks`` of a new mark (admin key; rate limits do not apply to admins).
Every answer must be 200 (search, with results) or 201 (ingest); anything else, or a
transport error, is counted as an error. Prints a markdown table of p50/p95/p99 and
rates per kind, and JSON with ``--json``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx

from scripts.benchmarks.http_load import serve
from scripts.benchmarks.stats import percentiles_ms

INGEST_SHARE = 0.1


def build_register(data_dir: Path, marks: int) -> list[bytes]:
    """``marks`` of the demo's rendered marks, ingested; returns query images (a few of
    them: examiners search for logos like the registered ones)."""
    from service.demo import write_demo_folder
    from service.marks.pipeline import iter_image_files
    from service.register import Register
    from service.settings import Settings

    folder = data_dir.parent / "load-marks"
    write_demo_folder(folder, limit=marks)
    with Register(Settings(data_dir=data_dir, workers=2)) as register:
        register.ingest_folder(folder / "images")
    return [p.read_bytes() for p in sorted(iter_image_files(folder / "images"))[:64]]


def stored_images(data_dir: Path, count: int) -> list[bytes]:
    """The stored images of ``count`` marks of an existing register."""
    from service.storage.image_store import ImageStore
    from service.storage.layout import RECORDS_FILE
    from service.storage.records import RecordStore

    records, images = RecordStore(data_dir / RECORDS_FILE), ImageStore(data_dir)
    try:
        return [images.read(key, media_type)
                for _, key, media_type in list(records.image_keys())[:count]]
    finally:
        records.close()


def admin_key(data_dir: Path) -> str:
    from service.security.access import Role
    from service.security.keys import KEYS_FILE, KeyStore

    store = KeyStore(data_dir / KEYS_FILE)
    try:
        return store.create(Role.admin, "load test")[1]
    finally:
        store.close()


async def _client(http: httpx.AsyncClient, images: list[bytes], stop_at: float,
                  rng: random.Random, out: dict[str, Any], name: str) -> None:
    n = 0
    while time.perf_counter() < stop_at:
        ingest = rng.random() < INGEST_SHARE
        data = rng.choice(images)
        started = time.perf_counter()
        try:
            if ingest:
                n += 1
                meta = {"id": f"LOAD-{name}-{n}", "name": "load test", "nice_classes": [9]}
                response = await http.post("/v1/marks", data={"metadata": json.dumps(meta)},
                                           files={"image": ("m.png", data, "image/png")})
                ok = response.status_code == 201
            else:
                response = await http.post("/v1/search", data={"k": "10"},
                                           files={"image": ("q.png", data, "image/png")})
                ok = response.status_code == 200 and bool(response.json()["results"])
        except httpx.HTTPError as exc:
            out["errors"].append(repr(exc))
            continue
        elapsed = time.perf_counter() - started
        if not ok:
            out["errors"].append(f"{response.status_code}: {response.text[:200]}")
            continue
        out["ingest" if ingest else "search"].append(elapsed)


def run_load(url: str, key: str, images: list[bytes], clients: int, seconds: float,
             seed: int = 0) -> dict[str, Any]:
    async def main() -> dict[str, Any]:
        out: dict[str, Any] = {"search": [], "ingest": [], "errors": []}
        limits = httpx.Limits(max_connections=clients)
        async with httpx.AsyncClient(base_url=url, timeout=120.0, limits=limits,
                                     headers={"Authorization": f"Bearer {key}"}) as http:
            started = time.perf_counter()
            await asyncio.gather(*(
                _client(http, images, started + seconds, random.Random(seed + i), out, str(i))
                for i in range(clients)))
            out["wall_s"] = time.perf_counter() - started
        return out

    with ThreadPoolExecutor(max_workers=1) as thread:  # the caller may run a loop already
        raw = thread.submit(asyncio.run, main()).result()
    result: dict[str, Any] = {"clients": clients, "seconds": round(raw["wall_s"], 1),
                              "errors": len(raw["errors"]),
                              "first_error": raw["errors"][0] if raw["errors"] else ""}
    for kind in ("search", "ingest"):
        result[kind] = {"requests": len(raw[kind]),
                        "per_s": round(len(raw[kind]) / raw["wall_s"], 2),
                        **percentiles_ms(raw[kind])}
    return result


def markdown(result: dict[str, Any]) -> str:
    lines = [f"{result['clients']} clients for {result['seconds']} s, "
             f"{result['errors']} errors", "",
             "| requests | count | per s | p50 ms | p95 ms | p99 ms |",
             "|---|---:|---:|---:|---:|---:|"]
    for kind, label in (("search", "POST /v1/search"), ("ingest", "POST /v1/marks")):
        row = result[kind]
        lines.append(f"| {label} | {row['requests']} | {row['per_s']:.1f} | "
                     f"{row['p50_ms']:.1f} | {row['p95_ms']:.1f} | {row['p99_ms']:.1f} |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--marks", type=int, default=300, help="Generated register size.")
    parser.add_argument("--data-dir", type=Path, help="Use this register instead.")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="tmsearch-load-") as tmp:
        if args.data_dir is None:
            data_dir = Path(tmp) / "data"
            images = build_register(data_dir, args.marks)
        else:
            data_dir = args.data_dir
            images = stored_images(data_dir, 64)
        key = admin_key(data_dir)
        with serve(data_dir) as server:
            result = run_load(server.url, key, images, args.clients, args.seconds)
    print(json.dumps(result) if args.json else markdown(result))
    return result


if __name__ == "__main__":
    sys.exit(1 if main()["errors"] else 0)
