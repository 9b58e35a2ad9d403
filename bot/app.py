"""The Bolt app: built from settings, listeners registered, one error handler.

:func:`create_app` is the only way the rest of sellsync gets a Slack app; ``bot.web`` serves it
over HTTP (or Socket Mode) and the tests dispatch signed requests to it directly.

:class:`SellsyncApp` checks every HTTP-mode request in ``dispatch`` itself, before any of Bolt's
middleware, authorization or listeners run: the signature (``bot.edge``, the same checks the
HTTP route makes before it parses a body), then the replay marker (``bot.replay``). Bolt's own
RequestVerification is off: it raises inside the middleware chain on a malformed timestamp,
which hands the unverified body to the error handler, and it logs refused bodies in full. The
error handler acts only on requests marked verified (or arriving over Socket Mode's socket).
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
from collections.abc import Callable, Iterable
from concurrent.futures import Executor, ThreadPoolExecutor
from typing import Any

from slack_bolt import App, BoltContext, BoltRequest, BoltResponse
from slack_bolt.authorization import AuthorizeResult
from slack_bolt.context.respond import Respond
from slack_bolt.lazy_listener.thread_runner import ThreadLazyListenerRunner
from slack_bolt.logger.messages import warning_client_prioritized_and_token_skipped
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.edge import (
    INTERNAL_HEADER_PREFIX,
    RETRY_HEADER,
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    VERIFIED_KEY,
    Refusal,
    ResponseUrls,
    Verified,
    Verifier,
    log_refusal,
    shape_problem,
    wall_clock,
)
from bot.listeners import Body, Deps, register_all, report_error
from bot.replay import Marker, ReplayGuard
from bot.settings import AppSettings
from sync.api import SyncService

log = logging.getLogger("sellsync.bot")

#: How long the members of SLACK_MANAGER_GROUP are cached (usergroups.users.list is Tier 2).
MANAGER_GROUP_TTL = 300.0


class ManagerDirectory:
    """Who is a manager: ``SLACK_MANAGER_IDS`` plus the members of ``SLACK_MANAGER_GROUP``.

    The group is read with ``usergroups.users.list`` and cached for ``ttl`` seconds; when Slack
    refuses (no such group, a free plan, a missing scope) its members count as no one, and the
    refusal is cached too, so a broken group costs one call per ``ttl``.
    """

    def __init__(
        self,
        ids: Iterable[str],
        group: str | None,
        client: WebClient,
        *,
        ttl: float = MANAGER_GROUP_TTL,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.ids = frozenset(ids)
        self.group = (group or "").strip() or None
        self.client = client
        self.ttl = ttl
        self.monotonic = monotonic
        self._members: frozenset[str] = frozenset()
        self._fetched_at: float | None = None
        self._lock = threading.Lock()

    def group_members(self) -> frozenset[str]:
        if self.group is None:
            return frozenset()
        with self._lock:
            now = self.monotonic()
            if self._fetched_at is None or now - self._fetched_at >= self.ttl:
                self._members = self._fetch()
                self._fetched_at = now
            return self._members

    def _fetch(self) -> frozenset[str]:
        if self.group is None:
            return frozenset()
        try:
            response = self.client.usergroups_users_list(usergroup=self.group)
        except SlackApiError as exc:
            log.warning(
                "manager group %s unreadable (%s): only SLACK_MANAGER_IDS are managers",
                self.group,
                exc.response.get("error"),
            )
            return frozenset()
        except Exception as exc:  # network trouble: nobody from the group for now
            log.warning("manager group %s unreadable (%s)", self.group, type(exc).__name__)
            return frozenset()
        return frozenset(str(u) for u in response.get("users") or [])

    def __call__(self, user_id: str) -> bool:
        if not user_id:
            return False
        return user_id in self.ids or user_id in self.group_members()


def _secret(settings: AppSettings, name: str) -> str | None:
    value = getattr(settings, name)
    raw = value.get_secret_value() if value is not None else None
    return raw or None


def authorize_with(token: str) -> Callable[..., AuthorizeResult]:
    """An ``authorize`` for a single workspace whose bot token is known (no auth.test call):
    the demo, the benchmarks and the tests use it."""

    def authorize(
        enterprise_id: str | None, team_id: str | None, user_id: str | None, logger: Any
    ) -> AuthorizeResult:
        del logger
        return AuthorizeResult(
            enterprise_id=enterprise_id,
            team_id=team_id,
            bot_token=token,
            bot_user_id="UBOT",
            bot_id="BBOT",
            user_id=user_id,
        )

    return authorize


class _SameTokenNotice(logging.Filter):
    """Bolt reads ``SLACK_BOT_TOKEN`` from the environment even when it is given a client, then
    warns that the token "will be unused" — at every start of the normal setup, where the client
    carries that very token. Dropped only in that case, and only while the app is created."""

    def __init__(self, client_token: str | None) -> None:
        super().__init__()
        self.same = client_token is not None and client_token == os.environ.get("SLACK_BOT_TOKEN")

    def filter(self, record: logging.LogRecord) -> bool:
        return not (
            self.same and record.getMessage() == warning_client_prioritized_and_token_skipped()
        )


def _header(req: BoltRequest, name: str) -> str | None:
    values = req.headers.get(name)
    return str(values[0]) if values else None


class SellsyncApp(App):
    """A Bolt app that runs nothing for an HTTP request until it is verified and not a replay.

    ``verifier`` and ``replays`` are public: ``bot.web`` checks requests with the same verifier
    before they are parsed.
    """

    def __init__(
        self,
        *,
        verifier: Verifier,
        replays: ReplayGuard,
        response_urls: ResponseUrls | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.verifier = verifier
        self.replays = replays
        self.response_urls = response_urls or ResponseUrls()

    def dispatch(self, req: BoltRequest) -> BoltResponse:
        if req.mode == "socket_mode":
            return super().dispatch(req)
        admitted = self._admit(req)
        if isinstance(admitted, BoltResponse):
            return admitted
        response = super().dispatch(req)
        if response.status >= 500 and admitted.name.startswith("slack-event:"):
            # the event's listener never ran: Slack's retry of it must not be taken as a duplicate
            self.replays.release(admitted)
        return response

    def _admit(self, req: BoltRequest) -> Marker | BoltResponse:
        if any(name.startswith(INTERNAL_HEADER_PREFIX) for name in req.headers):
            refusal = Refusal(400, "internal Bolt headers from outside")
            log_refusal(refusal, req.raw_body)
            return refusal.bolt()
        verified = req.context.get(VERIFIED_KEY)
        if not isinstance(verified, Verified):  # not checked by the HTTP route: check it now
            verified = self.verifier.verify(
                _header(req, TIMESTAMP_HEADER), _header(req, SIGNATURE_HEADER), req.raw_body
            )
            if isinstance(verified, Refusal):
                log_refusal(verified, req.raw_body)
                return verified.bolt()
            req.context[VERIFIED_KEY] = verified
        # signed, but not a shape Slack sends, or answered somewhere else than Slack: refused
        # before Bolt reads it, and without any call
        problem = shape_problem(req.body) or self.response_urls.problem(req.body)
        if problem is not None:
            refusal = Refusal(400, problem)
            log_refusal(refusal, req.raw_body)
            return refusal.bolt()
        try:
            return self.replays.admit(
                verified, req.body, retry=_header(req, RETRY_HEADER) is not None
            )
        except Exception as exc:  # the database: refuse for now (Slack retries events)
            log.warning("could not record a Slack request's marker (%s)", type(exc).__name__)
            return Refusal(503, "try again").bolt()


def is_verified(request: BoltRequest | None, context: BoltContext | None) -> bool:
    """Did this request pass :class:`SellsyncApp`'s checks (or come over Socket Mode)?"""
    if request is not None and request.mode == "socket_mode":
        return True
    return context is not None and isinstance(context.get(VERIFIED_KEY), Verified)


