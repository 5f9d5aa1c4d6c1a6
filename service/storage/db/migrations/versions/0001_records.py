"""The records schema: marks, their components, the verbal elements, a meta table.

The same tables on SQLite and PostgreSQL. Vector ids are 64-bit; list fields (Nice
classes, Vienna codes) and component boxes are JSON text; dates and times are ISO 8601
text, so both engines sort and compare them alike. The words index is the engine's own:
an FTS5 trigram table on SQLite, a pg_trgm GIN index on PostgreSQL.

Revision ID: 0001
Revises:
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "marks",
        sa.Column("id", sa.Text, primary_key=True),
        sa.Column("vector_id", sa.BigInteger, nullable=False, unique=True),
        sa.Column("name", sa.Text),
        sa.Column("owner", sa.Text),
        sa.Column("application_number", sa.Text),
        sa.Column("registration_number", sa.Text),
        sa.Column("nice_classes", sa.Text, nullable=False, server_default="[]"),
        sa.Column("vienna_codes", sa.Text, nullable=False, server_default="[]"),
        sa.Column("status", sa.Text),
        sa.Column("filing_date", sa.Text),
        sa.Column("content_hash", sa.Text, nullable=False),
        sa.Column("image_key", sa.Text, nullable=False),
        sa.Column("media_type", sa.Text, nullable=False),
        sa.Column("source", sa.Text),
        sa.Column("created_at", sa.Text, nullable=False),
        sa.Column("updated_at", sa.Text, nullable=False),
        sa.Column("colour", sa.LargeBinary),
        sa.Column("text", sa.Text),
    )
    op.create_index("marks_image_key", "marks", ["image_key"])
    op.create_index("marks_status", "marks", ["status"])
    op.create_table(
        "components",
        sa.Column("vector_id", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("mark_id", sa.Text, nullable=False),
        sa.Column("kind", sa.Text, nullable=False),
        sa.Column("box", sa.Text, nullable=False),
    )
    op.create_index("components_mark", "components", ["mark_id"])
    op.create_table(
        "meta",
        sa.Column("key", sa.Text, primary_key=True),
        sa.Column("value", sa.Text, nullable=False),
    )
    if op.get_context().dialect.name == "sqlite":
        op.execute("CREATE VIRTUAL TABLE mark_words USING fts5("
                   "mark_id UNINDEXED, words, tokenize='trigram')")
    else:
        op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
        op.create_table(
            "mark_words",
            sa.Column("mark_id", sa.Text, primary_key=True),
            sa.Column("words", sa.Text, nullable=False),
        )
        op.execute("CREATE INDEX mark_words_trigrams ON mark_words "
                   "USING gin (words gin_trgm_ops)")


def downgrade() -> None:
    for table in ("mark_words", "meta", "components", "marks"):
        op.drop_table(table)
