"""What HubSpot accepts on the wire, for each operation sellsync sends, as a small table.

The facts come from HubSpot's published OpenAPI specs for the 2026-03 date version (the
``HubSpot/HubSpot-public-api-spec-collection`` repository, ``PublicApiSpecs/CRM/{Contacts,Lists,
Properties}/Rollouts/*/2026-03/*.json``), restated here by hand in a form small enough to read:
path, query parameters and their types, body fields with the ones the spec marks required, and the
limits the specs state in prose (search ``limit`` up to 200, membership ``limit`` up to 250, up to
6 filter groups). The batch cap of 100 inputs is from HubSpot's guides, not the specs (they have no
``maxItems``). :func:`violations` checks one recorded request against its operation, so the
contract suite can prove that every request :class:`~sync.clients.hubspot.HubSpotClient` sends is
one HubSpot would take.

Two places where the spec and the live API disagree, and the table follows the live API:

* ``sorts`` in a search is typed ``array of string``, but HubSpot sorts only by objects
  ``{"propertyName", "direction"}`` (its own guides use them; a JSON-encoded string is ignored,
  as users of the generated clients found out). The table asks for the objects.
* The search body lists all of ``after, filterGroups, limit, properties, sorts`` as required, yet
  HubSpot answers bodies without them (its guides omit ``after`` and ``sorts``). The client sends
  all five anyway; :data:`LENIENT` records that the sandbox need not refuse their absence.

Token info (``POST /oauth/v2/private-apps/get/access-token-info``) is not in the collection; its
row is from HubSpot's private-app guide.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

V = "2026-03"


# ---------------------------------------------------------------------------- schema atoms


@dataclass(frozen=True)
class Str:
    """A JSON string (optionally one of ``enum``)."""

    enum: tuple[str, ...] = ()


@dataclass(frozen=True)
class Int:
    maximum: int | None = None


@dataclass(frozen=True)
class Arr:
    items: Schema
    max_items: int | None = None


@dataclass(frozen=True)
class Obj:
    """A JSON object with known ``fields``; ``required`` names the ones that must be present."""

    fields: Mapping[str, Schema]
    required: frozenset[str] = frozenset()


@dataclass(frozen=True)
class StrMap:
    """An object of string values (``additionalProperties: string``): CRM property values."""


Schema = Str | Int | Arr | Obj | StrMap


def problems(schema: Schema, value: Any, where: str) -> list[str]:
    """What is wrong with ``value`` as an instance of ``schema`` (empty when it fits)."""
    if isinstance(schema, Str):
        if not isinstance(value, str):
            return [f"{where}: expected a string, got {type(value).__name__}"]
        if schema.enum and value not in schema.enum:
            return [f"{where}: {value!r} is not one of {', '.join(schema.enum)}"]
        return []
    if isinstance(schema, Int):
        if isinstance(value, bool) or not isinstance(value, int):
            return [f"{where}: expected an integer, got {type(value).__name__}"]
        if schema.maximum is not None and value > schema.maximum:
            return [f"{where}: {value} is over the maximum {schema.maximum}"]
        return []
    if isinstance(schema, Arr):
        if not isinstance(value, list):
            return [f"{where}: expected an array, got {type(value).__name__}"]
        found = []
        if schema.max_items is not None and len(value) > schema.max_items:
            found.append(f"{where}: {len(value)} items, at most {schema.max_items}")
        for index, item in enumerate(value):
            found += problems(schema.items, item, f"{where}[{index}]")
        return found
    if isinstance(schema, StrMap):
        if not isinstance(value, dict):
            return [f"{where}: expected an object, got {type(value).__name__}"]
        return [
            f"{where}.{key}: expected a string, got {type(item).__name__}"
            for key, item in value.items()
            if not isinstance(item, str)
        ]
    if not isinstance(value, dict):
        return [f"{where}: expected an object, got {type(value).__name__}"]
    found = [f"{where}: missing required {name}" for name in sorted(schema.required - set(value))]
    for name, item in value.items():
        if name not in schema.fields:
            found.append(f"{where}: unknown field {name}")
        else:
            found += problems(schema.fields[name], item, f"{where}.{name}")
    return found


# ---------------------------------------------------------------------------- the operations


@dataclass(frozen=True)
class Operation:
    """One HubSpot operation: ``path`` is a regular expression over the request path."""

    name: str
    method: str
    path: str
    query: Mapping[str, Schema] = field(default_factory=dict)
    required_query: frozenset[str] = frozenset()
    body: Schema | None = None
    example: Any = None  # a smallest body the operation accepts (for refusal tests)

    def matches(self, method: str, path: str) -> bool:
        return method.upper() == self.method and re.fullmatch(self.path, path) is not None


BOOL = Str(enum=("true", "false"))  # a boolean query parameter as it travels
STRINGS = Arr(Str())
ID = r"[^/]+"
OBJECTS = f"/crm/objects/{V}/contacts"
LISTS = f"/crm/lists/{V}"

OPERATORS = ("BETWEEN", "CONTAINS_TOKEN", "EQ", "GT", "GTE", "HAS_PROPERTY", "IN", "LT", "LTE")
OPERATORS += ("NEQ", "NOT_CONTAINS_TOKEN", "NOT_HAS_PROPERTY", "NOT_IN")
FILTER = Obj(
    {
        "propertyName": Str(),
        "operator": Str(enum=OPERATORS),
        "value": Str(),
        "highValue": Str(),
        "values": STRINGS,
    },
    required=frozenset({"operator", "propertyName"}),
)
SORT = Obj(  # the live form (the spec says string; see the module docstring)
    {"propertyName": Str(), "direction": Str(enum=("ASCENDING", "DESCENDING"))},
    required=frozenset({"propertyName", "direction"}),
)
ASSOCIATION = Obj(
    {
        "to": Obj({"id": Str()}, required=frozenset({"id"})),
        "types": Arr(
            Obj(
                {
                    "associationCategory": Str(
                        enum=("HUBSPOT_DEFINED", "INTEGRATOR_DEFINED", "USER_DEFINED", "WORK")
                    ),
                    "associationTypeId": Int(),
                },
                required=frozenset({"associationCategory", "associationTypeId"}),
            )
        ),
    },
    required=frozenset({"to", "types"}),
)
BATCH_MAX = 100

OPERATIONS: tuple[Operation, ...] = (
    Operation(
        "lists.get", "GET", f"{LISTS}/{ID}",
        query={"includeFilters": BOOL},
    ),
    Operation(
        "lists.memberships", "GET", f"{LISTS}/{ID}/memberships",
        query={"after": Str(), "before": Str(), "limit": Int(maximum=250)},
    ),
    Operation("lists.record_memberships", "GET", f"{LISTS}/records/0-1/{ID}/memberships"),
    Operation(
        "lists.memberships.add", "PUT", f"{LISTS}/{ID}/memberships/add",
        body=STRINGS, example=[],
    ),
    Operation(
        "contacts.batch.read", "POST", f"{OBJECTS}/batch/read",
        query={"archived": BOOL},
        body=Obj(
            {
                "inputs": Arr(Obj({"id": Str()}, required=frozenset({"id"})), BATCH_MAX),
                "properties": STRINGS,
                "propertiesWithHistory": STRINGS,
                "idProperty": Str(),
            },
            required=frozenset({"inputs", "properties", "propertiesWithHistory"}),
        ),
        example={"inputs": [{"id": "1"}], "properties": [], "propertiesWithHistory": []},
    ),
    Operation(
        "contacts.search", "POST", f"{OBJECTS}/search",
        body=Obj(
            {
                "filterGroups": Arr(Obj({"filters": Arr(FILTER)}, frozenset({"filters"})), 6),
                "sorts": Arr(SORT),
                "properties": STRINGS,
                "limit": Int(maximum=200),
                "after": Str(),
                "query": Str(),
            },
            required=frozenset({"after", "filterGroups", "limit", "properties", "sorts"}),
        ),
        example={"filterGroups": [], "sorts": [], "properties": [], "limit": 1, "after": "0"},
    ),
    Operation(
        "contacts.batch.create", "POST", f"{OBJECTS}/batch/create",
        body=Obj(
            {
                "inputs": Arr(
                    Obj(
                        {
                            "properties": StrMap(),
                            "associations": Arr(ASSOCIATION),
                            "objectWriteTraceId": Str(),
                        },
                        required=frozenset({"associations", "properties"}),
                    ),
                    BATCH_MAX,
                )
            },
            required=frozenset({"inputs"}),
        ),
        example={"inputs": [{"properties": {}, "associations": []}]},
    ),
    Operation(
        "contacts.batch.update", "POST", f"{OBJECTS}/batch/update",
        body=Obj(
            {
                "inputs": Arr(
                    Obj(
                        {
                            "id": Str(),
                            "idProperty": Str(),
                            "properties": StrMap(),
                            "objectWriteTraceId": Str(),
                        },
                        required=frozenset({"id", "properties"}),
                    ),
                    BATCH_MAX,
                )
            },
            required=frozenset({"inputs"}),
        ),
        example={"inputs": [{"id": "1", "properties": {}}]},
    ),
    Operation(
        "contacts.merge", "POST", f"{OBJECTS}/merge",
        body=Obj(
            {"primaryObjectId": Str(), "objectIdToMerge": Str()},
            required=frozenset({"primaryObjectId", "objectIdToMerge"}),
        ),
        example={"primaryObjectId": "1", "objectIdToMerge": "2"},
    ),
    Operation(
        "properties.list", "GET", f"/crm/properties/{V}/{ID}",
        query={
            "archived": BOOL,
            "dataSensitivity": Str(enum=("highly_sensitive", "non_sensitive", "sensitive")),
            "locale": Str(),
            "properties": Str(),
        },
    ),
    Operation(
        "token.info", "POST", "/oauth/v2/private-apps/get/access-token-info",
        body=Obj({"tokenKey": Str()}, required=frozenset({"tokenKey"})),
    ),
)  # fmt: skip

# Spec-required body fields HubSpot does not insist on (see the module docstring): the client
# sends them, the sandbox accepts their absence. Paths are dotted, ``[]`` for "each item".
LENIENT: frozenset[tuple[str, str]] = frozenset(
    {("contacts.search", name) for name in ("after", "filterGroups", "limit", "properties")}
    | {("contacts.search", "sorts"), ("contacts.batch.create", "inputs[].associations")}
)


def operation(method: str, path: str) -> Operation | None:
    """The operation a request is for, or None when the table has none."""
    return next((op for op in OPERATIONS if op.matches(method, path)), None)


def violations(method: str, path: str, query: Mapping[str, Any], body: Any) -> list[str]:
    """Why HubSpot would not take this request as its operation (empty when it would)."""
    op = operation(method, path)
    if op is None:
        return [f"{method} {path}: no such operation in HubSpot's 2026-03 specs"]
    found = [f"query: missing required {name}" for name in sorted(op.required_query - set(query))]
    for name, raw in query.items():
        values = raw if isinstance(raw, list) else [raw]
        if name not in op.query:
            found.append(f"query: unknown parameter {name}")
            continue
        kind = op.query[name]
        for value in values:
            if isinstance(kind, Int):
                if not str(value).isdigit():
                    found.append(f"query.{name}: {value!r} is not an integer")
                else:
                    found += problems(kind, int(value), f"query.{name}")
            else:
                found += problems(kind, value, f"query.{name}")
    if op.body is None:
        if body is not None:
            found.append("body: the operation takes none")
    elif body is None:
        found.append("body: missing")
    else:
        found += problems(op.body, body, "body")
    return found


def required_fields(op: Operation) -> list[str]:
    """The spec-required body fields of ``op``, as dotted paths (``inputs[].id``)."""
    out: list[str] = []

    def walk(schema: Schema, prefix: str) -> None:
        if isinstance(schema, Arr):
            walk(schema.items, f"{prefix}[]")
        elif isinstance(schema, Obj):
            for name in sorted(schema.fields):
                path = f"{prefix}.{name}" if prefix else name
                if name in schema.required:
                    out.append(path)
                walk(schema.fields[name], path)

    if op.body is not None:
        walk(op.body, "")
    return out


def without(body: Any, dotted: str) -> Any:
    """A deep copy of ``body`` with the field at ``dotted`` removed (from every item)."""
    head, _, rest = dotted.partition(".")
    if isinstance(body, list):
        return [without(item, dotted) for item in body]
    out = dict(body)
    name = head.removesuffix("[]")
    if not rest:
        out.pop(name, None)
    elif name in out:
        out[name] = without(out[name], rest)
    return out
