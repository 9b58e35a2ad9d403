"""The process entry: ``sellsync serve`` under uvicorn until SIGTERM or Ctrl-C, and the same
web app on a loopback port in a thread (:class:`BackgroundServer`, for the demo, the tests and
the benchmarks).

:func:`serve` runs the bot (HTTP, or Socket Mode when ``SLACK_APP_TOKEN`` is set) and, unless
told not to, the scheduler in the same process. The port is bound before anything else starts,
so a busy port is a setting to fix (exit 2 naming PORT).
"""

from __future__ import annotations

import asyncio
import errno
import logging
import signal
import socket
import threading
import time
from collections.abc import Callable
from types import FrameType

import uvicorn
from slack_bolt import App
from starlette.applications import Starlette
from uvicorn.protocols.http.h11_impl import H11Protocol

from bot.app import create_app
from bot.hubspot_webhooks import webhook_options
from bot.scheduler import STOP_GRACE_SECONDS, build_scheduler, notifier_for
from bot.settings import AppSettings, is_placeholder
from bot.web import SLACK_PATH, build_web, settle_heap
from sync.api import ConfigError, ServiceUnavailable, SyncService

log = logging.getLogger("sellsync.web")

#: A client has this long, from connecting (or from its previous response), to send a whole
#: request line and headers; then it is disconnected. Slack sends them at once.
HEAD_TIMEOUT_SECONDS = 10.0
#: An idle keep-alive connection is closed after this long.
KEEP_ALIVE_SECONDS = 5
#: Open connections (idle or not) beyond which new requests get 503 at once.
MAX_CONNECTIONS = 512
#: A request line plus headers larger than this gets 400 (h11's own default, made explicit).
MAX_HEAD_BYTES = 16 * 1024


class TimedH11Protocol(H11Protocol):
    """uvicorn's h11 protocol with a deadline for each request's head. uvicorn has none: its
    keep-alive timer stops at the first byte, so a client that trickles a header line now and
    then (slowloris) held its connection open for as long as it liked. The body has its own
    deadline in ``bot.edge``."""

    head_timeout = HEAD_TIMEOUT_SECONDS

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._head_timer: asyncio.TimerHandle | None = None
        self._arm_head_timer()

    def _arm_head_timer(self) -> None:
        self._cancel_head_timer()
        self._head_timer = self.loop.call_later(self.head_timeout, self._head_late)

    def _cancel_head_timer(self) -> None:
        timer = getattr(self, "_head_timer", None)
        if timer is not None:
            timer.cancel()
            self._head_timer = None

    def _head_late(self) -> None:
        self._head_timer = None
        if not self.transport.is_closing():
            log.info(
                "closed a connection that sent no whole request head in %ss", self.head_timeout
            )
            self.transport.close()

    def handle_events(self) -> None:
        before = self.cycle
        super().handle_events()
        if self.cycle is not before:  # a request's head arrived: its handler runs now
            self._cancel_head_timer()

    def on_response_complete(self) -> None:
        if not self.transport.is_closing():
            self._arm_head_timer()  # for the next request on this connection
        super().on_response_complete()

    def connection_lost(self, exc: Exception | None) -> None:
        self._cancel_head_timer()
        super().connection_lost(exc)


def _protocol(head_timeout: float) -> type[TimedH11Protocol]:
    if head_timeout == TimedH11Protocol.head_timeout:
        return TimedH11Protocol
    return type("TimedH11Protocol", (TimedH11Protocol,), {"head_timeout": head_timeout})


def _config(
    starlette_app: Starlette,
    host: str,
    port: int,
    log_level: str = "info",
    *,
    head_timeout: float = HEAD_TIMEOUT_SECONDS,
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
        http=_protocol(head_timeout),
        server_header=False,
        timeout_graceful_shutdown=5,
        timeout_keep_alive=KEEP_ALIVE_SECONDS,
        limit_concurrency=MAX_CONNECTIONS,
        h11_max_incomplete_event_size=MAX_HEAD_BYTES,
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

    def __init__(
        self,
        starlette_app: Starlette,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        head_timeout: float = HEAD_TIMEOUT_SECONDS,
    ) -> None:
        # IPPROTO_TCP lets asyncio set TCP_NODELAY on accepted connections (no Nagle delays)
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind((host, port))
        self.url = f"http://{host}:{self.sock.getsockname()[1]}"
        self.server = uvicorn.Server(
            _config(starlette_app, host, port, "warning", head_timeout=head_timeout)
        )
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
    (exit 2 naming PORT), not a log line saying "listening" followed by exit 3; an address this
    host does not have is one too (exit 2 naming BIND_ADDRESS)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        if exc.errno == errno.EADDRNOTAVAIL:
            raise ConfigError(
                "BIND_ADDRESS", f"{host} is not an address of this host: set BIND_ADDRESS"
            ) from None
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
    metrics_token = settings.metrics_token.get_secret_value() if settings.metrics_token else None
    if metrics_token is not None and metrics_token.strip() and is_placeholder(metrics_token):
        raise ConfigError("METRICS_TOKEN", "is a placeholder: set a long random value, or unset it")
    webhook_secret = webhook_options(settings)
    host = settings.bind_address
    sock = _listen(settings.port, host)
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
        web = build_web(
            app,
            service,
            slack_events=socket_handler is None,
            metrics_token=metrics_token or None,
            hubspot_client_secret=webhook_secret,
            public_url=settings.public_url,
        )
        uvicorn_level = (settings.log_level or "INFO").lower()  # LOG_LEVEL quiets uvicorn too
        log.info(
            "listening on %s:%s (%s, /healthz, /metrics%s)",
            host,
            settings.port,
            SLACK_PATH,
            " with METRICS_TOKEN" if metrics_token else "",
        )
        settle_heap()

        def stopping(reason: str) -> None:
            service.interrupt(reason)  # the run going on stops at its next page
            if schedules is not None and schedules.running:
                schedules.pause()  # and no job starts while uvicorn closes its connections

        _Server(_config(web, host, settings.port, uvicorn_level), on_exit=stopping).run(
            sockets=[sock]
        )
    except (_Stopped, KeyboardInterrupt):
        log.info("stopping")
    finally:
        sock.close()
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)
        if socket_handler is not None:
            socket_handler.close()  # type: ignore[no-untyped-call]
        # A run going on (scheduled, or started from Slack) stops at its next page, recorded
        # as interrupted, its lock released: within a container's grace period.
        service.interrupt("shutdown")
        if schedules is not None and schedules.running:
            schedules.shutdown(wait=False)
        if not service.wait_for_runs(STOP_GRACE_SECONDS):
            log.warning("the run going on did not reach a page boundary in time")


class _Server(uvicorn.Server):
    """uvicorn's server, telling ``on_exit`` as soon as SIGTERM or SIGINT arrives, so that a run
    going on starts stopping while uvicorn closes its connections."""

    def __init__(self, config: uvicorn.Config, *, on_exit: Callable[[str], None]) -> None:
        super().__init__(config)
        self._on_exit = on_exit

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        try:
            self._on_exit(signal.Signals(sig).name)
        finally:
            super().handle_exit(sig, frame)


_unreachable = "cannot reach Slack: check SLACK_API_URL and the network"
