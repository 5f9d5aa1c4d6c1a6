"""Alembic migrations of the records schema (``service/storage/db/migrate.py`` runs them)."""
