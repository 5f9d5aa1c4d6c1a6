"""Alembic's entry point for the records schema. Run through ``service/storage/db/migrate.py``
(``tmsearch db upgrade``), which hands over an open connection; ``--sql`` (offline
mode) prints the DDL for a DBA instead of running it."""

from __future__ import annotations

from alembic import context
from sqlalchemy import text

from service.storage.db.dialect import WRITE_LOCK_KEY

config = context.config


def run_offline() -> None:
    context.configure(url=config.attributes["url"], literal_binds=True,
                      dialect_opts={"paramstyle": "named"})
    with context.begin_transaction():
        context.run_migrations()


def run_online() -> None:
    connection = config.attributes["connection"]
    context.configure(connection=connection, transactional_ddl=True)
    with context.begin_transaction():
        if connection.dialect.name == "postgresql":
            # two processes opening a new database at once: the second waits, then
            # finds the schema at head and does nothing
            connection.execute(text("SELECT pg_advisory_xact_lock(:key)"),
                               {"key": WRITE_LOCK_KEY})
        context.run_migrations()


if context.is_offline_mode():
    run_offline()
else:
    run_online()
