"""The HTTP layer shared by both CRM clients.

* :func:`build_http_client` makes the ``httpx.Client``: timeouts, a User-Agent and event hooks
  that log method, URL, status and elapsed time. Headers are never logged, so the bearer token
  never reaches a log line.
* :class:`ApiSession` sends one logical request: pace, send with auth headers, classify a
  failure (:mod:`sync.clients.errors`), retry per :class:`~sync.clients.retry.RetryPolicy`,
  count. It returns successes and per-record failures (``SKIP_RECORD`` / ``NOT_FOUND``) as a
  :class:`Reply` and raises :mod:`sync.errors` exceptions for everything else.
"""

from __future__ import annotations

import dataclasses
import logging
import random
import threading
import time
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import httpx

from sync.clients.errors import (
    Classifier,
    Remedy,
    Resolution,
    classify_exception,
    shape_error,
)
from sync.clients.pacing import Pacer
from sync.clients.retry import Random, RetryPolicy, Sleep
from sync.errors import AmbiguousWrite, ApiError, SyncError
from sync.scrub import scrub

logger = logging.getLogger("sync.clients.http")

Params = Mapping[str, str | int]

USER_AGENT = "sellsync/0.1"
DEFAULT_TIMEOUT = httpx.Timeout(30.0, connect=10.0)

_START = "sellsync.start"
_MASKED_PARAMS = frozenset({"email", "emails"})


def loggable_url(url: httpx.URL) -> str:
    """The URL without credentials, with e-mail query values masked (they are personal data)."""
    params = [(k, "***" if k.lower() in _MASKED_PARAMS else v) for k, v in url.params.multi_items()]
    base = url.copy_with(query=None, userinfo=b"")
    if not params:
        return str(base)
    return str(base.copy_with(params=params))


def _stamp_request(request: httpx.Request) -> None:
    request.extensions[_START] = time.perf_counter()


def _log_response(response: httpx.Response) -> None:
    request = response.request
    started = request.extensions.get(_START)
    elapsed_ms = (time.perf_counter() - started) * 1000 if isinstance(started, float) else -1.0
    status = response.status_code
    level = logging.DEBUG if status < 400 else logging.INFO if status < 429 else logging.WARNING
    logger.log(
        level,
        "%s %s -> %d in %.0f ms",
        request.method,
        loggable_url(request.url),
        status,
        elapsed_ms,
    )


def build_http_client(
    *,
    user_agent: str = USER_AGENT,
    timeout: httpx.Timeout | float = DEFAULT_TIMEOUT,
    transport: httpx.BaseTransport | None = None,
    max_connections: int = 10,
) -> httpx.Client:
    """An ``httpx.Client`` with sellsync's User-Agent, timeouts and logging hooks.

    No base URL and no credentials: :class:`ApiSession` sends absolute URLs and adds the
    ``Authorization`` header per request, so a client injected by a test behaves the same.
    """
    return httpx.Client(
        headers={"User-Agent": user_agent, "Accept": "application/json"},
        timeout=timeout,
        transport=transport,
        limits=httpx.Limits(
            max_connections=max_connections, max_keepalive_connections=max_connections
        ),
        event_hooks={"request": [_stamp_request], "response": [_log_response]},
    )


@dataclass(frozen=True)
class Reply:
    """A response that needs no retry: a success or a per-record failure."""

    response: httpx.Response
    resolution: Resolution | None = None  # None = success
    service: str = ""
    kind: str = ""  # the endpoint, as the client named it (see errors.SHAPES)

    @property
    def ok(self) -> bool:
        return self.resolution is None

    @property
    def action(self) -> Remedy | None:
        return None if self.resolution is None else self.resolution.action

    def json(self) -> Any:
        """The parsed body (None when empty); ApiError when it is not JSON, or when a success
        is not the shape its endpoint answers with (:data:`~sync.clients.errors.SHAPES`)."""
        if not self.response.content:
            return None
        try:
            body = self.response.json()
        except ValueError:
            raise ApiError(
                self.service, "the response was not JSON", self.response.status_code
            ) from None
        if self.resolution is None:
            error = shape_error(self.service, self.kind, body, self.response.status_code)
            if error is not None:
                raise error
        return body

    def error(self, item: str | None = None) -> SyncError:
        """The exception for a failed reply (``item`` names the record, when there is one)."""
        assert self.resolution is not None, "error() on a successful reply"
        return self.resolution.error(item)

    def raise_for_error(self, item: str | None = None) -> None:
        if self.resolution is not None:
            raise self.resolution.error(item)


