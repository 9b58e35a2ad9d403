"""L1 in the store: a converted lead's link moves to its contact in place, with its conflicts."""

from __future__ import annotations

from storage.repositories import SqlStore
from sync.domain import Conflict, ConflictStatus, FieldSnapshot, Link, LinkState, SellRef

LEAD = SellRef("lead", 11)
CONTACT = SellRef("contact", 22)


def _conflict(ref: SellRef, field: str, sell: str = "a") -> Conflict:
    return Conflict(sell=ref, hubspot_id="900", field=field, sell_value=sell, hubspot_value="b")


def test_l1_move_link_keeps_the_row_its_snapshot_and_its_conflicts(store: SqlStore) -> None:
    snapshot = {"email": FieldSnapshot("ada@x.com", "ada@x.com")}
    saved = store.save_link(Link(sell=LEAD, hubspot_id="900", snapshot=snapshot, email="ada@x.com"))
    other = store.save_link(Link(sell=SellRef("lead", 12), hubspot_id="901"))
    title, _ = store.open_conflict(_conflict(LEAD, "title"))
    closed, _ = store.open_conflict(_conflict(LEAD, "phone"))
    store.resolve_conflict(
        closed.id or 0, status=ConflictStatus.DISMISSED, by="U1", at=closed.opened_at
    )
    # a conflict the run opened on the contact before the move: it holds the fresher values
    fresh, _ = store.open_conflict(_conflict(CONTACT, "website", "new"))
    stale, _ = store.open_conflict(_conflict(LEAD, "website", "old"))

    store.move_link(LEAD, CONTACT)

    assert store.links_by_sell([LEAD]) == {}
    moved = store.links_by_sell([CONTACT])[CONTACT]
    assert (moved.id, moved.hubspot_id, moved.state) == (saved.id, "900", LinkState.ACTIVE)
    assert moved.snapshot == snapshot and moved.email == "ada@x.com"
    assert store.links_by_hubspot(["900"])["900"].sell == CONTACT
    assert store.links_by_sell([SellRef("lead", 12)])[SellRef("lead", 12)].id == other.id
    assert store.conflicts_for(LEAD) == []
    after = {(c.id, c.field, c.status) for c in store.conflicts_for(CONTACT)}
    assert after == {
        (title.id, "title", ConflictStatus.OPEN),
        (closed.id, "phone", ConflictStatus.DISMISSED),
        (fresh.id, "website", ConflictStatus.OPEN),
        (stale.id, "website", ConflictStatus.DISMISSED),
    }
