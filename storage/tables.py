"""The database schema, as SQLModel tables.

The tables live in their own registry (:data:`metadata`), so that no other ``SQLModel`` subclass
in the process leaks into migrations or the schema comparison test.

Conventions:

* every timestamp column is :class:`UTCDateTime`: timezone-aware UTC in and out, on PostgreSQL
  (``timestamptz``) and on SQLite (which keeps no zone: values are stored as naive UTC text);
* JSON lives in text columns (:class:`JSONText`), the same on both databases;
* constraints and indexes carry explicit names, matching ``migrations/versions``.

A change here needs a new migration; ``tests/storage/test_migrations.py`` fails until the
migrations and these tables agree.
"""

import json
from datetime import UTC, datetime
from typing import Any, ClassVar

import sqlalchemy as sa
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import registry
from sqlmodel import Field, SQLModel

# --------------------------------------------------------------------------- column types


class UTCDateTime(sa.TypeDecorator[datetime]):
    """A timezone-aware UTC datetime on every database.

    A naive datetime given to the database is taken as UTC (that is what SQLite hands back).
    """

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        value = as_utc(value)
        if dialect.name == "sqlite":
            # SQLite stores text; keep one fixed format so comparisons in SQL order correctly.
            return value.replace(tzinfo=None)
        return value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        return None if value is None else as_utc(value)


def as_utc(value: datetime) -> datetime:
    """``value`` as an aware UTC datetime (a naive one is taken as UTC)."""
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def dump_json(value: Any) -> str:
    """The text :class:`JSONText` stores for ``value``."""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), sort_keys=True)


class JSONText(sa.TypeDecorator[Any]):
    """A JSON value kept as compact text (``json.dumps``/``json.loads``)."""

    impl = sa.Text
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Dialect) -> str | None:
        return None if value is None else dump_json(value)

    def process_result_value(self, value: str | None, dialect: Dialect) -> Any:
        return None if value is None else json.loads(value)


# --------------------------------------------------------------------------- the tables

# Shorthands for the column types, so that the tables below read as a schema.
ID = sa.String(255)  # HubSpot ids, list ids, Slack user ids, lock owners ...
KIND = sa.String(16)  # "lead" | "contact"
STATUS = sa.String(32)
EMAIL = sa.String(320)
NAME = sa.String(255)


class StorageModel(SQLModel, registry=registry()):
    """Base of the sellsync tables: one private ``MetaData``."""


metadata: sa.MetaData = StorageModel.metadata


