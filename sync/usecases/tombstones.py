"""S5: lifting a tombstone, so a contact whose Sell record was deleted may enter Sell again."""

from __future__ import annotations

from sync.domain import Link, LinkState
from sync.push import parse_items
from sync.usecases.common import Actor, Parts, Refused


class Tombstones:
    def __init__(self, parts: Parts) -> None:
        self.parts = parts

    def restore(self, item: str, *, actor: Actor) -> Link:
        """Lift the tombstone; from the next sync the contact is treated as never linked."""
        if not actor.is_manager:
            raise Refused("only managers can restore deleted records")
        link = self._tombstone_for(item.strip())
        self.parts.store.delete_link(link.sell)
        self.parts.audit("restored", f"{link.sell}|{link.hubspot_id}", actor, {})
        return link

    def _tombstone_for(self, item: str) -> Link:
        store = self.parts.store
        candidates: list[Link] = []
        if item.lower().startswith("hubspot:"):
            hub = item.split(":", 1)[1].strip()
            candidates = list(store.links_by_hubspot([hub]).values())
        else:
            parsed = parse_items([item])
            if parsed.invalid or parsed.tags:
                raise Refused(
                    "restore takes lead:ID, contact:ID, a Sell URL, an email or hubspot:ID"
                )
            if parsed.refs:
                candidates = list(store.links_by_sell(parsed.refs).values())
            for email in parsed.emails:
                candidates += [
                    link
                    for batch in store.iter_links()
                    for link in batch
                    if link.email == email and link.state is LinkState.TOMBSTONED
                ]
        tomb = [link for link in candidates if link.state is LinkState.TOMBSTONED]
        if not tomb:
            raise Refused(f"{item} has no tombstone to lift")
        return tomb[0]
