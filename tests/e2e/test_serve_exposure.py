"""What ``sellsync serve`` exposes (issue 14 item 9): it listens on ``BIND_ADDRESS`` only, and
with ``METRICS_TOKEN`` set ``/metrics`` answers only a request bearing the token while
``/healthz`` tells others no more than ok or not."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from bot.serve import _listen
from bot.settings import AppSettings
from sandbox.server import Sandbox
from sync.errors import ConfigError

TOKEN = "metrics-token-5b0c9e7d41f2"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def listening_addresses(port: int) -> set[str]:
    """The local addresses of this host's TCP sockets listening on ``port`` (from /proc)."""
    found = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        if not os.path.exists(table):
            continue
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            address, hex_port = fields[1].split(":")
            if int(hex_port, 16) == port and fields[3] == "0A":  # LISTEN
                found.add(address)
    return found


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[str, int]]:
    with Sandbox(seed="demo") as sb:
        port = free_port()
        env = {
            k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "HUBSPOT_", "SELL_"))
        }
        env |= sb.settings_env(f"sqlite:///{tmp_path}/serve.db")
        env |= {
            "PORT": str(port),
            "BIND_ADDRESS": "127.0.0.1",
            "METRICS_TOKEN": TOKEN,
            "LOG_LEVEL": "WARNING",
        }
        proc = subprocess.Popen(
            [sys.executable, "-m", "bot.cli", "serve", "--no-scheduler"],
            env=env,
            cwd=tmp_path,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        url = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 60
            while True:
                try:
                    if httpx.get(url + "/healthz", timeout=1).status_code in (200, 503):
                        break
                except httpx.TransportError:
                    pass
                if proc.poll() is not None or time.monotonic() > deadline:
                    out = proc.stdout.read() if proc.stdout else ""
                    raise AssertionError(f"serve did not start: {out}")
                time.sleep(0.1)
            yield url, port
        finally:
            proc.terminate()
            proc.communicate(timeout=30)  # reads and closes its output


@pytest.mark.slow
def test_serve_listens_on_bind_address_and_guards_metrics_with_the_token(
    served: tuple[str, int],
) -> None:
    url, port = served
    assert listening_addresses(port) == {"0100007F"}  # 127.0.0.1 only
    refused = httpx.get(url + "/metrics")
    assert refused.status_code == 401 and "sellsync_" not in refused.text
    assert httpx.get(url + "/metrics", headers={"authorization": "Bearer nope"}).status_code == 401
    allowed = httpx.get(url + "/metrics", headers={"authorization": f"Bearer {TOKEN}"})
    assert allowed.status_code == 200 and "sellsync_database_up 1.0" in allowed.text
    assert httpx.get(url + "/healthz").json() == {"ok": True}
    detailed = httpx.get(url + "/healthz", headers={"authorization": f"Bearer {TOKEN}"}).json()
    assert detailed["database"] == "ok" and "last_run" in detailed


def test_bind_address_is_an_ip_address_of_this_host() -> None:
    assert AppSettings(_env_file=None).bind_address == "0.0.0.0"  # type: ignore[call-arg]
    assert AppSettings(_env_file=None, bind_address="::1").bind_address == "::1"  # type: ignore[call-arg]
    with pytest.raises(ValueError, match="use an IP address"):
        AppSettings(_env_file=None, bind_address="my-host")  # type: ignore[call-arg]
    sock = _listen(0, "127.0.0.1")
    try:
        assert sock.getsockname()[0] == "127.0.0.1"
    finally:
        sock.close()
    with pytest.raises(ConfigError, match="BIND_ADDRESS"):
        _listen(0, "192.0.2.1")  # TEST-NET-1: no host has it
