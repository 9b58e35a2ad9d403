"""The demo's "changes in seconds" scene: a rep edits a contact in HubSpot and the terminal watches
the change reach Sell a second later.

As deployed, with the sandbox in place of the CRMs: the sandbox HubSpot sends its signed webhook
to sellsync's ``POST /hubspot/webhooks`` (the web process's route, on a loopback port), which
stores it; the worker's changes-in-seconds job (the one ``sellsync worker`` schedules, every
second) reads the contact as it is now and writes the change to Sell through the same planner and
applier as every run.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from contextlib import suppress

from apscheduler.schedulers.background import BackgroundScheduler
from starlette.applications import Starlette

from bot.hubspot_webhooks import webhook_route
from bot.live import add_live_job
from bot.serve import BackgroundServer
from bot.settings import AppSettings
from bot.terminal import outside
from bot.wiring import build_services
from sandbox.server import Sandbox

#: The field the scene edits: HubSpot's ``mobilephone``, Sell's ``mobile`` (synced both ways).
HUBSPOT_FIELD, SELL_FIELD = "mobilephone", "mobile"
NEW_VALUE = "+1 415 555 0199"
WATCH_SECONDS = 15.0


def _pick(sb: Sandbox, links: Sequence[tuple[str, int, str]]) -> tuple[str, int, str] | None:
    """A linked pair whose Sell record has no mobile number yet (so the edit is plainly new)."""
    for kind, sell_id, hubspot_id in links:
        record = sb.sell.get_record(kind, sell_id) or {}
        if not record.get(SELL_FIELD) and sb.hubspot.get_contact(hubspot_id):
            return kind, sell_id, hubspot_id
    return None


def run_live_scene(sb: Sandbox, settings: AppSettings, say: Callable[[str], None]) -> bool:
    """Show one HubSpot edit reaching Sell; False (after saying why) when it did not in time.
    ``settings`` point at ``sb`` with its client secret (the webhook route is on)."""
    say("=== 11. Changes in seconds: an edit in HubSpot shows in Sell while you watch ===")
    services = build_services(settings)
    scheduler = BackgroundScheduler(timezone="UTC")
    web_app = Starlette(
        routes=[
            webhook_route(
                services.service.webhook_inbox, services.service.markers, sb.webhook_secret
            )
        ]
    )
    try:
        with BackgroundServer(web_app) as web:
            store = services.service.engine.store
            links = [
                (link.sell.kind, link.sell.id, link.hubspot_id)
                for batch in store.iter_links(batch_size=200)
                for link in batch
                if link.state == "active"
            ]
            pair = _pick(sb, links)
            if pair is None:
                say("(no linked record without a mobile number to edit: scene skipped)")
                return False
            kind, sell_id, hubspot_id = pair
            sb.hubspot.webhooks.configure(f"{web.url}/hubspot/webhooks", secret=sb.webhook_secret)
            add_live_job(scheduler, settings, services.service)
            scheduler.start()
            return _watch(sb, say, kind, sell_id, hubspot_id)
    finally:
        sb.hubspot.webhooks.configure(None)
        with suppress(Exception):
            scheduler.shutdown(wait=True)
        services.close()


def _watch(
    sb: Sandbox, say: Callable[[str], None], kind: str, sell_id: int, hubspot_id: str
) -> bool:
    contact = sb.hubspot.get_contact(hubspot_id) or {}
    props = contact.get("properties", {})
    name = " ".join(p for p in (props.get("firstname"), props.get("lastname")) if p) or (
        props.get("email") or hubspot_id
    )
    sent_before = len(sb.hubspot.webhooks.deliveries)
    say(f"  (the terminal watches Sell's {kind} {sell_id} every 50 ms)")
    started = time.monotonic()
    sb.hubspot.update_contact(hubspot_id, {HUBSPOT_FIELD: NEW_VALUE})
    say(f"  +0.00 s  HubSpot: a rep sets {outside(name)}'s mobile number to {NEW_VALUE}")
    told_webhook = False
    while time.monotonic() - started < WATCH_SECONDS:
        now = time.monotonic() - started
        if not told_webhook:
            fresh = sb.hubspot.webhooks.deliveries[sent_before:]
            if any(d.ok for d in fresh):
                told_webhook = True
                say(
                    f"  +{now:.2f} s  webhook: HubSpot's signed event reached "
                    "POST /hubspot/webhooks and is stored"
                )
        value = (sb.sell.get_record(kind, sell_id) or {}).get(SELL_FIELD)
        if value == NEW_VALUE:
            say(
                f"  +{now:.2f} s  Sell: {kind} {sell_id} ({outside(name)}) shows mobile "
                f"{outside(value)}, applied by the worker's next tick"
            )
            return True
        time.sleep(0.05)
    say(f"  Sell did not show the change within {WATCH_SECONDS:.0f} s")
    return False
