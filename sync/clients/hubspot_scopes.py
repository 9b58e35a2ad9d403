"""Which HubSpot scope each endpoint sellsync calls needs: one table, used three ways.

* :data:`HUBSPOT_ENDPOINT_SCOPES` names every request the HubSpot client sends (by the ``kind``
  the client counts it under in ``stats``), its method and path, and the scopes HubSpot checks
  for it (read from the ``security`` of HubSpot's public OpenAPI specs, 2026-03). A test keeps it
  complete: every ``kind=`` the clients send must have a row.
* :func:`required_scopes` is what a credential must hold: ``sellsync check`` names the missing
  ones, and ``hubspot/src/app/app-hsmeta.json`` must ask for all of them (tested).
* :func:`probe_requests`: for a credential whose scopes HubSpot does not tell (a service key is
  not described by the private-app token info), one harmless request per scope set, so a 403
  names what is missing. The probes write nothing: the writes carry empty inputs.

Pure: no HTTP here (the client in :mod:`sync.clients.hubspot` sends the probes).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

#: The private-app token info: takes the token in its body, needs no scope. It describes legacy
#: private apps' tokens; HubSpot does not document what it answers for other kinds.
TOKEN_INFO_PATH = "/oauth/v2/private-apps/get/access-token-info"


#: ``app``: HubSpot's private-app token info described the token (a legacy private app's, or a
#: project app's static token: the answer does not say which); ``not_told``: it did not answer
#: for this token (a service key, or a token it does not describe), so its kind is not known.
CredentialKind = Literal["app", "not_told"]


@dataclass(frozen=True)
class HubSpotCredential:
    """What HubSpot told about ``HUBSPOT_ACCESS_TOKEN``.

    ``scopes`` is None when HubSpot did not tell them (``check`` then probes the endpoints);
    ``app_id``/``hub_id`` come from the token info when it answered; ``status`` is the token
    info's HTTP status when it did not (for the wording: 404, 400, 401 ...).
    """

    kind: CredentialKind
    scopes: frozenset[str] | None = None
    app_id: str = ""
    hub_id: str = ""
    status: int | None = None


#: What an endpoint serves: every sync and push, or leaving Sell (the one-off migration).
Feature = Literal["sync", "migration"]


@dataclass(frozen=True)
class HubSpotEndpoint:
    """One kind of request the clients send.

    ``path`` uses ``{version}``, ``{listId}``, ``{contactId}`` and ``{objectType}``
    (``contacts``, ``companies`` or ``notes``; HubSpot guards notes with the contact scopes).
    ``scopes`` must all be held for every object type the kind is sent for (HubSpot answers 403
    ``MISSING_SCOPES`` otherwise); ``why`` says it in words. ``probe``: the request ``check``
    sends to learn whether the scopes are held (method, path, JSON body), or None when another
    row's probe covers the same scopes.
    """

    kind: str
    method: str
    path: str
    scopes: tuple[str, ...]
    why: str
    probe: Any = field(default=None)  # (method, path, body), a tuple of them, or None
    feature: Feature = "sync"


_C = "/crm/objects/{version}/contacts"
_O = "/crm/objects/{version}/{objectType}"
_CONTACTS_READ = ("crm.objects.contacts.read",)
_CONTACTS_WRITE = ("crm.objects.contacts.write",)
_OBJECTS_READ = ("crm.objects.companies.read", "crm.objects.contacts.read")
_OBJECTS_WRITE = ("crm.objects.companies.write", "crm.objects.contacts.write")

#: Every HubSpot endpoint the clients call, keyed by the client's ``kind``.
HUBSPOT_ENDPOINT_SCOPES: Mapping[str, HubSpotEndpoint] = {
    e.kind: e
    for e in (
        # ---------------------------------------------------------------- sync and push
        HubSpotEndpoint(
            "batch_read", "POST", _C + "/batch/read", _CONTACTS_READ,
            "read the synced list's contacts",
            ("POST", _C + "/batch/read",
             {"properties": ["email"], "propertiesWithHistory": [], "inputs": []}),
        ),
        HubSpotEndpoint(
            "get_one", "GET", _C + "/{contactId}", _CONTACTS_READ,
            "read a contact a batch read left out",
        ),
        HubSpotEndpoint(
            "search", "POST", _C + "/search", _CONTACTS_READ,
            "find the contacts changed since the last run",
        ),
        HubSpotEndpoint(
            "batch_create", "POST", _C + "/batch/create", _CONTACTS_WRITE,
            "create the contacts reps push from Sell",
            ("POST", _C + "/batch/create", {"inputs": []}),
        ),
        HubSpotEndpoint(
            "batch_update", "POST", _C + "/batch/update", _CONTACTS_WRITE,
            "write Sell's changes back to contacts",
        ),
        HubSpotEndpoint(
            "get_list", "GET", "/crm/lists/{version}/{listId}", ("crm.lists.read",),
            "read the synced list",
            ("GET", "/crm/lists/{version}/{listId}", None),
        ),
        HubSpotEndpoint(
            "memberships", "GET", "/crm/lists/{version}/{listId}/memberships",
            ("crm.lists.read",), "page through the synced list's members",
        ),
        HubSpotEndpoint(
            "join_order", "GET", "/crm/lists/{version}/{listId}/memberships/join-order",
            ("crm.lists.read",), "page through the list's members in the order they joined",
        ),
        HubSpotEndpoint(
            "record_memberships", "GET",
            "/crm/lists/{version}/records/0-1/{contactId}/memberships", ("crm.lists.read",),
            "tell whether a contact is still in the synced list",
        ),
        HubSpotEndpoint(
            "list_add", "PUT", "/crm/lists/{version}/{listId}/memberships/add",
            ("crm.lists.read", "crm.lists.write"),
            "add pushed contacts to a MANUAL or SNAPSHOT list",
            ("PUT", "/crm/lists/{version}/{listId}/memberships/add", []),
        ),
        HubSpotEndpoint(
            # HubSpot's spec accepts any contact scope here (crm.schemas.contacts.read too)
            "properties", "GET", "/crm/properties/{version}/contacts", _CONTACTS_READ,
            "read contact property definitions (the score, custom mappings)",
        ),
        HubSpotEndpoint(
            "token_info", "POST", TOKEN_INFO_PATH, (),
            "ask which app a token belongs to and its scopes (check only)",
        ),
        # ---------------------------------------------------------------- leaving Sell
        HubSpotEndpoint(
            "crm_batch_read", "POST", _O + "/batch/read", _OBJECTS_READ,
            "read moved contacts, companies and notes",
            ("POST", "/crm/objects/{version}/companies/batch/read",
             {"properties": ["name"], "propertiesWithHistory": [], "inputs": []}),
            "migration",
        ),
        HubSpotEndpoint(
            "crm_list", "GET", _O, _OBJECTS_READ,
            "page through contacts, companies and notes", feature="migration",
        ),
        HubSpotEndpoint(
            "crm_batch_upsert", "POST", _O + "/batch/upsert", _OBJECTS_WRITE,
            "write moved contacts, companies and notes",
            ("POST", "/crm/objects/{version}/companies/batch/create", {"inputs": []}),
            "migration",
        ),
        HubSpotEndpoint(
            "crm_batch_update", "POST", _O + "/batch/update", _OBJECTS_WRITE,
            "update moved contacts, companies and notes", feature="migration",
        ),
        HubSpotEndpoint(
            "associate", "POST",
            "/crm/associations/{version}/{objectType}/{objectType}/batch/associate/default",
            _OBJECTS_WRITE, "associate notes and contacts with companies",
            feature="migration",
        ),
        HubSpotEndpoint(
            "association_read", "POST",
            "/crm/associations/{version}/{objectType}/{objectType}/batch/read", _OBJECTS_READ,
            "read existing associations", feature="migration",
        ),
        HubSpotEndpoint(
            "owners", "GET", "/crm/owners/{version}", ("crm.objects.owners.read",),
            "match Sell users to HubSpot owners",
            ("GET", "/crm/owners/{version}", None), "migration",
        ),
        HubSpotEndpoint(
            # HubSpot's spec accepts the object's read scope (or its crm.schemas read scope)
            "crm_properties", "GET", "/crm/properties/{version}/{objectType}", _OBJECTS_READ,
            "read contact and company property definitions", feature="migration",
        ),
        HubSpotEndpoint(
            "property_create", "POST", "/crm/properties/{version}/{objectType}",
            ("crm.schemas.companies.write", "crm.schemas.contacts.write"),
            "create the properties moved Sell fields land in",
            (("POST", "/crm/properties/{version}/contacts/batch/create", {"inputs": []}),
             ("POST", "/crm/properties/{version}/companies/batch/create", {"inputs": []})),
            "migration",
        ),
        HubSpotEndpoint(
            "property_update", "PATCH", "/crm/properties/{version}/{objectType}/{name}",
            ("crm.schemas.companies.write", "crm.schemas.contacts.write"),
            "add choices to those properties", feature="migration",
        ),
    )
}  # fmt: skip


def required_scopes(
    endpoints: Iterable[HubSpotEndpoint] | None = None, *, feature: Feature | None = None
) -> tuple[str, ...]:
    """Every scope the endpoints need, sorted (by default those of the whole table; with
    ``feature``, only that feature's)."""
    rows = HUBSPOT_ENDPOINT_SCOPES.values() if endpoints is None else endpoints
    return tuple(sorted({s for e in rows if feature in (None, e.feature) for s in e.scopes}))


def missing_scopes(granted: Iterable[str], required: Sequence[str] | None = None) -> list[str]:
    """The scopes of ``required`` (by default :func:`required_scopes`) not in ``granted``."""
    held = set(granted)
    return [s for s in (required if required is not None else required_scopes()) if s not in held]


@dataclass(frozen=True)
class Probe:
    """A harmless request whose 403 means ``scopes`` are not all held."""

    kind: str
    method: str
    path: str
    body: Any
    scopes: tuple[str, ...]
    feature: Feature = "sync"


def probe_requests(version: str, list_id: str | None = None) -> list[Probe]:
    """One probe per scope set of the table, covering every required scope.

    ``list_id``: the configured list (a missing one answers 404, which still proves the scope:
    HubSpot checks scopes before it looks the list up); ``0`` when none is set.
    """
    values = {"version": version, "listId": list_id or "0", "contactId": "0"}
    probes = []
    for e in HUBSPOT_ENDPOINT_SCOPES.values():
        requests = () if e.probe is None else e.probe
        if requests and not isinstance(requests[0], tuple):
            requests = (requests,)
        for method, template, body in requests:
            path = template.format(**values)
            # a request for one object type of a row speaks for that type's scopes only
            own = tuple(
                s for s in e.scopes if any(f"/{t}" in path and f".{t}." in s for t in _TYPES)
            )
            probes.append(Probe(e.kind, method, path, body, own or e.scopes, e.feature))
    return probes


_TYPES = ("contacts", "companies")
