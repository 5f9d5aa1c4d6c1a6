"""Trademark watch (service/watch/): watches, the marks they protect with their search
plan, the alerts new filings raise, and each webhook delivery attempt.

An alert is unique per (watch, mark, image): a mark raises one alert on a watch until
its image changes. Alerts are written in the same transaction as the mark's record, so
an acknowledged mark never lacks its alerts, and an alert's ``delivery`` column is the
webhook outbox (pending until a delivery succeeds or is given up).

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "watches",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("owner", sa.Text, nullable=False),  # the creating key's id, or "cli"
        sa.Column("nice_classes", sa.Text, nullable=False),  # JSON list
        sa.Column("vienna_codes", sa.Text, nullable=False),  # JSON list
        sa.Column("min_risk", sa.Text),  # low | medium | high (or a min_score)
        sa.Column("min_score", sa.Float),
        sa.Column("created_at", sa.Text, nullable=False),
        sa.UniqueConstraint("owner", "name", name="watches_owner_name"),
    )
    op.create_table(
        "watched_marks",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("watch_id", sa.Integer, nullable=False),
        sa.Column("label", sa.Text, nullable=False),  # the register mark id or file name
        sa.Column("mark_id", sa.Text),  # the register mark it was taken from, if any
        sa.Column("content_hash", sa.Text, nullable=False),
        sa.Column("model_version", sa.Text, nullable=False),
        sa.Column("plan", sa.LargeBinary, nullable=False),  # the stored query (npz)
        sa.Column("image", sa.LargeBinary, nullable=False),  # to plan again for a new model
    )
    op.create_index("watched_marks_watch", "watched_marks", ["watch_id"])
    op.create_table(
        "alerts",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("watch_id", sa.Integer, nullable=False),
        sa.Column("mark_id", sa.Text, nullable=False),
        sa.Column("content_hash", sa.Text, nullable=False),
        sa.Column("watched_mark_id", sa.Integer, nullable=False),
        sa.Column("score", sa.Float, nullable=False),
        sa.Column("shape_score", sa.Float, nullable=False),
        sa.Column("risk", sa.Text, nullable=False),
        sa.Column("matched", sa.Text),  # the component of the new mark that matched
        sa.Column("status", sa.Text, nullable=False, server_default="new"),
        sa.Column("delivery", sa.Text),  # the webhook outbox: pending, sending, delivered, failed
        sa.Column("created_at", sa.Text, nullable=False),
        sa.UniqueConstraint("watch_id", "mark_id", "content_hash", name="alerts_once"),
    )
    op.create_index("alerts_watch", "alerts", ["watch_id", "created_at"])
    op.create_index("alerts_delivery", "alerts", ["delivery"])
    op.create_table(
        "alert_deliveries",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("alert_id", sa.Integer, nullable=False),
        sa.Column("attempt", sa.Integer, nullable=False),
        sa.Column("at", sa.Text, nullable=False),
        sa.Column("status_code", sa.Integer),
        sa.Column("error", sa.Text),
    )
    op.create_index("alert_deliveries_alert", "alert_deliveries", ["alert_id"])


def downgrade() -> None:
    for table in ("alert_deliveries", "alerts", "watched_marks", "watches"):
        op.drop_table(table)
