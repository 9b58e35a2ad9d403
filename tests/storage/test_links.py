"""Links and tombstones (S5, S6, S7), including the bulk paths of a 100k-link run."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa

from storage import tables
from storage.repositories import CHUNK, SqlStore
from sync.domain import FieldSnapshot, Link, LinkOrigin, LinkState, SellRef

from .conftest import T0


def link(kind: str, sell_id: int, hubspot_id: str, **kwargs: object) -> Link:
    return Link(sell=SellRef(kind, sell_id), hubspot_id=hubspot_id, **kwargs)  # type: ignore[arg-type]


def tombstoned_at(store: SqlStore, ref: SellRef) -> object:
    with store.engine.connect() as connection:
        return connection.execute(
            sa.select(tables.links.c.tombstoned_at).where(
                tables.links.c.sell_kind == ref.kind, tables.links.c.sell_id == ref.id
            )
        ).scalar_one()


def test_save_link_inserts_and_returns_every_field_with_an_id(store: SqlStore) -> None:
    saved = store.save_link(
        link(
            "lead",
            12,
            "901",
            origin=LinkOrigin.PUSH,
            email=" Ada@Example.COM ",
            snapshot={
                "email": FieldSnapshot("ada@example.com", "ada@example.com"),
                "phone": FieldSnapshot(None, "+44 1"),
            },
            last_synced_at=T0,
        )
    )
    assert saved.id is not None
    assert saved == Link(
        sell=SellRef("lead", 12),
        hubspot_id="901",
        state=LinkState.ACTIVE,
        origin=LinkOrigin.PUSH,
        snapshot={
            "email": FieldSnapshot("ada@example.com", "ada@example.com"),
            "phone": FieldSnapshot(None, "+44 1"),
        },
        email="ada@example.com",
        last_synced_at=T0,
        id=saved.id,
    )
    assert store.links_by_sell([SellRef("lead", 12)]) == {SellRef("lead", 12): saved}
    assert store.links_by_hubspot(["901"]) == {"901": saved}


def test_save_link_upserts_by_sell_ref(store: SqlStore) -> None:
    first = store.save_link(link("contact", 7, "100", snapshot={"a": FieldSnapshot("1", "1")}))
    second = store.save_link(
        link("contact", 7, "200", state=LinkState.HUBSPOT_DELETED, last_synced_at=T0)
    )
    assert second.id == first.id
    assert second.hubspot_id == "200"
    assert second.state is LinkState.HUBSPOT_DELETED
    assert second.snapshot == {}
    assert store.links_by_hubspot(["100"]) == {}
    assert store.count_links() == {
        "active": 0,
        "tombstoned": 0,
        "hubspot_deleted": 1,
        "held": 0,
    }


def test_same_id_for_a_lead_and_a_contact_are_two_links(store: SqlStore) -> None:
    store.save_link(link("lead", 5, "1"))
    store.save_link(link("contact", 5, "2"))
    found = store.links_by_sell([SellRef("lead", 5), SellRef("contact", 5), SellRef("lead", 6)])
    assert {ref: found[ref].hubspot_id for ref in found} == {
        SellRef("lead", 5): "1",
        SellRef("contact", 5): "2",
    }


def test_tombstone_keeps_the_time_it_was_first_laid(store: SqlStore) -> None:
    ref = SellRef("lead", 1)
    store.save_link(link("lead", 1, "10"))
    assert tombstoned_at(store, ref) is None
    store.save_link(link("lead", 1, "10", state=LinkState.TOMBSTONED))
    laid = tombstoned_at(store, ref)
    assert laid is not None
    store.save_link(link("lead", 1, "10", state=LinkState.TOMBSTONED, last_synced_at=T0))
    assert tombstoned_at(store, ref) == laid
    store.save_link(link("lead", 1, "10", state=LinkState.ACTIVE))
    assert tombstoned_at(store, ref) is None


def test_links_by_hubspot_prefers_the_active_link_over_a_tombstone(store: SqlStore) -> None:
    store.save_link(link("lead", 1, "10", state=LinkState.TOMBSTONED))
    assert store.links_by_hubspot(["10"])["10"].state is LinkState.TOMBSTONED
    pushed = store.save_link(link("contact", 2, "10", origin=LinkOrigin.PUSH))
    assert store.links_by_hubspot(["10"]) == {"10": pushed}


def test_delete_link_removes_it_and_ignores_unknown_refs(store: SqlStore) -> None:
    store.save_link(link("lead", 1, "10", state=LinkState.TOMBSTONED))
    store.delete_link(SellRef("lead", 1))
    store.delete_link(SellRef("lead", 404))
    assert store.links_by_sell([SellRef("lead", 1)]) == {}
    assert store.count_links() == {
        "active": 0,
        "tombstoned": 0,
        "hubspot_deleted": 0,
        "held": 0,
    }


def test_count_links_counts_every_state(store: SqlStore) -> None:
    store.save_links(
        [link("lead", i, str(i)) for i in range(5)]
        + [link("contact", i, f"t{i}", state=LinkState.TOMBSTONED) for i in range(3)]
        + [link("contact", 100, "gone", state=LinkState.HUBSPOT_DELETED)]
    )
    assert store.count_links() == {
        "active": 5,
        "tombstoned": 3,
        "hubspot_deleted": 1,
        "held": 0,
    }


def test_iter_links_pages_by_id_without_gaps_or_repeats(store: SqlStore) -> None:
    assert list(store.iter_links()) == []
    store.save_links([link("lead", i, str(i)) for i in range(1, 1001)])
    pages = list(store.iter_links(batch_size=300))
    assert [len(page) for page in pages] == [300, 300, 300, 100]
    ids = [each.id or 0 for page in pages for each in page]
    assert ids == sorted(ids)
    assert len(set(ids)) == 1000
    assert [len(page) for page in store.iter_links(batch_size=500)] == [500, 500]
    after = [
        each.id for page in store.iter_links(batch_size=300, after_id=ids[899]) for each in page
    ]
    assert after == ids[900:]


def test_save_links_upserts_and_keeps_the_last_of_a_ref(store: SqlStore) -> None:
    store.save_link(link("lead", 1, "old"))
    store.save_links(
        [link("lead", 1, "x"), link("lead", 1, "new", last_synced_at=T0), link("lead", 2, "y")]
    )
    found = store.links_by_sell([SellRef("lead", 1), SellRef("lead", 2)])
    assert found[SellRef("lead", 1)].hubspot_id == "new"
    assert found[SellRef("lead", 1)].last_synced_at == T0
    assert found[SellRef("lead", 2)].hubspot_id == "y"
    store.save_links([])


def test_bulk_lookups_of_20k_links_are_chunked(store: SqlStore) -> None:
    count = 20_000
    store.save_links(
        [
            link(
                "lead" if i % 2 else "contact",
                i,
                f"hs{i}",
                last_synced_at=T0 + timedelta(seconds=i),
            )
            for i in range(count)
        ]
    )
    statements: list[tuple[str, int]] = []

    def record(conn, cursor, statement, parameters, context, executemany):  # type: ignore[no-untyped-def]
        statements.append((statement, len(parameters)))

    sa.event.listen(store.engine, "before_cursor_execute", record)
    try:
        by_hubspot = store.links_by_hubspot([f"hs{i}" for i in range(count)] + ["nobody"])
        by_sell = store.links_by_sell(
            [SellRef("lead" if i % 2 else "contact", i) for i in range(count)]
        )
    finally:
        sa.event.remove(store.engine, "before_cursor_execute", record)

    assert len(by_hubspot) == count
    assert by_hubspot["hs19999"].sell == SellRef("lead", 19999)
    assert by_hubspot["hs19999"].last_synced_at == T0 + timedelta(seconds=19999)
    assert len(by_sell) == count
    assert by_sell[SellRef("contact", 0)].hubspot_id == "hs0"
    selects = [size for statement, size in statements if statement.lstrip().startswith("SELECT")]
    assert len(selects) >= 2 * count // CHUNK
    assert max(selects) <= CHUNK + 1  # the chunk of ids (+ the kind)
    assert sum(len(page) for page in store.iter_links(batch_size=5000)) == count
