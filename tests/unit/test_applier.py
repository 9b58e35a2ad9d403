"""The applier writes what was decided; a resolved conflict's field goes through it too."""

from __future__ import annotations

import pytest

from sync.domain import Link, SellRef
from sync.errors import FieldWriteRefused
from sync.mapping import STANDARD_FIELDS
from tests.conftest import World

TITLE = next(m for m in STANDARD_FIELDS if m.key == "title")


def linked_pair(world: World) -> Link:
    rid = world.sell.add("lead", email="t@x.com", last_name="T", title="Sell title")
    cid = world.hubspot.add_contact(email="t@x.com", lastname="T", jobtitle="HubSpot title")
    return Link(SellRef("lead", rid), cid)


def test_a_field_is_written_to_the_side_asked_for_and_only_there(world: World) -> None:
    link = linked_pair(world)
    world.engine.write_field(link, TITLE, "Chosen", to_hubspot=True)
    assert world.hubspot.value(link.hubspot_id, "jobtitle") == "Chosen"
    assert world.sell.value("lead", link.sell.id, "title") == "Sell title"
    world.engine.write_field(link, TITLE, "Other", to_hubspot=False)
    assert world.sell.value("lead", link.sell.id, "title") == "Other"
    assert world.hubspot.value(link.hubspot_id, "jobtitle") == "Chosen"


def test_a_side_that_is_gone_refuses_the_field_with_a_one_line_reason(world: World) -> None:
    link = linked_pair(world)
    world.sell.delete("lead", link.sell.id)
    with pytest.raises(FieldWriteRefused, match=r"^Sell refused the value: "):
        world.engine.write_field(link, TITLE, "x", to_hubspot=False)
    world.hubspot.contacts[link.hubspot_id].archived = True
    with pytest.raises(FieldWriteRefused, match=r"^HubSpot refused the value: "):
        world.engine.write_field(link, TITLE, "x", to_hubspot=True)


def test_a_dry_push_plans_what_a_real_push_does_and_writes_nothing(world: World) -> None:
    new = world.sell.add("contact", email="new@x.com", last_name="New")
    both = world.sell.add("lead", email="both@x.com", last_name="Both", title="Sell")
    world.hubspot.add_contact(email="both@x.com", lastname="Both", jobtitle="HubSpot")
    items = [f"contact:{new}", "both@x.com"]
    contacts_before = set(world.hubspot.contacts)
    dry = world.engine.push(items, actor="U1", dry_run=True)
    assert dry.failure is None
    assert set(world.hubspot.contacts) == contacts_before
    assert world.hubspot.written == []
    assert world.store.links_by_sell([SellRef("contact", new), SellRef("lead", both)]) == {}
    assert world.store.audit_since(None) == []
    assert world.store.get_mark("index:lead") is None
    assert world.store.count_conflicts() == 0
    real = world.engine.push(items, actor="U1")
    assert dry.counts() == real.counts()
    assert dry.counts()["created_in_hubspot"] == 1 and dry.counts()["merged"] == 1
