"""The sync core's public surface: everything the bot (Slack, the scheduler, the command line)
uses of the core, and nothing else.

``bot/`` imports the core only through this module (checked by ``lint-imports`` and
``tests/unit/test_public_api.py``), so what the core may change freely is whatever is not
named in ``__all__`` below. Storage implements the ports of :mod:`sync.ports` and imports them
directly.

What is here, by kind:

* the facade over the use cases (:class:`SyncService`) and the values its methods answer with;
* the engine, its configuration and the CRM clients, for the composition root;
* the domain and port values the bot renders (links, conflicts, runs, requests, holds);
* the errors (:mod:`sync.errors` draws their tree);
* the parsing of what people type (items to push, settings) and the setup checks.
"""

from __future__ import annotations

from sync.bulk import REMOVALS, REMOVALS_MIN, REMOVALS_SHARE, HoldStatus, describe
from sync.clients.hubspot import HubSpotClient, HubSpotLimits, HubSpotSession
from sync.clients.retry import RetryPolicy
from sync.clients.sell import SellClient
from sync.config import EngineConfig
from sync.domain import (
    Conflict,
    ConflictStatus,
    HowToSet,
    HubSpotList,
    Link,
    LinkState,
    Outcome,
    SellMode,
    SellRef,
    SettingName,
    Skip,
)
from sync.engine import Engine
from sync.errors import (
    ApiError,
    ConfigError,
    ConflictChanged,
    MalformedEvents,
    Refused,
    RetireUnverified,
    RunInProgress,
    RunsHeld,
    ServiceUnavailable,
    SyncError,
)
from sync.event_payload import parse_events
from sync.firehose import (
    Followed,
    FollowResult,
    firehose_follower,
)
from sync.live import live_changes
from sync.mapping import STANDARD_FIELDS, Direction, MappingCheck, hubspot_owned_fields
from sync.migration.mover import MigrationReport
from sync.migration.mover import Progress as MigrationProgress
from sync.migration.rules import Difference as MigrationDifference
from sync.migration.standing import migration_standing
from sync.migration.verify import VerifyReport
from sync.migration_orders import ApprovedMigrations, MigrationOrder, migration_of, order_text
from sync.migration_orders import run_from_terminal as run_migration_from_terminal
from sync.new_records import NewRecordNotifier, NewSellRecord
from sync.ports import (
    RUN_STATUSES,
    AuditEvent,
    BulkHold,
    ChangeRequest,
    MigrationStanding,
    RunRecord,
    SchedulerBeat,
)
from sync.preflight import (
    Finding,
    SlackAuth,
    SlackChannel,
    SlackGroup,
    check_hubspot,
    check_published_credentials,
    check_sell,
    check_slack,
    check_slack_mode,
    hubspot_skipped,
    passed,
    sell_skipped,
    setup_variable,
)
from sync.push import (
    MAX_ITEMS,
    looks_like_email,
    mentions_sell_host,
    parse_id,
    parse_items,
    parse_sell_url,
)
from sync.report import FailureKind, SyncReport, classify_failure
from sync.scrub import scrub
from sync.service import (
    CLI_ACTOR,
    REQUEST_TTL,
    SETTINGS,
    Actor,
    AuditTrail,
    ChangeKind,
    ConflictAction,
    ConflictPage,
    Decision,
    DecisionOutcome,
    Explanation,
    ExportTable,
    FieldDecision,
    FieldRow,
    HealthEntry,
    HealthView,
    HeldLink,
    HeldLinkPage,
    RequestResult,
    RequestStatus,
    RetryOutcome,
    RunRestored,
    SchedulerState,
    ScheduleState,
    SettingChange,
    StatusView,
    Summary,
    SyncService,
    ThresholdImpact,
    Trigger,
    Verdict,
    conflict_seen_token,
    field_label,
    run_dict,
    setting_needs_crm,
    trigger_parts,
)
from sync.usecases.history import stored_trigger
from sync.usecases.live import LiveChanges, SourceStatus
from sync.usecases.markers import Markers
from sync.usecases.migrate import MigrationService
from sync.usecases.settings import Origin, SettingChanged, SettingRow, SettingsView
from sync.usecases.status import Figures
from sync.usecases.trend import TREND_RUN_LIMIT, RunTrend, daily_trend
from sync.usecases.webhook_inbox import WebhookInbox

__all__ = [
    "CLI_ACTOR",
    "MAX_ITEMS",
    "REMOVALS",
    "REMOVALS_MIN",
    "REMOVALS_SHARE",
    "REQUEST_TTL",
    "RUN_STATUSES",
    "SETTINGS",
    "STANDARD_FIELDS",
    "TREND_RUN_LIMIT",
    "Actor",
    "ApiError",
    "ApprovedMigrations",
    "AuditEvent",
    "AuditTrail",
    "BulkHold",
    "ChangeKind",
    "ChangeRequest",
    "ConfigError",
    "Conflict",
    "ConflictAction",
    "ConflictChanged",
    "ConflictPage",
    "ConflictStatus",
    "Decision",
    "DecisionOutcome",
    "Direction",
    "Engine",
    "EngineConfig",
    "Explanation",
    "ExportTable",
    "FailureKind",
    "FieldDecision",
    "FieldRow",
    "Figures",
    "Finding",
    "FollowResult",
    "Followed",
    "HealthEntry",
    "HealthView",
    "HeldLink",
    "HeldLinkPage",
    "HoldStatus",
    "HowToSet",
    "HubSpotClient",
    "HubSpotLimits",
    "HubSpotList",
    "HubSpotSession",
    "Link",
    "LinkState",
    "LiveChanges",
    "MalformedEvents",
    "MappingCheck",
    "Markers",
    "MigrationDifference",
    "MigrationOrder",
    "MigrationProgress",
    "MigrationReport",
    "MigrationService",
    "MigrationStanding",
    "NewRecordNotifier",
    "NewSellRecord",
    "Origin",
    "Outcome",
    "Refused",
    "RequestResult",
    "RequestStatus",
    "RetireUnverified",
    "RetryOutcome",
    "RetryPolicy",
    "RunInProgress",
    "RunRecord",
    "RunRestored",
    "RunTrend",
    "RunsHeld",
    "ScheduleState",
    "SchedulerBeat",
    "SchedulerState",
    "SellClient",
    "SellMode",
    "SellRef",
    "ServiceUnavailable",
    "SettingChange",
    "SettingChanged",
    "SettingName",
    "SettingRow",
    "SettingsView",
    "Skip",
    "SlackAuth",
    "SlackChannel",
    "SlackGroup",
    "SourceStatus",
    "StatusView",
    "Summary",
    "SyncError",
    "SyncReport",
    "SyncService",
    "ThresholdImpact",
    "Trigger",
    "Verdict",
    "VerifyReport",
    "WebhookInbox",
    "check_hubspot",
    "check_published_credentials",
    "check_sell",
    "check_slack",
    "check_slack_mode",
    "classify_failure",
    "conflict_seen_token",
    "daily_trend",
    "describe",
    "field_label",
    "firehose_follower",
    "hubspot_owned_fields",
    "hubspot_skipped",
    "live_changes",
    "looks_like_email",
    "mentions_sell_host",
    "migration_of",
    "migration_standing",
    "order_text",
    "parse_events",
    "parse_id",
    "parse_items",
    "parse_sell_url",
    "passed",
    "run_dict",
    "run_migration_from_terminal",
    "scrub",
    "sell_skipped",
    "setting_needs_crm",
    "setup_variable",
    "stored_trigger",
    "trigger_parts",
]