ACK_THREADS = 16  # parse, ack and answer quick questions
WORK_THREADS = 8  # the work that continues after the ack


def create_app(
    settings: AppSettings,
    service: SyncService,
    *,
    client: WebClient | None = None,
    authorize: Callable[..., Any] | None = None,
    is_manager: Callable[[str], bool] | None = None,
    executor: Executor | None = None,
    monotonic: Callable[[], float] = time.monotonic,
    wall_clock: Callable[[], float] = wall_clock,
) -> SellsyncApp:
    """The Bolt app for ``settings``; ``client`` / ``authorize`` / ``executor`` / ``wall_clock``
    (what signatures and replay markers are timed by) are for tests.

    No Slack API call is made here: the token is checked (auth.test) on the first request, or
    never when ``authorize`` is given.
    """
    if client is None:
        # With ``authorize`` the token comes from its result on every request.
        token = None if authorize is not None else _secret(settings, "slack_bot_token")
        client = WebClient(token=token, base_url=settings.slack_api_url)
    signing_secret = _secret(settings, "slack_signing_secret")
    notice = _SameTokenNotice(client.token)
    logging.getLogger("sellsync.bolt").addFilter(notice)
    try:
        app = SellsyncApp(
            verifier=Verifier(signing_secret, now=wall_clock),
            replays=ReplayGuard(service.markers, now=wall_clock),
            response_urls=ResponseUrls(settings.slack_api_url, settings.slack_response_url_hosts),
            name="sellsync",
            client=client,
            signing_secret=signing_secret or "",
            authorize=authorize,
            token_verification_enabled=False,
            # SellsyncApp.dispatch verifies HTTP requests; Socket Mode ones are never signed.
            request_verification_enabled=False,
            process_before_response=False,
            listener_executor=executor or ThreadPoolExecutor(ACK_THREADS, thread_name_prefix="ack"),
            logger=logging.getLogger("sellsync.bolt"),
        )
    finally:
        logging.getLogger("sellsync.bolt").removeFilter(notice)
    if executor is None:
        # Two lanes: acks never queue behind slow background work (pushes, impact tables,
        # syncs), which Bolt would otherwise run on the same small pool.
        app.listener_runner.lazy_listener_runner = ThreadLazyListenerRunner(
            logger=logging.getLogger("sellsync.bolt"),
            executor=ThreadPoolExecutor(WORK_THREADS, thread_name_prefix="work"),
        )
    directory = is_manager or ManagerDirectory(
        settings.manager_ids, settings.slack_manager_group, client
    )
    deps = Deps(
        settings=settings,
        service=service,
        is_manager=directory,
        monotonic=monotonic,
        secrets=tuple(settings.secrets()),
    )

    @app.error
    def on_error(
        error: Exception,
        body: Body,
        request: BoltRequest | None,
        context: BoltContext | None,
        response: BoltResponse | None,
        client: WebClient,
        respond: Respond | None,
    ) -> BoltResponse | None:
        if not is_verified(request, context):
            # never reached through SellsyncApp.dispatch; act on nothing in the body
            log.warning("error on an unverified Slack request (%s); refused", type(error).__name__)
            return Refusal(401, "invalid request").bolt()
        in_http_response = _still_acking(response, body) and bool(body.get("command"))
        text = report_error(
            error,
            body=body,
            client=None if in_http_response else client,
            respond=None if in_http_response else respond,
            secrets=deps.secrets,
        )
        if in_http_response:
            # A command not acked yet: the answer goes in the HTTP response itself.
            return BoltResponse(
                status=200,
                body=json.dumps({"response_type": "ephemeral", "text": text}),
                headers={"content-type": "application/json;charset=utf-8"},
            )
        if _still_acking(response, body):
            return BoltResponse(status=200, body="")
        return None

    register_all(app, deps)
    return app


def _still_acking(response: BoltResponse | None, body: Body) -> bool:
    return response is not None and "event" not in body
