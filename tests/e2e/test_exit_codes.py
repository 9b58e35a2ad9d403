"""Honest exit codes (SPEC §4): a wrong setting exits 2 and names the variable, a failure of the
work exits 1, success exits 0 — each row runs ``sellsync`` as a subprocess against the sandbox,
started with the environment that ``sellsync sandbox`` prints."""

from __future__ import annotations

import os
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from sandbox.server import Sandbox
from tests.e2e.conftest import sellsync, settings_env

pytestmark = pytest.mark.slow

WRONG_SELL_TOKEN = "wrong-sell-token".ljust(64, "0")
CLOSED = "http://127.0.0.1:9/"  # the discard port: nothing listens there


@pytest.fixture(scope="module")
def sandbox() -> Iterator[Sandbox]:
    with Sandbox(seed="demo") as sb:
        yield sb


@pytest.fixture(scope="module")
def busy_port() -> Iterator[int]:
    with socket.socket() as sock:
        sock.bind(("0.0.0.0", 0))
        sock.listen()
        yield sock.getsockname()[1]


# (command, environment changes, expected exit code, words the output must contain)
TABLE: list[tuple[list[str], dict[str, str], int, list[str]]] = [
    (["check"], {}, 0, ["✓ HubSpot token", "✓ summary channel", "all checks passed"]),
    (["status"], {}, 0, ["Threshold:"]),
    (["check"], {"HUBSPOT_ACCESS_TOKEN": "wrong-token-123"}, 2, ["✗ HubSpot token", "HUBSPOT_ACCESS_TOKEN"]),
    (["check"], {"SELL_ACCESS_TOKEN": WRONG_SELL_TOKEN}, 2, ["✗ Sell token", "SELL_ACCESS_TOKEN"]),
    (["check"], {"SLACK_BOT_TOKEN": "xoxp-not-a-bot-token"}, 2, ["SLACK_BOT_TOKEN must start with xoxb-"]),
    (["check"], {"HUBSPOT_LIST_ID": "999999"}, 2, ["✗ HubSpot list 999999", "HUBSPOT_LIST_ID"]),
    (["check"], {"HUBSPOT_SCORE_PROPERTY": "firstname"}, 2, ["type string", "HUBSPOT_SCORE_PROPERTY"]),
    (["check"], {"SLACK_SUMMARY_CHANNEL": "C0NOWHERE"}, 2, ["✗ summary channel C0NOWHERE", "SLACK_SUMMARY_CHANNEL"]),
    (["check"], {"SLACK_MANAGER_GROUP": "S0NOBODY"}, 2, ["✗ manager group S0NOBODY", "SLACK_MANAGER_GROUP"]),
    (["check"], {"HUBSPOT_BASE_URL": CLOSED}, 2, ["HubSpot did not answer", "HUBSPOT_BASE_URL"]),
    (["sync"], {"HUBSPOT_BASE_URL": "localhost:8101"}, 2, ["HUBSPOT_BASE_URL is invalid", "http://"]),
    (["sync"], {"HUBSPOT_ACCESS_TOKEN": "wrong-token-123"}, 2, ["configuration error: HUBSPOT_ACCESS_TOKEN", "401"]),
    (["sync"], {"SELL_ACCESS_TOKEN": WRONG_SELL_TOKEN}, 2, ["configuration error: SELL_ACCESS_TOKEN", "401"]),
    (["sync"], {"HUBSPOT_LIST_ID": "999999"}, 2, ["configuration error: HUBSPOT_LIST_ID", "not found"]),
    (["push", "lead:1"], {"HUBSPOT_ACCESS_TOKEN": "wrong-token-123"}, 2, ["HUBSPOT_ACCESS_TOKEN"]),
    (["sync"], {"DATABASE_URL": "postgresql://u@localhost:notaport/db"}, 2, ["DATABASE_URL is invalid", "notaport"]),
    (["status"], {"DATABASE_URL": "postgresql://u@localhost:notaport/db"}, 2, ["DATABASE_URL is invalid"]),
    (["sync"], {"SYNC_THRESHOLD": "-5"}, 2, ["SYNC_THRESHOLD is invalid", "greater than or equal to 0"]),
    (["serve"], {"SLACK_BOT_TOKEN": "xoxb-your-token"}, 2, ["SLACK_BOT_TOKEN is a placeholder"]),
    (["serve"], {"SLACK_APP_TOKEN": "xapp-your-app-token"}, 2, ["SLACK_APP_TOKEN is a placeholder"]),
    (["serve", "--no-scheduler"], {"PORT": "{busy_port}"}, 2, ["PORT", "is already in use"]),
    (["worker"], {"HUBSPOT_ACCESS_TOKEN": "wrong-token-123"}, 2, ["HUBSPOT_ACCESS_TOKEN", "refused"]),
    (["serve"], {"SLACK_APP_TOKEN": "xapp-1-A1-123", "SLACK_API_URL": CLOSED + "api/"}, 1, ["cannot reach Slack", "SLACK_API_URL"]),
    (["sync"], {"@fault": "daily"}, 1, ["daily API limit reached"]),
    (["status"], {"DATABASE_URL": "sqlite://sellsync.db"}, 2, ["DATABASE_URL is not a SQLite URL", "sqlite:///"]),
    (["status"], {"DATABASE_URL": "sqlite:////no/such/dir/s.db"}, 2, ["DATABASE_URL cannot be opened"]),
    (["sync"], {"DATABASE_URL": "postgresql://u@127.0.0.1:9/db"}, 2, ["DATABASE_URL cannot be opened", "refused"]),
    (["runs", "--limit", "9223372036854775808"], {}, 2, ["--limit", "not a number from 1 to"]),
    (["fields", "map", "no_such_property", "Favorite color"], {}, 2, ["refused", "no contact property"]),
    ([], {}, 2, ["COMMAND", "sync ", "audit ", "give a COMMAND"]),
    (["sync", "--dryrun"], {}, 2, ["did you mean --dry-run?"]),
    (["snyc"], {}, 2, ["did you mean sync?"]),
]  # fmt: skip


