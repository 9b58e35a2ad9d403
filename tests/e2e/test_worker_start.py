"""``sellsync worker`` at start, as a process over the sandbox: a refused CRM token stops only an
install that never ran a sync; where syncs succeeded before, the worker keeps running, says when
its first sync runs, alerts the summary channel once for the failure streak and recovers by
itself once HubSpot accepts the token again."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from slack_sdk import WebClient

from bot.scheduler import SlackNotifier, run_scheduled_sync
from bot.settings import AppSettings
from bot.wiring import build_services
from sandbox import Sandbox

pytestmark = pytest.mark.slow

CHANNEL = "C0SUMMARY"


@pytest.fixture
def env(sb: Sandbox, tmp_path: Path) -> Iterator[dict[str, str]]:
    sb.reset("empty")
    sb.hubspot.token = sb.hubspot_token  # what the tests below revoke
    sb.slack.set_channel(CHANNEL, "sales-ops")
    list_id = sb.hubspot.create_list("Sell sync", "MANUAL")
    out = {
        **os.environ,
        **sb.env(),
        "HUBSPOT_LIST_ID": list_id,
        "DATABASE_URL": f"sqlite:///{tmp_path}/worker.db",
        "SLACK_SUMMARY_CHANNEL": CHANNEL,
        "SLACK_MANAGER_IDS": "U0MANAGER",
        "LOG_LEVEL": "INFO",
    }
    for name in ("SLACK_APP_TOKEN", "SLACK_SIGNING_SECRET", "SYNC_THRESHOLD", "LOG_FORMAT"):
        out.pop(name, None)
    yield out
    sb.hubspot.token = sb.hubspot_token


def sellsync(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bot.cli", *args],
        env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip


def worker_log_until(env: dict[str, str], marker: str, timeout: float = 60) -> tuple[str, bool]:
    """Start ``sellsync worker``, collect its log until ``marker`` shows (then stop it with
    SIGTERM) or it exits; returns the log and whether it was still running."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "bot.cli", "worker"],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    lines: list[str] = []
    seen = threading.Event()

    def read() -> None:
        assert proc.stderr is not None
        for line in proc.stderr:
            lines.append(line)
            if marker in line:
                seen.set()

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    deadline = time.monotonic() + timeout
    while not seen.is_set() and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    running = proc.poll() is None
    if running:
        proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
    reader.join(timeout=5)
    assert proc.stderr is not None
    proc.stderr.close()
    return "".join(lines), running


def test_a_fresh_install_with_a_refused_token_still_exits_2(
    sb: Sandbox, env: dict[str, str]
) -> None:
    sb.hubspot.token = "pat-na1-someone-else"  # HubSpot no longer accepts the configured one
    log, running = worker_log_until(env, "first sync at")
    assert not running
    last = log.strip().splitlines()[-1]
    assert last.startswith("sellsync: configuration error: HUBSPOT_ACCESS_TOKEN is wrong"), log
    assert "Traceback" not in log


def test_a_revoked_token_after_successful_runs_keeps_the_worker_running(
    sb: Sandbox, env: dict[str, str]
) -> None:
    done = sellsync(env, "sync")
    assert done.returncode == 0, done.stderr
    sb.hubspot.token = "pat-na1-someone-else"  # revoked in HubSpot
    log, running = worker_log_until(env, "first sync at")
    assert running, log
    assert "HUBSPOT_ACCESS_TOKEN is refused, but syncs succeeded before" in log
    first = next(line for line in log.splitlines() if "first sync at" in line)
    assert "INFO" in first and "then every 15 min" in first and "UTC" in first
    assert "Traceback" not in log


def test_the_worker_logs_when_its_first_sync_runs(sb: Sandbox, env: dict[str, str]) -> None:
    log, running = worker_log_until({**env, "SYNC_INTERVAL_MINUTES": "20"}, "first sync at")
    assert running, log
    first = next(line for line in log.splitlines() if "first sync at" in line)
    assert " INFO sellsync.scheduler: first sync at 20" in first  # a date: 20xx-…
    assert first.rstrip().endswith("then every 20 min")


def test_a_revoked_token_alerts_once_for_the_streak_and_recovers_by_itself(
    sb: Sandbox, env: dict[str, str]
) -> None:
    settings = AppSettings(
        _env_file=None,  # type: ignore[call-arg]
        **{k.lower(): v for k, v in env.items() if k.isupper() and k.lower() in AppSettings.model_fields},
    )  # fmt: skip
    services = build_services(settings)
    notifier = SlackNotifier(WebClient(token=sb.slack_token, base_url=sb.slack_url), CHANNEL)
    try:
        ok = run_scheduled_sync(services.service, notifier)
        assert ok is not None and ok.status == "ok"
        accepted = sb.hubspot.token
        sb.hubspot.token = "pat-na1-someone-else"
        for _ in range(3):  # three intervals: each retried, one alert
            failed = run_scheduled_sync(services.service, notifier)
            assert failed is not None and failed.status == "failed"
        posted = [m["text"] for m in sb.slack.sent("chat.postMessage", channel=CHANNEL)]
        assert len(posted) == 1 and posted[0].startswith("A scheduled sync failed")
        sb.hubspot.token = accepted  # the token works again: nobody restarts anything
        again = run_scheduled_sync(services.service, notifier)
        assert again is not None and again.status == "ok"
        posted = [m["text"] for m in sb.slack.sent("chat.postMessage", channel=CHANNEL)]
        assert len(posted) == 2 and posted[1] == "Syncing recovered"
    finally:
        services.close()
