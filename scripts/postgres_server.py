"""A real PostgreSQL server for the tests and benchmarks: Debian's ``postgresql``
package (``make postgres-deps`` installs it), a throw-away cluster made by ``initdb`` in
a folder of its own, listening on 127.0.0.1 only, with a password (SCRAM) like a real
deployment, and stopped when the block ends. A server that cannot start raises: the
tests that need it fail, never skip.

PostgreSQL refuses to run as root, so as root the cluster belongs to the ``postgres``
user the Debian package creates, and its programs run through ``runuser``.
"""

from __future__ import annotations

import glob
import os
import pwd
import secrets
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

USER = "tmsearch"


class PostgresUnavailable(RuntimeError):
    """PostgreSQL's programs are missing or the server did not start."""


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def postgres_bin_dir() -> Path:
    """The newest installed PostgreSQL's programs (``initdb``, ``pg_ctl``)."""
    found = shutil.which("initdb")
    if found:
        return Path(found).parent
    versions = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"),
                      key=lambda p: int(Path(p).parent.parent.name))
    if not versions:
        raise PostgresUnavailable(
            "PostgreSQL is not installed: run `make postgres-deps` "
            "(apt-get install postgresql)")
    return Path(versions[-1]).parent


def _runner(folder: Path) -> list[str]:
    """The command prefix that runs PostgreSQL's programs as a user allowed to."""
    if os.geteuid() != 0:
        return []
    try:
        account = pwd.getpwnam("postgres")
    except KeyError as exc:
        raise PostgresUnavailable("running as root and there is no `postgres` user") from exc
    for path in [folder, *folder.rglob("*")]:
        os.chown(path, account.pw_uid, account.pw_gid)
    parent = folder.parent
    while parent != parent.parent:  # the postgres user must reach the folder
        os.chmod(parent, os.stat(parent).st_mode | 0o011)
        parent = parent.parent
    return ["runuser", "-u", "postgres", "--"]


def _run(command: list[str]) -> None:
    done = subprocess.run(command, capture_output=True, text=True, timeout=120)
    if done.returncode != 0:
        raise PostgresUnavailable(
            f"{' '.join(command)} failed ({done.returncode}): {done.stderr.strip()[-2000:]}")


@contextmanager
def postgres_server(base_dir: Path, timeout: float = 60.0, durable: bool = False
                    ) -> Iterator[str]:
    """``postgresql://tmsearch:PASSWORD@127.0.0.1:PORT/postgres`` of a running server
    for the block (the user may create databases). ``durable``: fsync as in production
    (benchmarks); else off (tests)."""
    bin_dir = postgres_bin_dir()
    base_dir.mkdir(parents=True, exist_ok=True)
    cluster, sockets = base_dir / "cluster", base_dir / "sockets"
    sockets.mkdir(exist_ok=True)
    password = secrets.token_hex(12)
    (base_dir / "pwfile").write_text(password + "\n")
    prefix = _runner(base_dir)
    _run([*prefix, str(bin_dir / "initdb"), "-D", str(cluster), "-U", USER,
          f"--pwfile={base_dir / 'pwfile'}", "--auth=scram-sha-256", "-E", "UTF8",
          "--locale=C.UTF-8"])
    (base_dir / "pwfile").unlink()
    port = _free_port()
    options = (f"-c listen_addresses=127.0.0.1 -c port={port} "
               f"-c unix_socket_directories={sockets} -c max_connections=200")
    if not durable:  # the tests' least concern: they make many small databases
        options += " -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
    _run([*prefix, str(bin_dir / "pg_ctl"), "-D", str(cluster), "-l",
          str(base_dir / "server.log"), "-o", options, "-w", "-t", str(int(timeout)), "start"])
    try:
        url = f"postgresql://{USER}:{password}@127.0.0.1:{port}/postgres"
        _wait_ready(url, timeout)
        yield url
    finally:
        subprocess.run([*prefix, str(bin_dir / "pg_ctl"), "-D", str(cluster), "-m", "fast",
                        "-w", "stop"], capture_output=True, timeout=120)


def _wait_ready(url: str, timeout: float) -> None:
    import psycopg

    deadline = time.monotonic() + timeout
    while True:
        try:
            with psycopg.connect(url, connect_timeout=5) as conn:
                conn.execute("SELECT 1")
            return
        except psycopg.OperationalError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


def create_database(server_url: str, name: str) -> str:
    """A new, empty database on the server; returns its URL."""
    import psycopg

    with psycopg.connect(server_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return server_url.rsplit("/", 1)[0] + "/" + name
