"""Request verification (forged, stale, tampered, unsigned → 401, no effect) and the HTTP app:
``/slack/events`` through Starlette, ``/healthz`` and ``/metrics`` on the same port."""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from urllib.parse import urlencode

import httpx
import pytest
from freezegun import freeze_time
from prometheus_client.parser import text_string_to_metric_families
from slack_bolt import BoltRequest

from bot import metrics as bot_metrics
from bot.app import create_app
from bot.serve import BackgroundServer
from bot.web import build_web
from storage.db import open_store
from sync.engine import Engine
from sync.service import SyncService
from tests.bulk import insert_runs
from tests.scenario.conftest import MANAGER, SECRET, Bot, authorize, sign


def command_body(bot: Bot, text: str, user: str = MANAGER) -> str:
    return urlencode(
        {
            "command": "/sellsync",
            "text": text,
            "user_id": user,
            "team_id": "T1",
            "channel_id": "C0GENERAL",
            "response_url": bot.slack.response_url("http"),
            "trigger_id": "t.1",
        }
    )


FORM = "application/x-www-form-urlencoded"


def assert_no_effect(bot: Bot) -> None:
    bot.settle()
    assert bot.sent() == []
    assert bot.world.store.pending_requests() == []
    assert bot.world.store.recent_runs(1) == []
    assert bot.world.hubspot.total_calls() == 0


@pytest.mark.parametrize(
    "forgery",
    ["wrong secret", "stale (301 s old)", "tampered body", "no signature", "future (301 s ahead)"],
)
def test_forged_or_stale_requests_get_401_and_do_nothing(bot: Bot, forgery: str) -> None:
    body = command_body(bot, "threshold 60 sneaky")
    now = int(time.time())
    headers = {
        "wrong secret": sign(body, secret="not-the-secret"),
        "stale (301 s old)": sign(body, timestamp=now - 301),
        "future (301 s ahead)": sign(body, timestamp=now + 301),
        "tampered body": sign(body.replace("sneaky", "honest")),
        "no signature": {},
    }[forgery]
    response = bot.dispatch(body, FORM, headers=headers)
    assert response.status == 401
    assert_no_effect(bot)
    run = command_body(bot, "run")
    assert bot.dispatch(run, FORM, headers=sign(run, timestamp=now - 600)).status == 401
    assert_no_effect(bot)


def test_the_signature_window_is_five_minutes_either_way(bot: Bot) -> None:
    # Bolt's verifier reads the wall clock itself: hold it still to test the exact edges.
    now = 1_780_000_000
    with freeze_time(datetime.fromtimestamp(now, UTC)):
        for offset, status in ((-300, 200), (300, 200), (-301, 401), (301, 401)):
            body = command_body(bot, "help")
            assert bot.dispatch(body, FORM, headers=sign(body, timestamp=now + offset)).status == (
                status
            ), offset


def test_a_request_signed_just_now_is_accepted(bot: Bot) -> None:
    body = command_body(bot, "help")
    assert bot.dispatch(body, FORM, headers=sign(body, secret=SECRET)).status == 200


@pytest.fixture
def http(bot: Bot) -> Iterator[httpx.Client]:
    """The app served over real HTTP (uvicorn on a loopback port)."""
    with (
        BackgroundServer(build_web(bot.app, bot.world.service)) as server,
        httpx.Client(base_url=server.url, timeout=10) as client,
    ):
        yield client


def test_slack_events_are_served_over_http_with_verification(bot: Bot, http: httpx.Client) -> None:
    body = command_body(bot, "status")
    signed = {k: v[0] for k, v in sign(body).items()}
    ok = http.post("/slack/events", content=body, headers={"content-type": FORM, **signed})
    assert ok.status_code == 200 and ok.json()["response_type"] == "ephemeral"
    assert "Threshold" in ok.text
    forged = {k: v[0] for k, v in sign(body, secret="nope").items()}
    refused = http.post("/slack/events", content=body, headers={"content-type": FORM, **forged})
    assert refused.status_code == 401
    assert http.get("/slack/events").status_code == 405


