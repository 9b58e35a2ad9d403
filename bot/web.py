"""The HTTP routes: Slack's requests, ``/healthz`` and ``/metrics`` on one port.

* ``POST /slack/events`` — commands, interactivity and events: size-capped, verified and parsed
  by ``bot.edge`` before Bolt sees them, then dispatched. ``App.dispatch`` blocks until the
  listener acks (up to 3 s), so it runs on Starlette's thread pool, never on the event loop: one
  slow ack does not hold up the others.
* ``POST /hubspot/webhooks`` — HubSpot's webhook batches, with ``HUBSPOT_CLIENT_SECRET`` set:
  verified, stored, then answered (``bot/hubspot_webhooks.py``); without it, 404.
* ``GET /healthz`` — JSON: is the database reachable, what was the last run. 200 or 503. With
  ``METRICS_TOKEN`` set, only ``{"ok": …}`` unless the request bears the token.
* ``GET /metrics`` — Prometheus text: runs by status, open conflicts, pending requests, links by
  state, the last run's timestamps. With ``METRICS_TOKEN`` set, only for a request bearing it
  (``Authorization: Bearer …``).

What the last two say is ``bot/metrics.py``; running the app under uvicorn is ``bot/serve.py``.
"""

from __future__ import annotations

import gc
import hmac

from slack_bolt import App
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from bot.app import SellsyncApp
from bot.edge import BODY_TIMEOUT_SECONDS, slack_endpoint
from bot.hubspot_webhooks import webhook_route
from bot.metrics import check_health, exposition, metrics_registry
from sync.api import SyncService

SLACK_PATH = "/slack/events"


def bearer_matches(request: Request, token: str) -> bool:
    """Does ``request`` carry ``Authorization: Bearer <token>``? (A constant-time comparison.)"""
    scheme, _, given = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer":
        return False
    return hmac.compare_digest(given.strip().encode(), token.encode())


def settle_heap() -> int:
    """Move everything start-up made (Bolt, slack_sdk, SQLAlchemy, the app's tables and
    registries) out of the garbage collector's reach (:func:`gc.freeze`), once, just before the
    server starts answering; returns how many objects that was.

    A full collection otherwise walks those hundreds of thousands of objects again and again,
    and one that starts during a request stretches that request's answer: it was the whole tail
    of the Slack ack beside a busy sync (p99 1.06–1.47× a bare Bolt app before, 0.59–0.91×
    after; ``bench/README.md``). What requests allocate is collected as before."""
    gc.collect()
    gc.freeze()
    return gc.get_freeze_count()


def build_web(
    app: App,
    service: SyncService,
    *,
    slack_events: bool = True,
    body_timeout: float = BODY_TIMEOUT_SECONDS,
    metrics_token: str | None = None,
    hubspot_client_secret: str | None = None,
    public_url: str | None = None,
) -> Starlette:
    """The ASGI app: ``/slack/events`` (unless Socket Mode brings the requests), health, metrics.

    With ``metrics_token`` (``METRICS_TOKEN``), ``/metrics`` answers only requests bearing it
    (401 otherwise), and ``/healthz`` says only ``{"ok": …}`` (200 or 503) to the others: the
    database state and the last run are for the token's bearer.

    With ``hubspot_client_secret`` (``HUBSPOT_CLIENT_SECRET``), ``POST /hubspot/webhooks`` takes
    HubSpot's signed webhook batches (signed over ``public_url`` + the path when given)."""

    registry = metrics_registry(service.figures)
    token = metrics_token or None

    async def healthz(request: Request) -> Response:
        status, payload = await check_health(service.last_run)
        if token is not None and not bearer_matches(request, token):
            payload = {"ok": payload.get("ok", status == 200)}
        return JSONResponse(payload, status_code=status)

    async def metrics(request: Request) -> Response:
        if token is not None and not bearer_matches(request, token):
            return JSONResponse(
                {"error": "a bearer token is required"},
                status_code=401,
                headers={"www-authenticate": 'Bearer realm="sellsync metrics"'},
            )
        body, content_type = await run_in_threadpool(
            exposition, registry, request.headers.get("accept")
        )
        return Response(body, media_type=content_type)

    routes = [
        Route("/healthz", healthz, methods=["GET"]),
        Route("/metrics", metrics, methods=["GET"]),
    ]
    if slack_events:
        if not isinstance(app, SellsyncApp):
            raise TypeError("/slack/events serves only an app built by bot.app.create_app")
        routes.append(
            Route(
                SLACK_PATH,
                slack_endpoint(app.dispatch, app.verifier, body_timeout=body_timeout),
                methods=["POST"],
            )
        )
    if hubspot_client_secret:
        routes.append(
            webhook_route(
                service.webhook_inbox,
                service.markers,
                hubspot_client_secret,
                public_url=public_url,
                body_timeout=body_timeout,
            )
        )
    return Starlette(routes=routes)
