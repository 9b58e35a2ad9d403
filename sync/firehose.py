"""Sell's Firehose over a service: what the worker's Firehose job follows, and whether the
account has it (the poll scheduler reads Sell's ``updated_at`` feed when it does not).

:func:`firehose_follower` joins the three parts: the Sell client's Firehose reader
(:mod:`sync.clients.sell_firehose`), the follower (:mod:`sync.pipeline.firehose`), and the
service's runs: a page's records go to a small run (``trigger`` ``events``, which respects a
pause and the run lock), an expired position to one full reconcile (``trigger`` ``firehose``).
"""

from __future__ import annotations

from collections.abc import Sequence

from sync.clients.sell_firehose import SellFirehose
from sync.domain import SellRef
from sync.pipeline.firehose import (
    FirehoseFollower,
    Followed,
    FollowResult,
    firehose_available,
)
from sync.pipeline.short_run import EVENTS, Hints, ShortWork
from sync.sell_mode import unless_held
from sync.service import SyncService
from sync.usecases.common import Actor

__all__ = [
    "FIREHOSE_TRIGGER",
    "FirehoseFollower",
    "FollowResult",
    "Followed",
    "firehose_follower",
    "sell_firehose_available",
]

#: The run log's trigger of the full reconcile an expired Firehose position starts.
FIREHOSE_TRIGGER = "firehose"
FIREHOSE_ACTOR = Actor("firehose", is_manager=True, name="firehose")


def firehose_follower(service: SyncService) -> FirehoseFollower | None:
    """The follower of ``service``'s Sell account, or None when its Sell port reads no Firehose
    (an in-memory stand-in, say: the poll reads Sell then)."""
    engine = service.engine
    reader = getattr(engine.sell, "firehose", None)
    if not isinstance(reader, SellFirehose):
        return None

    def apply(refs: Sequence[SellRef]) -> bool:
        report = service.run_short(ShortWork(Hints.of(sell=refs)), trigger=EVENTS)
        return report.failure is None and report.interrupted is None

    def reconcile() -> bool:
        report = service.run(actor=FIREHOSE_ACTOR, trigger=FIREHOSE_TRIGGER, full=True)
        return report.failure is None and report.interrupted is None

    reader = unless_held(reader, service.runs_held)  # Sell retired, or paused: not read
    return FirehoseFollower(
        reader,
        engine.store,
        service.clock,
        remembered=engine.store,
        apply=apply,
        reconcile=reconcile,
    )


def sell_firehose_available(service: SyncService) -> bool:
    """True unless Sell said (within the last day) that the account has no Firehose, or the
    Sell port reads none: then Sell's ``updated_at`` feed is polled instead."""
    if not isinstance(getattr(service.engine.sell, "firehose", None), SellFirehose):
        return False
    return firehose_available(service.engine.store)
