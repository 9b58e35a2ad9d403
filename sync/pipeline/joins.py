"""The synced list's join-order feed as a short poll reads it (:mod:`sync.feeds.join_order`).

A poll finds the members who joined since the mark, one call when no one did; each applied page
joins the roster of members (so the reconcile's change search sees them as members), then the
mark moves. A poll never reads the list whole: the reconcile does, at most daily, and until it
has the poll reads nothing.
"""

from __future__ import annotations

from collections.abc import Sequence

from sync.applier import Applier
from sync.feeds.join_order import JoinOrderFeed
from sync.feeds.marks import JOIN_ORDER, JoinOrderMark
from sync.pipeline.sync_run import RunParts


def poll_joins(parts: RunParts) -> JoinOrderFeed:
    """A :data:`sync.pipeline.short_run.JoinFeed`: the join-order feed over a run's parts (its
    client, its stored mark, the applier's ``save_mark``). A dry run stores nothing."""
    list_id = parts.context.settings.list_id
    mark = JoinOrderMark.from_mark(list_id, parts.store.get_mark(JOIN_ORDER))
    real = isinstance(parts.applier, Applier)

    def joined(ids: Sequence[str]) -> None:
        if real:
            parts.store.add_to_roster(list_id, ids)

    return JoinOrderFeed(
        parts.hubspot,
        mark,
        sweep=False,
        now=parts.clock.now,
        save=parts.applier.save_mark,
        joined=joined,
        follow_only=True,
    )
