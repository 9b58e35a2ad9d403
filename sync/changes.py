"""Whether a side of a linked pair changed since the last sync: its values against the link's
snapshot (S9). A fact the run gathers before it reads the other side, so an unchanged pair costs
no read; the planner then decides the pair once. No I/O."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

from sync.domain import HubSpotContact, Link, PropertyInfo, SellRecord
from sync.mapping import FieldMapping, hubspot_canonical, sell_canonical
from sync.merge import hubspot_raw


def changed_in_sell(table: Sequence[FieldMapping], record: SellRecord, link: Link) -> bool:
    for m in table:
        snap = link.snapshot.get(m.key)
        if snap is None:
            return True
        try:
            if sell_canonical(m, record.values.get(m.sell)) != snap.sell:
                return True
        except ValueError:
            return True
    return False


def changed_in_hubspot(
    table: Sequence[FieldMapping],
    props: Mapping[str, PropertyInfo],
    contact: HubSpotContact,
    link: Link,
    contact_url: Callable[[str], str | None],
) -> bool:
    for m in table:
        snap = link.snapshot.get(m.key)
        if snap is None:
            return True
        raw = hubspot_raw(m, contact, contact_url(contact.id))
        try:
            if hubspot_canonical(m, raw, props.get(m.hubspot)) != snap.hubspot:
                return True
        except ValueError:
            return True
    return False
