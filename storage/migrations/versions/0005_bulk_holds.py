"""The bulk guard's holds: creations (or tombstones) a run kept back for a manager's decision.

At most one hold is pending at a time (a newer one supersedes it): a partial unique index on
``status``, like the one pending settings request per setting.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TIMESTAMP = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "bulk_holds",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("status", sa.String(32), nullable=False),
        sa.Column("scope", sa.String(255), nullable=False),
        sa.Column("items", sa.Text, nullable=False),
        sa.Column("sample", sa.Text, nullable=False),
        sa.Column("bulk_limit", sa.Integer, nullable=False),
        sa.Column("links_total", sa.Integer, nullable=False),
        sa.Column("run_id", sa.Integer, nullable=True),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.Column("decided_by", sa.String(255), nullable=True),
        sa.Column("decided_at", TIMESTAMP, nullable=True),
        sa.Column("channel", sa.String(255), nullable=True),
        sa.Column("message_ts", sa.String(255), nullable=True),
    )
    op.create_index(
        "uq_bulk_holds_one_pending",
        "bulk_holds",
        ["status"],
        unique=True,
        sqlite_where=sa.text("status = 'pending'"),
        postgresql_where=sa.text("status = 'pending'"),
    )
    op.create_index("ix_bulk_holds_scope", "bulk_holds", ["scope"])


def downgrade() -> None:
    op.drop_index("ix_bulk_holds_scope", table_name="bulk_holds")
    op.drop_index("uq_bulk_holds_one_pending", table_name="bulk_holds")
    op.drop_table("bulk_holds")