class LinkRow(StorageModel, table=True):
    """A Sell record paired with a HubSpot contact; a tombstone is a link in state "tombstoned".

    ``snapshot`` holds the last-synced value of each mapped field: ``{field: [sell, hubspot]}``.
    """

    __tablename__: ClassVar[str] = "links"
    __table_args__ = (
        sa.UniqueConstraint("sell_kind", "sell_id", name="uq_links_sell"),
        sa.Index("ix_links_hubspot_id", "hubspot_id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    sell_kind: str = Field(sa_type=KIND)
    sell_id: int = Field(sa_type=sa.BigInteger)
    hubspot_id: str = Field(sa_type=ID)
    state: str = Field(sa_type=STATUS)
    origin: str = Field(sa_type=STATUS)
    email: str | None = Field(default=None, sa_type=EMAIL)
    snapshot: dict[str, Any] = Field(default_factory=dict, sa_type=JSONText)
    last_synced_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    tombstoned_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # a held link (state "held"): why it is held, and its counterpart ("lead:12")
    hold_reason: str | None = Field(default=None, sa_type=STATUS)
    held_with: str | None = Field(default=None, sa_type=ID)
    created_at: datetime = Field(sa_type=UTCDateTime)
    updated_at: datetime = Field(sa_type=UTCDateTime)


class SellIndexRow(StorageModel, table=True):
    """The bulk Sell email index: one row per Sell record seen in a page."""

    __tablename__: ClassVar[str] = "sell_index"
    __table_args__ = (sa.Index("ix_sell_index_email", "email"),)

    sell_kind: str = Field(primary_key=True, sa_type=KIND)
    sell_id: int = Field(
        primary_key=True, sa_type=sa.BigInteger, sa_column_kwargs={"autoincrement": False}
    )
    email: str | None = Field(default=None, sa_type=EMAIL)
    updated_at: datetime = Field(sa_type=UTCDateTime)
    is_organization: bool = Field(default=False)
    tags: list[str] = Field(default_factory=list, sa_type=JSONText)


class ListMemberRow(StorageModel, table=True):
    """A HubSpot list member already evaluated."""

    __tablename__: ClassVar[str] = "list_members"

    list_id: str = Field(primary_key=True, sa_type=ID)
    hubspot_id: str = Field(primary_key=True, sa_type=ID)
    score: str | None = Field(default=None, sa_type=sa.String(64))  # as HubSpot gave it


class ListRosterRow(StorageModel, table=True):
    """A member of a HubSpot list as the runs know it: the whole list as the last sweep read
    it, and those who joined since (whether evaluated or not: see ``list_members``)."""

    __tablename__: ClassVar[str] = "list_roster"

    list_id: str = Field(primary_key=True, sa_type=ID)
    hubspot_id: str = Field(primary_key=True, sa_type=ID)


class RememberedReadRow(StorageModel, table=True):
    """An API answer that does not change from run to run (custom-field definitions, HubSpot's
    properties, a refusal), kept so that a new process does not ask again before
    ``expires_at`` (None: until forgotten)."""

    __tablename__: ClassVar[str] = "remembered_reads"

    key: str = Field(primary_key=True, sa_type=NAME)
    value: Any = Field(sa_type=JSONText)
    fetched_at: datetime = Field(sa_type=UTCDateTime)
    expires_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class CursorRow(StorageModel, table=True):
    __tablename__: ClassVar[str] = "cursors"

    name: str = Field(primary_key=True, sa_type=NAME)
    updated_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    last_id: str | None = Field(default=None, sa_type=ID)
    position_ms: int | None = Field(default=None, sa_type=sa.BigInteger)


class ConflictRow(StorageModel, table=True):
    """A merge conflict. At most one *open* conflict per (Sell record, field)."""

    __tablename__: ClassVar[str] = "conflicts"
    __table_args__ = (
        sa.Index(
            "uq_conflicts_one_open",
            "sell_kind",
            "sell_id",
            "field",
            unique=True,
            sqlite_where=sa.text("status = 'open'"),
            postgresql_where=sa.text("status = 'open'"),
        ),
        sa.Index("ix_conflicts_sell", "sell_kind", "sell_id"),
        sa.Index("ix_conflicts_status", "status"),
    )

    id: int | None = Field(default=None, primary_key=True)
    sell_kind: str = Field(sa_type=KIND)
    sell_id: int = Field(sa_type=sa.BigInteger)
    hubspot_id: str = Field(sa_type=ID)
    field: str = Field(sa_type=NAME)
    sell_value: str | None = Field(default=None, sa_type=sa.Text)
    hubspot_value: str | None = Field(default=None, sa_type=sa.Text)
    status: str = Field(sa_type=STATUS)
    opened_at: datetime = Field(sa_type=UTCDateTime)
    updated_at: datetime = Field(sa_type=UTCDateTime)
    resolved_by: str | None = Field(default=None, sa_type=ID)
    resolved_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class SettingsRow(StorageModel, table=True):
    """The single row (id 1) of the sync settings."""

    __tablename__: ClassVar[str] = "settings"

    id: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    threshold: int
    list_id: str = Field(sa_type=ID)
    custom_mappings: list[dict[str, str]] = Field(default_factory=list, sa_type=JSONText)
    version: int = Field(default=0)
    updated_at: datetime = Field(sa_type=UTCDateTime)


class SettingValueRow(StorageModel, table=True):
    """A named setting beyond the threshold and the list (the bulk limit, a pause): its value
    as text, as its entry in ``sync.settings_registry`` writes and reads it."""

    __tablename__: ClassVar[str] = "setting_values"

    name: str = Field(primary_key=True, sa_type=NAME)
    value: str = Field(sa_type=sa.Text)
    updated_at: datetime = Field(sa_type=UTCDateTime)


class ChangeRequestRow(StorageModel, table=True):
    """A settings change waiting for (or past) a manager's decision.

    At most one *pending* request per setting: a newer one supersedes the older.
    """

    __tablename__: ClassVar[str] = "change_requests"
    __table_args__ = (
        sa.Index(
            "uq_change_requests_one_pending",
            "setting",
            unique=True,
            sqlite_where=sa.text("status = 'pending'"),
            postgresql_where=sa.text("status = 'pending'"),
        ),
        sa.Index("ix_change_requests_status", "status"),
    )

    id: int | None = Field(default=None, primary_key=True)
    setting: str = Field(sa_type=NAME)
    new_value: str = Field(sa_type=sa.Text)
    old_value: str = Field(sa_type=sa.Text)
    requested_by: str = Field(sa_type=ID)
    reason: str = Field(sa_type=sa.Text)
    status: str = Field(sa_type=STATUS)
    created_at: datetime = Field(sa_type=UTCDateTime)
    decided_by: str | None = Field(default=None, sa_type=ID)
    decided_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    channel: str | None = Field(default=None, sa_type=ID)
    message_ts: str | None = Field(default=None, sa_type=ID)


class BulkHoldRow(StorageModel, table=True):
    """Creations (or tombstones) a run kept back for a manager: the bulk guard.

    ``items`` maps what was held (``create_in_sell``: HubSpot ids, ``tombstone`` and
    ``hubspot_deleted``: Sell refs) to its keys; ``scope`` is the list, threshold and limit it
    was decided under. At most one *pending* hold: a newer one supersedes the older.
    """

    __tablename__: ClassVar[str] = "bulk_holds"
    __table_args__ = (
        sa.Index(
            "uq_bulk_holds_one_pending",
            "status",
            unique=True,
            sqlite_where=sa.text("status = 'pending'"),
            postgresql_where=sa.text("status = 'pending'"),
        ),
        sa.Index("ix_bulk_holds_scope", "scope"),
    )

    id: int | None = Field(default=None, primary_key=True)
    status: str = Field(sa_type=STATUS)
    scope: str = Field(sa_type=NAME)
    items: dict[str, list[str]] = Field(default_factory=dict, sa_type=JSONText)
    sample: list[str] = Field(default_factory=list, sa_type=JSONText)
    bulk_limit: int
    links_total: int
    run_id: int | None = Field(default=None)
    created_at: datetime = Field(sa_type=UTCDateTime)
    decided_by: str | None = Field(default=None, sa_type=ID)
    decided_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    channel: str | None = Field(default=None, sa_type=ID)
    message_ts: str | None = Field(default=None, sa_type=ID)


class SyncRunRow(StorageModel, table=True):
    __tablename__: ClassVar[str] = "sync_runs"
    __table_args__ = (sa.Index("ix_sync_runs_started_at", "started_at"),)

    id: int | None = Field(default=None, primary_key=True)
    trigger: str = Field(sa_type=NAME)
    started_at: datetime = Field(sa_type=UTCDateTime)
    finished_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    status: str = Field(sa_type=STATUS)
    counts: dict[str, int] = Field(default_factory=dict, sa_type=JSONText)
    error: str | None = Field(default=None, sa_type=sa.Text)


class AuditEventRow(StorageModel, table=True):
    __tablename__: ClassVar[str] = "audit_events"
    __table_args__ = (sa.Index("ix_audit_events_at", "at"),)

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = Field(sa_type=UTCDateTime)
    kind: str = Field(sa_type=NAME)
    subject: str = Field(sa_type=sa.Text)
    actor: str | None = Field(default=None, sa_type=ID)
    run_id: int | None = Field(default=None)
    detail: dict[str, Any] = Field(default_factory=dict, sa_type=JSONText)


class LockRow(StorageModel, table=True):
    """A named lease: held by ``owner`` until ``expires_at``."""

    __tablename__: ClassVar[str] = "locks"

    name: str = Field(primary_key=True, sa_type=NAME)
    owner: str = Field(sa_type=ID)
    expires_at: datetime = Field(sa_type=UTCDateTime)


class RequestMarkerRow(StorageModel, table=True):
    """A Slack request already accepted (the replay guard): refused again until ``expires_at``.
    Not a lock: nobody holds it, and nothing waits for it."""

    __tablename__: ClassVar[str] = "request_markers"
    __table_args__ = (sa.Index("ix_request_markers_expires_at", "expires_at"),)

    name: str = Field(primary_key=True, sa_type=NAME)
    owner: str = Field(sa_type=ID)
    expires_at: datetime = Field(sa_type=UTCDateTime)


class WebhookEventRow(StorageModel, table=True):
    """A HubSpot webhook event, stored before its request was answered, and its apply
    bookkeeping. One row per HubSpot ``eventId``: a redelivery is stored once.

    ``attempts`` counts failed applies, ``last_error`` is the classified reason of the last one
    (never record data), ``next_attempt_at`` when it may be tried again; a worker claims a row
    (``claimed_by`` until ``claimed_until``) while it applies it; ``applied_at`` once it is done.
    """

    __tablename__: ClassVar[str] = "webhook_events"
    __table_args__ = (
        sa.UniqueConstraint("event_id", name="uq_webhook_events_event_id"),
        sa.Index(
            "ix_webhook_events_unapplied",
            "id",
            sqlite_where=sa.text("applied_at IS NULL"),
            postgresql_where=sa.text("applied_at IS NULL"),
        ),
        sa.Index("ix_webhook_events_received_at", "received_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    event_id: int = Field(sa_type=sa.BigInteger)
    subscription_type: str = Field(sa_type=sa.String(64))
    object_id: str = Field(sa_type=ID)
    property_name: str | None = Field(default=None, sa_type=NAME)
    property_value: str | None = Field(default=None, sa_type=sa.Text)
    occurred_at: datetime = Field(sa_type=UTCDateTime)
    attempt_number: int = Field(default=0)
    change_source: str | None = Field(default=None, sa_type=NAME)
    change_flag: str | None = Field(default=None, sa_type=NAME)
    source_id: str | None = Field(default=None, sa_type=NAME)
    portal_id: int | None = Field(default=None, sa_type=sa.BigInteger)
    # contact.merge only
    primary_object_id: str | None = Field(default=None, sa_type=ID)
    merged_object_ids: list[str] = Field(default_factory=list, sa_type=JSONText)
    new_object_id: str | None = Field(default=None, sa_type=ID)
    received_at: datetime = Field(sa_type=UTCDateTime)
    applied_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    attempts: int = Field(default=0)
    last_error: str | None = Field(default=None, sa_type=NAME)
    next_attempt_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    claimed_by: str | None = Field(default=None, sa_type=ID)
    claimed_until: datetime | None = Field(default=None, sa_type=UTCDateTime)


class SyncHealthRow(StorageModel, table=True):
    """A record whose writes keep failing (one row per run-report item, ``lead:12`` or
    ``HubSpot 34``): ``failures`` in a row since it last synced, the first and last of them, and
    the last reason in words; or an event a manager ignored (``event:ID``, no failures).
    ``ignored_at``/``ignored_by``: a manager's Ignore, kept until the record syncs."""

    __tablename__: ClassVar[str] = "sync_health"
    __table_args__ = (sa.UniqueConstraint("subject", name="uq_sync_health_subject"),)

    id: int | None = Field(default=None, primary_key=True)
    subject: str = Field(sa_type=ID)
    sell_kind: str | None = Field(default=None, sa_type=KIND)
    sell_id: int | None = Field(default=None, sa_type=sa.BigInteger)
    hubspot_id: str | None = Field(default=None, sa_type=ID)
    reason: str = Field(sa_type=sa.Text)
    failures: int = Field(default=0)
    first_failed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    last_failed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    last_run_id: int | None = Field(default=None)
    ignored_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    ignored_by: str | None = Field(default=None, sa_type=ID)


class SchedulerStateRow(StorageModel, table=True):
    """The single row (id 1) of what the schedulers remember between runs: when the failure
    streak they alerted began (None: no alert out) and where the next summary starts."""

    __tablename__: ClassVar[str] = "scheduler_state"

    id: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    alerted_failure_since: datetime | None = Field(default=None, sa_type=UTCDateTime)
    summary_watermark: datetime | None = Field(default=None, sa_type=UTCDateTime)


class SchedulerHeartbeatRow(StorageModel, table=True):
    """What each running scheduler (``worker``, or ``serve`` with its scheduler) last said about
    itself, so that every process shows the real next run times, and says when none is alive."""

    __tablename__: ClassVar[str] = "scheduler_heartbeats"
    __table_args__ = (sa.Index("ix_scheduler_heartbeats_seen_at", "seen_at"),)

    scheduler_id: str = Field(primary_key=True, sa_type=ID)
    started_at: datetime = Field(sa_type=UTCDateTime)
    seen_at: datetime = Field(sa_type=UTCDateTime)
    next_sync_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    next_summary_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    stopped_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class MigrationRunRow(StorageModel, table=True):
    """One ``sellsync migrate`` run (leaving Sell): when, how it ended, what it counted."""

    __tablename__: ClassVar[str] = "migration_runs"

    id: int | None = Field(default=None, primary_key=True)
    started_at: datetime = Field(sa_type=UTCDateTime)
    finished_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    status: str = Field(sa_type=STATUS)  # running | finished | failed
    counts: dict[str, int] = Field(default_factory=dict, sa_type=JSONText)


class MigrationItemRow(StorageModel, table=True):
    """A Sell record, organization, note or association moved to HubSpot, keyed by its
    ``zendesk_sell_id`` (``lead:12``, ``organization:7``, ``note:3``, ``assoc:contact:4``)."""

    __tablename__: ClassVar[str] = "migration_items"
    __table_args__ = (sa.Index("ix_migration_items_object", "object_type"),)

    sell_key: str = Field(primary_key=True, sa_type=NAME)
    object_type: str = Field(sa_type=STATUS)  # contacts | companies | notes | associations
    hubspot_id: str = Field(sa_type=ID)
    run_id: int | None = Field(default=None)
    moved_at: datetime = Field(sa_type=UTCDateTime)


class MigrationRefusalRow(StorageModel, table=True):
    """A record a migration run could not move, and why (the run went on)."""

    __tablename__: ClassVar[str] = "migration_refusals"
    __table_args__ = (sa.Index("ix_migration_refusals_run", "run_id"),)

    id: int | None = Field(default=None, primary_key=True)
    run_id: int = Field()
    sell_key: str = Field(sa_type=NAME)
    reason: str = Field(sa_type=sa.Text)
    at: datetime = Field(sa_type=UTCDateTime)


class MigrationVerificationRow(StorageModel, table=True):
    """One ``sellsync migrate --verify``: how many moved items matched and which differed."""

    __tablename__: ClassVar[str] = "migration_verifications"
    __table_args__ = (sa.Index("ix_migration_verifications_at", "verified_at"),)

    id: int | None = Field(default=None, primary_key=True)
    verified_at: datetime = Field(sa_type=UTCDateTime)
    checked: int = Field()
    verified: int = Field()
    differences: int = Field()
    details: list[Any] = Field(default_factory=list, sa_type=JSONText)


def _table(model: Any) -> sa.Table:
    table: sa.Table = model.__table__
    return table


links = _table(LinkRow)
sell_index = _table(SellIndexRow)
list_members = _table(ListMemberRow)
list_roster = _table(ListRosterRow)
remembered_reads = _table(RememberedReadRow)
cursors = _table(CursorRow)
conflicts = _table(ConflictRow)
settings = _table(SettingsRow)
setting_values = _table(SettingValueRow)
change_requests = _table(ChangeRequestRow)
bulk_holds = _table(BulkHoldRow)
sync_runs = _table(SyncRunRow)
audit_events = _table(AuditEventRow)
locks = _table(LockRow)
scheduler_heartbeats = _table(SchedulerHeartbeatRow)
request_markers = _table(RequestMarkerRow)
scheduler_state = _table(SchedulerStateRow)
webhook_events = _table(WebhookEventRow)
sync_health = _table(SyncHealthRow)
migration_runs = _table(MigrationRunRow)
migration_items = _table(MigrationItemRow)
migration_refusals = _table(MigrationRefusalRow)
migration_verifications = _table(MigrationVerificationRow)
