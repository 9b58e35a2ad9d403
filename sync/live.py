"""Changes in seconds over a service: the worker's loop body (:class:`~sync.usecases.live.
LiveChanges`) joined to the service's small runs, its pause and its store.

``bot/live.py`` schedules :meth:`LiveChanges.tick` every second in the process that runs the
scheduler; this module only builds it: stored HubSpot events are claimed from the store's inbox,
applied by the service's small runs (``trigger`` ``events``, which respect a pause and the run
lock), and every ``SYNC_POLL_SECONDS`` a short poll (``trigger`` ``poll``) reads the synced
list's joins, Sell's changes unless its Firehose is followed and there, and HubSpot's unless
webhooks are accepted.
"""

from __future__ import annotations

from collections.abc import Callable

from sync.pipeline.short_run import Poll
from sync.service import SyncService
from sync.usecases.live import LiveChanges, poll_feeds

__all__ = ["live_changes"]


def live_changes(
    service: SyncService,
    *,
    owner: str,
    firehose_followed: bool = False,
    poll: Poll | Callable[[], Poll] | None = None,
) -> LiveChanges:
    """The loop body of ``service``'s worker, claiming events as ``owner`` (unique per worker
    process). ``poll``: what each short poll reads (by default, :func:`~sync.usecases.live.
    poll_feeds` with this configuration: ``firehose_followed`` says the worker follows Sell's
    Firehose); its period is the configuration's ``poll_seconds`` (0: no poll)."""
    engine = service.engine
    store, config = engine.store, engine.config
    if poll is None:
        poll = poll_feeds(store, webhooks=config.webhooks, firehose_followed=firehose_followed)
    return LiveChanges(
        inbox=store,
        links=store,
        clock=service.clock,
        run_short=lambda work, trigger: service.run_short(work, trigger=trigger),
        runs_held=service.runs_held,
        owner=owner,
        poll=poll,
        poll_seconds=config.poll_seconds,
    )
