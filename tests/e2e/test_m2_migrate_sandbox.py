"""Leaving Sell over the sandbox servers (M1–M3): the real clients, a SQLite store, HubSpot's and
Sell's stand-ins. The plan writes nothing; a run moves everything once; a run killed at its
worst moment and run again leaves no duplicate and misses nothing; a second complete run writes
nothing; refusals are named per record; verification finds a difference made in HubSpot."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from bot.wiring import SystemClock
from sandbox import Sandbox
from storage.db import open_store
from storage.repositories import SqlStore
from sync.clients.hubspot import HubSpotClient, HubSpotLimits, HubSpotSession
from sync.clients.sell import SellClient
from sync.domain import SettingName
from sync.errors import ConfigError, SellNotCalled
from sync.migration.rules import SELL_ID_PROPERTY
from sync.ports import MovedItem
from sync.usecases.migrate import MigrationService
from tests.fakes_migration import pat_of_acme

#: The HubSpot requests that change something (everything else the migration sends reads).
WRITES = ("batch/upsert", "batch/update", "batch/create", "associate", "/crm/properties")


class Account:
    """A small Sell account and the migration over it (a fresh store per test)."""

    def __init__(self, sb: Sandbox, tmp: Path) -> None:
        sb.reset("empty")
        self.sb = sb
        self.sell = sb.sell
        self.hs = sb.hubspot
        self.url = f"sqlite:///{tmp / 'migrate.db'}"
        self.stores: list[SqlStore] = []
        self.clients: list[Any] = []

    def service(self) -> MigrationService:
        store = open_store(self.url)
        hub = HubSpotClient(
            HubSpotSession(self.sb.hubspot_url, self.sb.hubspot_token, portal_id=self.hs.portal_id),
            HubSpotLimits.unpaced(),
        )
        sell = SellClient(self.sb.sell_url, self.sb.sell_token, per_s=None)
        self.stores.append(store)
        self.clients += [hub, sell]
        return MigrationService(hub, sell, store, SystemClock())

    def close(self) -> None:
        for client in self.clients:
            client.close()
        for store in self.stores:
            store.close()

    # ---------------------------------------------------------------- arranging

    def seed(self) -> dict[str, int]:
        """An organization with a person, two leads (one already in HubSpot by e-mail, with a
        job title of its own), a contact without e-mail, notes, a deal and its note, two users
        (one a HubSpot owner)."""
        rep = self.sell.add_user("Rep One", "rep@example.com")
        gone = self.sell.add_user("Old Rep", "old.rep@example.com")
        self.hs.add_owner("REP@example.com", "Rep", "One")
        self.hs.add_owner(self.sell.user["email"], "Account", "Admin")  # the token's user
        org = self.sell.add_record(
            "contact",
            {"is_organization": True, "name": "Acme Ltd", "website": "https://www.acme.io"},
        )
        person = self.sell.add_record(
            "contact", {"is_organization": False, **pat_of_acme(org, rep)}
        )
        lead = self.sell.add_record(
            "lead",
            {
                "first_name": "Ann",
                "last_name": "Lee",
                "email": "ann@example.com",
                "title": "CTO",
                "owner_id": gone,
                "tags": ["webinar", "vip"],
            },
        )
        self.hs.add_contact({"email": "ann@example.com", "jobtitle": "CEO", "firstname": "Ann"})
        other = self.sell.add_record(
            "lead", {"first_name": "Bo", "last_name": "Chan", "email": "bo@example.com"}
        )
        bare = self.sell.add_record(
            "contact", {"is_organization": False, "first_name": "No", "last_name": "Mail"}
        )
        note = self.sell.add_note(
            "lead", lead, "Called, wants a demo", creator_id=rep, created_at="2026-05-01T09:30:00Z"
        )
        self.sell.add_note("contact", org, "Annual contract signed", creator_id=rep)
        deal = self.sell.add_deal("Acme renewal", contact_id=org)
        self.sell.add_note("deal", deal, "Discount agreed")
        return {
            "org": org,
            "person": person,
            "lead": lead,
            "other": other,
            "bare": bare,
            "note": note,
        }

    # ---------------------------------------------------------------- looking

    def writes(self) -> int:
        return sum(
            1
            for call in self.hs.calls
            if call.method != "GET"
            and any(part in call.path for part in WRITES)
            and not call.path.endswith("/batch/read")
        )

    def keyed(self, object_type: str) -> Counter[str]:
        """How many live HubSpot records carry each ``zendesk_sell_id``."""
        if object_type == "contacts":
            values = [c.values for c in self.hs.contacts_by_id.values() if not c.archived]
        else:
            objects = self.hs.companies if object_type == "companies" else self.hs.notes
            values = [r.values for r in objects.live()]
        return Counter(v[SELL_ID_PROPERTY] for v in values if v.get(SELL_ID_PROPERTY))

    def contact(self, email: str) -> dict[str, str]:
        return next(
            c.values for c in self.hs.contacts_by_id.values() if c.values.get("email") == email
        )


@pytest.fixture
def account(sb: Sandbox, tmp_path: Path) -> Iterator[Account]:
    acc = Account(sb, tmp_path)
    yield acc
    acc.close()


def test_m1_plan_counts_what_would_move_and_writes_nothing(account: Account) -> None:
    account.seed()
    plan = account.service().plan()
    counts = plan.counts
    assert counts["companies.create"] == 1
    assert counts["contacts.create"] == 3  # Pat, Bo, and the contact without e-mail
    assert counts["contacts.adopt"] == 1  # Ann, matched by e-mail
    assert counts["contacts.without_email"] == 1
    assert counts["notes.create"] == 2
    assert counts["contacts.unassigned"] == 1  # Ann's owner has no HubSpot owner
    assert plan.unassigned == ["old.rep@example.com"]
    assert [(c.property, c.sell, c.hubspot) for c in plan.conflicts] == [("jobtitle", "CTO", "CEO")]
    assert plan.not_moved["deals"] == 1
    assert plan.not_moved["notes on deals"] == 1
    assert "contacts.zendesk_sell_id" in plan.new_properties
    assert account.writes() == 0


def test_m2_run_moves_everything_once_and_a_second_run_writes_nothing(account: Account) -> None:
    ids = account.seed()
    service = account.service()
    report = service.run()
    assert report.status == "finished"
    assert report.counts.get("refused", 0) == 0
    contacts = account.keyed("contacts")
    assert contacts == Counter(
        {
            f"lead:{ids['lead']}": 1,
            f"lead:{ids['other']}": 1,
            f"contact:{ids['person']}": 1,
            f"contact:{ids['bare']}": 1,
        }
    )
    assert account.keyed("companies") == Counter({f"organization:{ids['org']}": 1})
    assert sum(account.keyed("notes").values()) == 2
    # the e-mail match kept HubSpot's job title and took the key
    ann = account.contact("ann@example.com")
    assert ann["jobtitle"] == "CEO"
    assert ann["lastname"] == "Lee"
    assert set(ann["sell_tags"].split(";")) == {"vip", "webinar"}
    # Pat is associated with Acme's company, and owned by the rep's HubSpot owner
    moved = {m.sell_key: m.hubspot_id for m in _moved(service, "contacts")}
    company = {m.sell_key: m.hubspot_id for m in _moved(service, "companies")}
    pat_id = moved[f"contact:{ids['person']}"]
    acme = company[f"organization:{ids['org']}"]
    assert account.hs.associated_ids("contacts", pat_id, "companies") == [acme]
    snapshot = account.hs.company(acme)
    assert snapshot is not None and snapshot["properties"]["domain"] == "acme.io"
    # the lead's note is on Ann, at its time, by its author
    note_id = {m.sell_key: m.hubspot_id for m in _moved(service, "notes")}[f"note:{ids['note']}"]
    note = account.hs.note(note_id)
    assert note is not None
    assert note["properties"]["hs_note_body"] == "Called, wants a demo"
    assert _instant(note["properties"]["hs_timestamp"]) == datetime(2026, 5, 1, 9, 30, tzinfo=UTC)
    assert note["properties"]["hubspot_owner_id"] == account.hs.owners()[0]["id"]
    assert account.hs.associated_ids("notes", note_id, "contacts") == [moved[f"lead:{ids['lead']}"]]

    before = account.writes()
    again = account.service().run()
    assert account.writes() == before
    assert again.writes == 0
    assert again.counts["contacts.unchanged"] == 4


def test_m2_killed_run_resumes_without_duplicates(account: Account) -> None:
    """Killed right after HubSpot took a page of contacts and before the run recorded it (the
    worst moment), then run again: every record once, none missing."""
    for n in range(230):
        account.sell.add_record(
            "lead", {"first_name": f"L{n}", "last_name": "Batch", "email": f"l{n}@example.com"}
        )
    service = account.service()
    store = service.store
    original = store.record_moved
    calls = {"n": 0}

    class Killed(BaseException):
        pass

    def dies_on_second_page(run_id: int, items: Any, at: datetime) -> None:
        calls["n"] += 1
        if calls["n"] == 2:
            raise Killed
        original(run_id, items, at)

    store.record_moved = dies_on_second_page  # type: ignore[method-assign]
    with pytest.raises(Killed):
        service.run()
    assert 100 < sum(account.keyed("contacts").values()) < 230  # stopped part way

    report = account.service().run()
    assert report.status == "finished"
    keyed = account.keyed("contacts")
    assert len(keyed) == 230 and set(keyed.values()) == {1}
    assert len(account.hs.contacts_by_id) == 230
    assert report.counts["contacts.unchanged"] >= 100  # what HubSpot took before the kill
    assert account.service().run().writes == 0


def test_m2_a_rate_limit_storm_pauses_and_the_run_completes(account: Account) -> None:
    for n in range(120):
        account.sell.add_record("lead", {"last_name": f"S{n}", "email": f"s{n}@example.com"})
    account.hs.inject(
        "429",
        method="POST",
        path_prefix="/crm/objects/2026-03/contacts/batch/upsert",
        times=3,
        delay=0.05,
    )
    account.hs.inject("503", method="POST", path_prefix="/crm/associations", times=1)
    report = account.service().run()
    assert report.status == "finished"
    assert len(account.keyed("contacts")) == 120


def test_m2_refusals_are_named_per_record_and_the_run_goes_on(account: Account) -> None:
    account.sell.add_custom_field("lead", "Budget", "number")
    bad_mail = account.sell.add_record("lead", {"last_name": "X", "email": "x@@example"})
    bad_value = account.sell.add_record(
        "lead", {"last_name": "Y", "email": "y@example.com", "custom_fields": {"Budget": "lots"}}
    )
    good = account.sell.add_record("lead", {"last_name": "Z", "email": "z@example.com"})
    service = account.service()
    report = service.run()
    reasons = {r.sell_key: r.reason for r in report.refusals}
    assert "invalid email" in reasons[f"lead:{bad_mail}"]
    assert "Budget" in reasons[f"lead:{bad_value}"]
    assert account.keyed("contacts") == Counter({f"lead:{good}": 1})
    assert report.run_id is not None
    assert {r.sell_key for r in service.store.migration_refusals(report.run_id)} == set(reasons)


def test_m3_verify_is_clean_after_a_run_and_names_a_difference_made_in_hubspot(
    account: Account,
) -> None:
    ids = account.seed()
    account.hs.add_contact({"email": "ann2@example.com"})  # not from Sell: not compared
    # no conflict this time: Ann's HubSpot job title is empty
    account.contact("ann@example.com").pop("jobtitle", None)
    service = account.service()
    service.run()
    clean = service.verify()
    assert (clean.differences, clean.checked) == (0, clean.verified)
    assert service.standing().unverified == 0

    bo = {m.sell_key: m.hubspot_id for m in _moved(service, "contacts")}[f"lead:{ids['other']}"]
    account.hs.contacts_by_id[bo].values["lastname"] = "Changed"
    found = service.verify()
    assert found.differences == 1
    assert [d.row() for d in found.details] == [
        {"key": f"lead:{ids['other']}", "field": "lastname", "sell": "Chan", "hubspot": "Changed"}
    ]
    standing = service.standing()
    assert (standing.differences, standing.unverified) == (1, 1)


def test_m1_a_missing_scope_is_named_before_anything_is_written(account: Account) -> None:
    account.seed()
    account.hs.token_scopes = [
        s for s in account.hs.token_scopes or [] if not s.startswith("crm.objects.companies")
    ]
    service = account.service()
    with pytest.raises(ConfigError) as refused:
        service.run()
    assert "crm.objects.companies.write" in str(refused.value)
    assert account.writes() == 0
    assert service.standing().unverified is None


def _moved(service: MigrationService, object_type: str) -> list[MovedItem]:
    return [item for page in service.store.moved_pages(object_type) for item in page]


def _instant(text: str) -> datetime:
    if text.isdigit():
        return datetime.fromtimestamp(int(text) / 1000, UTC)
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def test_m2_a_retired_sell_is_not_called_and_nothing_moves(account: Account) -> None:
    account.seed()
    service = account.service()
    service.store.store_setting(SettingName.SELL_MODE, "retired", replans=False)
    account.sb.sell.reset_calls()
    with pytest.raises(SellNotCalled) as refused:
        service.run()
    assert "read_only" in str(refused.value)
    assert account.sb.sell.calls == [] and account.writes() == 0


def test_m2_two_sell_records_with_one_email_become_one_contact(account: Account) -> None:
    """A lead and a contact of one person, and a HubSpot contact already holding the e-mail:
    one contact, filled from both, carrying the first record's key; a rerun writes nothing."""
    account.hs.add_contact({"email": "dup@example.com"})
    first = account.sell.add_record(
        "lead", {"first_name": "Dee", "email": "dup@example.com", "title": "CFO"}
    )
    second = account.sell.add_record(
        "lead", {"last_name": "Upp", "email": "DUP@example.com", "phone": "+1 555 0101"}
    )
    other = account.sell.add_record("lead", {"last_name": "Solo", "email": "solo@example.com"})
    twin = account.sell.add_record("lead", {"first_name": "Twin", "email": "solo@example.com"})
    service = account.service()
    report = service.run()
    assert report.status == "finished" and report.counts.get("refused", 0) == 0
    assert len(account.hs.contacts_by_id) == 2
    dup = account.contact("dup@example.com")
    assert (dup["firstname"], dup["lastname"], dup["jobtitle"], dup["phone"]) == (
        "Dee",
        "Upp",
        "CFO",
        "+1 555 0101",
    )
    assert dup[SELL_ID_PROPERTY] in {f"lead:{first}", f"lead:{second}"}
    solo = account.contact("solo@example.com")
    assert solo[SELL_ID_PROPERTY] in {f"lead:{other}", f"lead:{twin}"}
    assert (solo["firstname"], solo["lastname"]) == ("Twin", "Solo")
    moved = {m.sell_key for m in _moved(service, "contacts")}
    assert moved == {f"lead:{n}" for n in (first, second, other, twin)}
    assert account.service().run().writes == 0
    assert service.verify().clean
