"""Run the three stand-in servers (HubSpot, Sell, Slack Web API) on loopback.

::

    with Sandbox(seed="demo") as sandbox:
        sandbox.hubspot_url      # "http://127.0.0.1:54321"   (no trailing slash)
        sandbox.sell_url         # "http://127.0.0.1:54322"
        sandbox.slack_url        # "http://127.0.0.1:54323/api/"  (WebClient base_url)
        sandbox.hubspot.inject("429", path_prefix="/crm/objects/2026-03/contacts/batch/read")
        sandbox.sell.count("GET", "/v2/leads")

Each server is a Starlette app under uvicorn in a daemon thread, bound before ``start`` returns
(port 0 picks a free one). ``stop`` ends them and waits for their threads.

Tokens: HubSpot accepts ``DEFAULT_HUBSPOT_TOKEN`` unless told otherwise; Sell's default token is
64 characters long because Zendesk's ``basecrm`` client refuses any other length; Slack takes any
``xox...`` token.
"""

from __future__ import annotations

import os
import signal
import socket
import sys
import threading
import time
from types import TracebackType
from typing import TextIO

import uvicorn

from sandbox.core import ConnectionRegistry, ServiceState, build_app
from sandbox.hubspot import HubSpotState
from sandbox.hubspot_webhooks import DEFAULT_CLIENT_SECRET
from sandbox.limits import SandboxLimits
from sandbox.seed import (
    SLACK_APPROVAL_CHANNEL,
    SLACK_MANAGER_GROUP,
    SLACK_SUMMARY_CHANNEL,
    SLACK_USERS,
    SeedSummary,
    apply_seed,
)
from sandbox.sell import SellState
from sandbox.slack import SlackState

__all__ = [
    "DEFAULT_HUBSPOT_TOKEN",
    "DEFAULT_SELL_TOKEN",
    "DEFAULT_SLACK_TOKEN",
    "Sandbox",
    "SandboxLimits",
    "run_forever",
]

DEFAULT_HUBSPOT_TOKEN = "sandbox-hubspot-token"
DEFAULT_SELL_TOKEN = "sandbox-sell-token".ljust(64, "0")  # basecrm wants exactly 64 characters
DEFAULT_SLACK_TOKEN = "xoxb-sandbox-token"
DEFAULT_SIGNING_SECRET = "sandbox-signing-secret"  # nothing checks it against the sandbox
#: Where ``run_forever`` sends HubSpot's webhooks unless told: ``sellsync serve``'s default port.
DEFAULT_WEBHOOK_URL = "http://127.0.0.1:3000/hubspot/webhooks"


class _ServerThread:
    """One uvicorn server on an already bound loopback socket, in a daemon thread."""

    def __init__(self, state: ServiceState, port: int) -> None:
        self.state = state
        # IPPROTO_TCP explicitly: asyncio turns Nagle off (TCP_NODELAY) only for sockets whose
        # proto says TCP, and without it every response body waits ~40 ms for a delayed ACK.
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            self.sock.bind(("127.0.0.1", port))
        except OSError as exc:
            self.sock.close()
            raise OSError(
                f"the {state.service} sandbox cannot listen on port {port}: {exc}"
            ) from exc
        self.port = self.sock.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        state.base_url = self.url
        connections = ConnectionRegistry()
        config = uvicorn.Config(
            build_app(state, connections),
            log_config=None,
            log_level="warning",
            access_log=False,
            lifespan="off",
            http=connections.protocol_class(),
            ws="none",
            loop="asyncio",
            server_header=False,
            timeout_graceful_shutdown=2,
        )
        self.server = uvicorn.Server(config)
        self.error: BaseException | None = None
        self.thread = threading.Thread(
            target=self._run, name=f"sandbox-{state.service}", daemon=True
        )

    def _run(self) -> None:
        try:
            self.server.run(sockets=[self.sock])
        except BaseException as exc:  # reported by start()
            self.error = exc

    def start(self) -> None:
        self.thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError(
                    f"the {self.state.service} sandbox did not start"
                ) from self.error
            time.sleep(0.005)

    def request_stop(self) -> None:
        self.state.stopping.set()
        self.server.should_exit = True

    def join(self) -> None:
        if self.thread.is_alive():
            self.thread.join(timeout=10)
        self.sock.close()


