"""Open conflicts, a page at a time, and their resolution: Keep Sell, Use HubSpot or Dismiss (S9).

One decision per conflict: the conflict is closed (a compare-and-set on its row) before any CRM
write, so of two managers clicking at once only the first one's value is written. When the write
then fails, the decision is undone and the conflict is open again.

Only the value a manager reviewed is ever written. Keep Sell and Use HubSpot read the chosen
side's value again just before the write; when it is no longer the value the conflict shows (a
form changed HubSpot's value since, a rep edited Sell's), nothing is written: the conflict row is
refreshed to the new value and :class:`ConflictChanged` asks the manager to review it again. The
audit event of a resolution names the value written and the side it went to.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass, replace
from dataclasses import field as dc_field
from datetime import datetime
from enum import StrEnum
from typing import Any, Protocol

from sync.domain import Conflict, ConflictStatus, FieldSnapshot, Link, LinkState, SellRef
from sync.errors import ConflictChanged, FieldWriteRefused, SyncError
from sync.mapping import (
    FieldMapping,
    hubspot_canonical,
    sell_canonical,
    to_hubspot_value,
    to_sell_value,
)
from sync.merge import hubspot_raw
from sync.ports import ConflictStore, HubSpotPort, LinkStore, SellPort
from sync.run_context import RunContext
from sync.usecases.common import Actor, Audit, Refused

_CHANGED = "conflict #{id} changed since you looked; nothing was written: review again"


class ConflictAction(StrEnum):
    KEEP_SELL = "keep_sell"  # Sell's value goes to HubSpot
    USE_HUBSPOT = "use_hubspot"  # HubSpot's value goes to Sell
    DISMISS = "dismiss"  # nothing is written


#: The status a conflict is closed with, per action.
CLOSED_AS = {
    ConflictAction.KEEP_SELL: ConflictStatus.KEPT_SELL,
    ConflictAction.USE_HUBSPOT: ConflictStatus.USED_HUBSPOT,
    ConflictAction.DISMISS: ConflictStatus.DISMISSED,
}


def _shown(value: str | None) -> str:
    return "(empty)" if value is None or value == "" else repr(value)


def seen_token(conflict: Conflict) -> str:
    """A short tag of the two values a conflict shows: a button carries it, so a click is
    known to be about exactly those values."""
    raw = json.dumps([conflict.sell_value, conflict.hubspot_value])
    return hashlib.sha256(raw.encode("utf-8", "surrogateescape")).hexdigest()[:10]


@dataclass(frozen=True)
class ConflictPage:
    conflicts: list[Conflict]
    total: int
    offset: int
    limit: int


@dataclass(frozen=True)
class FieldDecision:
    """What deciding every open conflict of one field did, conflict by conflict."""

    field: str
    action: ConflictAction
    decided: list[Conflict] = dc_field(default_factory=list)  # by this decision
    already: list[Conflict] = dc_field(default_factory=list)  # decided by someone else first
    changed: list[Conflict] = dc_field(default_factory=list)  # values changed: review again
    refused: list[tuple[Conflict, str]] = dc_field(default_factory=list)  # the write failed

    @property
    def total(self) -> int:
        return len(self.decided) + len(self.already) + len(self.changed) + len(self.refused)

    def to_dict(self) -> dict[str, Any]:
        return {
            "field": self.field,
            "action": self.action.value,
            "decided": [c.id for c in self.decided],
            "already_decided": [c.id for c in self.already],
            "changed": [c.id for c in self.changed],
            "refused": [{"id": c.id, "reason": why} for c, why in self.refused],
        }


#: Open conflicts read a page at a time when deciding or counting them by field.
_FIELD_PAGE = 500


@dataclass(frozen=True)
class _Resolution:
    """A conflict's resolution, read from both sides and not yet written."""

    link: Link
    mapping: FieldMapping
    to_hubspot: bool  # Keep Sell: Sell's value to HubSpot; Use HubSpot: HubSpot's value to Sell
    value: str | None  # canonical: what both sides hold once it is written
    raw: Any  # the value as the receiving side takes it

    def settled(self, at: datetime) -> Link:
        """The link with both sides of the field at ``value``."""
        snapshot = dict(self.link.snapshot)
        snapshot[self.mapping.key] = FieldSnapshot(sell=self.value, hubspot=self.value)
        return replace(self.link, snapshot=snapshot, last_synced_at=at)


