"""Held links in general: a held link stores why it is held and its counterpart.

A link conflict was only ever "HubSpot merged the contact into one linked to another Sell
record", found again by looking up the survivor's active link. Now the link row says it:
``hold_reason`` (``contact_merge``) and ``held_with``, the Sell record it conflicts with
(``lead:12``). Links held before this revision get both from the active link on their contact.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("links") as batch:
        batch.add_column(sa.Column("hold_reason", sa.String(32), nullable=True))
        batch.add_column(sa.Column("held_with", sa.String(255), nullable=True))
    op.execute(
        "UPDATE links SET hold_reason = 'contact_merge', held_with = ("
        "SELECT other.sell_kind || ':' || CAST(other.sell_id AS VARCHAR(32)) FROM links other "
        "WHERE other.hubspot_id = links.hubspot_id AND other.state = 'active' "
        "ORDER BY other.id LIMIT 1) "
        "WHERE state = 'merge_held'"
    )


def downgrade() -> None:
    with op.batch_alter_table("links") as batch:
        batch.drop_column("held_with")
        batch.drop_column("hold_reason")
