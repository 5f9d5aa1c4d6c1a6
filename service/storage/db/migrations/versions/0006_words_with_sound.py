"""The words index holds how a mark's words sound beside them (``service.marks.words``
``indexed_words``: toneless pinyin, Metaphone keys), so that a search finds homophones
(乐百氏 / 乐佰氏, KWIK / QUICK) as candidates. Existing rows are rewritten from the
marks' words.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    from service.marks.words import indexed_words

    _rewrite(indexed_words)


def downgrade() -> None:
    from service.marks.words import normalise_text

    _rewrite(normalise_text)  # the words alone, as older releases read them


def _rewrite(words_of) -> None:  # noqa: ANN001 - text -> what the index holds
    if op.get_context().as_sql:  # DDL for a DBA (`tmsearch db upgrade --sql`): no rows yet
        return
    bind = op.get_bind()
    rows = bind.execute(sa.text(
        "SELECT id, vector_id, text FROM marks WHERE text IS NOT NULL AND text != ''")).all()
    by_rowid = bind.dialect.name == "sqlite"  # the FTS5 row's rowid is the vector id (0003)
    update = sa.text("UPDATE mark_words SET words = :words WHERE rowid = :vid" if by_rowid
                     else "UPDATE mark_words SET words = :words WHERE mark_id = :id")
    batch = [{"id": r[0], "vid": r[1], "words": words_of(r[2])} for r in rows]
    for start in range(0, len(batch), 1000):
        if batch[start:start + 1000]:
            bind.execute(update, batch[start:start + 1000])

