"""Settings for every face of the service, read once from env (``TMSEARCH_*``) and flags.

One object carries the data dir, the device and the limits so that the CLI, the API and
the tests configure the register the same way.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import ByteSize, Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DeviceChoice = Literal["auto", "cpu", "cuda"]
IndexChoice = Literal["auto", "flat", "ivfpq", "hnsw"]


class Settings(BaseSettings):
    """Runtime configuration; env vars ``TMSEARCH_<FIELD>`` override the defaults."""

    model_config = SettingsConfigDict(env_prefix="TMSEARCH_", extra="ignore")

    data_dir: Path = Field(Path("./var"), description="Where index, records and images live.")
    device: DeviceChoice = Field("auto", description="Torch device for embedding.")
    model_path: Path | None = Field(
        None, description="Weights file; default is the model shipped in models/."
    )
    host: str = "127.0.0.1"
    port: int = 8000
    default_k: int = Field(10, ge=1, le=1000)
    max_k: int = Field(1000, ge=1)
    max_upload_bytes: int = Field(10 * 1024 * 1024, description="Largest accepted upload.")
    max_archive_bytes: int = Field(
        100 * 1024 * 1024, description="Largest accepted zip of logos for a batch report."
    )
    max_image_pixels: int = Field(40_000_000, description="Decompression-bomb guard.")
    stored_image_max_side: int = Field(1024, description="Stored (display) image size cap.")
    report_keep_days: float = Field(
        7.0, ge=0, description="How long finished batch reports stay downloadable.")
    report_keep: int = Field(200, ge=1, description="Finished batch reports kept at most.")
    watch_webhook_url: str | None = Field(
        None, description="Where new watch alerts are POSTed as JSON (retried with backoff, "
        "every attempt recorded); none: alerts are only listed.")
    watch_webhook_every_s: float = Field(
        2.0, gt=0, description="How often a server posts due watch alerts to the webhook.")
    follow_interval_s: float = Field(
        2.0, gt=0, description="How often a server applies other processes' writes "
        "(CLI ingest, remove) to its index.")
    svg_render_timeout_s: float = Field(
        5.0, gt=0, description="Longest one SVG may take to render (in a worker process).")
    svg_render_memory_mb: int = Field(
        1024, ge=64, description="Memory an SVG renderer worker may take.")
    thumbnail_size: int = Field(160, description="Longest side of stored thumbnails.")
    batch_size: int = Field(64, ge=1, description="Images embedded per forward pass.")
    workers: int = Field(2, ge=0, description="Decode worker processes for ingest (0 = inline).")
    ray: str | None = Field(
        None, description='Ingest on a Ray cluster: "auto" (the cluster Ray finds, or a '
        'local one) or its address; none: local worker processes.')
    ingest_chunk: int = Field(
        256, ge=1, description="Files per ingest transaction (one SQLite commit each)."
    )
    read_text: bool = Field(
        True, description="Read verbal elements with OCR at ingest and in query images."
    )
    index: IndexChoice = Field(
        "auto", description="Index type built by reindex: auto (by size and memory budget), "
        "flat (exact), ivfpq (compressed) or hnsw (graph).")
    memory_budget: ByteSize | None = Field(
        None, description="Bytes the index may take in memory (auto picks a kind "
        "that fits); none: no limit.")
    index_save_every: int = Field(
        5000, ge=1, description="Persist the index after this many changes while ingesting."
    )
    vector_store: str = Field(
        "faiss", description="Where the vectors live: faiss (an index file in the data dir) "
        "or milvus://host:port (a Milvus server; see index/milvus_store.py).")
    milvus_collection: str = Field(
        "tmsearch", pattern=r"^[A-Za-z_][A-Za-z0-9_]{0,200}$",
        description="The alias the register's Milvus collection is reached by.")
    milvus_index: Literal["hnsw", "ivf_pq"] = Field(
        "hnsw", description="Index of new Milvus collections: hnsw (float vectors and a "
        "graph) or ivf_pq (64 bytes a vector); an existing collection keeps its own until "
        "`tmsearch reindex`.")
    milvus_consistency: Literal["Strong", "Bounded", "Session", "Eventually"] = Field(
        "Session", description="Milvus consistency level of searches: Session sees this "
        "process's writes; Strong also other processes' (a time tick, 200-400 ms, more).")
    database_url: str | None = Field(
        None, description="Where the mark records live: none (a SQLite file in the data "
        "dir) or postgresql://user:password@host:port/db (see service/storage/db).")
    database_migrate: bool = Field(
        True, description="Migrate the records schema to this release's on open; false: "
        "a DBA runs `tmsearch db upgrade` (or applies its --sql) first.")
    anonymous_access: bool = Field(
        True, description="Requests without an API key act as the public role; false: "
        "they get 401.")
    rate_limits: dict[str, dict[str, int]] = Field(
        default_factory=dict, description='Requests per minute by role and kind, e.g. '
        '{"public": {"search": 60, "upload": 10}}; 0: no limit. Unset ones keep the '
        "defaults of service/security/rate_limit.py (public 120 searches and 20 uploads a minute).")
    metrics_public: bool = Field(
        False, description="Serve /metrics without a key (it counts unpublished marks).")
    trust_forwarded_for: bool = Field(
        False, description="Take the client address from X-Forwarded-For (behind a proxy).")

    @field_validator("database_url")
    @classmethod
    def _usable_database_url(cls, value: str | None) -> str | None:
        from service.storage.db.engine import database_url

        if value is not None:
            database_url(value)  # DatabaseUrlError (a ValueError) says what is wrong
        return value

    @property
    def resolved_data_dir(self) -> Path:
        return self.data_dir.expanduser().resolve()
