"""What an idle run remembers between processes: definitions, refusals and cursors
(``remembered_reads``), and the synced list's members as the runs know them (``list_roster``).

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TIMESTAMP = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "remembered_reads",
        sa.Column("key", sa.String(255), primary_key=True),
        sa.Column("value", sa.Text, nullable=False),
        sa.Column("fetched_at", TIMESTAMP, nullable=False),
        sa.Column("expires_at", TIMESTAMP, nullable=True),
    )
    op.create_table(
        "list_roster",
        sa.Column("list_id", sa.String(255), primary_key=True),
        sa.Column("hubspot_id", sa.String(255), primary_key=True),
    )


def downgrade() -> None:
    op.drop_table("list_roster")
    op.drop_table("remembered_reads")
