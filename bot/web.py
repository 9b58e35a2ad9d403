"""HTTP serving: Slack's requests, ``/healthz`` and ``/metrics`` on one port; and ``serve``.

* ``POST /slack/events`` — commands, interactivity and events: size-capped, verified and parsed
  by ``bot.edge`` before Bolt sees them, then dispatched. ``App.dispatch`` blocks until the
  listener acks (up to 3 s), so it runs on Starlette's thread pool, never on the event loop: one
  slow ack does not hold up the others.
* ``GET /healthz`` — JSON: is the database reachable, what was the last run. 200 or 503.
* ``GET /metrics`` — Prometheus text: runs by status, open conflicts, pending requests, links by
  state, the last run's timestamps.

:func:`serve` runs the bot (HTTP, or Socket Mode when ``SLACK_APP_TOKEN`` is set) and, unless
told not to, the scheduler in the same process.
"""

from __future__ import annotations

import errno
import logging
import signal
import socket
import threading
import time
from collections.abc import Callable
from typing import Any

import uvicorn
from slack_bolt import App
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from bot.app import SellsyncApp, create_app
from bot.edge import slack_endpoint
from bot.scheduler import build_scheduler, notifier_for
from bot.settings import AppSettings
from sync.errors import ConfigError, ServiceUnavailable
from sync.service import SyncService

log = logging.getLogger("sellsync.web")

SLACK_PATH = "/slack/events"
RUN_STATUSES = ("ok", "errors", "failed", "running")
LINK_STATES = ("active", "tombstoned", "hubspot_deleted")
#: /metrics counts runs among this many most recent ones (the store keeps them all).
RUNS_WINDOW = 1000


def health(service: SyncService) -> tuple[int, dict[str, Any]]:
    """(HTTP status, body): the database answers, and the last run."""
    try:
        runs = service.store.recent_runs(1)
    except Exception as exc:  # reported as "unreachable"; the details (a URL …) stay in the log
        log.warning("health check: database unreachable (%s)", type(exc).__name__)
        return 503, {"ok": False, "database": "unreachable", "last_run": None}
    last = runs[0] if runs else None
    return 200, {
        "ok": True,
        "database": "ok",
        "last_run": None
        if last is None
        else {
            "id": last.id,
            "trigger": last.trigger,
            "status": last.status,
            "started_at": last.started_at.isoformat(),
            "finished_at": last.finished_at.isoformat() if last.finished_at else None,
        },
    }


def _metric(lines: list[str], name: str, help_text: str, samples: dict[str, float] | float) -> None:
    lines.append(f"# HELP {name} {help_text}")
    lines.append(f"# TYPE {name} gauge")
    if isinstance(samples, dict):
        for labels, value in samples.items():
            lines.append(f"{name}{{{labels}}} {value:g}")
    else:
        lines.append(f"{name} {samples:g}")


def metrics_text(service: SyncService) -> str:
    """The Prometheus exposition of what the store knows."""
    store = service.store
    lines: list[str] = []
    try:
        runs = store.recent_runs(RUNS_WINDOW)
        by_status = dict.fromkeys(RUN_STATUSES, 0)
        for run in runs:
            by_status[run.status] = by_status.get(run.status, 0) + 1
        links = store.count_links()
        conflicts = store.count_conflicts()
        pending = len(store.pending_requests())
    except Exception as exc:
        log.warning("metrics: database unreachable (%s)", type(exc).__name__)
        _metric(lines, "sellsync_database_up", "1 when the database answers.", 0)
        return "\n".join(lines) + "\n"
    _metric(lines, "sellsync_database_up", "1 when the database answers.", 1)
    _metric(
        lines,
        "sellsync_runs",
        f"Sync runs by status, among the {RUNS_WINDOW} most recent.",
        {f'status="{s}"': float(n) for s, n in by_status.items()},
    )
    _metric(lines, "sellsync_open_conflicts", "Merge conflicts waiting for review.", conflicts)
    _metric(
        lines,
        "sellsync_pending_requests",
        "Settings change requests waiting for approval.",
        pending,
    )
    states = dict.fromkeys(LINK_STATES, 0) | links
    _metric(
        lines,
        "sellsync_links",
        "Sell record ↔ HubSpot contact links by state.",
        {f'state="{s}"': float(n) for s, n in states.items()},
    )
    last = runs[0] if runs else None
    _metric(
        lines,
        "sellsync_last_run_timestamp_seconds",
        "When the last sync run started (0: never).",
        last.started_at.timestamp() if last else 0,
    )
    finished = next((r for r in runs if r.finished_at is not None), None)
    _metric(
        lines,
        "sellsync_last_run_finished_timestamp_seconds",
        "When the last finished sync run ended (0: never).",
        finished.finished_at.timestamp() if finished and finished.finished_at else 0,
    )
    success = next((r for r in runs if r.status in ("ok", "errors") and r.finished_at), None)
    _metric(
        lines,
        "sellsync_last_success_timestamp_seconds",
        "When the last sync run that did not fail ended (0: never).",
        success.finished_at.timestamp() if success and success.finished_at else 0,
    )
    return "\n".join(lines) + "\n"


