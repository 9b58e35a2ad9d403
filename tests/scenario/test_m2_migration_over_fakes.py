"""Leaving Sell over the in-memory stand-ins (fast): the plan writes nothing, a run moves every
record once with its owner, tags, notes and company, and a second run writes nothing."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from storage.db import open_store
from storage.repositories import SqlStore
from sync.migration.rules import NOTE_BODY, SELL_ID_PROPERTY
from sync.usecases.migrate import MigrationService
from tests.fakes_migration import FakeMigrationHubSpot, FakeMigrationSell, pat_of_acme


class TickClock:
    """A second later at every reading."""

    def __init__(self) -> None:
        self.t = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)

    def now(self) -> datetime:
        self.t += timedelta(seconds=1)
        return self.t


@pytest.fixture
def store(tmp_path: Path) -> Iterator[SqlStore]:
    with open_store(f"sqlite:///{tmp_path / 'migrate.db'}") as opened:
        yield opened


def _account() -> tuple[FakeMigrationHubSpot, FakeMigrationSell, dict[str, int]]:
    hub, sell = FakeMigrationHubSpot(), FakeMigrationSell()
    rep = sell.add_user("rep@example.com")
    owner = hub.add_owner("Rep@Example.com")
    org = sell.add_record("contact", {"is_organization": True, "name": "Acme Ltd"})
    person = sell.add_record("contact", pat_of_acme(org, rep))
    lead = sell.add_record("lead", {"first_name": "Ann", "last_name": "Lee", "email": "a@x.io"})
    note = sell.add_note(
        "lead", lead, "Wants a demo", creator_id=rep, created_at=datetime(2026, 5, 1, tzinfo=UTC)
    )
    sell.not_moved["deals"] = 2
    return (
        hub,
        sell,
        {"org": org, "person": person, "lead": lead, "note": note, "owner": int(owner)},
    )


def _keyed(hub: FakeMigrationHubSpot, object_type: str) -> Counter[str]:
    records = hub.records[object_type]  # type: ignore[index]
    return Counter(v[SELL_ID_PROPERTY] for v in records.values() if v.get(SELL_ID_PROPERTY))


def test_m1_plan_over_fakes_writes_nothing(store: SqlStore) -> None:
    hub, sell, _ = _account()
    plan = MigrationService(hub, sell, store, TickClock()).plan()
    assert plan.counts["contacts.create"] == 2
    assert plan.counts["companies.create"] == 1
    assert plan.counts["notes.create"] == 1
    assert plan.not_moved["deals"] == 2
    assert hub.write_calls == []


def test_m2_run_over_fakes_moves_once_and_a_second_run_writes_nothing(store: SqlStore) -> None:
    hub, sell, ids = _account()
    report = MigrationService(hub, sell, store, TickClock()).run()
    assert report.status == "finished"
    assert report.counts.get("refused", 0) == 0
    assert _keyed(hub, "contacts") == Counter(
        {f"contact:{ids['person']}": 1, f"lead:{ids['lead']}": 1}
    )
    assert _keyed(hub, "companies") == Counter({f"organization:{ids['org']}": 1})
    assert _keyed(hub, "notes") == Counter({f"note:{ids['note']}": 1})
    pat = next(
        (rid, v)
        for rid, v in hub.records["contacts"].items()
        if v.get(SELL_ID_PROPERTY) == f"contact:{ids['person']}"
    )
    assert pat[1]["hubspot_owner_id"] == str(ids["owner"])
    assert pat[1]["sell_tags"] == "vip"
    company = next(iter(hub.records["companies"]))
    assert hub.associations("contacts", "companies", [pat[0]]) == {pat[0]: {company}}
    [note] = hub.records["notes"].values()
    assert note[NOTE_BODY] == "Wants a demo"

    before = list(hub.write_calls)
    assert ("upsert", "contacts") in before
    again = MigrationService(hub, sell, store, TickClock()).run()
    assert again.status == "finished"
    assert hub.write_calls == before
    assert _keyed(hub, "contacts") == Counter(
        {f"contact:{ids['person']}": 1, f"lead:{ids['lead']}": 1}
    )
