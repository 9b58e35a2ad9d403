"""The container files agree with the code: compose runs the Procfile's commands, the image runs
as a non-root user with a health check on /healthz and installs the pinned, hash-checked versions
of ``requirements.lock``, the worker's health check reads its heartbeat, PostgreSQL has no default
password, ``.env.example`` names every setting of :class:`bot.settings.AppSettings` (and only
compose's password besides), with placeholders where secrets go, and the package data exists."""

from __future__ import annotations

import re
import tomllib
from importlib import metadata
from pathlib import Path
from typing import Any

import pytest
import yaml
from packaging.markers import Marker
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

import bot.cli as cli
import bot.cli_services as cli_services
from bot.cli_args import build_parser
from bot.settings import SECRET_FIELDS, AppSettings, is_placeholder

ROOT = Path(__file__).resolve().parents[2]

#: What compose reads from ``.env`` for itself (never a setting of sellsync).
COMPOSE_ONLY = {"POSTGRES_PASSWORD"}

#: The image's interpreter and platform, which the lock is compiled for.
IMAGE_MARKERS = {
    "python_version": "3.12",
    "python_full_version": "3.12.0",
    "sys_platform": "linux",
    "platform_system": "Linux",
    "os_name": "posix",
    "platform_python_implementation": "CPython",
    "implementation_name": "cpython",
    "platform_machine": "x86_64",
}


def _procfile() -> dict[str, str]:
    lines = (ROOT / "Procfile").read_text().splitlines()
    return {k.strip(): v.strip() for k, v in (line.split(":", 1) for line in lines if line.strip())}


def _compose() -> dict[str, Any]:
    data = yaml.safe_load((ROOT / "compose.yaml").read_text())
    assert isinstance(data, dict)
    return data


def _pyproject() -> dict[str, Any]:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())


def _lock() -> dict[str, tuple[str, list[str]]]:
    """requirements.lock as {canonical name: (the line's specifier, its hashes)}."""
    text = (ROOT / "requirements.lock").read_text()
    entries: dict[str, tuple[str, list[str]]] = {}
    for block in re.split(r"\n(?=\S)", text):
        lines = [ln.split("#", 1)[0].strip().rstrip("\\").strip() for ln in block.splitlines()]
        lines = [ln for ln in lines if ln]
        if not lines:
            continue
        req = Requirement(lines[0])
        hashes = [h.removeprefix("--hash=") for h in lines[1:] if h.startswith("--hash=")]
        assert len(hashes) == len(lines) - 1, f"not a hash line under {lines[0]}"
        entries[canonicalize_name(req.name)] = (str(req.specifier), hashes)
    return entries


def _compose_text(env: dict[str, str]) -> str:
    """compose.yaml with its ``${...}`` interpolated as ``docker compose`` does, for what it uses:
    ``${V}``, ``${V:-default}`` and ``${V:?message}`` (an error when V is unset or empty)."""

    def value(match: re.Match[str]) -> str:
        name, op, arg = match.group(1), match.group(2) or "", match.group(3) or ""
        current = env.get(name, "")
        if op == ":?" and not current:
            raise ValueError(f"required variable {name} is missing a value: {arg}")
        if op == ":-" and not current:
            return arg
        return current

    return re.sub(r"\$\{(\w+)(?:(:\?|:-)([^}]*))?\}", value, (ROOT / "compose.yaml").read_text())


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
    # the image's /healthz check fits the web process only; the worker's reads its heartbeat
    assert services["release"]["healthcheck"] == {"disable": True}
    assert "healthcheck" not in services["web"]


def test_the_worker_is_healthy_by_its_heartbeat() -> None:
    check = _compose()["services"]["worker"]["healthcheck"]
    assert check["test"] == ["CMD", "sellsync", "worker", "--healthcheck"]
    assert "disable" not in check
    # the command is real: the worker's grammar has the flag (and it needs no API token)
    assert build_parser().parse_args(["worker", "--healthcheck"]).healthcheck is True
    # checked no more often than the scheduler beats, with time to start first
    seconds = {k: int(str(check[k]).removesuffix("s")) for k in ("interval", "start_period")}
    assert seconds["interval"] >= 30 and seconds["start_period"] >= 30


