"""HubSpot webhook events stored before they are answered, and their apply attempts.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TIMESTAMP = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "webhook_events",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("event_id", sa.BigInteger, nullable=False),
        sa.Column("subscription_type", sa.String(64), nullable=False),
        sa.Column("object_id", sa.String(255), nullable=False),
        sa.Column("property_name", sa.String(255), nullable=True),
        sa.Column("property_value", sa.Text, nullable=True),
        sa.Column("occurred_at", TIMESTAMP, nullable=False),
        sa.Column("attempt_number", sa.Integer, nullable=False),
        sa.Column("change_source", sa.String(255), nullable=True),
        sa.Column("change_flag", sa.String(255), nullable=True),
        sa.Column("source_id", sa.String(255), nullable=True),
        sa.Column("portal_id", sa.BigInteger, nullable=True),
        sa.Column("primary_object_id", sa.String(255), nullable=True),
        sa.Column("merged_object_ids", sa.Text, nullable=False),
        sa.Column("new_object_id", sa.String(255), nullable=True),
        sa.Column("received_at", TIMESTAMP, nullable=False),
        sa.Column("applied_at", TIMESTAMP, nullable=True),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("last_error", sa.String(255), nullable=True),
        sa.Column("next_attempt_at", TIMESTAMP, nullable=True),
        sa.Column("claimed_by", sa.String(255), nullable=True),
        sa.Column("claimed_until", TIMESTAMP, nullable=True),
        sa.UniqueConstraint("event_id", name="uq_webhook_events_event_id"),
    )
    op.create_index(
        "ix_webhook_events_unapplied",
        "webhook_events",
        ["id"],
        sqlite_where=sa.text("applied_at IS NULL"),
        postgresql_where=sa.text("applied_at IS NULL"),
    )
    op.create_index("ix_webhook_events_received_at", "webhook_events", ["received_at"])


def downgrade() -> None:
    op.drop_index("ix_webhook_events_received_at", table_name="webhook_events")
    op.drop_index("ix_webhook_events_unapplied", table_name="webhook_events")
    op.drop_table("webhook_events")
