"""Per-field merge decisions (SPEC S8, S9, S10): values in, decisions out.

A field's *snapshot* is the canonical value each side held after the last sync. With no
snapshot the pair is being linked for the first time (S8); with one, the snapshot tells which
side changed since (S9).
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from sync.domain import FieldSnapshot, HubSpotContact, PropertyInfo
from sync.mapping import (
    URL_PROPERTY,
    Direction,
    FieldMapping,
    hubspot_canonical,
    sell_canonical,
    to_hubspot_value,
    to_sell_value,
)


class FieldMove(enum.StrEnum):
    NONE = "none"
    TO_SELL = "to_sell"
    TO_HUBSPOT = "to_hubspot"
    CONFLICT = "conflict"  # each side keeps its value; a conflict is opened
    TO_HUBSPOT_AND_CONFLICT = "to_hubspot_and_conflict"  # both changed: Sell wins, HubSpot recorded


@dataclass(frozen=True)
class FieldDecision:
    mapping: FieldMapping
    action: FieldMove
    sell: str | None  # canonical values before the decision is applied
    hubspot: str | None

    @property
    def sell_after(self) -> str | None:
        return self.hubspot if self.action is FieldMove.TO_SELL else self.sell

    @property
    def hubspot_after(self) -> str | None:
        if self.action in (FieldMove.TO_HUBSPOT, FieldMove.TO_HUBSPOT_AND_CONFLICT):
            return self.sell
        return self.hubspot

    @property
    def snapshot(self) -> FieldSnapshot:
        return FieldSnapshot(sell=self.sell_after, hubspot=self.hubspot_after)

    @property
    def opens_conflict(self) -> bool:
        return self.action in (FieldMove.CONFLICT, FieldMove.TO_HUBSPOT_AND_CONFLICT)


def decide_field(
    mapping: FieldMapping,
    sell: str | None,
    hubspot: str | None,
    last: FieldSnapshot | None,
) -> FieldDecision:
    """The decision for one mapped field, given canonical values and the last snapshot."""

    def d(action: FieldMove) -> FieldDecision:
        return FieldDecision(mapping, action, sell, hubspot)

    if mapping.direction is Direction.TO_SELL:
        # S10 mirrors: HubSpot owns them; Sell is refreshed whenever HubSpot has a value.
        return d(FieldMove.TO_SELL if hubspot is not None and hubspot != sell else FieldMove.NONE)
    if sell is None and hubspot is None:
        return d(FieldMove.NONE)
    # An empty value on one side is always filled from the other (S8, S9).
    if sell is None:
        return d(FieldMove.TO_SELL)
    if hubspot is None:
        return d(FieldMove.TO_HUBSPOT if mapping.writes_hubspot else FieldMove.NONE)
    if sell == hubspot:
        return d(FieldMove.NONE)
    if last is None:
        # S8: both present and different on first link: each keeps its value.
        return d(FieldMove.CONFLICT)
    sell_changed = sell != last.sell
    hubspot_changed = hubspot != last.hubspot
    if sell_changed and hubspot_changed:
        if not mapping.writes_hubspot:
            return d(FieldMove.CONFLICT)
        return d(FieldMove.TO_HUBSPOT_AND_CONFLICT)
    if sell_changed:
        return d(FieldMove.TO_HUBSPOT if mapping.writes_hubspot else FieldMove.NONE)
    if hubspot_changed:
        # Filled Sell values are never overwritten by HubSpot changes.
        return d(FieldMove.CONFLICT)
    return d(FieldMove.NONE)  # a known difference (open or dismissed conflict): leave it


@dataclass(frozen=True)
class RecordMerge:
    decisions: tuple[FieldDecision, ...]
    sell_writes: Mapping[str, Any] = field(default_factory=dict)
    hubspot_writes: Mapping[str, str] = field(default_factory=dict)

    @property
    def conflicts(self) -> tuple[FieldDecision, ...]:
        return tuple(x for x in self.decisions if x.opens_conflict)

    @property
    def snapshot(self) -> dict[str, FieldSnapshot]:
        return {x.mapping.key: x.snapshot for x in self.decisions}

    @property
    def writes_anything(self) -> bool:
        return bool(self.sell_writes or self.hubspot_writes)


def hubspot_raw(mapping: FieldMapping, contact: HubSpotContact, fallback_url: str | None) -> Any:
    if mapping.hubspot == URL_PROPERTY:
        return contact.url or fallback_url
    return contact.properties.get(mapping.hubspot)


def merge_record(
    table: Iterable[FieldMapping],
    sell_values: Mapping[str, Any],
    contact: HubSpotContact,
    snapshot: Mapping[str, FieldSnapshot] | None,
    props: Mapping[str, PropertyInfo],
    *,
    fallback_url: str | None = None,
) -> RecordMerge:
    """Decide every mapped field of one linked pair. Raises :class:`~sync.errors.UnusableValue` (S14)."""
    decisions: list[FieldDecision] = []
    sell_writes: dict[str, Any] = {}
    hubspot_writes: dict[str, str] = {}
    for m in table:
        prop = props.get(m.hubspot)
        try:
            sell = sell_canonical(m, sell_values.get(m.sell))
            hub = hubspot_canonical(m, hubspot_raw(m, contact, fallback_url), prop)
        except ValueError as exc:
            raise type(exc)(f"{m.label or m.key}: {exc}") from exc
        last = snapshot.get(m.key) if snapshot is not None else None
        decision = decide_field(m, sell, hub, last)
        decisions.append(decision)
        if decision.action is FieldMove.TO_SELL:
            sell_writes[m.sell] = to_sell_value(m, hub)
        elif decision.action in (FieldMove.TO_HUBSPOT, FieldMove.TO_HUBSPOT_AND_CONFLICT):
            hubspot_writes[m.hubspot] = to_hubspot_value(m, sell, prop)
    return RecordMerge(tuple(decisions), sell_writes, hubspot_writes)


def initial_sell_values(
    table: Iterable[FieldMapping],
    contact: HubSpotContact,
    props: Mapping[str, PropertyInfo],
    *,
    fallback_url: str | None = None,
) -> tuple[dict[str, Any], dict[str, FieldSnapshot]]:
    """Values for a Sell record created from a HubSpot contact (S3), and its first snapshot."""
    values: dict[str, Any] = {}
    snapshot: dict[str, FieldSnapshot] = {}
    for m in table:
        try:
            hub = hubspot_canonical(m, hubspot_raw(m, contact, fallback_url), props.get(m.hubspot))
        except ValueError as exc:
            raise type(exc)(f"{m.label or m.key}: {exc}") from exc
        if hub is not None:
            values[m.sell] = to_sell_value(m, hub)
        snapshot[m.key] = FieldSnapshot(sell=hub, hubspot=hub)
    return values, snapshot


def initial_hubspot_properties(
    table: Iterable[FieldMapping],
    sell_values: Mapping[str, Any],
    props: Mapping[str, PropertyInfo],
) -> tuple[dict[str, str], dict[str, FieldSnapshot]]:
    """Properties for a HubSpot contact created from a Sell record (S4); S11 fields never go."""
    properties: dict[str, str] = {}
    snapshot: dict[str, FieldSnapshot] = {}
    for m in table:
        if not m.writes_hubspot:
            continue
        try:
            sell = sell_canonical(m, sell_values.get(m.sell))
        except ValueError as exc:
            raise type(exc)(f"{m.label or m.key}: {exc}") from exc
        if sell is not None:
            properties[m.hubspot] = to_hubspot_value(m, sell, props.get(m.hubspot))
        snapshot[m.key] = FieldSnapshot(sell=sell, hubspot=sell)
    return properties, snapshot
