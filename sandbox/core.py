"""What the three stand-in servers share: the call log, fault injection, routing and the ASGI app.

Every request goes through one pipeline (:func:`build_app`)::

    /_sandbox/...  -> control endpoints (not logged, no auth, no rate limit)
    otherwise      -> a pending fault matching the request answers it (see ``FAULT_HELP``),
                      else the service dispatches it (auth, rate limit, route, handler);
                   -> the call is logged with the status returned (0 when the connection dropped)

A service is a :class:`ServiceState` subclass: it owns its data behind ``lock`` and implements
``dispatch`` and ``fault_response``. Handlers run on the server's event loop thread while holding
the lock, so tests may read and change the data from their own thread at any time.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any, ClassVar

from starlette.applications import Starlette
from starlette.datastructures import Headers, QueryParams
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from uvicorn.protocols.http.h11_impl import H11Protocol

from sandbox.limits import SandboxLimits

log = logging.getLogger("sandbox")

ALL_METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"]

FAULT_HELP = {
    "429": "the service's real 429 (HubSpot: with Retry-After = delay or 1 s)",
    "429-no-retry-after": "a 429 without Retry-After",
    "429-empty": "a 429 with an empty, non-JSON body",
    "404-429": "Sell: 404 incorrect_path naming /429.json (throttling in disguise)",
    "daily": "HubSpot: 429 with policyName DAILY",
    "401": "the service's authentication error",
    "500": "internal server error",
    "502": "bad gateway (an HTML page from the edge)",
    "503": "service unavailable",
    "timeout": "answer only after `delay` seconds (default 30)",
    "drop": "close the connection without any response",
    "empty-page": "Sell: a list of leads or contacts (by ids= or not) answered with a valid empty "
    "page (no record left out is said to be deleted)",
    "null-items": 'Sell: a list of leads or contacts answered with items [null, {"data": null}]',
    "empty-batch": 'HubSpot: contacts batch/read answered {"status": "COMPLETE", "results": []}',
}

NO_JSON: Any = object()  # the request had no body
BAD_JSON: Any = object()  # the body was not JSON


@dataclass(frozen=True)
class Call:
    """One request a server received, as the tests and benchmarks see it."""

    method: str
    path: str
    query: dict[str, str | list[str]]
    json: Any  # the parsed body, or None (no body, or not JSON)
    status: int  # 0 when the connection was dropped without a response
    endpoint: str | None = None  # e.g. "contacts.batch.read"; None when no route matched
    fault: str | None = None  # the injected fault that answered, if any
    at: float = 0.0  # time.time()

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class Fault:
    kind: str
    method: str | None = None
    path_prefix: str | None = None
    times: int | None = 1  # how many more requests it answers; None: until cleared
    delay: float | None = None
    apply: bool = False  # let the request take effect first, then fail it

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class ApiRequest:
    """A request, read once, in the shape the handlers want."""

    method: str
    path: str  # without a trailing slash (except "/")
    query: QueryParams
    headers: Headers
    body: bytes
    json: Any  # parsed body, NO_JSON or BAD_JSON
    base_url: str  # "http://127.0.0.1:port", for links the service builds
    request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    endpoint: str | None = None  # set by the router

    def query_dict(self) -> dict[str, str | list[str]]:
        out: dict[str, str | list[str]] = {}
        for key in self.query:
            values = self.query.getlist(key)
            out[key] = values[0] if len(values) == 1 else values
        return out

    def bearer_token(self) -> str | None:
        header = self.headers.get("authorization", "")
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            return None
        return token.strip()


class Reject(Exception):
    """Raised by a handler to answer with ``response`` at once."""

    def __init__(self, response: Response) -> None:
        super().__init__(response.status_code)
        self.response = response


def json_response(status: int, body: Any, headers: dict[str, str] | None = None) -> Response:
    return JSONResponse(body, status_code=status, headers=headers)


def empty_response(status: int, headers: dict[str, str] | None = None) -> Response:
    return Response(b"", status_code=status, headers=headers)


Handler = Callable[..., Response]


@dataclass(frozen=True)
class Match:
    handler: Handler
    name: str
    params: dict[str, str]


class Router:
    """(method, regex) -> handler."""

    def __init__(self) -> None:
        self._routes: list[tuple[str, re.Pattern[str], str, Handler]] = []

    def add(self, method: str, pattern: str, name: str, handler: Handler) -> None:
        self._routes.append((method, re.compile(f"^{pattern}$"), name, handler))

    def match(self, method: str, path: str) -> Match | None:
        for route_method, regex, name, handler in self._routes:
            found = regex.match(path)
            if found is not None and route_method == method:
                return Match(handler, name, found.groupdict())
        return None

    def knows(self, path: str) -> bool:
        """Whether some method is served at ``path`` (405 rather than 404)."""
        return any(regex.match(path) for _, regex, _, _ in self._routes)


class ServiceState:
    """Base of the three services: call log, faults, lock, limits and the reset hook."""

    service: ClassVar[str] = "service"
    fault_kinds: ClassVar[frozenset[str]] = frozenset(
        {"429", "429-no-retry-after", "429-empty", "401", "500", "502", "503", "timeout", "drop"}
    )

    def __init__(self, limits: SandboxLimits) -> None:
        self.limits = limits
        self.lock = threading.RLock()
        self.calls: list[Call] = []
        self.faults: list[Fault] = []
        self.internal_errors: list[str] = []  # handler crashes; a test may assert it stays empty
        self.stopping = threading.Event()
        self.base_url = ""  # set by the server once bound

    # ------------------------------------------------------------------ call log

    def record(self, call: Call) -> None:
        with self.lock:
            self.calls.append(call)

    def reset_calls(self) -> None:
        with self.lock:
            self.calls.clear()

    def calls_matching(
        self,
        method: str | None = None,
        path_prefix: str | None = None,
        *,
        endpoint: str | None = None,
        status: int | None = None,
    ) -> list[Call]:
        with self.lock:
            calls = list(self.calls)
        prefix = self.canonical_path(path_prefix) if path_prefix else None
        return [
            c
            for c in calls
            if (method is None or c.method == method.upper())
            and (prefix is None or self.canonical_path(c.path).startswith(prefix))
            and (endpoint is None or c.endpoint == endpoint)
            and (status is None or c.status == status)
        ]

    def count(
        self,
        method: str | None = None,
        path_prefix: str | None = None,
        *,
        endpoint: str | None = None,
        status: int | None = None,
    ) -> int:
        return len(self.calls_matching(method, path_prefix, endpoint=endpoint, status=status))

    def canonical_path(self, path: str) -> str:
        """The path with version aliases folded together (HubSpot: v3 == 2026-03)."""
        return path

    # ------------------------------------------------------------------ faults

    def inject(
        self,
        kind: str,
        *,
        method: str | None = None,
        path_prefix: str | None = None,
        times: int | None = 1,
        delay: float | None = None,
        apply: bool = False,
    ) -> Fault:
        """Answer the next ``times`` matching requests with fault ``kind`` (None: until cleared).

        ``delay`` is the sleep of "timeout" (default 30 s) and the Retry-After of HubSpot's
        "429". With ``apply=True`` the request takes effect before the fault answers it (a
        write that succeeded although the client saw a failure).
        """
        if kind not in self.fault_kinds:
            raise ValueError(
                f"{self.service} has no fault {kind!r}; choose from {sorted(self.fault_kinds)}"
            )
        if times is not None and times < 1:
            raise ValueError("times must be at least 1 (or None for until cleared)")
        fault = Fault(kind, method.upper() if method else None, path_prefix, times, delay, apply)
        with self.lock:
            self.faults.append(fault)
        return fault

    def clear_faults(self) -> None:
        with self.lock:
            self.faults.clear()

    def fault_answers(self, fault: Fault, req: ApiRequest) -> bool:
        """Whether ``fault`` may answer ``req`` at all (a fault that fakes one endpoint's answer
        leaves the others alone, whatever its path prefix)."""
        return True

    def take_fault(self, method: str, path: str, req: ApiRequest | None = None) -> Fault | None:
        canonical = self.canonical_path(path)
        with self.lock:
            for fault in self.faults:
                if fault.method is not None and fault.method != method:
                    continue
                if req is not None and not self.fault_answers(fault, req):
                    continue
                if fault.path_prefix is not None and not canonical.startswith(
                    self.canonical_path(fault.path_prefix)
                ):
                    continue
                if fault.times is not None:
                    fault.times -= 1
                    if fault.times <= 0:
                        self.faults.remove(fault)
                return fault
        return None

    # ------------------------------------------------------------------ to implement

    def reset(self) -> None:
        """Forget the data (back to the empty seed), the call log, faults and rate counters."""
        with self.lock:
            self.calls.clear()
            self.faults.clear()
            self.internal_errors.clear()
            self._reset_data()

    def _reset_data(self) -> None:
        raise NotImplementedError

    def info(self) -> dict[str, Any]:
        return {"service": self.service, "base_url": self.base_url}

    def dispatch(self, req: ApiRequest) -> Response:
        """Answer a request (auth, rate limit, routing). Runs under ``lock``."""
        raise NotImplementedError

    def fault_response(self, fault: Fault, req: ApiRequest) -> Response:
        raise NotImplementedError

    def internal_error(self, req: ApiRequest) -> Response:
        return json_response(500, {"error": "internal sandbox error"})

    def control(self, req: ApiRequest) -> Response | None:
        """Service-specific ``/_sandbox/...`` endpoints; None when unknown."""
        return None


# ---------------------------------------------------------------------- dropping connections


class ConnectionRegistry:
    """Transports by peer address, so a handler can abort its own connection ("drop")."""

    def __init__(self) -> None:
        self._by_peer: dict[tuple[str, int], asyncio.Transport] = {}

    def protocol_class(self) -> type[asyncio.Protocol]:
        registry = self

        class _Protocol(H11Protocol):
            def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
                super().connection_made(transport)
                if self.client:
                    registry._by_peer[(self.client[0], self.client[1])] = transport

            def connection_lost(self, exc: Exception | None) -> None:
                if self.client:
                    registry._by_peer.pop((self.client[0], self.client[1]), None)
                super().connection_lost(exc)

        return _Protocol

    async def abort(self, client: Any) -> None:
        transport = self._by_peer.get((client[0], client[1])) if client else None
        if transport is not None:
            transport.abort()
        # let connection_lost run, so the server knows not to answer on this connection
        for _ in range(3):
            await asyncio.sleep(0)


# ---------------------------------------------------------------------- the ASGI app


async def _sleep_unless_stopping(state: ServiceState, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while not state.stopping.is_set():
        left = deadline - time.monotonic()
        if left <= 0:
            return
        await asyncio.sleep(min(left, 0.05))


def _parse_body(body: bytes) -> Any:
    if not body.strip():
        return NO_JSON
    try:
        return json.loads(body)
    except ValueError:
        return BAD_JSON


def _logged_json(value: Any) -> Any:
    return None if value is NO_JSON or value is BAD_JSON else value


def _dispatch_locked(state: ServiceState, req: ApiRequest) -> Response:
    with state.lock:
        try:
            return state.dispatch(req)
        except Reject as reject:
            return reject.response
        except Exception as exc:  # a sandbox bug: answer 500 and keep it for the tests
            log.exception("%s sandbox failed on %s %s", state.service, req.method, req.path)
            state.internal_errors.append(f"{req.method} {req.path}: {exc!r}")
            return state.internal_error(req)


def build_app(state: ServiceState, connections: ConnectionRegistry) -> Starlette:
    async def endpoint(request: Request) -> Response:
        body = await request.body()
        path = request.url.path
        if len(path) > 1:
            path = path.rstrip("/")
        req = ApiRequest(
            method=request.method,
            path=path,
            query=request.query_params,
            headers=request.headers,
            body=body,
            json=_parse_body(body),
            base_url=state.base_url or str(request.base_url).rstrip("/"),
        )
        if path == "/_sandbox" or path.startswith("/_sandbox/"):
            return _control(state, req)

        fault = state.take_fault(req.method, req.path, req)
        response: Response | None = None
        if fault is None or fault.apply:
            response = _dispatch_locked(state, req)
        delay = 0.0
        if fault is not None and fault.kind == "drop":
            await connections.abort(request.scope.get("client"))
            response, status = empty_response(500), 0
        elif fault is not None and fault.kind == "timeout":
            delay = fault.delay if fault.delay is not None else 30.0
            if response is None:
                response = Response("upstream request timeout", 504, media_type="text/plain")
            status = response.status_code
        elif fault is not None:
            response = state.fault_response(fault, req)
            status = response.status_code
        else:
            assert response is not None
            status = response.status_code
        state.record(
            Call(
                method=req.method,
                path=req.path,
                query=req.query_dict(),
                json=_logged_json(req.json),
                status=status,
                endpoint=req.endpoint,
                fault=fault.kind if fault else None,
                at=time.time(),
            )
        )
        if delay:
            await _sleep_unless_stopping(state, delay)
        return response

    return Starlette(routes=[Route("/{path:path}", endpoint, methods=ALL_METHODS)])


# ---------------------------------------------------------------------- control endpoints


def _control(state: ServiceState, req: ApiRequest) -> Response:
    """``/_sandbox/...``: faults, calls, limits and info over HTTP (for subprocess tests)."""
    body = req.json if isinstance(req.json, dict) else {}
    key = (req.method, req.path)
    try:
        if key == ("GET", "/_sandbox/info"):
            with state.lock:
                return json_response(200, state.info())
        if key == ("GET", "/_sandbox/calls"):
            calls = state.calls_matching(
                req.query.get("method"),
                req.query.get("path_prefix"),
                endpoint=req.query.get("endpoint"),
            )
            return json_response(200, {"count": len(calls), "calls": [c.to_dict() for c in calls]})
        if key == ("DELETE", "/_sandbox/calls"):
            state.reset_calls()
            return json_response(200, {"ok": True})
        if key == ("GET", "/_sandbox/faults"):
            with state.lock:
                return json_response(200, {"faults": [f.to_dict() for f in state.faults]})
        if key == ("POST", "/_sandbox/faults"):
            fault = state.inject(
                str(body.get("kind", "")),
                method=body.get("method"),
                path_prefix=body.get("path_prefix"),
                times=body.get("times", 1),
                delay=body.get("delay"),
                apply=bool(body.get("apply", False)),
            )
            return json_response(201, {"ok": True, "fault": fault.to_dict()})
        if key == ("DELETE", "/_sandbox/faults"):
            state.clear_faults()
            return json_response(200, {"ok": True})
        if key == ("GET", "/_sandbox/limits"):
            return json_response(200, state.limits.to_dict())
        if key in {("POST", "/_sandbox/limits"), ("PATCH", "/_sandbox/limits")}:
            state.limits.update(body)
            return json_response(200, state.limits.to_dict())
        with state.lock:
            extra = state.control(req)
    except (ValueError, TypeError) as exc:
        return json_response(400, {"ok": False, "error": str(exc)})
    if extra is not None:
        return extra
    return json_response(
        404, {"ok": False, "error": f"no control endpoint {req.method} {req.path}"}
    )
