"""A held link's state is ``held``: why it is held is its ``hold_reason``, not its state.

Links a HubSpot contact merge held were stored as ``merge_held``; the reason (``contact_merge``)
and the counterpart have their own columns since revision 0007, so the state names only that
the link is held.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-07
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute("UPDATE links SET state = 'held' WHERE state = 'merge_held'")


def downgrade() -> None:
    op.execute("UPDATE links SET state = 'merge_held' WHERE state = 'held'")
