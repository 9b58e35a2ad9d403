"""The planner decides from values alone: no store, no CRM, no clock (but the last test)."""

from __future__ import annotations

from datetime import UTC, datetime

from sync.changes import changed_in_hubspot, changed_in_sell
from sync.domain import (
    FieldSnapshot,
    HubSpotContact,
    Link,
    LinkOrigin,
    LinkState,
    Outcome,
    SellRecord,
    SellRef,
    Skip,
)
from sync.mapping import FieldMapping, field_table, fields_for
from sync.plan import RecordDecision
from sync.planner import LinkedPair, Planner
from sync.ports import SellIndexEntry
from tests.conftest import World

T0 = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
T1 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
TABLE = field_table(score_property="hubspotscore")
NAMES = [m for m in TABLE if m.key in ("first_name", "email")]


def planner(threshold: int = 50, table: tuple[FieldMapping, ...] = TABLE) -> Planner:
    return Planner(
        tables={k: fields_for(k, table) for k in ("lead", "contact")},
        props={},
        threshold=threshold,
        score_property="hubspotscore",
        import_as="lead",
        contact_url=lambda cid: f"https://hubspot.example/{cid}",
    )


def contact(cid: str, score: str | None = "80", **props: str | None) -> HubSpotContact:
    return HubSpotContact(cid, {"hubspotscore": score, **props})


def record(kind: str, rid: int, at: datetime = T0, **values: object) -> SellRecord:
    return SellRecord(kind, rid, values, at)  # type: ignore[arg-type]


def snapshot(**pairs: tuple[str | None, str | None]) -> dict[str, FieldSnapshot]:
    return {k: FieldSnapshot(sell=s, hubspot=h) for k, (s, h) in pairs.items()}


def test_unlinked_members_are_screened_by_score_email_and_tombstone() -> None:
    links = {"4": Link(SellRef("lead", 9), "4", state=LinkState.TOMBSTONED)}
    members = {"1", "2", "3", "4", "5"}
    contacts = [
        contact("1", email="ann@example.com"),
        contact("2", score="10", email="low@example.com"),
        contact("3"),  # no email
        contact("4", email="gone@example.com"),
        contact("5", email="not an email"),
    ]
    page, todo = planner().screen_imports(contacts, links, members)
    assert [c.id for c in todo] == ["1"]
    assert page.not_qualified == 1
    assert [s.item for s in page.plan.skipped] == ["HubSpot 3", "HubSpot 4"]
    assert "restores it" in page.plan.skipped[1].reason
    assert page.errors == [Skip("HubSpot 5", "invalid email 'not an email'")]


def test_a_contact_matches_a_sell_contact_over_a_lead_and_never_an_active_link() -> None:
    email = "ann@example.com"
    lead = record("lead", 1, T1, email=email)
    older_contact = record("contact", 2, T0, email=email)
    taken = record("contact", 3, T1, email=email)
    by_email = {
        email: [SellIndexEntry(r.ref, email, r.updated_at) for r in (lead, older_contact, taken)]
    }
    records = {r.ref: r for r in (lead, older_contact, taken)}
    active = {taken.ref: Link(taken.ref, "99")}
    c = contact("1", email=email)
    matches = Planner.choose_matches([c], by_email, records, active)
    assert matches == {"1": older_contact}


def test_imports_merge_a_match_and_create_the_rest_in_sell() -> None:
    ann = contact("1", email="ann@example.com", firstname="Ann")
    bob = contact("2", email="bob@example.com", firstname="Bob")
    match = record("contact", 5, email="ann@example.com", first_name="Ann")
    page = planner().imports([ann, bob], {"1": match})
    merged, created = page.plan.actions
    assert merged.outcomes == (Outcome.MERGED,)
    assert merged.link is not None and merged.link.sell == match.ref
    assert merged.link.origin is LinkOrigin.LIST
    assert created.outcomes == (Outcome.CREATED_IN_SELL,)
    assert created.create_kind == "lead"
    assert created.sell_writes["first_name"] == "Bob"


def test_a_sell_change_is_planned_as_a_hubspot_write_with_a_new_snapshot() -> None:
    ref = SellRef("lead", 1)
    link = Link(ref, "7", snapshot=snapshot(first_name=("Ann", "Ann")))
    changed = record("lead", 1, first_name="Anna")
    p = planner(table=tuple(NAMES))
    assert changed_in_sell(p.tables["lead"], changed, link)
    decided = p.link_sync(changed, contact("7", firstname="Ann"), link)
    assert isinstance(decided, RecordDecision)
    assert decided.outcomes == (Outcome.UPDATED_HUBSPOT,)
    assert dict(decided.hubspot_writes) == {"firstname": "Anna"}
    assert decided.link is not None
    assert decided.link.snapshot["first_name"] == FieldSnapshot("Anna", "Anna")


def test_a_pair_in_step_is_not_planned_at_all() -> None:
    ref = SellRef("lead", 1)
    same = record("lead", 1, first_name="Ann", email="ann@example.com")
    c = contact("7", firstname="Ann", email="ann@example.com")
    link = Link(
        ref,
        "7",
        snapshot=snapshot(first_name=("Ann", "Ann"), email=("ann@example.com", "ann@example.com")),
        email="ann@example.com",
    )
    p = planner(table=tuple(NAMES))
    assert not changed_in_sell(p.tables["lead"], same, link)
    assert not changed_in_hubspot(p.tables["lead"], p.props, c, link, p.contact_url)
    assert p.link_sync(same, c, link) is None


def test_linked_pairs_read_again_are_tombstoned_or_released_when_a_side_is_gone() -> None:
    gone_in_sell = Link(SellRef("lead", 1), "7")
    gone_in_hubspot = Link(SellRef("lead", 2), "8")
    page = planner().linked_pairs(
        [
            LinkedPair(gone_in_sell, None, contact("7")),
            LinkedPair(gone_in_hubspot, record("lead", 2), None, hubspot_missing=True),
        ]
    )
    tomb, released = page.plan.actions
    assert tomb.outcomes == (Outcome.TOMBSTONED,)
    assert tomb.link is not None and tomb.link.state is LinkState.TOMBSTONED
    assert released.outcomes == (Outcome.HUBSPOT_DELETED,)
    assert released.link is not None and released.link.state is LinkState.HUBSPOT_DELETED


def test_a_push_plans_a_new_hubspot_contact_from_the_sell_values() -> None:
    r = record("contact", 3, first_name="Cy", email="cy@example.com")
    decided = planner().create_in_hubspot(r)
    assert isinstance(decided, RecordDecision)
    assert decided.outcomes == (Outcome.CREATED_IN_HUBSPOT,)
    assert decided.hubspot_writes["firstname"] == "Cy"
    assert decided.link is not None and decided.link.origin is LinkOrigin.PUSH


def test_the_engine_hands_out_the_planner_a_run_decides_with(world: World) -> None:
    members = {"1", "2"}
    low = contact("1", score="10", email="low@example.com")
    high = contact("2", score="80", email="high@example.com")
    page, todo = world.engine.planner().screen_imports([low, high], {}, members)
    assert [c.id for c in todo] == ["2"]  # the stored threshold (50) applies
    assert page.not_qualified == 1
    assert world.hubspot.calls["properties"] == 0  # nothing read before a decision needs it
