"""The demo's final scene: leaving Sell, the way a team would, against the sandbox.

A manager asks in Slack (``/sellsync migrate``: the plan's counts, filed for approval), another
manager approves, the worker's job moves everything with one message updated in place, then the
terminal verifies the move (what ``sellsync migrate --verify`` prints) and exports what Sell
holds (``sellsync export``), and Sell is switched to read-only with an approved request.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import httpx
from slack_sdk import WebClient

from bot import action_ids as ids
from bot.export_writer import write_export
from bot.migrate_cli import render_verify
from bot.migration_job import run_approved_migration
from bot.serve import BackgroundServer
from bot.terminal import outside
from bot.web import build_web
from demo.slack import STEP_TIMEOUT, _button, _Driver, demo_app, render_call, signing_secret
from sync.api import MigrationDifference, SyncService, migration_of
from sync.usecases.export import SellArchivePort

NAMES = {"UREP00001": "Riley Rep", "UMGR00001": "Morgan Manager", "UMGR00002": "Avery Admin"}


def run_leaving_scene(
    service: SyncService,
    open_archive: Callable[[], SellArchivePort],
    slack_url: str,
    folder: Path,
    say: Callable[[str], None],
    *,
    token: str = "xoxb-sandbox-token",
    rep: str = "UREP00001",
    manager: str = "UMGR00001",
    approver: str = "UMGR00002",
    channel: str = "C0SALESOPS",
    approvals: str = "C0APPROVALS",
) -> None:
    """Plan, approve, move, verify, export, read-only; every step said through ``say``."""
    settings, app, executor = demo_app(
        service,
        slack_url,
        token=token,
        channel=channel,
        approvals=approvals,
        managers=f"{manager},{approver}",
    )

    def who(user: str) -> str:
        return "@" + NAMES.get(user, user)

    try:
        with (
            BackgroundServer(build_web(app, service)) as server,
            httpx.Client(timeout=STEP_TIMEOUT) as http,
        ):
            driver = _Driver(server.url, slack_url, signing_secret(settings), executor, http)
            driver.new_records()

            def show() -> list[dict[str, object]]:
                fresh = driver.new_records()
                for record in fresh:
                    for line in render_call(record, NAMES):
                        say(line)
                return fresh

            def approve(fresh: list[dict[str, object]], user: str) -> None:
                found = _button(fresh, ids.APPROVE)
                if found is None:
                    return
                message, value = found
                say(f"{who(user)} clicks [Approve] in #{message['channel']}")
                driver.click(
                    ids.APPROVE,
                    value,
                    user=user,
                    channel=str(message["channel"]),
                    ts=str(message["ts"]),
                )
                show()

            say("=== 12. Leaving Sell: plan, approve, move, verify, export, read-only ===")
            say(f"{who(manager)} in #{channel}: /sellsync migrate Sell retires on 2027-08-31")
            driver.command("migrate Sell retires on 2027-08-31", user=manager, channel=channel)
            approve(show(), approver)

            say("The worker finds the approved migration and moves everything:")
            run_approved_migration(service, WebClient(token=token, base_url=slack_url), approvals)
            show()

            say("$ sellsync migrate --verify")
            shown: list[MigrationDifference] = []
            report = migration_of(service).verify(on_difference=shown.append)
            for line in render_verify(report, shown[:20], csv_path=None).splitlines():
                say(line)
            if report.differences:
                say(
                    "(Each difference is a field HubSpot already held with another value: a "
                    "contact matched by its link or e-mail keeps HubSpot's value, as the plan "
                    "said; --csv FILE lists them all for review.)"
                )

            target = folder / "sell-export.zip"
            say(f"$ sellsync export {target.name}")
            result = write_export(service.export_tables(open_archive), target)
            say(outside(f"Exported {result.records():,} records to the zip {target.name}"))

            say(f"{who(rep)} in #{channel}: /sellsync sell-mode read_only HubSpot is our CRM now")
            driver.command("sell-mode read_only HubSpot is our CRM now", user=rep, channel=channel)
            approve(show(), manager)
            say(f"Sell is now {service.sell_mode().value}: nothing is written to it any more.")
    finally:
        executor.shutdown(wait=True)