class Sandbox:
    """The three stand-in servers, seeded, as a context manager."""

    def __init__(
        self,
        *,
        seed: str = "empty",
        hubspot_port: int = 0,
        sell_port: int = 0,
        slack_port: int = 0,
        limits: SandboxLimits | None = None,
        hubspot_token: str = DEFAULT_HUBSPOT_TOKEN,
        sell_token: str = DEFAULT_SELL_TOKEN,
        webhook_url: str | None = None,
        webhook_secret: str = DEFAULT_CLIENT_SECRET,
    ) -> None:
        self.seed = seed
        self.limits = limits if limits is not None else SandboxLimits()
        self.hubspot = HubSpotState(self.limits, token=hubspot_token)
        self.sell = SellState(self.limits, token=sell_token)
        self.slack = SlackState(self.limits)
        self.hubspot_token = hubspot_token
        self.sell_token = sell_token
        self.slack_token = DEFAULT_SLACK_TOKEN
        self.seed_summary: SeedSummary = apply_seed(seed, self.hubspot, self.sell, self.slack)
        # HubSpot's webhooks (sandbox.hubspot_webhooks) go to webhook_url once started
        self.webhook_url = webhook_url
        self.webhook_secret = webhook_secret
        self._ports = {"hubspot": hubspot_port, "sell": sell_port, "slack": slack_port}
        self._threads: list[_ServerThread] = []
        self.hubspot_url = ""
        self.sell_url = ""
        self.slack_url = ""

    @property
    def states(self) -> tuple[HubSpotState, SellState, SlackState]:
        return self.hubspot, self.sell, self.slack

    def start(self) -> Sandbox:
        if self._threads:
            return self
        try:
            for state in self.states:
                state.stopping.clear()
                server = _ServerThread(state, self._ports[state.service])
                self._threads.append(server)
                server.start()
        except BaseException:
            self.stop()
            raise
        self.hubspot_url = self.hubspot.base_url
        self.sell_url = self.sell.base_url
        self.slack_url = f"{self.slack.base_url}/api/"
        if self.webhook_url:
            self.hubspot.webhooks.configure(self.webhook_url, secret=self.webhook_secret)
        return self

    def stop(self) -> None:
        self.hubspot.webhooks.stop()
        for server in self._threads:
            server.request_stop()
        for server in self._threads:
            server.join()
        self._threads.clear()

    def reset(self, seed: str | None = None) -> None:
        """Back to a fresh seed (the same one by default): data, call logs, faults, counters."""
        self.seed = seed or self.seed
        for state in self.states:
            state.reset()
        with self.hubspot.webhooks.quiet():  # a seed is not a change HubSpot reports
            self.seed_summary = apply_seed(self.seed, self.hubspot, self.sell, self.slack)

    def env(self) -> dict[str, str]:
        """The sellsync settings that point it at this sandbox."""
        env = {
            "HUBSPOT_BASE_URL": self.hubspot_url,
            "HUBSPOT_ACCESS_TOKEN": self.hubspot_token,
            "HUBSPOT_PORTAL_ID": str(self.hubspot.portal_id),
        }
        if self.hubspot.demo_list_id:
            env["HUBSPOT_LIST_ID"] = self.hubspot.demo_list_id
        env.update(
            SELL_BASE_URL=self.sell_url,
            SELL_ACCESS_TOKEN=self.sell_token,
            SLACK_API_URL=self.slack_url,
            SLACK_BOT_TOKEN=self.slack_token,
        )
        if self.webhook_url:  # the app's client secret signs the webhooks; where they go
            env["HUBSPOT_CLIENT_SECRET"] = self.webhook_secret
            public = self.webhook_url.removesuffix("/hubspot/webhooks")
            if public != self.webhook_url:
                env["PUBLIC_URL"] = public
        return env

    def settings_env(self, database_url: str = "sqlite:///sellsync.db") -> dict[str, str]:
        """A complete sellsync environment for this sandbox: :meth:`env` plus every other setting
        ``sellsync check`` looks at (database, signing secret, and with the demo seed the summary
        and approval channels and the managers), so ``check`` passes exactly as printed."""
        env = {"DATABASE_URL": database_url, **self.env()}
        env["SLACK_SIGNING_SECRET"] = DEFAULT_SIGNING_SECRET
        if self.seed == "demo":
            env["SLACK_SUMMARY_CHANNEL"] = SLACK_SUMMARY_CHANNEL
            env["SLACK_APPROVAL_CHANNEL"] = SLACK_APPROVAL_CHANNEL
            env["SLACK_MANAGER_GROUP"] = SLACK_MANAGER_GROUP
            env["SLACK_MANAGER_IDS"] = ",".join(
                user for user in SLACK_USERS if user.startswith("UMGR")
            )
        return env

    def __enter__(self) -> Sandbox:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


def run_forever(
    *,
    seed: str = "demo",
    hubspot_port: int = 0,
    sell_port: int = 0,
    slack_port: int = 0,
    limits: SandboxLimits | None = None,
    out: TextIO | None = None,
    webhook_url: str | None = None,
) -> None:
    """Serve until Ctrl-C, after printing the settings that point sellsync at the servers.

    HubSpot's webhooks go to ``webhook_url`` (default: ``SANDBOX_WEBHOOK_URL``, else where
    ``sellsync serve`` listens by default; ``off``: none are sent)."""
    out = out or sys.stdout
    if webhook_url is None:
        webhook_url = os.environ.get("SANDBOX_WEBHOOK_URL") or DEFAULT_WEBHOOK_URL
    with Sandbox(
        seed=seed,
        hubspot_port=hubspot_port,
        sell_port=sell_port,
        slack_port=slack_port,
        limits=limits,
        webhook_url=None if webhook_url.strip().lower() == "off" else webhook_url,
    ) as sandbox:
        print(f"# sellsync sandbox running (seed: {seed}); Ctrl-C stops it.", file=out)
        print("# Paste these lines into .env (or export them); `sellsync check` passes.", file=out)
        for name, value in sandbox.settings_env().items():
            print(f"{name}={value}", file=out)
        print(f"# response_url receiver: {sandbox.slack.base_url}/webhook/<name>", file=out)
        if sandbox.webhook_url:
            print(
                f"# HubSpot webhooks: every contact change is POSTed to {sandbox.webhook_url}, "
                "signed with HUBSPOT_CLIENT_SECRET (SANDBOX_WEBHOOK_URL=off: none)",
                file=out,
            )
        print("# control API on each server: <base>/_sandbox/{info,calls,faults,limits}", file=out)
        out.flush()
        # Ctrl-C or SIGTERM stops it, even when started in the background (where a shell
        # leaves SIGINT ignored).
        stop = threading.Event()
        previous = {
            sig: signal.signal(sig, lambda *_: stop.set())
            for sig in (signal.SIGINT, signal.SIGTERM)
        }
        try:
            while not stop.wait(0.5):
                pass
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)
        print("sandbox stopped", file=out)
