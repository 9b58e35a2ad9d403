"""Leaving Sell: what a migration moved, where it went, and what verification found.

``migration_runs`` (one per ``sellsync migrate --yes``), ``migration_items`` (each moved record
by its ``zendesk_sell_id`` → the HubSpot id), ``migration_refusals`` (what a run could not move,
and why) and ``migration_verifications`` (each ``--verify``'s counts and differences).

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TIMESTAMP = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "migration_runs",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("started_at", TIMESTAMP, nullable=False),
        sa.Column("finished_at", TIMESTAMP, nullable=True),
        sa.Column("status", sa.String(32), nullable=False),
        sa.Column("counts", sa.Text, nullable=False),
    )
    op.create_table(
        "migration_items",
        sa.Column("sell_key", sa.String(255), primary_key=True),
        sa.Column("object_type", sa.String(32), nullable=False),
        sa.Column("hubspot_id", sa.String(255), nullable=False),
        sa.Column("run_id", sa.Integer, nullable=True),
        sa.Column("moved_at", TIMESTAMP, nullable=False),
    )
    op.create_index("ix_migration_items_object", "migration_items", ["object_type"])
    op.create_table(
        "migration_refusals",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("run_id", sa.Integer, nullable=False),
        sa.Column("sell_key", sa.String(255), nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("at", TIMESTAMP, nullable=False),
    )
    op.create_index("ix_migration_refusals_run", "migration_refusals", ["run_id"])
    op.create_table(
        "migration_verifications",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("verified_at", TIMESTAMP, nullable=False),
        sa.Column("checked", sa.Integer, nullable=False),
        sa.Column("verified", sa.Integer, nullable=False),
        sa.Column("differences", sa.Integer, nullable=False),
        sa.Column("details", sa.Text, nullable=False),
    )
    op.create_index("ix_migration_verifications_at", "migration_verifications", ["verified_at"])


def downgrade() -> None:
    op.drop_index("ix_migration_verifications_at", table_name="migration_verifications")
    op.drop_table("migration_verifications")
    op.drop_index("ix_migration_refusals_run", table_name="migration_refusals")
    op.drop_table("migration_refusals")
    op.drop_index("ix_migration_items_object", table_name="migration_items")
    op.drop_table("migration_items")
    op.drop_table("migration_runs")
