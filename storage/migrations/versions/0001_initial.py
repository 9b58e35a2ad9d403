"""The initial schema: links and tombstones, the Sell email index, list members, cursors,
conflicts, settings, change requests, sync runs, the audit trail and locks.

Revision ID: 0001
Revises:
Create Date: 2025-11-29

Plain ``sa.`` types only (timestamps ``DateTime(timezone=True)``, JSON as ``Text``): this file
must not change when storage/tables.py does.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TIMESTAMP = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "links",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("sell_kind", sa.String(16), nullable=False),
        sa.Column("sell_id", sa.BigInteger(), nullable=False),
        sa.Column("hubspot_id", sa.String(255), nullable=False),
        sa.Column("state", sa.String(32), nullable=False),
        sa.Column("origin", sa.String(32), nullable=False),
        sa.Column("email", sa.String(320), nullable=True),
        sa.Column("snapshot", sa.Text(), nullable=False),
        sa.Column("last_synced_at", TIMESTAMP, nullable=True),
        sa.Column("tombstoned_at", TIMESTAMP, nullable=True),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.Column("updated_at", TIMESTAMP, nullable=False),
        sa.UniqueConstraint("sell_kind", "sell_id", name="uq_links_sell"),
    )
    op.create_index("ix_links_hubspot_id", "links", ["hubspot_id"])

    op.create_table(
        "sell_index",
        sa.Column("sell_kind", sa.String(16), nullable=False),
        sa.Column("sell_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("email", sa.String(320), nullable=True),
        sa.Column("updated_at", TIMESTAMP, nullable=False),
        sa.Column("is_organization", sa.Boolean(), nullable=False),
        sa.Column("tags", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("sell_kind", "sell_id"),
    )
    op.create_index("ix_sell_index_email", "sell_index", ["email"])

    op.create_table(
        "list_members",
        sa.Column("list_id", sa.String(255), nullable=False),
        sa.Column("hubspot_id", sa.String(255), nullable=False),
        sa.PrimaryKeyConstraint("list_id", "hubspot_id"),
    )

    op.create_table(
        "cursors",
        sa.Column("name", sa.String(255), primary_key=True),
        sa.Column("updated_at", TIMESTAMP, nullable=True),
        sa.Column("last_id", sa.String(255), nullable=True),
        sa.Column("position_ms", sa.BigInteger(), nullable=True),
    )

    op.create_table(
        "conflicts",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("sell_kind", sa.String(16), nullable=False),
        sa.Column("sell_id", sa.BigInteger(), nullable=False),
        sa.Column("hubspot_id", sa.String(255), nullable=False),
        sa.Column("field", sa.String(255), nullable=False),
        sa.Column("sell_value", sa.Text(), nullable=True),
        sa.Column("hubspot_value", sa.Text(), nullable=True),
        sa.Column("status", sa.String(32), nullable=False),
        sa.Column("opened_at", TIMESTAMP, nullable=False),
        sa.Column("updated_at", TIMESTAMP, nullable=False),
        sa.Column("resolved_by", sa.String(255), nullable=True),
        sa.Column("resolved_at", TIMESTAMP, nullable=True),
    )
    # At most one open conflict per Sell record and field (S9), on both databases.
    op.create_index(
        "uq_conflicts_one_open",
        "conflicts",
        ["sell_kind", "sell_id", "field"],
        unique=True,
        sqlite_where=sa.text("status = 'open'"),
        postgresql_where=sa.text("status = 'open'"),
    )
    op.create_index("ix_conflicts_sell", "conflicts", ["sell_kind", "sell_id"])
    op.create_index("ix_conflicts_status", "conflicts", ["status"])

    op.create_table(
        "settings",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=False),
        sa.Column("threshold", sa.Integer(), nullable=False),
        sa.Column("list_id", sa.String(255), nullable=False),
        sa.Column("custom_mappings", sa.Text(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("updated_at", TIMESTAMP, nullable=False),
    )

    op.create_table(
        "change_requests",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("setting", sa.String(255), nullable=False),
        sa.Column("new_value", sa.Text(), nullable=False),
        sa.Column("old_value", sa.Text(), nullable=False),
        sa.Column("requested_by", sa.String(255), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("status", sa.String(32), nullable=False),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.Column("decided_by", sa.String(255), nullable=True),
        sa.Column("decided_at", TIMESTAMP, nullable=True),
        sa.Column("channel", sa.String(255), nullable=True),
        sa.Column("message_ts", sa.String(255), nullable=True),
    )
    # At most one pending request per setting: a newer one supersedes the older (SPEC §3).
    op.create_index(
        "uq_change_requests_one_pending",
        "change_requests",
        ["setting"],
        unique=True,
        sqlite_where=sa.text("status = 'pending'"),
        postgresql_where=sa.text("status = 'pending'"),
    )
    op.create_index("ix_change_requests_status", "change_requests", ["status"])

    op.create_table(
        "sync_runs",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("trigger", sa.String(255), nullable=False),
        sa.Column("started_at", TIMESTAMP, nullable=False),
        sa.Column("finished_at", TIMESTAMP, nullable=True),
        sa.Column("status", sa.String(32), nullable=False),
        sa.Column("counts", sa.Text(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
    )
    op.create_index("ix_sync_runs_started_at", "sync_runs", ["started_at"])

    op.create_table(
        "audit_events",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("at", TIMESTAMP, nullable=False),
        sa.Column("kind", sa.String(255), nullable=False),
        sa.Column("subject", sa.Text(), nullable=False),
        sa.Column("actor", sa.String(255), nullable=True),
        sa.Column("run_id", sa.Integer(), nullable=True),
        sa.Column("detail", sa.Text(), nullable=False),
    )
    op.create_index("ix_audit_events_at", "audit_events", ["at"])

    op.create_table(
        "locks",
        sa.Column("name", sa.String(255), primary_key=True),
        sa.Column("owner", sa.String(255), nullable=False),
        sa.Column("expires_at", TIMESTAMP, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("locks")
    op.drop_index("ix_audit_events_at", table_name="audit_events")
    op.drop_table("audit_events")
    op.drop_index("ix_sync_runs_started_at", table_name="sync_runs")
    op.drop_table("sync_runs")
    op.drop_index("ix_change_requests_status", table_name="change_requests")
    op.drop_index("uq_change_requests_one_pending", table_name="change_requests")
    op.drop_table("change_requests")
    op.drop_table("settings")
    op.drop_index("ix_conflicts_status", table_name="conflicts")
    op.drop_index("ix_conflicts_sell", table_name="conflicts")
    op.drop_index("uq_conflicts_one_open", table_name="conflicts")
    op.drop_table("conflicts")
    op.drop_table("cursors")
    op.drop_table("list_members")
    op.drop_index("ix_sell_index_email", table_name="sell_index")
    op.drop_table("sell_index")
    op.drop_index("ix_links_hubspot_id", table_name="links")
    op.drop_table("links")
