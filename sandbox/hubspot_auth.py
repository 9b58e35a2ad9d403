"""The HubSpot stand-in's credentials: the three kinds a portal hands out today, and scopes.

* A **legacy private app**'s token and a **project app**'s static token: the private-app token
  info (``POST /oauth/v2/private-apps/get/access-token-info``) answers for them with the app,
  the portal and the granted scopes.
* A **service key**: REST calls only. HubSpot documents no token-info answer for it; the
  stand-in answers 404 by default (``token_info_status`` changes it, e.g. to 401 or 400, so
  tests show that no answer of that endpoint fails a valid key).

Every credential holds scopes; a route listed in :data:`ROUTE_SCOPES` answers 403
``MISSING_SCOPES`` (HubSpot's body, naming the scopes in ``requiredGranularScopes``) when the
credential holds none of its accepted scope sets. The sets are those of the ``security`` of
HubSpot's public OpenAPI specs (2026-03): the property definitions accept any contact read
scope, list writes want ``crm.lists.read`` and ``crm.lists.write``. Routes not listed ask for
nothing. HubSpot checks scopes before it reads the body, so an empty batch still answers 403.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, field
from typing import Literal

from starlette.responses import Response

from sandbox.core import json_response

Kind = Literal["private_app", "project_app", "service_key"]

#: What the sandbox's credentials are granted: the scopes hubspot/src/app/app-hsmeta.json asks
#: for (syncing, and leaving Sell: companies, owners, property definitions). Tests narrow a
#: credential's scopes.
DEFAULT_TOKEN_SCOPES = (
    "crm.lists.read",
    "crm.lists.write",
    "crm.objects.companies.read",
    "crm.objects.companies.write",
    "crm.objects.contacts.read",
    "crm.objects.contacts.write",
    "crm.objects.owners.read",
    "crm.schemas.companies.read",
    "crm.schemas.companies.write",
    "crm.schemas.contacts.read",
    "crm.schemas.contacts.write",
    "oauth",
)

#: The other kinds' published sandbox credentials (``sellsync sandbox`` prints the main token;
#: these are for trying each kind: ``HUBSPOT_ACCESS_TOKEN=<one of them> sellsync check``).
SERVICE_KEY = "sandbox-hubspot-service-key"
PROJECT_APP_TOKEN = "sandbox-hubspot-project-app-token"

_CONTACT_READ = ("crm.objects.contacts.read",)
_LIST_READ = ("crm.lists.read",)
_LIST_WRITE = ("crm.lists.read", "crm.lists.write")
_OBJ = r"/crm/objects/2026-03/(contacts|companies|notes|0-1|0-2)"
_L = "/crm/lists/2026-03"
_P = r"/crm/properties/2026-03/(contacts|companies|notes|0-1|0-2)"
_A = r"/crm/associations/2026-03/[^/]+/[^/]+/batch"

#: (method, canonical path pattern, accepted scope sets: any one set, held whole, suffices).
#: ``{read}``/``{write}`` stand for the object's scope (notes use the contact scopes).
ROUTE_SCOPES: tuple[tuple[str, re.Pattern[str], tuple[tuple[str, ...], ...]], ...] = (
    ("POST", re.compile(rf"^{_OBJ}/(batch/read|search)$"), (("{read}",),)),
    ("GET", re.compile(rf"^{_OBJ}(/[^/]+)?$"), (("{read}",),)),
    ("POST", re.compile(rf"^{_OBJ}(/batch/(create|update|upsert|archive)|/merge|/gdpr-delete)?$"),
     (("{write}",),)),
    ("PATCH", re.compile(rf"^{_OBJ}/[^/]+$"), (("{write}",),)),
    ("DELETE", re.compile(rf"^{_OBJ}/[^/]+$"), (("{write}",),)),
    ("GET", re.compile(rf"^{_L}/.+$"), (_LIST_READ,)),
    ("POST", re.compile(rf"^{_L}/(search|records/memberships/batch/read)$"), (_LIST_READ,)),
    ("POST", re.compile(rf"^{_L}/?$"), (_LIST_WRITE,)),
    ("PUT", re.compile(rf"^{_L}/.+$"), (_LIST_WRITE,)),
    ("DELETE", re.compile(rf"^{_L}/.+$"), (_LIST_WRITE,)),
    ("GET", re.compile(rf"^{_P}(/.*)?$"), (("{schemas_read}",), ("{read}",), ("{write}",))),
    ("POST", re.compile(rf"^{_P}/batch/read$"), (("{schemas_read}",), ("{read}",), ("{write}",))),
    ("POST", re.compile(rf"^{_P}(/batch/(create|archive))?$"), (("{schemas_write}",),)),
    ("PATCH", re.compile(rf"^{_P}/[^/]+$"), (("{schemas_write}",),)),
    ("POST", re.compile(rf"^{_A}/associate/default$"), (("{write}",),)),
    ("POST", re.compile(rf"^{_A}/read$"), (("{read}",),)),
    ("GET", re.compile(r"^/crm/owners/2026-03(/.*)?$"), (("crm.objects.owners.read",),)),
)  # fmt: skip
_OBJECT_SCOPE = {"contacts": "contacts", "0-1": "contacts", "notes": "contacts",
                 "companies": "companies", "0-2": "companies"}  # fmt: skip


@dataclass
class Credential:
    """One token the portal accepts. ``scopes`` None: every scope (no 403 ever)."""

    kind: Kind
    scopes: list[str] | None = field(default_factory=lambda: list(DEFAULT_TOKEN_SCOPES))
    app_id: int | None = 777
    #: The token info's status for a kind it does not describe (service keys): 404 by default.
    token_info_status: int = 404

    @property
    def described_by_token_info(self) -> bool:
        return self.kind in ("private_app", "project_app")


def default_credentials() -> dict[str, Credential]:
    """The extra credentials a fresh portal has (the main token is the state's own)."""
    return {
        SERVICE_KEY: Credential("service_key", app_id=None),
        PROJECT_APP_TOKEN: Credential("project_app", app_id=888),
    }


def accepted_scopes(method: str, path: str) -> tuple[tuple[str, ...], ...] | None:
    """The scope sets a canonical route accepts, or None when it asks for none."""
    for route_method, pattern, alternatives in ROUTE_SCOPES:
        found = pattern.match(path) if route_method == method else None
        if found is None:
            continue
        obj = _OBJECT_SCOPE.get((found.group(1) if found.groups() else None) or "", "contacts")
        names = {
            "read": f"crm.objects.{obj}.read",
            "write": f"crm.objects.{obj}.write",
            "schemas_read": f"crm.schemas.{obj}.read",
            "schemas_write": f"crm.schemas.{obj}.write",
        }
        return tuple(tuple(s.format(**names) for s in option) for option in alternatives)
    return None


def missing_scopes(granted: list[str] | None, method: str, path: str) -> tuple[str, ...] | None:
    """None when ``granted`` covers the route; else the scopes it would need (the first set)."""
    alternatives = accepted_scopes(method, path)
    if granted is None or alternatives is None:
        return None
    held = set(granted)
    if any(set(option) <= held for option in alternatives):
        return None
    return alternatives[0]


def missing_scopes_response(required: tuple[str, ...]) -> Response:
    """HubSpot's 403 for a credential without the route's scopes."""
    return json_response(
        403,
        {
            "status": "error",
            "message": (
                "This app hasn't been granted all required scopes to make this call. "
                "Read more about required scopes here: https://developers.hubspot.com/scopes."
            ),
            "correlationId": str(uuid.uuid4()),
            "errors": [
                {
                    "message": "One or more of the following scopes are required.",
                    "context": {"requiredGranularScopes": list(required)},
                }
            ],
            "links": {"scopes": "https://developers.hubspot.com/scopes"},
            "category": "MISSING_SCOPES",
        },
    )
