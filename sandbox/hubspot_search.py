"""The CRM search request: validation, filters and the sort, over in-memory contacts.

Semantics follow the search guide: filter groups are ORed, the filters inside a group ANDed;
string matching is case-insensitive (enumerations are exact, and ``IN``/``NOT_IN`` values on
strings must be lower-case); dates and datetimes compare as epoch ms and accept ISO-8601 or
epoch-ms strings; ``CONTAINS_TOKEN`` takes ``*`` wildcards.
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from sandbox.hubspot_properties import to_epoch_ms

MAX_BODY_CHARS = 3000
MAX_LIMIT = 200
MAX_RESULTS = 10_000
MAX_GROUPS = 5
MAX_FILTERS_PER_GROUP = 6
MAX_FILTERS = 18
DEFAULT_PROPERTIES = (
    "createdate",
    "email",
    "firstname",
    "hs_object_id",
    "lastmodifieddate",
    "lastname",
)
QUERY_PROPERTIES = ("firstname", "lastname", "email", "phone", "company", "website", "domain")

OPERATORS = frozenset(
    {
        "EQ",
        "NEQ",
        "LT",
        "LTE",
        "GT",
        "GTE",
        "BETWEEN",
        "IN",
        "NOT_IN",
        "HAS_PROPERTY",
        "NOT_HAS_PROPERTY",
        "CONTAINS_TOKEN",
        "NOT_CONTAINS_TOKEN",
    }
)

Values = Mapping[str, str]
Predicate = Callable[[Values], bool]


class SearchError(Exception):
    """A search request HubSpot answers with 400."""


def _typed(prop: Mapping[str, Any], value: str | None, *, from_filter: bool) -> Any:
    if value is None:
        return None
    kind = prop["type"]
    if kind == "number":
        try:
            return float(value)
        except ValueError:
            if from_filter:
                raise SearchError(f"{value} is not a valid number for {prop['name']}") from None
            return None
    if kind in ("date", "datetime"):
        ms = to_epoch_ms(value)
        if ms is None and from_filter:
            raise SearchError(f"{value} is not a valid date for {prop['name']}")
        return ms
    if kind == "bool":
        return value.strip().lower()
    if kind == "enumeration":
        return value
    return value.casefold()


def _token_matcher(pattern: str) -> Callable[[str], bool]:
    regex = re.compile(
        ".*".join(re.escape(part) for part in pattern.casefold().split("*")), re.DOTALL
    )

    def matches(value: str) -> bool:
        folded = value.casefold()
        return bool(regex.fullmatch(folded)) or any(
            regex.fullmatch(token) for token in folded.split()
        )

    return matches


def _compile_filter(f: Any, props: Mapping[str, Mapping[str, Any]]) -> Predicate:
    if not isinstance(f, Mapping):
        raise SearchError("each filter is a {propertyName, operator, value} object")
    name = f.get("propertyName")
    op = f.get("operator")
    if not isinstance(name, str) or name not in props:
        raise SearchError(f"There is no property named {name!r} on contacts")
    if op not in OPERATORS:
        raise SearchError(
            f"Unknown operator {op!r}; expected one of {', '.join(sorted(OPERATORS))}"
        )
    prop = props[name]

    def raw(values: Values) -> str | None:
        value = values.get(name)
        return None if value is None or value == "" else value

    if op == "HAS_PROPERTY":
        return lambda v: raw(v) is not None
    if op == "NOT_HAS_PROPERTY":
        return lambda v: raw(v) is None
    if op in ("CONTAINS_TOKEN", "NOT_CONTAINS_TOKEN"):
        matcher = _token_matcher(str(f.get("value", "")))
        if op == "CONTAINS_TOKEN":
            return lambda v: (r := raw(v)) is not None and matcher(r)
        return lambda v: (r := raw(v)) is None or not matcher(r)
    if op in ("IN", "NOT_IN"):
        wanted = f.get("values")
        if not isinstance(wanted, list) or not wanted:
            raise SearchError(f"{op} needs a non-empty 'values' list")
        if prop["type"] in ("string",):
            # HubSpot lower-cases the stored value but not the filter's: upper-case never matches
            members = {str(w) for w in wanted}

            def member(v: Values) -> bool:
                r = raw(v)
                return r is not None and r.casefold() in members
        else:
            typed_members = {_typed(prop, str(w), from_filter=True) for w in wanted}

            def member(v: Values) -> bool:
                r = raw(v)
                return r is not None and _typed(prop, r, from_filter=False) in typed_members

        return member if op == "IN" else (lambda v: not member(v))
    if "value" not in f:
        raise SearchError(f"{op} on {name} needs a 'value'")
    target = _typed(prop, str(f["value"]), from_filter=True)
    if op == "BETWEEN":
        if "highValue" not in f:
            raise SearchError(f"BETWEEN on {name} needs a 'highValue'")
        high = _typed(prop, str(f["highValue"]), from_filter=True)

        def between(v: Values) -> bool:
            value = _typed(prop, raw(v), from_filter=False)
            return value is not None and target <= value <= high

        return between
    if op == "NEQ":
        return lambda v: _typed(prop, raw(v), from_filter=False) != target
    check: Callable[[Any, Any], bool] = {
        "EQ": operator.eq,
        "LT": operator.lt,
        "LTE": operator.le,
        "GT": operator.gt,
        "GTE": operator.ge,
    }[op]

    def ordered(v: Values) -> bool:
        value = v.get(name)
        if not value:
            return False
        typed = _typed(prop, value, from_filter=False)
        return typed is not None and check(typed, target)

    return ordered


def compile_filters(groups: Any, props: Mapping[str, Mapping[str, Any]]) -> Predicate:
    if groups is None:
        groups = []
    if not isinstance(groups, list):
        raise SearchError("filterGroups must be a list")
    if len(groups) > MAX_GROUPS:
        raise SearchError(f"Too many filter groups: {len(groups)}. The maximum is {MAX_GROUPS}.")
    compiled: list[list[Predicate]] = []
    total = 0
    for group in groups:
        filters = group.get("filters", []) if isinstance(group, dict) else None
        if not isinstance(filters, list):
            raise SearchError("each filter group needs a 'filters' list")
        if len(filters) > MAX_FILTERS_PER_GROUP:
            raise SearchError(
                f"Too many filters in a group: {len(filters)}. The maximum is {MAX_FILTERS_PER_GROUP}."
            )
        total += len(filters)
        compiled.append([_compile_filter(f, props) for f in filters])
    if total > MAX_FILTERS:
        raise SearchError(f"Too many filters: {total}. The maximum is {MAX_FILTERS}.")
    if not compiled:
        return lambda v: True
    if len(compiled) == 1 and len(compiled[0]) == 1:
        return compiled[0][0]
    return lambda v: any(all(p(v) for p in group) for group in compiled)


def query_predicate(query: Any, names: Sequence[str] = QUERY_PROPERTIES) -> Predicate:
    """Whether a record's ``names`` hold every word of a search ``query`` (any case)."""
    if not query:
        return lambda v: True
    tokens = str(query).casefold().split()

    def matches(values: Values) -> bool:
        haystack = " ".join((values.get(name) or "") for name in names).casefold()
        return all(token in haystack for token in tokens)

    return matches


