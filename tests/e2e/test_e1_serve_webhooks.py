"""``sellsync serve`` started with the environment the sandbox prints accepts the sandbox
HubSpot's webhooks: contact changes made through HubSpot's API reach ``POST /hubspot/webhooks``
signed, are stored in the database, and wait there while no worker runs."""

from __future__ import annotations

import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import httpx

from sandbox.server import Sandbox


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_e1_serve_stores_the_sandbox_s_webhooks_while_no_worker_runs(tmp_path: Path) -> None:
    port = free_port()
    target = f"http://127.0.0.1:{port}/hubspot/webhooks"
    with Sandbox(seed="demo", webhook_url=target) as sb:
        sb.hubspot.webhooks.configure(target, retry_delays=(0.2, 0.5, 1.0, 1.0, 2.0, 2.0))
        env = {
            k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "HUBSPOT_", "SELL_"))
        }
        printed = sb.settings_env(f"sqlite:///{tmp_path}/serve.db")
        assert printed["PUBLIC_URL"] == f"http://127.0.0.1:{port}"
        env |= printed | {"PORT": str(port), "BIND_ADDRESS": "127.0.0.1", "LOG_LEVEL": "INFO"}
        proc = subprocess.Popen(
            [sys.executable, "-m", "bot.cli", "serve", "--no-scheduler"],
            env=env,
            cwd=tmp_path,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        try:
            deadline = time.monotonic() + 60
            while True:
                try:
                    if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).is_success:
                        break
                except httpx.TransportError:
                    pass
                assert proc.poll() is None and time.monotonic() < deadline, "serve did not start"
                time.sleep(0.1)
            with httpx.Client(
                base_url=sb.hubspot_url,
                headers={"Authorization": f"Bearer {sb.hubspot_token}"},
                timeout=10,
            ) as api:
                made = api.post(
                    "/crm/v3/objects/contacts",
                    json={"properties": {"email": "webhook.e2e@example.com", "firstname": "Eve"}},
                )
                assert made.status_code == 201
                cid = made.json()["id"]
                changed = api.patch(
                    f"/crm/v3/objects/contacts/{cid}", json={"properties": {"phone": "+1 555 0100"}}
                )
                assert changed.status_code == 200
            assert sb.hubspot.webhooks.wait_idle(30)
            deliveries = sb.hubspot.webhooks.deliveries
        finally:
            proc.send_signal(signal.SIGTERM)
            out, _ = proc.communicate(timeout=30)
    # every event reached a 2xx (a slow answer on a loaded machine is retried, as HubSpot does)
    sent = {e for d in deliveries for e in d.event_ids}
    assert sent and sent == {e for d in deliveries if d.ok for e in d.event_ids}, deliveries
    with sqlite3.connect(tmp_path / "serve.db") as db:
        rows = db.execute(
            "SELECT subscription_type, object_id, property_name, applied_at FROM webhook_events"
        ).fetchall()
    kinds = {(kind, prop) for kind, obj, prop, _ in rows if obj == str(cid)}
    assert {
        ("contact.creation", None),
        ("contact.propertyChange", "email"),
        ("contact.propertyChange", "phone"),
    } <= kinds
    assert all(applied is None for *_, applied in rows)  # kept, waiting for a worker
    assert f"accepting HubSpot webhooks at http://127.0.0.1:{port}/hubspot/webhooks" in out
    assert printed["HUBSPOT_CLIENT_SECRET"] not in out
    assert "webhook.e2e@example.com" not in out
