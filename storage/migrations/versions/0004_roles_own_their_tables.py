"""Two jobs that borrowed generic tables get tables of their own, with their data carried over:

* the replay markers of Slack requests (``slack-event:…``, ``slack-signature:…``) move out of
  ``locks`` into ``request_markers``: ``locks`` then holds only leases somebody holds;
* the scheduler's failure-alert streak (the ``alert`` cursor, ``last_id`` "failing" or "ok") and
  its summary watermark (the ``summary`` cursor) move out of ``cursors`` into the single row of
  ``scheduler_state``: ``cursors`` then holds only where the sync's change feeds stopped.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-30
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TIMESTAMP = sa.DateTime(timezone=True)

#: The lock names the replay guard (bot/replay.py) gave its markers.
MARKERS = "name LIKE 'slack-event:%' OR name LIKE 'slack-signature:%'"


def upgrade() -> None:
    op.create_table(
        "request_markers",
        sa.Column("name", sa.String(255), primary_key=True),
        sa.Column("owner", sa.String(255), nullable=False),
        sa.Column("expires_at", TIMESTAMP, nullable=False),
    )
    op.create_index("ix_request_markers_expires_at", "request_markers", ["expires_at"])
    op.execute(
        "INSERT INTO request_markers (name, owner, expires_at) "
        f"SELECT name, owner, expires_at FROM locks WHERE {MARKERS}"
    )
    op.execute(f"DELETE FROM locks WHERE {MARKERS}")

    op.create_table(
        "scheduler_state",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("alerted_failure_since", TIMESTAMP, nullable=True),
        sa.Column("summary_watermark", TIMESTAMP, nullable=True),
    )
    # Copied in SQL, so that timestamps keep their stored form on both databases.
    op.execute(
        "INSERT INTO scheduler_state (id, alerted_failure_since, summary_watermark) SELECT 1, "
        "(SELECT updated_at FROM cursors WHERE name = 'alert' AND last_id = 'failing'), "
        "(SELECT updated_at FROM cursors WHERE name = 'summary') "
        "WHERE EXISTS (SELECT 1 FROM cursors WHERE name IN ('alert', 'summary'))"
    )
    op.execute("DELETE FROM cursors WHERE name IN ('alert', 'summary')")


def downgrade() -> None:
    op.execute(
        "INSERT INTO cursors (name, updated_at, last_id) "
        "SELECT 'alert', alerted_failure_since, 'failing' FROM scheduler_state "
        "WHERE alerted_failure_since IS NOT NULL"
    )
    op.execute(
        "INSERT INTO cursors (name, updated_at) "
        "SELECT 'summary', summary_watermark FROM scheduler_state "
        "WHERE summary_watermark IS NOT NULL"
    )
    op.drop_table("scheduler_state")
    op.execute(
        "INSERT INTO locks (name, owner, expires_at) "
        "SELECT name, owner, expires_at FROM request_markers"
    )
    op.drop_index("ix_request_markers_expires_at", table_name="request_markers")
    op.drop_table("request_markers")
