"""``sellsync demo``: the whole app on embedded defaults.

Starts the sandbox HubSpot, Sell and Slack servers on loopback (seeded with realistic data),
points the real clients at them with a temporary SQLite database, and drives the real Slack app
through a push, a sync, a threshold approval, a conflict review, the scheduled summary, App Home,
the message shortcut, a lead converted in Sell and two HubSpot merges that the next syncs follow
(the second one a link conflict a manager settles), a HubSpot edit reaching Sell a second later
through a webhook, printing the channels as their readers
would see them; it ends with the steps from here to a real workspace.
"""

from __future__ import annotations

import sys
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any, TextIO

import httpx
from pydantic import SecretStr

from bot.settings import AppSettings
from bot.wiring import build_services
from demo.leaving_sell import run_leaving_scene
from demo.live_scene import run_live_scene
from demo.slack import NEXT_STEPS, run_demo_slack
from sandbox.server import Sandbox


def sandbox_settings(env: Mapping[str, str], database_url: str, **extra: Any) -> AppSettings:
    """Settings pointing sellsync at sandbox servers (``env`` as printed by ``sellsync sandbox``)."""
    return AppSettings(  # type: ignore[call-arg]
        _env_file=None,
        database_url=database_url,
        hubspot_base_url=env["HUBSPOT_BASE_URL"],
        hubspot_access_token=SecretStr(env["HUBSPOT_ACCESS_TOKEN"]),
        hubspot_list_id=env["HUBSPOT_LIST_ID"],
        hubspot_portal_id=env["HUBSPOT_PORTAL_ID"],
        sell_base_url=env["SELL_BASE_URL"],
        sell_access_token=SecretStr(env["SELL_ACCESS_TOKEN"]),
        sync_threshold=50,
        slack_api_url=env["SLACK_API_URL"],
        **extra,
    )


def _convert_lead(sb: Sandbox, lead_id: int) -> int | None:
    """Convert a lead as a rep's "Convert" button does: ``POST /v2/lead_conversions``."""
    answer = httpx.post(
        f"{sb.sell_url}/v2/lead_conversions",
        json={"data": {"lead_id": lead_id}},
        headers={"Authorization": f"Bearer {sb.sell_token}", "User-Agent": "sellsync-demo/1"},
        timeout=10,
    )
    answer.raise_for_status()
    individual = answer.json()["data"]["individual_id"]
    return int(individual) if individual is not None else None


def _merge_contacts(sb: Sandbox, survivor: str, absorbed: str) -> None:
    """Merge two contacts as HubSpot's "Merge" button does: ``POST …/contacts/merge``."""
    answer = httpx.post(
        f"{sb.hubspot_url}/crm/objects/2026-03/contacts/merge",
        json={"primaryObjectId": survivor, "objectIdToMerge": absorbed},
        headers={"Authorization": f"Bearer {sb.hubspot_token}", "User-Agent": "sellsync-demo/1"},
        timeout=10,
    )
    answer.raise_for_status()


def run_demo(out: TextIO | None = None) -> int:
    out = out or sys.stdout
    print("sellsync demo: starting the sandbox HubSpot, Sell and Slack servers…", file=out)
    with Sandbox(seed="demo") as sb, tempfile.TemporaryDirectory(prefix="sellsync-demo-") as tmp:
        seeded = sb.seed_summary
        print(
            f"  HubSpot {sb.hubspot_url}  Sell {sb.sell_url}  Slack {sb.slack_url}\n"
            f"  seeded: a HubSpot list of {len(seeded.list_members)} contacts; Sell "
            f"{seeded.leads} leads and {seeded.contacts} contacts, "
            f"{sum(len(v) for v in seeded.overlaps.values())} of them sharing an email with "
            "a list member\n",
            file=out,
        )
        database_url = f"sqlite:///{Path(tmp) / 'demo.db'}"
        services = build_services(sandbox_settings(sb.env(), database_url))
        try:
            run_demo_slack(
                services.service,
                sb.slack_url,
                token=sb.slack_token,
                convert_lead=lambda lead_id: _convert_lead(sb, lead_id),
                merge_contacts=lambda survivor, absorbed: _merge_contacts(sb, survivor, absorbed),
                out=out,
            )
            live = sandbox_settings(
                sb.env(),
                database_url,
                hubspot_client_secret=SecretStr(sb.webhook_secret),
                sync_poll_seconds=0,  # the webhook alone carries the change
                sell_firehose_seconds=0,
            )
            run_live_scene(sb, live, lambda line: print(line, file=out, flush=True))
            run_leaving_scene(  # the final scene: Sell read-only once everything moved
                services.service,
                services.sell.archive,
                sb.slack_url,
                Path(tmp),
                lambda line: print(line, file=out, flush=True),
                token=sb.slack_token,
            )
            calls = services.api_calls()
            print(
                f"\nAPI calls made: HubSpot {calls['hubspot'].get('requests', 0)}, "
                f"Sell {calls['sell'].get('requests', 0)}",
                file=out,
            )
        finally:
            services.close()
    print("", *NEXT_STEPS, sep="\n", file=out)
    return 0