class ApiSession:
    """One service's base URL, token, pacing, retry policy and request counters."""

    def __init__(
        self,
        *,
        service: str,
        base_url: str,
        token: str,
        classifier: Classifier,
        http: httpx.Client | None = None,
        user_agent: str = USER_AGENT,
        retry: RetryPolicy | None = None,
        sleep: Sleep = time.sleep,
        rand: Random = random.random,
        timeout: httpx.Timeout | float = DEFAULT_TIMEOUT,
    ) -> None:
        self.service = service
        self.base_url = base_url.rstrip("/")
        self._token = token
        self._classifier = classifier
        self._owns_http = http is None
        self.http = (
            http if http is not None else build_http_client(user_agent=user_agent, timeout=timeout)
        )
        self._headers = {
            "Authorization": f"Bearer {token}",
            "User-Agent": user_agent,
            "Accept": "application/json",
        }
        self.retry = retry if retry is not None else RetryPolicy()
        self._sleep = sleep
        self._rand = rand
        self.stats: Counter[str] = Counter()
        self._stats_lock = threading.Lock()

    # ------------------------------------------------------------------ plumbing

    def count(self, key: str, amount: int = 1) -> None:
        with self._stats_lock:
            self.stats[key] += amount

    def close(self) -> None:
        if self._owns_http:
            self.http.close()

    def _scrubbed(self, resolution: Resolution) -> Resolution:
        message = scrub(resolution.message, (self._token,))
        if message == resolution.message:
            return resolution
        return dataclasses.replace(resolution, message=message, body=None)

    # ------------------------------------------------------------------ sending

    def send(
        self,
        method: str,
        path: str,
        *,
        kind: str,
        pacer: Pacer,
        params: Params | None = None,
        json: Any = None,
        retry_ambiguous: bool = True,
        headers: Mapping[str, str] | None = None,
    ) -> Reply:
        """Send until a success, a per-record failure, or a final error (raised).

        ``kind`` names the endpoint in :attr:`stats`. ``retry_ambiguous=False`` (for creates
        that are not idempotent) raises :class:`AmbiguousWrite` where a retry could apply the
        request twice.
        """
        url = f"{self.base_url}{path}"
        attempt = 0
        while True:
            attempt += 1
            waited = pacer.acquire()
            if waited:
                self.count("paced_ms", round(waited * 1000))
            self.count("requests")
            self.count(kind)
            response: httpx.Response | None = None
            try:
                response = self.http.request(
                    method,
                    url,
                    params=params,
                    json=json,
                    headers={**self._headers, **headers} if headers else self._headers,
                )
            except httpx.HTTPError as exc:
                resolution = classify_exception(exc, self.service)
            else:
                if response.is_success:
                    return Reply(response, service=self.service, kind=kind)
                resolution = self._classifier(response)
            resolution = self._scrubbed(resolution)
            if resolution.action is Remedy.RATE_LIMITED:
                self.count("rate_limited")
            if resolution.ambiguous and not retry_ambiguous:
                raise AmbiguousWrite(self.service, resolution.message, resolution.status)
            if self.retry.should_retry(attempt, resolution):
                delay = self.retry.delay(attempt, resolution, self._rand)
                self.count("retries")
                logger.warning(
                    "%s %s %s failed (%s%s); retry %d/%d in %.2f s",
                    self.service,
                    method,
                    path,
                    f"{resolution.status} " if resolution.status else "",
                    resolution.message,
                    attempt,
                    self.retry.max_attempts - 1,
                    delay,
                )
                if resolution.action is Remedy.RATE_LIMITED:
                    pacer.pause(delay)  # every thread sharing this pacer holds back too
                self._sleep(delay)
                continue
            if response is not None and resolution.action in (Remedy.SKIP_RECORD, Remedy.NOT_FOUND):
                return Reply(response, resolution, self.service, kind)
            if resolution.action is Remedy.RATE_LIMITED and resolution.wait is None:
                resolution = dataclasses.replace(resolution, wait=self.retry.rate_limit_wait)
            raise resolution.error()

    def send_ok(
        self,
        method: str,
        path: str,
        *,
        kind: str,
        pacer: Pacer,
        params: Params | None = None,
        json: Any = None,
    ) -> Any:
        """:meth:`send` for requests where any failure is an error: the parsed JSON body."""
        reply = self.send(method, path, kind=kind, pacer=pacer, params=params, json=json)
        reply.raise_for_error()
        return reply.json()
