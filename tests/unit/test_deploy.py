"""The container files agree with the code: compose runs the Procfile's commands, the image runs
as a non-root user with a health check on /healthz, and ``.env.example`` names every setting of
:class:`bot.settings.AppSettings` (and nothing else), with placeholders where secrets go."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

import bot.cli as cli
import bot.cli_services as cli_services
from bot.settings import SECRET_FIELDS, AppSettings, is_placeholder

ROOT = Path(__file__).resolve().parents[2]


def _procfile() -> dict[str, str]:
    lines = (ROOT / "Procfile").read_text().splitlines()
    return {k.strip(): v.strip() for k, v in (line.split(":", 1) for line in lines if line.strip())}


def _compose() -> dict[str, Any]:
    data = yaml.safe_load((ROOT / "compose.yaml").read_text())
    assert isinstance(data, dict)
    return data


def _example() -> dict[str, str]:
    """NAME=value lines of .env.example (comments and blank lines skipped)."""
    pairs = {}
    for line in (ROOT / ".env.example").read_text().splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            name, sep, value = line.partition("=")
            assert sep, f"not NAME=value: {line!r}"
            pairs[name.strip()] = value.strip()
    return pairs


def test_compose_services_run_the_procfile_commands() -> None:
    services = _compose()["services"]
    commands = {
        name: " ".join(s["command"]) if isinstance(s["command"], list) else s["command"]
        for name, s in services.items()
        if "command" in s
    }
    assert commands == _procfile()


def test_compose_has_postgresql_and_starts_web_and_worker_after_the_release_step() -> None:
    services = _compose()["services"]
    assert services["db"]["image"].startswith("postgres:")
    assert "healthcheck" in services["db"]
    assert services["release"]["depends_on"]["db"]["condition"] == "service_healthy"
    for name in ("web", "worker"):
        assert services[name]["depends_on"] == {
            "release": {"condition": "service_completed_successfully"}
        }
    for name in ("release", "web", "worker"):
        url = services[name]["environment"]["DATABASE_URL"]
        assert url.startswith("postgresql://") and "@db:5432/" in url
        assert services[name]["env_file"] == ".env"
    assert services["release"]["restart"] == "no"
    # the image's /healthz check fits the web process only
    assert services["worker"]["healthcheck"] == {"disable": True}
    assert "healthcheck" not in services["web"]


def test_dockerfile_is_slim_non_root_and_checks_healthz() -> None:
    text = (ROOT / "Dockerfile").read_text()
    stages = re.findall(r"^FROM (\S+)", text, re.M)
    assert stages and all(s.endswith("-slim") for s in stages)
    final = text.rsplit("\nFROM ", 1)[1]
    user = re.findall(r"^USER (\S+)", final, re.M)
    assert user and user[-1] not in ("root", "0")
    assert re.search(r"^HEALTHCHECK .*", final, re.M)
    assert "/healthz" in final.split("HEALTHCHECK", 1)[1].split("\nCMD", 1)[0]
    cmd = re.findall(r"^CMD \[(.*)\]", final, re.M)[-1]
    assert " ".join(p.strip().strip('"') for p in cmd.split(",")) == _procfile()["web"]
    ignored = (ROOT / ".dockerignore").read_text().splitlines()
    assert ".env" in ignored and ".git" in ignored  # no secrets or history in the image


def test_env_example_names_every_setting_and_nothing_else() -> None:
    settings = {name.upper() for name in AppSettings.model_fields}
    assert set(_example()) == settings


def test_env_example_leaves_placeholders_where_secrets_go() -> None:
    example = _example()
    for name in SECRET_FIELDS:
        value = example[name.upper()]
        assert is_placeholder(value), f"{name.upper()}={value} looks like a real value"


def test_an_unedited_env_example_stops_with_exit_2_naming_a_placeholder(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    for name in AppSettings.model_fields:
        monkeypatch.delenv(name.upper(), raising=False)
    (tmp_path / ".env").write_text((ROOT / ".env.example").read_text())
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(cli_services, "_SETTINGS", None)
    assert cli.main(["sync"]) == 2
    err = capsys.readouterr().err
    assert "HUBSPOT_ACCESS_TOKEN is a placeholder" in err


def test_check_on_an_unedited_env_example_names_what_to_fill_in_without_calling_out(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    for name in AppSettings.model_fields:
        monkeypatch.delenv(name.upper(), raising=False)
    (tmp_path / ".env").write_text((ROOT / ".env.example").read_text())
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(cli_services, "_SETTINGS", None)
    assert cli.main(["check"]) == 2
    out = capsys.readouterr().out
    assert "✓ database" in out
    for line in (
        "✗ HubSpot token: set HUBSPOT_ACCESS_TOKEN",
        "✗ Sell token: set SELL_ACCESS_TOKEN",
        "✗ Slack tokens: set SLACK_BOT_TOKEN",
    ):
        assert line in out
