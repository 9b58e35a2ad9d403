"""The bulk Sell email index (S4, S8): emails normalised, tags matched case-insensitively."""

from __future__ import annotations

from datetime import timedelta

from storage.repositories import SqlStore
from sync.domain import SellRef
from sync.ports import SellIndexEntry

from .conftest import T0


def entry(
    kind: str,
    sell_id: int,
    email: str | None,
    minutes: int = 0,
    tags: tuple[str, ...] = (),
    is_organization: bool = False,
) -> SellIndexEntry:
    return SellIndexEntry(
        ref=SellRef(kind, sell_id),  # type: ignore[arg-type]
        email=email,
        updated_at=T0 + timedelta(minutes=minutes),
        is_organization=is_organization,
        tags=tags,
    )


def test_find_by_email_normalises_and_lists_the_newest_first(store: SqlStore) -> None:
    store.index_sell_records(
        [
            entry("lead", 1, " Ada@Example.com ", minutes=1),
            entry("contact", 2, "ada@example.com", minutes=5, is_organization=True),
            entry("lead", 3, "bob@example.com"),
            entry("lead", 4, None),
        ]
    )
    found = store.find_by_email(["ADA@example.com", "  ", "nobody@example.com", "bob@example.com"])
    assert set(found) == {"ada@example.com", "bob@example.com"}
    assert [e.ref for e in found["ada@example.com"]] == [SellRef("contact", 2), SellRef("lead", 1)]
    first = found["ada@example.com"][0]
    assert first.email == "ada@example.com"
    assert first.is_organization is True
    assert first.updated_at == T0 + timedelta(minutes=5)
    assert store.find_by_email([]) == {}


def test_indexing_a_record_again_replaces_its_row(store: SqlStore) -> None:
    store.index_sell_records([entry("lead", 1, "old@example.com", tags=("a",))])
    store.index_sell_records([entry("lead", 1, "new@example.com", minutes=9, tags=("b",))])
    assert store.find_by_email(["old@example.com"]) == {}
    (only,) = store.find_by_email(["new@example.com"])["new@example.com"]
    assert only.tags == ("b",)
    assert only.updated_at == T0 + timedelta(minutes=9)
    store.index_sell_records([])


def test_remove_from_index(store: SqlStore) -> None:
    store.index_sell_records([entry("lead", i, f"{i}@example.com") for i in range(1200)])
    store.remove_from_index([SellRef("lead", i) for i in range(1, 1200)] + [SellRef("contact", 0)])
    assert set(store.find_by_email(f"{i}@example.com" for i in range(1200))) == {"0@example.com"}


def test_find_by_tag_is_case_insensitive_and_matches_whole_tags(store: SqlStore) -> None:
    store.index_sell_records(
        [
            entry("lead", 1, "a@example.com", minutes=1, tags=("VIP", "Trade show")),
            entry("contact", 2, "b@example.com", minutes=2, tags=("vip",)),
            entry("lead", 3, "c@example.com", tags=("VIP-2024", "not vip")),
            entry("lead", 4, None, tags=()),
            entry("lead", 5, "e@example.com", minutes=3, tags=("Ärzte", '50% "off"_now')),
        ]
    )
    assert [e.ref for e in store.find_by_tag(" vip ")] == [
        SellRef("contact", 2),
        SellRef("lead", 1),
    ]
    assert [e.ref for e in store.find_by_tag("trade SHOW")] == [SellRef("lead", 1)]
    assert [e.ref for e in store.find_by_tag("ärzte")] == [SellRef("lead", 5)]
    assert [e.ref for e in store.find_by_tag('50% "OFF"_NOW')] == [SellRef("lead", 5)]
    assert store.find_by_tag("50%") == []
    assert store.find_by_tag("v_p") == []
    assert store.find_by_tag("") == []
