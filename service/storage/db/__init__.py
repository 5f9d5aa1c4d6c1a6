"""The records database: one schema for SQLite (the embedded default) and PostgreSQL
(``TMSEARCH_DATABASE_URL``), created and evolved by alembic migrations (``migrate``),
with the few SQL phrases that differ between the two kept in ``dialect``."""
