"""``sellsync worker --healthcheck``, the worker container's health check: exit 0 while the newest
scheduler heartbeat is younger than three beats, 1 otherwise (never 2, never a traceback), with no
API token. On SQLite and PostgreSQL, through the command line and a real scheduler."""

from __future__ import annotations

import time
from datetime import timedelta
from pathlib import Path

import pytest
from apscheduler.schedulers.background import BackgroundScheduler

import bot.cli as cli
import bot.cli_services as cli_services
from bot.scheduler import HEARTBEAT_SECONDS, add_heartbeat
from bot.settings import AppSettings
from sync.ports import SchedulerBeat


@pytest.fixture(autouse=True)
def only_the_database(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in AppSettings.model_fields:
        monkeypatch.delenv(name.upper(), raising=False)
    monkeypatch.chdir(tmp_path)  # no .env: no API token, no Slack variable
    monkeypatch.setattr(cli_services, "_SETTINGS", None)


def healthcheck(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, url: str
) -> tuple[int, str, str]:
    monkeypatch.setenv("DATABASE_URL", url)
    monkeypatch.setattr(cli_services, "_SETTINGS", None)
    code = cli.main(["worker", "--healthcheck"])
    out, err = capsys.readouterr()
    return code, out.strip(), err.strip()


def record_beat(seconds_ago: float) -> None:
    """A beat of a scheduler that is not stopped, seen ``seconds_ago`` by the real clock."""
    svc = cli_services.database_services()  # DATABASE_URL from the environment, as the check
    try:
        seen = svc.service.clock.now() - timedelta(seconds=seconds_ago)
        svc.service.record_heartbeat(SchedulerBeat("host:1:abc", seen, seen))
    finally:
        svc.close()


def test_healthy_while_a_running_scheduler_beats_and_unhealthy_once_it_stopped(
    db_url: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DATABASE_URL", db_url)
    svc = cli_services.database_services()
    scheduler = BackgroundScheduler()
    add_heartbeat(scheduler, svc.service)
    scheduler.start()
    try:
        deadline = time.monotonic() + 30  # a loaded 2-core CI machine
        while svc.service.schedule_state().state != "running" and time.monotonic() < deadline:
            time.sleep(0.05)
        assert svc.service.schedule_state().state == "running", "the scheduler never beat"
        code, out, err = healthcheck(capsys, monkeypatch, db_url)
        assert (code, err) == (0, "")
        assert out.startswith("scheduler alive: last heartbeat ")
    finally:
        scheduler.shutdown(wait=True)
        svc.close()
    code, out, err = healthcheck(capsys, monkeypatch, db_url)
    assert code == 1 and out == ""
    assert err.startswith("sellsync: unhealthy: the scheduler stopped at ")


def test_unhealthy_before_any_scheduler_ran(
    db_url: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    assert healthcheck(capsys, monkeypatch, db_url) == (
        1,
        "",
        "sellsync: unhealthy: no scheduler has recorded a heartbeat yet",
    )


@pytest.mark.parametrize(
    ("beats_ago", "code"),
    [(1, 0), (2.5, 0), (3.5, 1), (4, 1)],  # the status board still calls 4 beats ago "running"
)
def test_a_heartbeat_older_than_three_beats_is_unhealthy(
    db_url: str,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    beats_ago: float,
    code: int,
) -> None:
    monkeypatch.setenv("DATABASE_URL", db_url)
    record_beat(beats_ago * HEARTBEAT_SECONDS)
    got, out, err = healthcheck(capsys, monkeypatch, db_url)
    assert got == code
    if code == 0:
        assert out.startswith("scheduler alive") and err == ""
    else:
        assert err.startswith("sellsync: unhealthy: no scheduler heartbeat since ")
        assert f"({beats_ago * HEARTBEAT_SECONDS:.0f} s ago)" in err


@pytest.mark.parametrize(
    "url",
    [
        "postgresql://sellsync@127.0.0.1:1/sellsync",  # nothing listens there
        "mysql://u@h/db",  # a configuration error: still 1 for a health check, not 2
    ],
)
def test_a_database_that_does_not_answer_is_unhealthy_in_one_line(
    url: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    code, out, err = healthcheck(capsys, monkeypatch, url)
    assert code == 1 and out == ""
    assert err.startswith("sellsync: unhealthy: ") and "\n" not in err
    assert "Traceback" not in err