def _id(row: tuple[list[str], dict[str, str], int, list[str]]) -> str:
    argv, env, code, _ = row
    return f"{' '.join(argv) or '(none)'}[{','.join(env) or 'as printed'}]->{code}"


@pytest.mark.parametrize(("argv", "changes", "code", "words"), TABLE, ids=[_id(r) for r in TABLE])
def test_exit_code_table(
    sandbox: Sandbox,
    busy_port: int,
    tmp_path: Path,
    argv: list[str],
    changes: dict[str, str],
    code: int,
    words: list[str],
) -> None:
    sandbox.reset("demo")
    changes = dict(changes)
    fault = changes.pop("@fault", None)
    changes = {k: v.format(busy_port=busy_port) for k, v in changes.items()}
    env = settings_env(sandbox, f"sqlite:///{tmp_path}/exit.db", **changes)
    if fault:
        sandbox.hubspot.inject(fault, times=None)
    proc = sellsync(env, *argv, cwd=tmp_path)  # no traceback
    output = proc.stdout + proc.stderr
    assert proc.returncode == code, output
    for word in words:
        assert word in output, output
    for secret in (sandbox.hubspot_token, sandbox.sell_token):
        assert secret not in output


def test_a_postgresql_database_that_does_not_exist_is_a_configuration_error(
    tmp_path: Path,
) -> None:
    base = os.environ.get("TEST_DATABASE_URL")
    if not base or not base.startswith("postgres"):
        pytest.skip("TEST_DATABASE_URL (PostgreSQL) is not set")
    url = base.rsplit("/", 1)[0] + "/sellsync_no_such_database"
    proc = sellsync({**os.environ, "DATABASE_URL": url}, "status", cwd=tmp_path)
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.startswith("sellsync: configuration error: DATABASE_URL cannot be opened")
    assert "does not exist" in proc.stderr and len(proc.stderr.strip().splitlines()) == 1
