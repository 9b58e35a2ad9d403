"""The move's page writer on its own: what it writes to HubSpot, what it records as moved, and
that planning writes nothing."""

from __future__ import annotations

import ast
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, cast

from sync.migration.ports import ObjectWrite, ObjectWriteResult
from sync.migration.report import MigrationReport
from sync.migration.rules import Decision, ObjectType
from sync.migration.writer import PageWriter
from sync.ports import MigrationRefusal, MovedItem

NOW = datetime(2026, 12, 1, tzinfo=UTC)


class HubSpot:
    def __init__(self) -> None:
        self.upserts: list[list[ObjectWrite]] = []
        self.updates: list[list[ObjectWrite]] = []
        self.associated: list[tuple[str, str]] = []

    def upsert(self, object_type: ObjectType, writes: Sequence[ObjectWrite]) -> list[Any]:
        self.upserts.append(list(writes))
        return [
            ObjectWriteResult(w.key, error="bad value")
            if w.key.endswith(":9")
            else ObjectWriteResult(w.key, id=f"hs-{w.key}")
            for w in writes
        ]

    def update(self, object_type: ObjectType, writes: Sequence[ObjectWrite]) -> list[Any]:
        self.updates.append(list(writes))
        return [ObjectWriteResult(w.key, id=w.id) for w in writes]

    def associate(
        self, from_type: ObjectType, to_type: ObjectType, pairs: Sequence[tuple[str, str]]
    ) -> dict[tuple[str, str], str | None]:
        self.associated += pairs
        return {p: None for p in pairs}


class Store:
    def __init__(self) -> None:
        self.moved: dict[str, str] = {}
        self.refused: list[MigrationRefusal] = []

    def record_moved(self, run_id: int, items: Sequence[MovedItem], at: datetime) -> None:
        self.moved.update({i.sell_key: i.hubspot_id for i in items})

    def record_refusals(
        self, run_id: int, refusals: Sequence[MigrationRefusal], at: datetime
    ) -> None:
        self.refused += refusals

    def moved_ids(self, sell_keys: Sequence[str]) -> dict[str, str]:
        return {k: self.moved[k] for k in sell_keys if k in self.moved}


def writer(*, dry_run: bool) -> tuple[PageWriter, HubSpot, Store]:
    hubspot, store = HubSpot(), Store()
    report = MigrationReport(dry_run=dry_run)
    out = PageWriter(cast(Any, hubspot), cast(Any, store), report, now=lambda: NOW, dry_run=dry_run)
    out.run_id = 7
    return out, hubspot, store


DECISIONS = [
    Decision("lead:1", "contacts", "create", {"email": "a@x.io"}),
    Decision("lead:2", "contacts", "adopt", {"zendesk_sell_id": "lead:2"}, hubspot_id="55"),
    Decision("lead:3", "contacts", "unchanged", {}, hubspot_id="56"),
    Decision("lead:9", "contacts", "create", {"email": "bad"}),
]


def test_m2_page_writer_writes_a_page_and_records_what_moved_and_what_was_refused() -> None:
    page, hubspot, store = writer(dry_run=False)
    placed, duplicates = page.apply("contacts", "contacts", DECISIONS)
    assert [w.key for w in hubspot.upserts[0]] == ["lead:1", "lead:9"]
    assert [(w.key, w.id) for w in hubspot.updates[0]] == [("lead:2", "55")]
    assert placed == {"lead:1": "hs-lead:1", "lead:2": "55", "lead:3": "56"}
    assert duplicates == {}
    assert store.moved == placed
    assert [r.sell_key for r in store.refused] == ["lead:9"]
    assert page.report.counts["contacts.create"] == 2 and page.report.counts["refused"] == 1
    page.associate("contacts", "companies", {"assoc:lead:1": ("hs-lead:1", "c1")})
    page.associate("contacts", "companies", {"assoc:lead:1": ("hs-lead:1", "c1")})
    assert hubspot.associated == [("hs-lead:1", "c1")]  # recorded once made: not made again
    assert page.report.counts["associations.unchanged"] == 1


def test_m1_page_writer_plans_without_writing_or_recording() -> None:
    page, hubspot, store = writer(dry_run=True)
    placed, _ = page.apply("contacts", "contacts", DECISIONS)
    page.associate("contacts", "companies", {"assoc:lead:3": ("56", "c1")})
    page.refuse_now("lead:4", "invalid email")
    assert hubspot.upserts == [] and hubspot.updates == [] and hubspot.associated == []
    assert store.moved == {} and store.refused == []
    assert placed == {"lead:2": "55", "lead:3": "56"}  # found records only
    assert page.report.counts["associations.create"] == 1
    assert page.report.counts["refused"] == 1


def test_m1_every_class_of_the_move_stays_under_400_lines() -> None:
    root = Path(__file__).resolve().parents[2] / "sync" / "migration"
    for path in sorted(root.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ClassDef):
                size = (node.end_lineno or node.lineno) - node.lineno + 1
                assert size <= 400, f"{path.name}:{node.lineno} {node.name} has {size} lines"