def parse_sort(sorts: Any, props: Mapping[str, Mapping[str, Any]]) -> tuple[str, bool] | None:
    """(property name, descending) or None for the default order (by id)."""
    if not sorts:
        return None
    if not isinstance(sorts, list):
        raise SearchError("sorts must be a list")
    if len(sorts) > 1:
        raise SearchError("Only one sort is supported")
    sort = sorts[0]
    name: Any
    if isinstance(sort, str):
        name, descending = sort.lstrip("-"), sort.startswith("-")
    elif isinstance(sort, dict):
        name = sort.get("propertyName")
        direction = str(sort.get("direction", "ASCENDING")).upper()
        if direction not in ("ASCENDING", "DESCENDING"):
            raise SearchError(f"Unknown sort direction {direction}")
        descending = direction == "DESCENDING"
    else:
        raise SearchError("a sort is a {propertyName, direction} object")
    if not isinstance(name, str) or name not in props:
        raise SearchError(f"There is no property named {name!r} to sort by")
    return name, descending


def sort_ids(
    rows: Sequence[tuple[str, Values]],
    sort: tuple[str, bool] | None,
    props: Mapping[str, Mapping[str, Any]],
) -> list[str]:
    """Contact ids in the requested order; empty values last, ties by id."""
    if sort is None:
        return sorted((cid for cid, _ in rows), key=int)
    name, descending = sort
    prop = props[name]
    keyed = [
        (cid, _typed(prop, values.get(name) or None, from_filter=False)) for cid, values in rows
    ]
    present = [(cid, key) for cid, key in keyed if key is not None]
    missing = sorted((cid for cid, key in keyed if key is None), key=int)
    present.sort(key=lambda item: (item[1], int(item[0])), reverse=descending)
    return [cid for cid, _ in present] + missing
