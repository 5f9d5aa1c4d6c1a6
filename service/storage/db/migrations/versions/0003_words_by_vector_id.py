"""SQLite: each words row's rowid is its mark's vector id, so replacing or deleting a
mark's words finds the row directly. The FTS5 table cannot index ``mark_id``; looking a
row up by it scanned the table, which made every upsert slower as the register grew
(1,750 marks/s at 0 falling to 490 at 10,000). PostgreSQL's ``mark_words`` has
``mark_id`` as its primary key and is unchanged.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-01
"""

from __future__ import annotations

from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    if op.get_context().dialect.name != "sqlite":
        return
    op.execute("CREATE TEMP TABLE words_before AS SELECT mark_id, words FROM mark_words")
    op.execute("DELETE FROM mark_words")
    op.execute("INSERT INTO mark_words(rowid, mark_id, words) SELECT m.vector_id, w.mark_id, "
               "w.words FROM words_before w JOIN marks m ON m.id = w.mark_id")
    op.execute("DROP TABLE words_before")


def downgrade() -> None:
    pass  # any rowids serve the older releases
