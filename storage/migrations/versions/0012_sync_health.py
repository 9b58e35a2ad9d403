"""Records and events that keep failing, for the Health inbox.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TIMESTAMP = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "sync_health",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("subject", sa.String(255), nullable=False),
        sa.Column("sell_kind", sa.String(16), nullable=True),
        sa.Column("sell_id", sa.BigInteger, nullable=True),
        sa.Column("hubspot_id", sa.String(255), nullable=True),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("failures", sa.Integer, nullable=False),
        sa.Column("first_failed_at", TIMESTAMP, nullable=True),
        sa.Column("last_failed_at", TIMESTAMP, nullable=True),
        sa.Column("last_run_id", sa.Integer, nullable=True),
        sa.Column("ignored_at", TIMESTAMP, nullable=True),
        sa.Column("ignored_by", sa.String(255), nullable=True),
        sa.UniqueConstraint("subject", name="uq_sync_health_subject"),
    )


def downgrade() -> None:
    op.drop_table("sync_health")