def build_web(app: App, service: SyncService, *, slack_events: bool = True) -> Starlette:
    """The ASGI app: ``/slack/events`` (unless Socket Mode brings the requests), health, metrics."""

    async def healthz(request: Request) -> Response:
        status, payload = await run_in_threadpool(health, service)
        return JSONResponse(payload, status_code=status)

    async def metrics(request: Request) -> Response:
        text = await run_in_threadpool(metrics_text, service)
        return PlainTextResponse(text, media_type="text/plain; version=0.0.4; charset=utf-8")

    routes = [
        Route("/healthz", healthz, methods=["GET"]),
        Route("/metrics", metrics, methods=["GET"]),
    ]
    if slack_events:
        if not isinstance(app, SellsyncApp):
            raise TypeError("/slack/events serves only an app built by bot.app.create_app")
        routes.append(
            Route(SLACK_PATH, slack_endpoint(app.dispatch, app.verifier), methods=["POST"])
        )
    return Starlette(routes=routes)


def _config(
    starlette_app: Starlette, host: str, port: int, log_level: str = "info"
) -> uvicorn.Config:
    return uvicorn.Config(
        starlette_app,
        host=host,
        port=port,
        log_config=None,  # the process's logging (with its secret filter) applies
        log_level=log_level,
        access_log=False,
        lifespan="off",
        ws="none",
        server_header=False,
        timeout_graceful_shutdown=5,
    )


def serve_http(app: App, starlette_app: Starlette, port: int, *, host: str = "0.0.0.0") -> None:
    """Serve ``starlette_app`` (which mounts ``app``) with uvicorn until SIGINT/SIGTERM."""
    del app  # mounted in starlette_app; named so the call reads as what it serves
    log.info("listening on %s:%s (%s, /healthz, /metrics)", host, port, SLACK_PATH)
    uvicorn.Server(_config(starlette_app, host, port)).run()


class BackgroundServer:
    """``starlette_app`` on a loopback port in a thread (the demo and the tests)::

    with BackgroundServer(build_web(app, service)) as server:
        httpx.post(server.url + "/slack/events", ...)
    """

    def __init__(self, starlette_app: Starlette, *, host: str = "127.0.0.1", port: int = 0) -> None:
        # IPPROTO_TCP lets asyncio set TCP_NODELAY on accepted connections (no Nagle delays)
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind((host, port))
        self.url = f"http://{host}:{self.sock.getsockname()[1]}"
        self.server = uvicorn.Server(_config(starlette_app, host, port, "warning"))
        self.thread = threading.Thread(
            target=self.server.run,
            kwargs={"sockets": [self.sock]},
            name="sellsync-http",
            daemon=True,
        )

    def start(self) -> BackgroundServer:
        self.thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError("the HTTP server did not start")
            time.sleep(0.005)
        return self

    def stop(self) -> None:
        self.server.should_exit = True
        if self.thread.is_alive():
            self.thread.join(timeout=10)
        self.sock.close()

    def __enter__(self) -> BackgroundServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


class _Stopped(Exception):
    """SIGTERM arrived (uvicorn re-raises it once it has shut down gracefully)."""


def _on_sigterm(signum: int, frame: object) -> None:
    raise _Stopped()


def _listen(port: int, host: str = "0.0.0.0") -> socket.socket:
    """The HTTP socket, bound before anything else starts: a busy port is a setting to change
    (exit 2 naming PORT), not a log line saying "listening" followed by exit 3."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        reason = (
            "is already in use"
            if exc.errno == errno.EADDRINUSE
            else f"cannot be used ({exc.strerror})"
        )
        raise ConfigError("PORT", f"{port} {reason}: stop the other process or set PORT") from None
    return sock


def serve(
    settings: AppSettings,
    service: SyncService,
    *,
    scheduler: bool,
    preflight: Callable[[], None] | None = None,
) -> None:
    """``sellsync serve``: the bot (HTTP, or Socket Mode with ``SLACK_APP_TOKEN``) plus, when
    ``scheduler`` is true, the schedules, in this process, until SIGTERM or Ctrl-C; then the
    scheduler and the socket are shut down before returning. The port is taken first, then
    ``preflight`` runs (``sellsync check`` at start), then Slack is contacted."""
    sock = _listen(settings.port)
    schedules = None
    socket_handler = None
    in_main = threading.current_thread() is threading.main_thread()
    previous = signal.signal(signal.SIGTERM, _on_sigterm) if in_main else None
    try:
        if preflight is not None:
            preflight()
        try:
            app = create_app(settings, service)
        except OSError as exc:
            raise ServiceUnavailable("Slack", f"{_unreachable} ({type(exc).__name__})") from None
        if scheduler:
            schedules = build_scheduler(settings, service, notifier_for(settings, app.client))
            schedules.start()
        token = settings.slack_app_token.get_secret_value() if settings.slack_app_token else ""
        if token:
            from slack_bolt.adapter.socket_mode import SocketModeHandler

            socket_handler = SocketModeHandler(app, token)
            try:
                socket_handler.connect()  # type: ignore[no-untyped-call]
            except OSError as exc:
                raise ServiceUnavailable(
                    "Slack", f"{_unreachable} for Socket Mode ({type(exc).__name__})"
                ) from None
            log.info("Socket Mode connected; HTTP serves /healthz and /metrics only")
        web = build_web(app, service, slack_events=socket_handler is None)
        log.info("listening on 0.0.0.0:%s (%s, /healthz, /metrics)", settings.port, SLACK_PATH)
        uvicorn.Server(_config(web, "0.0.0.0", settings.port)).run(sockets=[sock])
    except (_Stopped, KeyboardInterrupt):
        log.info("stopping")
    finally:
        sock.close()
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)
        if socket_handler is not None:
            socket_handler.close()  # type: ignore[no-untyped-call]
        if schedules is not None and schedules.running:
            schedules.shutdown(wait=True)


_unreachable = "cannot reach Slack: check SLACK_API_URL and the network"
