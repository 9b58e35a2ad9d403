"""The HubSpot stand-in service: auth, HubSpot's rate limits, faults and routing to the routes.

This module decides whether a request reaches the routes at all. The routes are split by
resource family, each acting on :class:`~sandbox.hubspot_store.HubSpotStore` (the portal's
data): contacts and search in :mod:`sandbox.hubspot_contacts_api`, lists in
:mod:`sandbox.hubspot_lists_api`, property definitions in :mod:`sandbox.hubspot_properties_api`.

Paths are served under both the date-versioned prefixes (``/crm/objects/2026-03/contacts``,
``/crm/lists/2026-03``, ``/crm/properties/2026-03/contacts``; any ``YYYY-MM`` version) and the
legacy ``/crm/v3/...`` ones the official Python client uses. :meth:`HubSpotState.canonical_path`
folds them together, so call counts and faults match either spelling.

Rate limits (when ``limits.enabled``): a rolling window per token over every call but search,
reported in ``X-HubSpot-RateLimit-*`` headers; search has its own per-second bucket and no
headers; a daily quota covers both. A refused request has no effect.
"""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime
from typing import Any

from starlette.responses import Response

from sandbox.core import (
    ApiRequest,
    Fault,
    Reject,
    Router,
    ServiceState,
    empty_response,
    json_response,
)
from sandbox.hubspot_associations_api import AssociationRoutes
from sandbox.hubspot_auth import (
    DEFAULT_TOKEN_SCOPES,
    Credential,
    Kind,
    default_credentials,
    missing_scopes,
    missing_scopes_response,
)
from sandbox.hubspot_contacts_api import ContactRoutes
from sandbox.hubspot_lists_api import ListRoutes
from sandbox.hubspot_objects import OBJECT_TYPES
from sandbox.hubspot_objects_api import ObjectRoutes
from sandbox.hubspot_owners_api import OwnerRoutes
from sandbox.hubspot_properties_api import PropertyRoutes
from sandbox.hubspot_search import MAX_RESULTS
from sandbox.hubspot_store import PORTAL_ID, InvalidValues
from sandbox.hubspot_webhooks import WebhookDelivery, WebhookEvents
from sandbox.hubspot_wire import AUTH_MESSAGE, error, html_error, seconds, validation_error
from sandbox.limits import DailyCounter, RollingWindow, SandboxLimits

_CANONICAL = (
    (
        re.compile(r"^/crm/(?:v3/objects|objects/\d{4}-\d{2})/(?:contacts|0-1)"),
        "/crm/objects/2026-03/contacts",
    ),
    (re.compile(r"^/crm/(?:v3/lists|lists/\d{4}-\d{2})"), "/crm/lists/2026-03"),
    (
        re.compile(r"^/crm/(?:v3/properties|properties/\d{4}-\d{2})/(?:contacts|0-1)"),
        "/crm/properties/2026-03/contacts",
    ),
    # companies, notes, owners and associations (sandbox.hubspot_crm)
    (re.compile(r"^/crm/(?:v3/objects|objects/\d{4}-\d{2})/(?:companies|0-2)\b"), "/crm/objects/2026-03/companies"),
    (re.compile(r"^/crm/(?:v3/objects|objects/\d{4}-\d{2})/(?:notes|0-46)\b"), "/crm/objects/2026-03/notes"),
    (re.compile(r"^/crm/(?:v3/owners|owners/\d{4}-\d{2})"), "/crm/owners/2026-03"),
    (re.compile(r"^/crm/(?:v4/associations|associations/\d{4}-\d{2})"), "/crm/associations/2026-03"),
)  # fmt: skip

TOKEN_INFO_PATH = "/oauth/v2/private-apps/get/access-token-info"
BATCH_READ_PATH = "/crm/objects/2026-03/contacts/batch/read"


