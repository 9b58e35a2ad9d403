"""Schedulers record a heartbeat and their next run times, so web processes, the command line
and App Home show when the next sync really is, and say so when no scheduler is alive.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-30
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TIMESTAMP = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "scheduler_heartbeats",
        sa.Column("scheduler_id", sa.String(255), primary_key=True),
        sa.Column("started_at", TIMESTAMP, nullable=False),
        sa.Column("seen_at", TIMESTAMP, nullable=False),
        sa.Column("next_sync_at", TIMESTAMP, nullable=True),
        sa.Column("next_summary_at", TIMESTAMP, nullable=True),
        sa.Column("stopped_at", TIMESTAMP, nullable=True),
    )
    op.create_index("ix_scheduler_heartbeats_seen_at", "scheduler_heartbeats", ["seen_at"])


def downgrade() -> None:
    op.drop_index("ix_scheduler_heartbeats_seen_at", table_name="scheduler_heartbeats")
    op.drop_table("scheduler_heartbeats")
