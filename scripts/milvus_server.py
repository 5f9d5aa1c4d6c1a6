"""A real Milvus server for the tests and benchmarks: the ``milvus`` package's
standalone server (2.3.5, binaries inside the wheel: nothing is downloaded) on
127.0.0.1 in a folder of its own, stopped when the block ends. A server that cannot
start raises: the tests that need it fail, never skip."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def milvus_server(base_dir: Path, timeout: float = 120.0) -> Iterator[str]:
    """``milvus://127.0.0.1:PORT`` of a running server for the block."""
    from milvus import MilvusServer
    from pymilvus import MilvusClient

    server = MilvusServer()
    server.set_base_dir(str(base_dir))
    server.listen_port = _free_port()
    server.start()
    try:
        uri = f"http://127.0.0.1:{server.listen_port}"
        deadline = time.monotonic() + timeout
        while True:  # the proxy may answer a moment after start() returns
            try:
                MilvusClient(uri=uri, timeout=10).list_collections()
                break
            except Exception:
                if time.monotonic() > deadline:
                    raise
                time.sleep(1.0)
        yield f"milvus://127.0.0.1:{server.listen_port}"
    finally:
        server.stop()