def test_compose_refuses_to_start_without_a_database_password() -> None:
    with pytest.raises(ValueError, match="POSTGRES_PASSWORD"):
        _compose_text({})
    with pytest.raises(ValueError, match="POSTGRES_PASSWORD"):
        _compose_text({"POSTGRES_PASSWORD": ""})  # as in an unedited .env.example
    assert "POSTGRES_PASSWORD:-" not in (ROOT / "compose.yaml").read_text()
    services = yaml.safe_load(_compose_text({"POSTGRES_PASSWORD": "b7e1c0ffee"}))["services"]
    assert services["db"]["environment"]["POSTGRES_PASSWORD"] == "b7e1c0ffee"
    for name in ("release", "web", "worker"):
        url = services[name]["environment"]["DATABASE_URL"]
        assert url == "postgresql://sellsync:b7e1c0ffee@db:5432/sellsync"


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
    assert set(_example()) == settings | COMPOSE_ONLY
    assert not COMPOSE_ONLY & settings


def test_env_example_leaves_the_database_password_empty_so_compose_refuses_it() -> None:
    assert _example()["POSTGRES_PASSWORD"] == ""


def test_the_lock_pins_every_runtime_dependency_with_hashes() -> None:
    lock = _lock()
    for name, (spec, hashes) in lock.items():
        assert re.fullmatch(r"==[\w.+!-]+", spec), f"{name}{spec} is not pinned with =="
        assert hashes and all(re.fullmatch(r"sha256:[0-9a-f]{64}", h) for h in hashes), name
    for line in _pyproject()["project"]["dependencies"]:
        wanted = Requirement(line)
        name = canonicalize_name(wanted.name)
        assert name in lock, f"{wanted.name} is a dependency but not in requirements.lock"
        pinned = Version(lock[name][0].removeprefix("=="))
        assert wanted.specifier.contains(pinned, prereleases=True), f"{name}=={pinned} vs {wanted}"
    assert "psycopg-binary" in lock  # the extra of psycopg[binary]
    project = _pyproject()["project"]
    runtime = {canonicalize_name(Requirement(r).name) for r in project["dependencies"]}
    dev = {canonicalize_name(Requirement(r).name) for r in project["optional-dependencies"]["dev"]}
    assert not (dev - runtime) & set(lock)  # no test tools in the image


def test_the_lock_holds_what_its_packages_need_on_the_image() -> None:
    """Closed under dependencies (as far as the installed metadata of the same versions says):
    the image installs with --no-deps, so a dependency missing here would be missing there."""
    lock = _lock()
    wanted: list[tuple[str, str]] = [
        (canonicalize_name(Requirement(r).name), extra)
        for r in _pyproject()["project"]["dependencies"]
        for extra in (Requirement(r).extras or {""})
    ]
    seen: set[tuple[str, str]] = set()
    checked = 0
    while wanted:
        name, extra = wanted.pop()
        if (name, extra) in seen:
            continue
        seen.add((name, extra))
        try:
            dist = metadata.distribution(name)
        except metadata.PackageNotFoundError:
            continue
        if "==" + dist.version != lock[name][0]:
            continue  # another version here: its metadata says nothing about the locked one
        checked += 1
        for text in dist.requires or []:
            req = Requirement(text)
            env = {**IMAGE_MARKERS, "extra": extra}
            if req.marker is not None and not Marker(str(req.marker)).evaluate(env):
                continue
            dep = canonicalize_name(req.name)
            assert dep in lock, f"{name} needs {req}, which requirements.lock lacks"
            wanted.extend((dep, e) for e in (req.extras or {""}))
    assert checked >= len(_pyproject()["project"]["dependencies"]) // 2  # it did look


def test_the_image_installs_the_lock_and_the_project_without_resolving() -> None:
    text = (ROOT / "Dockerfile").read_text()
    build, final = text.rsplit("\nFROM ", 1)
    assert re.search(r"^RUN pip wheel .*--no-deps .*\.$", build, re.M)
    assert re.search(r"^COPY requirements\.lock ", final, re.M)
    installs = re.findall(r"pip install [^&\n]*", final)
    assert installs and all("--no-deps" in i for i in installs), installs
    assert any("--require-hashes -r /tmp/requirements.lock" in i for i in installs)
    assert "pip check" in final
    assert "requirements.lock" not in (ROOT / ".dockerignore").read_text()


def test_the_package_data_pyproject_declares_exists() -> None:
    declared = _pyproject()["tool"]["setuptools"]["package-data"]
    for package, patterns in declared.items():
        for pattern in patterns:
            assert list((ROOT / package).glob(pattern)), f"{package}/{pattern} matches no file"


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