def test_healthz_reports_the_database_and_the_last_run(bot: Bot, http: httpx.Client) -> None:
    first = http.get("/healthz")
    assert first.status_code == 200 and first.json() == {
        "ok": True,
        "database": "ok",
        "last_run": None,
    }
    bot.world.member(score=80, email="h@example.com", lastname="H")
    bot.world.sync()
    last = http.get("/healthz").json()["last_run"]
    assert last["status"] == "ok" and last["trigger"] == "test"


@pytest.fixture
def silent_database() -> Iterator[str]:
    """A PostgreSQL URL whose server accepts the connection and never says a word."""
    with socket.create_server(("127.0.0.1", 0)) as server:
        yield f"postgresql://sellsync@127.0.0.1:{server.getsockname()[1]}/sellsync"


def closed_port() -> int:
    with socket.create_server(("127.0.0.1", 0)) as probe:
        return int(probe.getsockname()[1])


def scrape(http: httpx.Client) -> dict[str, float]:
    """``name{labels}`` → value, as Prometheus's own parser reads ``/metrics``."""
    response = http.get("/metrics")
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/plain")
    return {
        sample.name + json.dumps(sample.labels, sort_keys=True): sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
    }


@pytest.mark.parametrize("database", ["refuses connections", "does not answer"])
def test_healthz_says_503_in_time_when_the_database_is_unreachable(
    bot: Bot, database: str, silent_database: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = {
        "refuses connections": f"postgresql://sellsync:hunter2@127.0.0.1:{closed_port()}/x",
        "does not answer": silent_database.replace("sellsync@", "sellsync:hunter2@"),
    }[database]
    monkeypatch.setattr(bot_metrics, "HEALTH_TIMEOUT_SECONDS", 1.0)
    engine = bot.world.service.engine
    with open_store(url, migrate=False) as unreachable:
        service = SyncService(
            Engine(engine.hubspot, engine.sell, unreachable, engine.clock, engine.config)
        )
        with (
            BackgroundServer(build_web(bot.app, service)) as server,
            httpx.Client(base_url=server.url, timeout=4) as http,
        ):
            started = time.monotonic()
            response = http.get("/healthz")
            assert response.status_code == 503 and time.monotonic() - started < 3
            assert response.json() == {"ok": False, "database": "unreachable", "last_run": None}
            assert "hunter2" not in response.text


def test_metrics_say_the_database_is_down_when_it_is(bot: Bot, http: httpx.Client) -> None:
    bot.world.store.engine.dispose()
    with bot.world.store.engine.begin() as connection:
        connection.exec_driver_sql("DROP TABLE sync_runs")
    assert scrape(http) == {"sellsync_database_up{}": 0}
    assert http.get("/healthz").status_code == 503


def test_metrics_expose_runs_conflicts_requests_links_and_the_last_run(
    bot: Bot, http: httpx.Client
) -> None:
    bot.world.sell.add("lead", email="m@example.com", last_name="M", phone="1")
    bot.world.member(score=80, email="m@example.com", lastname="M", phone="2")
    bot.world.sync()
    bot.command("threshold 70", user="UREP1").reply()
    samples = scrape(http)
    run = bot.world.store.recent_runs(1)[0]
    assert run.finished_at is not None
    assert samples == {
        "sellsync_database_up{}": 1,
        'sellsync_runs_total{"status": "ok"}': 1,
        'sellsync_runs_total{"status": "errors"}': 0,
        'sellsync_runs_total{"status": "failed"}': 0,
        'sellsync_runs_total{"status": "interrupted"}': 0,
        "sellsync_runs_running{}": 0,
        "sellsync_open_conflicts{}": 1,
        "sellsync_pending_requests{}": 1,
        'sellsync_links{"state": "active"}': 1,
        'sellsync_links{"state": "tombstoned"}': 0,
        'sellsync_links{"state": "hubspot_deleted"}': 0,
        'sellsync_links{"state": "held"}': 0,
        "sellsync_last_run_timestamp_seconds{}": run.started_at.timestamp(),
        "sellsync_last_run_finished_timestamp_seconds{}": run.finished_at.timestamp(),
        "sellsync_last_success_timestamp_seconds{}": run.finished_at.timestamp(),
        # webhooks off (none ever stored), no Firehose followed, the poll on
        'sellsync_source_enabled{"source": "hubspot_webhooks"}': 0,
        'sellsync_source_events_received_total{"source": "hubspot_webhooks"}': 0,
        'sellsync_source_last_event_timestamp_seconds{"source": "hubspot_webhooks"}': 0,
        'sellsync_source_failing_events{"source": "hubspot_webhooks"}': 0,
        'sellsync_source_queue_depth{"source": "hubspot_webhooks"}': 0,
        'sellsync_source_oldest_unapplied_age_seconds{"source": "hubspot_webhooks"}': 0,
        'sellsync_source_enabled{"source": "sell_firehose"}': 0,
        'sellsync_source_enabled{"source": "poll"}': 1,
    }
    assert "# TYPE sellsync_open_conflicts gauge" in http.get("/metrics").text


def test_metrics_are_exact_for_a_millisecond_start_and_past_a_thousand_runs(
    bot: Bot, http: httpx.Client
) -> None:
    started = datetime.fromtimestamp(1_764_400_000.123, UTC)
    insert_runs(bot.world.store.engine, 1_500, status="ok", started_at=started, finished_at=started)
    insert_runs(bot.world.store.engine, 1_234_567, status="failed", started_at=started)
    samples = scrape(http)
    assert samples['sellsync_runs_total{"status": "ok"}'] == 1_500
    assert samples['sellsync_runs_total{"status": "failed"}'] == 1_234_567
    assert samples["sellsync_last_run_timestamp_seconds{}"] == 1_764_400_000.123


def test_metrics_speak_openmetrics_to_a_scraper_that_asks(bot: Bot, http: httpx.Client) -> None:
    response = http.get("/metrics", headers={"accept": "application/openmetrics-text"})
    assert response.headers["content-type"].startswith("application/openmetrics-text")
    assert response.text.endswith("# EOF\n")


def test_socket_mode_needs_no_signing_secret_while_http_mode_always_verifies(bot: Bot) -> None:
    from slack_bolt import BoltRequest
    from slack_sdk import WebClient

    from bot.app import create_app
    from demo.slack import TrackingExecutor
    from tests.scenario.conftest import TOKEN, authorize, scenario_settings

    executor = TrackingExecutor()
    settings = scenario_settings(
        bot.sandbox.slack_url, slack_app_token="xapp-1-socket", slack_signing_secret=None
    )
    app = create_app(
        settings,
        bot.world.service,
        client=WebClient(token=TOKEN, base_url=bot.sandbox.slack_url),
        authorize=authorize,
        executor=executor,
    )
    body = command_body(bot, "help")
    try:
        response = app.dispatch(
            BoltRequest(body=body, headers={"content-type": [FORM]}, mode="socket_mode")
        )
        assert response.status == 200 and "sellsync usage" in response.body
    finally:
        executor.shutdown(wait=True)
    # the HTTP app refuses the same unsigned request
    assert bot.dispatch(body, FORM, headers={}).status == 401


def test_a_replayed_request_gets_401_and_does_nothing_even_on_another_web_process(
    bot: Bot,
) -> None:
    body = command_body(bot, "threshold 60 once")
    headers = sign(body)
    assert bot.dispatch(body, FORM, headers=headers).status == 200
    bot.settle()
    assert [r.new_value for r in bot.world.store.pending_requests()] == ["60"]
    sent = len(bot.sent())
    assert bot.dispatch(body, FORM, headers=headers).status == 401  # the same signature again
    # a second web process sharing the database refuses it too
    other = create_app(bot.settings, bot.world.service, authorize=authorize)
    assert other.dispatch(BoltRequest(body=body, headers=headers)).status == 401
    bot.settle()
    assert len(bot.world.store.pending_requests()) == 1 and len(bot.sent()) == sent
    # housekeeping drops the markers once Slack's 5-minute window is long past (markers are
    # timed by the wall clock, as signatures are)
    later = datetime.now(UTC) + timedelta(days=1)
    assert bot.world.store.purge_marks(at=later) >= 1
