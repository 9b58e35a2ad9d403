"""The core's public surface: ``sync.api`` names exactly what the bot uses, and the bot
imports the core through nothing else (as httpx pins its public API)."""

from __future__ import annotations

import ast
from pathlib import Path

import sync.api

BOT = Path(__file__).resolve().parents[2] / "bot"

PUBLIC = [
    "Actor",
    "ApiError",
    "ApprovedMigrations",
    "AuditEvent",
    "AuditTrail",
    "BulkHold",
    "CLI_ACTOR",
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
    "MAX_ITEMS",
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
    "REMOVALS",
    "REMOVALS_MIN",
    "REMOVALS_SHARE",
    "REQUEST_TTL",
    "RUN_STATUSES",
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
    "SETTINGS",
    "STANDARD_FIELDS",
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
    "TREND_RUN_LIMIT",
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


def test_the_public_module_names_exactly_its_surface() -> None:
    assert sorted(sync.api.__all__) == PUBLIC
    assert all(hasattr(sync.api, name) for name in PUBLIC)


def test_the_bot_imports_the_core_only_through_sync_api() -> None:
    elsewhere = []
    for path in sorted(BOT.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.ImportFrom) and node.module:
                modules = [node.module]
            elif isinstance(node, ast.Import):
                modules = [alias.name for alias in node.names]
            else:
                continue
            for module in modules:
                if module.split(".")[0] == "sync" and module != "sync.api":
                    elsewhere.append(f"{path.relative_to(BOT.parent)}:{node.lineno} {module}")
    assert elsewhere == []


def test_everything_public_is_used_by_the_bot() -> None:
    used = set()
    for path in BOT.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.ImportFrom) and node.module == "sync.api":
                used.update(alias.name for alias in node.names)
    assert sorted(set(PUBLIC) - used) == []
