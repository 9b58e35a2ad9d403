"""The engine's fixed configuration, read from the environment once by the composition root."""

from __future__ import annotations

from dataclasses import dataclass

from sync.domain import RecordKind
from sync.lease import DEFAULT_TTL_SECONDS


@dataclass(frozen=True)
class EngineConfig:
    default_threshold: int = 0
    default_list_id: str = ""
    score_property: str = "hubspotscore"
    import_as: RecordKind = "lead"
    hubspot_overlap_ms: int = 5 * 60 * 1000
    lock_ttl_seconds: int = DEFAULT_TTL_SECONDS  # the run lease (sync/lease.py)
    lock_heartbeat_seconds: float | None = None  # None: a third of the TTL
    sell_write_workers: int = 4  # Sell writes in flight at once (paced by the client)
    #: How often the scheduler runs a sync: the link check (L3) sizes its share from it, so
    #: that a day of runs checks every link.
    sync_interval_minutes: int = 15
    #: The bulk guard (sync/bulk.py): a run creating more records than this on one side holds
    #: them for a manager (SYNC_BULK_LIMIT).
    bulk_limit: int = 100
