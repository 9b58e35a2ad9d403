"""L2 in the store: links a HubSpot merge holds, listed with the survivor's link, and settled by
one manager's choice in one transaction (on SQLite and PostgreSQL)."""

from __future__ import annotations

import pytest

from storage.repositories import SqlStore
from sync.domain import Conflict, ConflictStatus, Hold, HoldReason, Link, LinkState, SellRef

from .test_conflicts import run_together

HELD = SellRef("lead", 11)
OWNER = SellRef("contact", 22)
SURVIVOR = "900"


def _setup(store: SqlStore) -> None:
    store.save_link(Link(sell=OWNER, hubspot_id=SURVIVOR))
    store.save_link(
        Link(
            sell=HELD,
            hubspot_id=SURVIVOR,
            state=LinkState.HELD,
            hold=Hold(HoldReason.CONTACT_MERGE, OWNER),
        )
    )


def test_l2_a_held_link_never_stands_for_its_contact_and_is_listed_with_the_owner(
    store: SqlStore,
) -> None:
    _setup(store)
    store.save_link(
        Link(
            sell=SellRef("lead", 12),
            hubspot_id="901",
            state=LinkState.HELD,
            hold=Hold(HoldReason.CONTACT_MERGE),
        )
    )
    assert store.links_by_hubspot([SURVIVOR])[SURVIVOR].sell == OWNER
    listed = store.held_links(limit=10)
    assert [(h.sell, o.sell if o else None) for h, o in listed] == [
        (HELD, OWNER),
        (SellRef("lead", 12), None),
    ]
    assert store.count_links()[LinkState.HELD.value] == 2


def test_a_held_link_is_listed_with_its_stored_counterpart_not_whoever_has_its_contact_now(
    store: SqlStore,
) -> None:
    _setup(store)
    store.delete_link(OWNER)  # the counterpart was unlinked; another record took the contact
    store.save_link(Link(sell=SellRef("contact", 33), hubspot_id=SURVIVOR))
    assert [(h.sell, o) for h, o in store.held_links(limit=10)] == [(HELD, None)]
    store.save_link(Link(sell=OWNER, hubspot_id="902"))  # the counterpart, on another contact
    assert [(h.sell, o) for h, o in store.held_links(limit=10)] == [(HELD, None)]


@pytest.mark.parametrize("keep_held", [True, False])
def test_l2_settling_keeps_one_link_and_dismisses_the_others_conflicts(
    store: SqlStore, keep_held: bool
) -> None:
    _setup(store)
    loser = OWNER if keep_held else HELD
    opened, _ = store.open_conflict(
        Conflict(sell=loser, hubspot_id=SURVIVOR, field="title", sell_value="a", hubspot_value="b")
    )
    settled = store.settle_held_link(HELD, keep_held=keep_held)
    assert settled is not None and settled.released == loser and settled.held.sell == HELD
    links = store.links_by_sell([HELD, OWNER])
    assert loser not in links
    winner = HELD if keep_held else OWNER
    assert links[winner].state is LinkState.ACTIVE
    assert store.links_by_hubspot([SURVIVOR])[SURVIVOR].sell == winner
    assert [c.status for c in store.conflicts_for(loser) if c.id == opened.id] == [
        ConflictStatus.DISMISSED
    ]
    assert store.settle_held_link(HELD, keep_held=keep_held) is None  # decided already


def test_l2_two_managers_settling_at_once_apply_one_choice(store: SqlStore) -> None:
    _setup(store)
    results = run_together(2, lambda i: store.settle_held_link(HELD, keep_held=i == 0) or "lost")
    assert sorted(r == "lost" for r in results) == [False, True]
    links = store.links_by_sell([HELD, OWNER])
    assert len(links) == 1  # exactly one Sell record keeps the contact
    (kept,) = links.values()
    assert kept.state is LinkState.ACTIVE and kept.hubspot_id == SURVIVOR