class HubSpotState(ServiceState, WebhookEvents):
    service = "hubspot"
    fault_kinds = ServiceState.fault_kinds | {"daily", "empty-batch"}

    def __init__(self, limits: SandboxLimits, *, token: str, portal_id: int = PORTAL_ID) -> None:
        super().__init__(limits)
        self.token = token
        self.portal_id = portal_id
        # what the webhooks send (sandbox.hubspot_webhooks): nothing until a target is set
        self.webhooks = WebhookDelivery(portal_id)
        self._router = self._build_router()
        self._reset_data()

    def _reset_data(self) -> None:
        self._reset_store()
        self.webhooks.reset()
        self._windows: dict[str, RollingWindow] = {}
        self._search_windows: dict[str, RollingWindow] = {}
        self._daily = DailyCounter()
        # The main token is a legacy private app's with these scopes (tests narrow them); None
        # makes it a service key with every scope, which the token info does not describe.
        self.token_scopes: list[str] | None = list(DEFAULT_TOKEN_SCOPES)
        # The other kinds (sandbox.hubspot_auth): a service key and a project app's token.
        self.credentials: dict[str, Credential] = default_credentials()

    def credential_for(self, token: str | None) -> Credential | None:
        """The credential a bearer token (or a token info's ``tokenKey``) stands for."""
        if token is None:
            return None
        if token == self.token:
            if self.token_scopes is None:
                return Credential("service_key", scopes=None, app_id=None)
            return Credential("private_app", scopes=self.token_scopes)
        return self.credentials.get(token)

    def add_credential(
        self,
        token: str,
        kind: Kind,
        scopes: list[str] | None = None,
        *,
        token_info_status: int = 404,
    ) -> Credential:
        """Accept ``token`` as a credential of ``kind`` holding ``scopes`` (default: those of
        a private app made by docs/setup.md)."""
        credential = Credential(
            kind,
            list(DEFAULT_TOKEN_SCOPES) if scopes is None else list(scopes),
            app_id=None if kind == "service_key" else 900 + len(self.credentials),
            token_info_status=token_info_status,
        )
        self.credentials[token] = credential
        return credential

    def canonical_path(self, path: str) -> str:
        for pattern, replacement in _CANONICAL:
            path = pattern.sub(replacement, path, count=1)
        return path

    def info(self) -> dict[str, Any]:
        return {
            **super().info(),
            "token": self.token,
            "portal_id": self.portal_id,
            "demo_list_id": self.demo_list_id,
            "contacts": sum(1 for c in self.contacts_by_id.values() if not c.archived),
            "lists": {hs_list.list_id: hs_list.name for hs_list in self.lists_by_id.values()},
            "companies": len(self.companies.live()),
            "notes": len(self.notes.live()),
            "owners": len(self.owners()),
            "webhooks": self.webhooks.info(),
        }

    def _rate_body(self, policy: str, message: str) -> dict[str, Any]:
        return {
            "status": "error",
            "message": message,
            "errorType": "RATE_LIMIT",
            "correlationId": str(uuid.uuid4()),
            "policyName": policy,
            "groupName": f"hubspot-api-private-app:{self.portal_id}",
        }

    def _limit_headers(self, remaining: int | None, daily_remaining: int) -> dict[str, str]:
        limits = self.limits
        return {
            "X-HubSpot-RateLimit-Max": str(limits.hubspot_burst),
            "X-HubSpot-RateLimit-Remaining": str(
                limits.hubspot_burst if remaining is None else remaining
            ),
            "X-HubSpot-RateLimit-Interval-Milliseconds": str(int(limits.hubspot_window_s * 1000)),
            "X-HubSpot-RateLimit-Daily": str(limits.hubspot_daily_max),
            "X-HubSpot-RateLimit-Daily-Remaining": str(daily_remaining),
        }

    def fault_answers(self, fault: Fault, req: ApiRequest) -> bool:
        if fault.kind != "empty-batch":
            return True
        return req.method == "POST" and self.canonical_path(req.path) == BATCH_READ_PATH

    def fault_response(self, fault: Fault, req: ApiRequest) -> Response:
        kind = fault.kind
        if kind == "empty-batch":
            # COMPLETE, and no error names any input as not found: they simply are not there
            now = datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
            body = {"status": "COMPLETE", "results": [], "startedAt": now, "completedAt": now}
            return json_response(200, body)
        search = req.path.endswith("/search") and "/objects/" in self.canonical_path(req.path)
        daily_left = self._daily.remaining(self.limits.hubspot_daily_max)
        if kind in ("429", "429-no-retry-after"):
            if search:
                body = self._rate_body("SECONDLY", "You have reached your secondly limit.")
                headers: dict[str, str] = {}
            else:
                body = self._rate_body(
                    "TEN_SECONDLY_ROLLING", "You have reached your ten_secondly_rolling limit."
                )
                headers = self._limit_headers(0, daily_left)
            if kind == "429":
                headers["Retry-After"] = seconds(fault.delay if fault.delay is not None else 1)
            return json_response(429, body, headers)
        if kind == "daily":
            body = self._rate_body("DAILY", "You have reached your daily limit.")
            return json_response(429, body, self._limit_headers(None, 0))
        if kind == "429-empty":
            return empty_response(429)
        if kind == "401":
            return error(401, AUTH_MESSAGE, "INVALID_AUTHENTICATION")
        if kind == "500":
            return error(500, "internal error", None)
        return html_error(int(kind))

    def internal_error(self, req: ApiRequest) -> Response:
        return error(500, "internal error", None)

    # ================================================================== dispatch

    def dispatch(self, req: ApiRequest) -> Response:
        if (req.method, req.path) == ("POST", TOKEN_INFO_PATH):  # takes the token in its body
            req.endpoint = "oauth.token_info"
            return self._h_token_info(req)
        credential = self.credential_for(req.bearer_token())
        if credential is None:
            return error(401, AUTH_MESSAGE, "INVALID_AUTHENTICATION")
        match = self._router.match(req.method, req.path)
        if match is None and self._router.knows(req.path):
            return error(405, f"HTTP method {req.method} is not supported by {req.path}", None)
        if match is None:
            return error(404, f"Unable to route {req.method} {req.path}", "OBJECT_NOT_FOUND")
        req.endpoint = match.name
        lacking = missing_scopes(credential.scopes, req.method, self.canonical_path(req.path))
        if lacking is not None:  # checked before the body is read, like HubSpot
            return missing_scopes_response(lacking)
        token = req.bearer_token() or ""
        # CRM search, of every object type, has its own bucket (the lists search does not)
        search = match.name.endswith(".search") and not match.name.startswith("lists")
        headers: dict[str, str] = {}
        if self.limits.enabled:
            refused = self._rate_limit(token, search, headers)
            if refused is not None:
                return refused
        elif not search:
            headers = self._limit_headers(None, self.limits.hubspot_daily_max)
        try:
            response = match.handler(req, **match.params)
        except Reject as reject:
            response = reject.response
        except InvalidValues as exc:
            response = validation_error(exc, self.portal_id)
        response.headers.update(headers)
        return response

    def _h_token_info(self, req: ApiRequest) -> Response:
        """Private-app token info: who the token belongs to and its scopes, for an app's static
        token (a legacy private app's or a project app's). What HubSpot answers for an unknown
        token or a service key is not documented: a 401 stands in for the first, the service
        key's ``token_info_status`` (404 unless a test says otherwise) for the second."""
        body = req.json if isinstance(req.json, dict) else {}
        token = body.get("tokenKey")
        credential = self.credential_for(token if isinstance(token, str) else None)
        if credential is None:
            return error(401, AUTH_MESSAGE, "INVALID_AUTHENTICATION")
        if not credential.described_by_token_info:
            status = credential.token_info_status
            if status == 401:
                return error(401, AUTH_MESSAGE, "INVALID_AUTHENTICATION")
            return error(status, "No private app has this token", "OBJECT_NOT_FOUND")
        return json_response(
            200,
            {
                "userId": 4242,
                "hubId": self.portal_id,
                "appId": credential.app_id,
                "scopes": list(credential.scopes or ()),
            },
        )

    def _rate_limit(self, token: str, search: bool, headers: dict[str, str]) -> Response | None:
        limits = self.limits
        daily_max = limits.hubspot_daily_max
        if self._daily.remaining(daily_max) <= 0:
            body = self._rate_body("DAILY", "You have reached your daily limit.")
            return json_response(429, body, {} if search else self._limit_headers(None, 0))
        if search:
            window = self._search_windows.setdefault(token, RollingWindow())
            if not window.acquire(limits.hubspot_search_burst, 1.0)[0]:
                body = self._rate_body("SECONDLY", "You have reached your secondly limit.")
                return json_response(429, body)
            self._daily.consume(daily_max)
            return None
        window = self._windows.setdefault(token, RollingWindow())
        allowed, remaining, wait = window.acquire(limits.hubspot_burst, limits.hubspot_window_s)
        if not allowed:
            refusal = self._limit_headers(0, self._daily.remaining(daily_max))
            refusal["Retry-After"] = seconds(wait)
            body = self._rate_body(
                "TEN_SECONDLY_ROLLING", "You have reached your ten_secondly_rolling limit."
            )
            return json_response(429, body, refusal)
        headers.update(self._limit_headers(remaining, self._daily.consume(daily_max)))
        return None

    def _build_router(self) -> Router:
        r = Router()
        # search reads its window per request: a test may shrink ``sandbox.hubspot.MAX_RESULTS``
        ContactRoutes(self, result_cap=lambda: MAX_RESULTS).register(r)
        ListRoutes(self).register(r)
        PropertyRoutes(self).register(r)
        for otype in OBJECT_TYPES:
            ObjectRoutes(self, otype).register(r)
        OwnerRoutes(self).register(r)
        AssociationRoutes(self).register(r)
        self.register_webhook_routes(r)  # the GDPR delete
        return r

    # ================================================================== control endpoints

    def control(self, req: ApiRequest) -> Response | None:
        answered = self.webhook_control(req)  # /_sandbox/webhooks, a contact's restore
        if answered is not None:
            return answered
        body = req.json if isinstance(req.json, dict) else {}
        if (req.method, req.path) == ("POST", "/_sandbox/contacts"):
            cid = self.add_contact(
                body.get("properties") or {}, archived=bool(body.get("archived"))
            )
            if body.get("list_id"):
                self.add_to_list(str(body["list_id"]), [cid])
            return json_response(201, {"id": cid})
        found = re.fullmatch(r"/_sandbox/contacts/(\d+)", req.path)
        if found:
            cid = found.group(1)
            if cid not in self.contacts_by_id:
                return json_response(404, {"ok": False, "error": f"no contact {cid}"})
            if req.method == "PATCH":
                self.update_contact(cid, body.get("properties") or {})
            elif req.method == "DELETE":
                self.archive_contact(cid)
            return json_response(200, self.get_contact(cid))
        found = re.fullmatch(r"/_sandbox/lists/(\d+)/members", req.path)
        if found and found.group(1) in self.lists_by_id:
            if req.method == "PUT":
                self.add_to_list(found.group(1), [str(i) for i in body.get("ids") or []])
            elif req.method == "DELETE":
                self.remove_from_list(found.group(1), [str(i) for i in body.get("ids") or []])
            return json_response(200, {"members": self.list_members(found.group(1))})
        return None
