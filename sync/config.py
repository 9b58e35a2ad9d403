"""The engine's fixed configuration, read from the environment once by the composition root."""

from __future__ import annotations

from dataclasses import dataclass

from sync.domain import RecordKind
from sync.lease import DEFAULT_TTL_SECONDS
from sync.ports import StoredSettings, SyncSettings


@dataclass(frozen=True)
class EngineConfig:
    #: The environment's values of the approvable settings (SYNC_THRESHOLD, HUBSPOT_LIST_ID;
    #: None and "": not set). They apply while no value is stored, and the first real sync
    #: stores them (:meth:`settings_over`, :mod:`sync.usecases.settings`).
    default_threshold: int | None = None
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
    #: False while SYNC_BULK_LIMIT is not set (``bulk_limit`` is then the default): only a
    #: value someone set differs from a stored one.
    bulk_limit_set: bool = True
    #: Changes in seconds (sync/usecases/live.py): the short poll's period (SYNC_POLL_SECONDS,
    #: 0: off), and whether HubSpot webhooks are accepted (HUBSPOT_CLIENT_SECRET set): without
    #: them the poll also reads HubSpot's changes.
    poll_seconds: int = 60
    webhooks: bool = False
    #: How long a small run waits for the run lock before it gives up (RunInProgress): small
    #: runs of events, polls and the Firehose take turns in the worker, each a fraction of a
    #: second, and one should not wait for the next tick because another holds the lock.
    short_run_patience_seconds: float = 3.0

    @property
    def seed_threshold(self) -> int:
        """The threshold that applies while none is stored (SYNC_THRESHOLD, else 0)."""
        return self.default_threshold if self.default_threshold is not None else 0

    def settings_over(self, stored: StoredSettings) -> SyncSettings:
        """The settings in force: each stored value, else this environment's."""
        return SyncSettings(
            threshold=stored.threshold if stored.threshold is not None else self.seed_threshold,
            list_id=stored.list_id if stored.list_id is not None else self.default_list_id,
            custom_mappings=stored.custom_mappings,
            version=stored.version,
            values=stored.values,
        )