class FieldWriter(Protocol):
    """Writes one field's value to one side of a link through the applier
    (``Engine.write_field``)."""

    def __call__(
        self, link: Link, mapping: FieldMapping, raw: Any, *, to_hubspot: bool
    ) -> None: ...


class Conflicts:
    def __init__(
        self,
        conflicts: ConflictStore,
        links: LinkStore,
        hubspot: HubSpotPort,
        sell: SellPort,
        audit: Audit,
        *,
        context: Callable[[], RunContext],
        write_field: FieldWriter,
    ) -> None:
        self.conflicts = conflicts
        self.links = links
        self.hubspot = hubspot
        self.sell = sell
        self.audit = audit
        self.clock = audit.clock
        self.context = context
        self.write_field = write_field

    def page(self, *, offset: int = 0, limit: int = 10) -> ConflictPage:
        """One page of open conflicts; a page past the end (``conflicts 999``) is the last one."""
        store = self.conflicts
        limit = max(1, limit)
        total = store.count_conflicts()
        offset = min(max(0, offset), (max(0, total - 1) // limit) * limit)
        items = store.list_conflicts(offset=offset, limit=limit)
        return ConflictPage(items, total, offset, limit)

    def resolve(
        self, conflict_id: int, action: str, *, actor: Actor, seen: str | None = None
    ) -> tuple[Conflict, bool]:
        """Resolve one conflict; ``(conflict, False)`` when someone else decided it first.

        ``seen`` is the :func:`seen_token` of the conflict as the manager saw it (None: as
        stored now). When the conflict or the chosen side's value changed since, nothing is
        written and :class:`ConflictChanged` carries the fresh conflict. When the CRM write
        fails, the decision is undone, the conflict is open again, and Refused says why.
        """
        store = self.conflicts
        if not actor.is_manager:
            raise Refused("only managers can resolve conflicts")
        if action not in set(ConflictAction):
            raise Refused(f"unknown conflict action {action!r}")
        action = ConflictAction(action)
        conflict = store.get_conflict(conflict_id)
        if conflict is None:
            raise Refused(f"there is no conflict #{conflict_id}")
        if conflict.status is not ConflictStatus.OPEN:
            return conflict, False
        if seen is not None and seen != seen_token(conflict):
            raise ConflictChanged(conflict, _CHANGED.format(id=conflict_id))
        write = None if action is ConflictAction.DISMISS else self._plan(conflict, action)
        if write is not None:
            shown = conflict.sell_value if write.to_hubspot else conflict.hubspot_value
            if write.value != shown:  # not what the manager reviewed: show the fresh value
                raise self._changed(conflict_id, conflict, action, write.value, actor=actor)
        status = CLOSED_AS[action]
        resolved, changed = store.resolve_conflict(
            conflict_id,
            status=status,
            by=actor.id,
            at=self.clock.now(),
            values=(conflict.sell_value, conflict.hubspot_value),
        )
        if not changed and resolved.status is ConflictStatus.OPEN:
            # a sync refreshed its values since they were read: not what the manager reviewed
            raise ConflictChanged(resolved, _CHANGED.format(id=conflict_id))
        if not changed:
            return resolved, False  # decided by someone else meanwhile: nothing written
        subject = f"{conflict.sell}|{conflict.hubspot_id}"
        if write is not None:
            try:
                self._write(write)
            except BaseException as exc:  # the decision is undone, whatever stopped the write
                reopened = store.reopen_conflict(conflict_id, status=status, by=actor.id)
                self.audit(
                    "conflict_resolution_failed",
                    subject,
                    actor,
                    {
                        "field": conflict.field,
                        "action": action.value,
                        "error": type(exc).__name__,
                        "reopened": reopened,
                    },
                )
                if not isinstance(exc, SyncError):
                    raise
                again = "it is open again" if reopened else "a newer conflict replaces it"
                raise Refused(f"{exc}; conflict #{conflict_id} was not resolved, {again}") from exc
            self.links.save_link(write.settled(self.clock.now()))
        detail: dict[str, Any] = {"field": conflict.field, "action": action.value}
        if write is not None:
            detail |= {"written": write.value, "to": "hubspot" if write.to_hubspot else "sell"}
        self.audit("conflict_resolved", subject, actor, detail)
        return resolved, True

    def open_by_field(self) -> dict[str, list[Conflict]]:
        """Every open conflict, by field (oldest first in each)."""
        out: dict[str, list[Conflict]] = {}
        offset = 0
        while True:
            page = self.conflicts.list_conflicts(offset=offset, limit=_FIELD_PAGE)
            for conflict in page:
                out.setdefault(conflict.field, []).append(conflict)
            if len(page) < _FIELD_PAGE:
                return out
            offset += _FIELD_PAGE

    def resolve_field(
        self, field: str, action: str, *, actor: Actor, up_to: int | None = None
    ) -> FieldDecision:
        """Decide every open conflict of ``field`` (those with an id up to ``up_to``: the ones
        a confirmation named) with ``action``, each through :meth:`resolve`: each is audited
        on its own, and of two managers deciding at once only one decision is applied to each
        conflict. A conflict whose values changed, or whose write failed, stays open."""
        if not actor.is_manager:
            raise Refused("only managers can resolve conflicts")
        if action not in set(ConflictAction):
            raise Refused(f"unknown conflict action {action!r}")
        chosen = ConflictAction(action)
        pending = [
            c
            for c in self.open_by_field().get(field, [])
            if c.id is not None and (up_to is None or c.id <= up_to)
        ]
        if not pending:
            raise Refused(f"there are no open conflicts of field {field[:80]!r}")
        out = FieldDecision(field, chosen)
        for conflict in pending:
            assert conflict.id is not None
            try:
                resolved, changed = self.resolve(conflict.id, chosen, actor=actor)
            except ConflictChanged as exc:
                out.changed.append(exc.conflict)
                continue
            except Refused as exc:
                out.refused.append((conflict, str(exc)))
                continue
            (out.decided if changed else out.already).append(resolved)
        return out

    def _changed(
        self,
        conflict_id: int,
        conflict: Conflict,
        action: ConflictAction,
        fresh: str | None,
        *,
        actor: Actor,
    ) -> ConflictChanged:
        """The conflict row refreshed to the chosen side's ``fresh`` value (still open), audited,
        as the refusal to raise."""
        keep_sell = action is ConflictAction.KEEP_SELL
        shown = conflict.sell_value if keep_sell else conflict.hubspot_value
        changed = replace(
            conflict,
            sell_value=fresh if keep_sell else conflict.sell_value,
            hubspot_value=conflict.hubspot_value if keep_sell else fresh,
        )
        refreshed = self.conflicts.refresh_conflict(
            conflict_id,
            sell_value=changed.sell_value,
            hubspot_value=changed.hubspot_value,
        )
        self.audit(
            "conflict_changed",
            f"{conflict.sell}|{conflict.hubspot_id}",
            actor,
            {
                "field": conflict.field,
                "action": action.value,
                "shown": shown,
                "now": fresh,
                "written": None,
            },
        )
        side = "Sell" if keep_sell else "HubSpot"
        return ConflictChanged(
            refreshed or changed,
            f"{side}'s value changed to {_shown(fresh)} since you looked (it showed "
            f"{_shown(shown)}); nothing was written: review again",
        )

    def _plan(self, conflict: Conflict, action: ConflictAction) -> _Resolution:
        """What resolving ``conflict`` writes, read from both sides now (no write yet)."""
        link = self.links.links_by_sell([conflict.sell]).get(conflict.sell)
        if link is None or link.state is not LinkState.ACTIVE:
            raise Refused(f"{conflict.sell} is no longer synced; dismiss the conflict instead")
        run = self.context()
        mapping = next((m for m in run.table(conflict.sell.kind) if m.key == conflict.field), None)
        if mapping is None:
            raise Refused(
                f"field {conflict.field} is no longer mapped; dismiss the conflict instead"
            )
        record = self.sell.get_records(conflict.sell.kind, [conflict.sell.id]).get(conflict.sell.id)
        found, _ = self.hubspot.read_contacts([link.hubspot_id], run.hubspot_props())
        contact = found.get(link.hubspot_id)
        if record is None or contact is None:
            raise Refused("the record no longer exists on one side; dismiss the conflict instead")
        if contact.id != link.hubspot_id:  # L2: never written to a merged-away id
            raise Refused(
                f"HubSpot merged contact {link.hubspot_id} into {contact.id}; the next sync "
                "moves the link there. Resolve the conflict after it"
            )
        prop = run.props.get(mapping.hubspot)
        keep_sell = action is ConflictAction.KEEP_SELL
        if keep_sell:
            value = sell_canonical(mapping, record.values.get(mapping.sell))
            raw: object = to_hubspot_value(mapping, value, prop)
        else:
            value = hubspot_canonical(mapping, hubspot_raw(mapping, contact, None), prop)
            raw = to_sell_value(mapping, value)
        return _Resolution(link, mapping, keep_sell, value, raw)

    def _write(self, write: _Resolution) -> None:
        """Through the engine's applier, the one writer of field values."""
        try:
            self.write_field(write.link, write.mapping, write.raw, to_hubspot=write.to_hubspot)
        except FieldWriteRefused as exc:
            raise Refused(str(exc)) from exc


@dataclass(frozen=True)
class HeldLink:
    """A held link (shown as a "link conflict"), and the link of its stored counterpart while
    that is still the surviving contact's active link."""

    held: Link  # its ``hubspot_id`` is the survivor's
    linked: Link | None  # None: the survivor has no active link any more


@dataclass(frozen=True)
class HeldLinkPage:
    links: list[HeldLink]
    total: int


class HeldLinks:
    """Held links (shown as "link conflicts"; L2: two Sell records that a HubSpot contact merge
    left on one contact). A manager keeps one of the two links; the other Sell record is
    unlinked. Nothing is guessed."""

    def __init__(self, links: LinkStore, audit: Audit) -> None:
        self.links = links
        self.audit = audit

    def page(self, *, limit: int = 10) -> HeldLinkPage:
        store = self.links
        total = store.count_links().get(LinkState.HELD.value, 0)
        items = [HeldLink(h, o) for h, o in store.held_links(limit=limit)] if total else []
        return HeldLinkPage(items, total)

    def keep(
        self, held: SellRef, keep: SellRef | None, *, actor: Actor
    ) -> tuple[SellRef | None, bool]:
        """Keep ``keep``'s link to the survivor: ``held`` itself, or its stored counterpart while
        that is still linked to the survivor (None: unlink ``held`` and keep no other). Returns
        the Sell record left unlinked, and False when another manager decided first (then
        nothing is changed)."""
        if not actor.is_manager:
            raise Refused("only managers can resolve link conflicts")
        store = self.links
        link = store.links_by_sell([held]).get(held)
        if link is None or link.state is not LinkState.HELD:
            return None, False
        if keep is not None and keep != held:
            other = link.counterpart_link(store.links_by_sell([keep]))
            if other is None:
                raise Refused(f"{keep} is not one of the two Sell records of this link conflict")
        settled = store.settle_held_link(held, keep_held=keep == held)
        if settled is None:
            return None, False
        self.audit(
            "link_conflict_resolved",
            f"{held}|{settled.held.hubspot_id}",
            actor,
            {
                "kept": None if keep is None else str(keep),
                "unlinked": None if settled.released is None else str(settled.released),
            },
        )
        return settled.released, True
