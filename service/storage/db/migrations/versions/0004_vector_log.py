"""The vector log (service/storage/vector_log.py): the vectors each write added or
removed, in the records' transaction, so that every process on a data dir applies the
others' writes to its in-memory index incrementally.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "vector_log",
        # INTEGER PRIMARY KEY on SQLite (the rowid, AUTOINCREMENT: never reused)
        sa.Column("seq", sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True,
                  autoincrement=True),
        sa.Column("op", sa.Text, nullable=False),
        sa.Column("vector_id", sa.BigInteger),
        sa.Column("vector", sa.LargeBinary),
        sa.Column("writer", sa.Text, nullable=False),
        sa.Column("at", sa.Float, nullable=False),
        sqlite_autoincrement=True,
    )


def downgrade() -> None:
    op.drop_table("vector_log")
