"""Where leaving Sell stands, read from storage alone (no API call)."""

from __future__ import annotations

from sync.ports import MigrationStanding, MigrationStore


def migration_standing(store: MigrationStore) -> MigrationStanding:
    """The newest ``sellsync migrate --verify`` against what the migration moved.

    Reads storage only (the ``SqlStore`` the bot already holds is a ``MigrationStore``), so it
    is cheap enough for a Slack request. The answer is a frozen
    :class:`~sync.ports.MigrationStanding`:

    * ``verified_at``: when the newest verification ran; None when none ever ran;
    * ``verified``: moved records, companies, notes and associations that verification found
      equal on both sides;
    * ``differences``: the differences it found;
    * ``unverified``: moved items no verification vouches for (moved after it, or differing);
      None when nothing is known: nothing was moved and nothing verified;
    * ``moved``: how many items the migration recorded as moved.

    Setting ``sell_mode`` to ``retired`` should ask a second confirmation naming
    ``unverified`` when it is not 0 (or when it is None: nothing was ever moved).
    """
    return store.migration_standing()
