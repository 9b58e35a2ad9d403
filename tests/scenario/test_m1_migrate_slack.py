"""Leaving Sell from Slack: ``/sellsync migrate`` files the plan's counts as a request another
manager approves, and the worker's job moves everything with one message in the approvals
channel updated in place, under the run lock, resuming an approved move after a restart.

The app runs on the real HubSpot and Sell clients against the sandbox servers (Slack's too), with
a SQLite store: the plan and the move are the ones ``sellsync migrate`` makes.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from slack_sdk import WebClient

from bot import action_ids as ids
from bot.app import create_app
from bot.migration_job import run_approved_migration
from bot.wiring import Services, SystemClock, build_services
from demo.slack import TrackingExecutor
from sandbox.server import Sandbox
from sync.api import Actor, ApprovedMigrations, RequestStatus
from sync.engine import SYNC_LOCK
from sync.lease import RunLease
from sync.migration.rules import SELL_ID_PROPERTY
from tests.scenario.conftest import (
    APPROVALS,
    MANAGER,
    MANAGER2,
    REP,
    TOKEN,
    Bot,
    FakeMonotonic,
    Sent,
    action_ids_in,
    authorize,
    button_value,
    message_text,
    scenario_settings,
)


class Leaving:
    """The bot on sandbox CRMs, and what the test looks at."""

    def __init__(self, sandbox: Sandbox, tmp: Path) -> None:
        self.sb = sandbox
        self.url = f"sqlite:///{tmp / 'leaving.db'}"
        self.services: list[Services] = []
        self.main = self.process()
        self.executor = TrackingExecutor()
        self.monotonic = FakeMonotonic()
        settings = self.settings()
        app = create_app(
            settings,
            self.main.service,
            client=self.client,
            authorize=authorize,
            executor=self.executor,
            monotonic=self.monotonic,
        )
        self.bot = Bot(app, sandbox, self.main, self.executor, self.monotonic, settings)  # type: ignore[arg-type]

    @property
    def client(self) -> WebClient:
        return WebClient(token=TOKEN, base_url=self.sb.slack_url)

    def settings(self) -> Any:
        env = self.sb.env()
        return scenario_settings(
            self.sb.slack_url,
            database_url=self.url,
            hubspot_base_url=env["HUBSPOT_BASE_URL"],
            hubspot_access_token=env["HUBSPOT_ACCESS_TOKEN"],
            hubspot_portal_id=env["HUBSPOT_PORTAL_ID"],
            sell_base_url=env["SELL_BASE_URL"],
            sell_access_token=env["SELL_ACCESS_TOKEN"],
        )

    def process(self) -> Services:
        """What one sellsync process holds (a restarted worker builds its own)."""
        services = build_services(self.settings())
        self.services.append(services)
        return services

    def close(self) -> None:
        self.executor.shutdown(wait=True)
        for services in self.services:
            services.close()

    def seed(self) -> None:
        sell = self.sb.sell
        org = sell.add_record(
            "contact", {"is_organization": True, "name": "Acme & Co", "website": "acme.io"}
        )
        for i in range(150):  # two pages of people
            sell.add_record(
                "contact",
                {
                    "is_organization": False,
                    "first_name": f"P{i}",
                    "last_name": "<b>Acme</b>",
                    "email": f"p{i}@acme.io",
                    "contact_id": org,
                },
            )
        lead = sell.add_record("lead", {"first_name": "Ann", "last_name": "Lee", "email": "a@x.io"})
        sell.add_note("lead", lead, "Called, wants a demo")

    def keyed(self) -> Counter[str]:
        """How many live HubSpot contacts carry each ``zendesk_sell_id``."""
        return Counter(
            str(c.values[SELL_ID_PROPERTY])
            for c in self.sb.hubspot.contacts_by_id.values()
            if not c.archived and c.values.get(SELL_ID_PROPERTY)
        )

    def request(self, user: str = MANAGER, reason: str = "Sell closes") -> Sent:
        sent = self.bot.command(f"migrate {reason}", user=user)
        sent.reply()
        return sent

    def approve(self, user: str = MANAGER2) -> Sent:
        message = self.bot.sent("chat.postMessage", channel=APPROVALS)[-1]
        value = button_value(message["blocks"], ids.APPROVE)
        where = {"ts": message["ts"], "channel": APPROVALS}
        return self.bot.click(ids.APPROVE, value, user=user, message=where)


@pytest.fixture
def leaving(sandbox: Sandbox, tmp_path: Path) -> Iterator[Leaving]:
    sandbox.reset("empty")
    sandbox.slack.reset()
    world = Leaving(sandbox, tmp_path)
    world.seed()
    try:
        yield world
    finally:
        world.close()
    assert not world.executor.errors, world.executor.errors


def test_m1_slack_request_files_the_plans_counts_for_another_manager(leaving: Leaving) -> None:
    sent = leaving.bot.command("migrate Sell closes in August", user=MANAGER)
    assert "Reading both CRMs for the plan" in sent.body["text"]  # the ack, before the plan
    preview = message_text(sent.reply())
    assert "move everything out of Sell into HubSpot" in preview
    assert "run: 153 Sell items (151 contacts, 1 companies, 1 notes)" in preview
    assert leaving.sb.hubspot.contacts_by_id == {}  # the plan wrote nothing
    [message] = leaving.bot.sent("chat.postMessage", channel=APPROVALS)
    assert action_ids_in(message["blocks"]) == [ids.APPROVE, ids.REJECT]
    assert "151 contacts, 1 companies, 1 notes" in message_text(message)
    assert "Sell closes in August" in message_text(message)
    # never one's own request
    own = message_text(leaving.approve(user=MANAGER).reply())
    assert "can't approve or reject your own request" in own
    assert ApprovedMigrations(leaving.main.service).pending() is None
    leaving.approve(user=MANAGER2)
    order = ApprovedMigrations(leaving.main.service).pending()
    assert order is not None and order.total == 153
    assert (order.by, order.approved_by) == (MANAGER, MANAGER2)
    updated = leaving.bot.sent("chat.update", channel=APPROVALS)[-1]
    assert updated["ts"] == message["ts"] and "Approved by" in message_text(updated)
    status = message_text(leaving.bot.command("status", user=REP).body)
    assert "*Migration to HubSpot approved*" in status and "Sell closes in August" in status
    # a second click changes nothing
    again = message_text(leaving.approve(user=MANAGER2).reply())
    assert "already" in again.lower()


def test_m1_a_newer_request_supersedes_the_pending_one(leaving: Leaving) -> None:
    leaving.request(user=MANAGER)
    leaving.request(user=MANAGER2, reason="today")
    [first, second] = leaving.bot.sent("chat.postMessage", channel=APPROVALS)
    statuses = [r.status for r in leaving.main.service.pending_requests()]
    assert statuses == [RequestStatus.PENDING]
    superseded = [u for u in leaving.bot.sent("chat.update") if u["ts"] == first["ts"]]
    assert superseded and "Superseded" in message_text(superseded[-1])
    assert second["ts"] != first["ts"]


def test_m1_non_manager_is_refused_before_anything_is_read(leaving: Leaving) -> None:
    leaving.sb.sell.reset_calls()
    reply = message_text(leaving.bot.command("migrate please", user=REP).reply())
    assert "only managers can ask to move everything out of Sell" in reply
    assert leaving.sb.sell.calls == []
    assert leaving.bot.sent("chat.postMessage", channel=APPROVALS) == []
    assert leaving.main.service.pending_requests() == []


def test_m2_worker_runs_approved_migration_with_one_message_updated_in_place(
    leaving: Leaving,
) -> None:
    leaving.request()
    leaving.approve()
    before = len(leaving.bot.sent("chat.postMessage", channel=APPROVALS))
    ticks = FakeMonotonic()
    ticks.step = 10.0  # every page is past the throttle
    report = run_approved_migration(
        leaving.main.service, leaving.client, APPROVALS, monotonic=ticks, interval=3.0
    )
    assert report is not None and report.status == "finished"
    keyed = leaving.keyed()
    assert len(keyed) == 151 and set(keyed.values()) == {1}
    posted = leaving.bot.sent("chat.postMessage", channel=APPROVALS)[before:]
    assert len(posted) == 1  # one message, then edits of it
    ts = posted[0]["ts"]
    edits = [u for u in leaving.bot.sent("chat.update", channel=APPROVALS) if u["ts"] == ts]
    assert len(edits) >= 2
    assert "of 153 Sell items" in message_text(posted[0]) + message_text(edits[0])
    final = message_text(edits[-1])
    assert "Everything is moved out of Sell into HubSpot" in final
    assert "151 created" in final and "sellsync migrate --verify" in final
    assert "<b>" not in final  # CRM text never arrives unescaped
    assert ApprovedMigrations(leaving.main.service).pending() is None
    status = message_text(leaving.bot.command("status", user=REP).body)
    assert "Migration to HubSpot approved" not in status
    # nothing waits any more: the next tick does nothing
    assert run_approved_migration(leaving.main.service, leaving.client, APPROVALS) is None


def test_m2_progress_edits_are_throttled(leaving: Leaving) -> None:
    leaving.request()
    leaving.approve()
    before = len(leaving.bot.sent("chat.update"))
    still = FakeMonotonic()  # no time passes between pages: one progress edit, then the end
    run_approved_migration(leaving.main.service, leaving.client, APPROVALS, monotonic=still)
    edits = leaving.bot.sent("chat.update")[before:]
    assert len(edits) == 1 and "Everything is moved" in message_text(edits[0])


def test_m2_worker_stopped_mid_move_resumes_the_approved_migration_in_the_same_message(
    leaving: Leaving,
) -> None:
    leaving.request()
    leaving.approve()
    first = leaving.process()
    readings = []

    def stopping_clock() -> float:  # SIGTERM arrives while the second page is written
        readings.append(1)
        if len(readings) == 2:
            first.service.interrupt("SIGTERM")
        return 10.0 * len(readings)

    report = run_approved_migration(
        first.service, leaving.client, APPROVALS, monotonic=stopping_clock
    )
    assert report is not None and report.status == "interrupted"
    order = ApprovedMigrations(first.service).pending()
    assert order is not None and order.ts is not None  # kept, with its message
    assert 0 < len(leaving.keyed()) < 151
    paused = leaving.bot.sent("chat.update", channel=APPROVALS)[-1]
    assert paused["ts"] == order.ts and "paused" in message_text(paused)
    restarted = leaving.process()  # a new worker finds the approved order and finishes it
    report = run_approved_migration(restarted.service, leaving.client, APPROVALS)
    assert report is not None and report.status == "finished"
    keyed = leaving.keyed()
    assert len(keyed) == 151 and set(keyed.values()) == {1}  # nothing twice, nothing missed
    final = leaving.bot.sent("chat.update", channel=APPROVALS)[-1]
    assert final["ts"] == order.ts and "Everything is moved" in message_text(final)


def test_m2_an_approved_migration_waits_while_a_sync_holds_the_run_lock(leaving: Leaving) -> None:
    leaving.request()
    leaving.approve()
    store = leaving.main.store
    lease = RunLease(store, SystemClock(), name=SYNC_LOCK)
    assert lease.acquire()
    try:
        assert run_approved_migration(leaving.main.service, leaving.client, APPROVALS) is None
    finally:
        lease.release()
    assert leaving.keyed() == Counter()
    assert ApprovedMigrations(leaving.main.service).pending() is not None
    report = run_approved_migration(leaving.main.service, leaving.client, APPROVALS)
    assert report is not None and report.status == "finished"


def test_m1_slack_request_under_a_retired_sell_is_one_line_and_files_nothing(
    leaving: Leaving,
) -> None:
    manager = Actor(MANAGER2, is_manager=True)
    leaving.main.service.change_setting(
        "sell_mode", "retired", actor=manager, reason="gone", confirm_unverified=True
    )
    leaving.sb.sell.reset_calls()
    reply = message_text(leaving.bot.command("migrate", user=MANAGER).reply())
    assert "Sell is retired" in reply and "read_only" in reply
    assert "Traceback" not in reply and len(reply.strip().splitlines()) <= 3
    assert leaving.sb.sell.calls == []  # Sell is not called
    assert leaving.main.service.pending_requests() == []
