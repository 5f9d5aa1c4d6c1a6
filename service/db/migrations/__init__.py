"""Alembic migrations of the records schema (``service/db/migrate.py`` runs them)."""
