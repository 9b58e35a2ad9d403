"""HubSpot's contact properties routes: list the definitions, read one, create one, update one.

A new property is checked as the Properties API does (name spelling, a field type that fits
the type, options for enumerations) before :meth:`HubSpotStore.add_property` stores it; the
definitions and the value rules live in :mod:`sandbox.hubspot_properties`.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from starlette.responses import Response

from sandbox.core import ApiRequest, Router, json_response
from sandbox.hubspot_properties import FIELD_TYPES, iso_ms
from sandbox.hubspot_store import HubSpotStore
from sandbox.hubspot_wire import PROPERTIES_PATH, bad_request, error, object_body


class PropertyRoutes:
    """The ``/crm/properties/.../contacts`` handlers, acting on ``store``."""

    def __init__(self, store: HubSpotStore) -> None:
        self.store = store

    def register(self, r: Router) -> None:
        base = PROPERTIES_PATH
        r.add("GET", base, "properties.list", self._h_props_list)
        r.add("POST", base, "properties.create", self._h_prop_create)
        r.add("GET", base + r"/(?P<name>[^/]+)", "properties.get", self._h_prop_get)
        r.add("PATCH", base + r"/(?P<name>[^/]+)", "properties.update", self._h_prop_update)

    def _h_prop_update(self, req: ApiRequest, name: str) -> Response:
        return update_property(self.store.properties, name, req, self.store.now_ms())

    def _h_props_list(self, req: ApiRequest) -> Response:
        return list_properties(self.store.properties, req)

    def _h_prop_get(self, req: ApiRequest, name: str) -> Response:
        return get_property(self.store.properties, name)

    def _h_prop_create(self, req: ApiRequest) -> Response:
        return create_property(self.store.properties, req, self.store.add_property)


def list_properties(properties: dict[str, dict[str, Any]], req: ApiRequest) -> Response:
    """``GET /crm/properties/…``: the definitions, the archived ones only with ``archived=true``."""
    archived = req.query.get("archived", "false").lower() == "true"
    results = [p for p in properties.values() if bool(p.get("archived")) == archived]
    return json_response(200, {"results": results})


def get_property(properties: dict[str, dict[str, Any]], name: str) -> Response:
    """``GET /crm/properties/…/{name}``: one definition, or HubSpot's 404."""
    prop = properties.get(name)
    if prop is None:
        return error(404, f"Unable to find property {name}", "OBJECT_NOT_FOUND")
    return json_response(200, prop)


def create_property(
    properties: dict[str, dict[str, Any]],
    req: ApiRequest,
    add: Callable[..., dict[str, Any]],
    unique_limit: tuple[int, str] | None = None,
) -> Response:
    """``POST /crm/properties/…``: check a new definition as the Properties API does, then
    store it with ``add`` (the store's ``add_property``). ``unique_limit`` is how many unique
    properties the type already has and its name, where HubSpot caps them at ten."""
    body = object_body(req)
    missing = [k for k in ("name", "label", "type", "fieldType", "groupName") if not body.get(k)]
    if missing:
        return bad_request(f"Missing required fields: {', '.join(missing)}")
    name, kind, field_type = str(body["name"]), str(body["type"]), str(body["fieldType"])
    if not re.fullmatch(r"[a-z][a-z0-9_]*", name):
        return bad_request(
            f"Property name {name!r} must start with a letter and hold only lower-case letters,"
            " digits and underscores"
        )
    if name in properties:
        return error(409, f"Property named '{name}' already exists.", "OBJECT_ALREADY_EXISTS")
    if field_type not in FIELD_TYPES.get(kind, frozenset()):
        return bad_request(f"fieldType {field_type} is not valid for type {kind}")
    raw_options = body.get("options") or []
    if not isinstance(raw_options, list) or not all(
        isinstance(o, dict) and o.get("value") is not None and o.get("label") for o in raw_options
    ):
        return bad_request("options must be a list of {label, value} objects")
    options = [(str(o["value"]), str(o["label"])) for o in raw_options]
    if kind == "enumeration" and not options:
        return bad_request("Enumeration properties need at least one option")
    if kind == "bool" and not options:
        options = [("true", "Yes"), ("false", "No")]
    unique = bool(body.get("hasUniqueValue"))
    if unique and unique_limit is not None and unique_limit[0] >= 10:
        return bad_request(
            f"Can't create more than 10 unique value properties for {unique_limit[1]}"
        )
    prop = add(
        name,
        str(body["label"]),
        kind,
        field_type,
        options,
        group=str(body["groupName"]),
        unique=unique,
        description=str(body.get("description") or ""),
    )
    return json_response(201, prop, {"Location": f"{req.base_url}{req.path}/{name}"})


#: What ``PropertyUpdate`` may change (anything else in the body is ignored, as HubSpot does).
UPDATABLE = (
    *("label", "type", "fieldType", "groupName", "description", "options"),
    *("displayOrder", "hidden", "formField"),
)


def update_property(
    properties: dict[str, dict[str, Any]], name: str, req: ApiRequest, now_ms: int
) -> Response:
    """``PATCH /crm/properties/…/{name}``: change a custom property's definition; ``options``
    replace the old ones whole. HubSpot's own definitions refuse."""
    prop = properties.get(name)
    if prop is None:
        return error(404, f"Unable to find property {name}", "OBJECT_NOT_FOUND")
    body = object_body(req)
    if (prop.get("modificationMetadata") or {}).get("readOnlyDefinition"):
        return bad_request(f"{name} is a HubSpot defined property; its definition cannot change")
    kind = str(body.get("type") or prop["type"])
    field_type = str(body.get("fieldType") or prop["fieldType"])
    if field_type not in FIELD_TYPES.get(kind, frozenset()):
        return bad_request(f"fieldType {field_type} is not valid for type {kind}")
    changes = {key: body[key] for key in UPDATABLE if key in body}
    if "options" in changes:
        raw = changes["options"]
        if not isinstance(raw, list) or not all(
            isinstance(o, dict) and o.get("value") is not None and o.get("label") for o in raw
        ):
            return bad_request("options must be a list of {label, value} objects")
        values = [str(o["value"]) for o in raw]
        if len(set(values)) != len(values):
            return bad_request(
                f"Duplicate option values: {sorted(v for v in set(values) if values.count(v) > 1)}"
            )
        changes["options"] = [
            {
                "label": str(o["label"]),
                "value": str(o["value"]),
                "displayOrder": int(o.get("displayOrder", i)),
                "hidden": bool(o.get("hidden", False)),
                "description": str(o.get("description") or ""),
            }
            for i, o in enumerate(raw)
        ]
    if kind == "enumeration" and not changes.get("options", prop.get("options")):
        return bad_request("Enumeration properties need at least one option")
    prop.update(changes)
    prop["updatedAt"] = iso_ms(now_ms)
    return json_response(200, prop)
