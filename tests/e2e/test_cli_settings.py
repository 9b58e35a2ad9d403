"""The approved settings from the command line, over the sandbox: only a real sync stores them
(after HubSpot confirmed the list), read-only commands store nothing, a stored value that
differs from the environment's is named in one line, and ``sellsync settings [set]``."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.pool import NullPool

import bot.cli as cli
import bot.cli_services as cli_services
from sandbox import Sandbox
from storage.db import normalize_url, open_store
from sync.ports import StoredSettings
from tests.storage.conftest import PG_SKIP_REASON, pg_base_url, pg_url_in_schema


class Terminal:
    """``sellsync`` run in this process, as from a shell whose environment a test changes."""

    def __init__(
        self, sb: Sandbox, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
        database_url: str,
    ) -> None:  # fmt: skip
        self.sb = sb
        self.monkeypatch = monkeypatch
        self.capsys = capsys
        self.database_url = database_url
        for name in ("SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET", "SLACK_APP_TOKEN",
                     "SYNC_THRESHOLD", "HUBSPOT_LIST_ID", "LOG_LEVEL"):  # fmt: skip
            monkeypatch.delenv(name, raising=False)
        for key, value in sb.env().items():
            monkeypatch.setenv(key, value)
        monkeypatch.delenv("SLACK_BOT_TOKEN", raising=False)
        monkeypatch.setenv("DATABASE_URL", database_url)

    def __call__(self, *argv: str, **env: str | None) -> tuple[int, str, str]:
        for key, value in env.items():
            if value is None:
                self.monkeypatch.delenv(key, raising=False)
            else:
                self.monkeypatch.setenv(key, value)
        self.monkeypatch.setattr(cli_services, "_SETTINGS", None)  # a new process reads it
        code = cli.main(list(argv))
        captured = self.capsys.readouterr()
        assert "Traceback" not in captured.err
        return code, captured.out, captured.err

    def stored(self) -> StoredSettings:
        with open_store(self.database_url) as store:
            return store.stored_settings()

    def json(self, *argv: str, **env: str | None) -> Any:
        code, out, err = self(*argv, "--json", **env)
        assert code == 0, err
        return json.loads(out)


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty database: a SQLite file, or (with TEST_DATABASE_URL) a PostgreSQL schema."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path}/settings.db"
        return
    base = pg_base_url()
    if base is None:
        pytest.skip(PG_SKIP_REASON)
    admin = sa.create_engine(normalize_url(base), poolclass=NullPool, isolation_level="AUTOCOMMIT")
    schema = f"sellsync_settings_{uuid.uuid4().hex[:12]}"
    with admin.connect() as connection:
        connection.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield pg_url_in_schema(base, schema)
    finally:
        with admin.connect() as connection:
            connection.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture
def term(
    sb: Sandbox, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
    tmp_path: Path, database_url: str,
) -> Iterator[Terminal]:  # fmt: skip
    sb.reset("empty")
    monkeypatch.chdir(tmp_path)  # no stray .env
    yield Terminal(sb, monkeypatch, capsys, database_url)


def member(sb: Sandbox, list_id: str, score: int, email: str) -> str:
    cid = sb.hubspot.add_contact({"hubspotscore": score, "email": email, "lastname": "M"})
    sb.hubspot.add_to_list(list_id, [cid])
    return cid


def test_a_mistyped_list_is_never_stored_so_fixing_the_environment_is_enough(
    term: Terminal,
) -> None:
    real = term.sb.hubspot.create_list("Sell sync", "MANUAL")
    code, _, err = term("sync", "--dry-run", HUBSPOT_LIST_ID="10001")
    assert code == 2 and "HUBSPOT_LIST_ID" in err
    assert term.stored() == StoredSettings()  # a dry run stores nothing
    code, _, err = term("sync", HUBSPOT_LIST_ID="10001")  # a real run, but HubSpot says no
    assert code == 2 and "HUBSPOT_LIST_ID" in err
    assert term.stored() == StoredSettings()  # not confirmed: not stored
    code, _, err = term("sync", "--dry-run", HUBSPOT_LIST_ID=real)  # .env fixed: it works
    assert code == 0, err
    assert term.stored() == StoredSettings()
    code, _, err = term("sync", HUBSPOT_LIST_ID=real, SYNC_THRESHOLD="40")
    assert (code, err.count("differs")) == (0, 0), err
    assert term.stored() == StoredSettings(threshold=40, list_id=real)


def test_read_only_commands_use_the_environment_and_store_nothing(term: Terminal) -> None:
    real = term.sb.hubspot.create_list("Sell sync", "MANUAL")
    for argv in (["status"], ["runs"], ["audit"], ["conflicts"], ["settings"]):
        code, _, err = term(*argv, SYNC_THRESHOLD="77", HUBSPOT_LIST_ID=real)
        assert (code, err) == (0, ""), argv
    term("check")
    assert term.stored() == StoredSettings()
    shown = {s["name"]: s for s in term.json("settings")["settings"]}
    assert shown["threshold"] == {
        "name": "threshold", "in_force": "77", "stored": None, "origin": None,
        "variable": "SYNC_THRESHOLD", "environment": "77", "differs": False,
    }  # fmt: skip
    assert (shown["list"]["in_force"], shown["list"]["stored"]) == (real, None)


def test_a_stored_value_that_differs_is_named_in_one_line_by_every_command_using_it(
    term: Terminal,
) -> None:
    real = term.sb.hubspot.create_list("Sell sync", "MANUAL")
    assert term("sync", HUBSPOT_LIST_ID=real, SYNC_THRESHOLD="40")[0] == 0
    line = (
        "threshold: stored 40 (stored by the first sync) differs from SYNC_THRESHOLD=77; the "
        "stored value wins — change it with `sellsync settings set threshold 77 --reason …` "
        "or /sellsync threshold 77"
    )
    for argv in (["status"], ["sync", "--dry-run"], ["sync"], ["settings"]):
        code, out, err = term(*argv, SYNC_THRESHOLD="77")
        assert code == 0, err
        assert [x for x in (out + err).splitlines() if "differs" in x] == [
            x for x in (out + err).splitlines() if x.endswith(line)
        ]
        assert sum(x.endswith(line) for x in (out + err).splitlines()) == 1, argv
    code, out, _ = term("check", SYNC_THRESHOLD="77")
    assert f"note: {line}" in out.splitlines()
    _, _, err = term("push", "--dry-run", "nobody@x.com", SYNC_THRESHOLD="77")
    assert sum(x.endswith(line) for x in err.splitlines()) == 1
    assert term.stored().threshold == 40  # still: the stored value wins
    other = term.sb.hubspot.create_list("Other", "MANUAL")
    _, _, err = term("status", SYNC_THRESHOLD=None, HUBSPOT_LIST_ID=other)
    assert err.strip() == (
        f"sellsync: list: stored {real} (stored by the first sync) differs from "
        f"HUBSPOT_LIST_ID={other}; the stored value wins — change it with `sellsync settings "
        f"set list {other} --reason …` or /sellsync list {other}"
    )


def test_settings_set_changes_one_now_checked_audited_and_re_evaluated(term: Terminal) -> None:
    real = term.sb.hubspot.create_list("Sell sync", "MANUAL")
    term.monkeypatch.setenv("HUBSPOT_LIST_ID", real)
    member(term.sb, real, 60, "sixty@x.com")
    assert term("sync", SYNC_THRESHOLD="70")[0] == 0
    assert term.sb.sell.records("lead") == []  # 60 < 70
    code, out, err = term("settings", "set", "threshold", "50", "--reason", "warmer leads")
    assert code == 0, err
    assert out.startswith("threshold: 70 → 50")
    assert term.stored() == StoredSettings(threshold=50, list_id=real, version=1)
    assert term("sync")[0] == 0  # the member evaluated at 70 is evaluated again, at 50
    assert [r["email"] for r in term.sb.sell.records("lead")] == ["sixty@x.com"]
    events = term.json("audit")["events"]
    change = next(e for e in events if e["kind"] == "setting_changed")
    assert (change["subject"], change["actor"]) == ("threshold=50", "cli")
    assert change["detail"]["reason"] == "warmer leads" and change["detail"]["old"] == "70"
    _, _, err = term("status")  # SYNC_THRESHOLD=70 is still in the environment
    assert "threshold: stored 50 (set from the command line) differs from SYNC_THRESHOLD=70" in err


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["settings", "set", "list", "99999", "--reason", "r"], "HubSpot has no list 99999"),
        (["settings", "set", "list", "abc", "--reason", "r"], "a HubSpot list id is a number"),
        (["settings", "set", "threshold", "-3", "--reason", "r"], "threshold must be a whole"),
        (["settings", "set", "threshold", "40"], "a change needs a reason"),
        (["settings", "set", "colour", "red", "--reason", "r"], "unknown setting 'colour'"),
        (["settings", "set", "threshold"], "usage: sellsync settings"),
    ],
)
def test_settings_set_refuses_what_a_request_in_slack_would_and_changes_nothing(
    term: Terminal, argv: list[str], message: str
) -> None:
    real = term.sb.hubspot.create_list("Sell sync", "MANUAL")
    assert term("sync", HUBSPOT_LIST_ID=real)[0] == 0
    before = term.stored()
    code, _, err = term(*argv)
    assert code == 2 and message in err and len(err.strip().splitlines()) == 1, err
    assert term.stored() == before


def test_settings_set_list_needs_only_hubspot_and_stores_an_existing_list(term: Terminal) -> None:
    other = term.sb.hubspot.create_list("Webinar", "MANUAL")
    code, out, err = term(
        "settings", "set", "list", other, "--reason", "the webinar list",
        SELL_ACCESS_TOKEN=None, HUBSPOT_LIST_ID=None,
    )  # fmt: skip
    assert code == 0, err
    assert term.stored() == StoredSettings(threshold=None, list_id=other, version=1)
    assert f"→ {other}" in out


def test_settings_set_changes_the_bulk_limit_and_pauses_and_resumes_the_sync(
    term: Terminal,
) -> None:
    real = term.sb.hubspot.create_list("Sell sync", "MANUAL")
    term.monkeypatch.setenv("HUBSPOT_LIST_ID", real)
    assert term("sync")[0] == 0
    code, out, err = term("settings", "set", "bulk_limit", "5", "--reason", "go slow")
    assert code == 0, err
    assert out.startswith("bulk_limit: 100 → 5 (settings version 1;")
    shown = {s["name"]: s for s in term.json("settings")["settings"]}
    assert shown["bulk_limit"] == {
        "name": "bulk_limit", "in_force": "5", "stored": "5", "origin": "command_line",
        "variable": "SYNC_BULK_LIMIT", "environment": None, "differs": False,
    }  # fmt: skip
    assert shown["pause"]["in_force"] == "off" and shown["pause"]["variable"] is None
    code, out, err = term("settings", "set", "pause", "on", "--reason", "CRM migration")
    assert (code, out.strip()) == (0, "pause: off → on (from the next sync)"), err
    code, out, err = term("sync")
    assert code == 2 and len(err.strip().splitlines()) == 1, err
    assert "the sync is paused (by cli at " in err and ": CRM migration)" in err
    assert "sellsync settings set pause off" in err
    _, out, _ = term("status")
    assert "Paused:             by the command line since " in out
    assert term.stored().version == 1  # a pause re-plans nobody
    code, _, err = term("settings", "set", "pause", "maybe", "--reason", "r")
    assert code == 2 and "pause is on or off, not 'maybe'" in err
    assert term("settings", "set", "pause", "off", "--reason", "done")[0] == 0
    code, _, err = term("sync")
    assert code == 0, err
    _, _, err = term("status", SYNC_BULK_LIMIT="100")  # set now: the stored 5 wins
    assert (
        "bulk_limit: stored 5 (set from the command line) differs from SYNC_BULK_LIMIT=100" in err
    )
