"""SellClient against the sandbox Sell server: behaviour, error paths, pacing."""

from __future__ import annotations

import logging
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from sandbox.server import Sandbox
from sync.clients.sell import SellClient
from sync.errors import ApiError, AuthError, RecordNotFound, RecordRejected
from tests.contract.conftest import FAST_RETRY, SCALE, closing


@pytest.fixture
def sb(scaled: Sandbox) -> Sandbox:
    sandbox = scaled
    sandbox.reset()
    sandbox.limits.update({"scale": SCALE, "sell_per_s": 10.0, "enabled": True})
    return sandbox


def client(sb: Sandbox, token: str | None = None, **kwargs: Any) -> SellClient:
    kwargs.setdefault("retry", FAST_RETRY)
    kwargs.setdefault("timeout", httpx.Timeout(2.0, connect=1.0))
    kwargs.setdefault("per_s", 10.0 * SCALE)
    sell = SellClient(sb.sell_url, token or sb.sell_token, **kwargs)
    return closing(sell)


def iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


# --------------------------------------------------------------------------- reads


def test_check_credentials(sb: Sandbox) -> None:
    assert client(sb).check_credentials() == "Sandra Box"


def test_changed_pages_newest_first_until_the_watermark(sb: Sandbox) -> None:
    t0 = datetime(2026, 3, 1, tzinfo=UTC)
    for minute in range(230):
        stamp = iso(t0 + timedelta(minutes=minute))
        sb.sell.add_record("lead", {"last_name": f"L{minute}"}, updated_at=stamp)
    sell = client(sb, overlap_seconds=60)
    pages = list(sell.changed_pages("lead", t0 + timedelta(minutes=100)))
    names = [r.values["last_name"] for page in pages for r in page]
    assert names == [f"L{m}" for m in range(229, 98, -1)]  # down to since - 60 s
    assert sell.stats["list"] == 2
    calls = sb.sell.calls_matching("GET", "/v2/leads")
    assert [c.query["page"] for c in calls] == ["1", "2"]
    assert all(c.query["sort_by"] == "updated_at:desc" for c in calls)


def test_changed_pages_all_and_idle(sb: Sandbox) -> None:
    for i in range(120):
        sb.sell.add_record("contact", {"last_name": f"C{i}"})
    sell = client(sb)
    assert [len(p) for p in sell.changed_pages("contact", None)] == [100, 20]
    future = datetime.now(UTC) + timedelta(hours=1)
    assert list(sell.changed_pages("contact", future)) == []
    assert sell.stats["list"] == 3  # two pages, then one call for an idle poll


def test_get_records_absent_ids_were_deleted(sb: Sandbox) -> None:
    ids = [sb.sell.add_record("lead", {"last_name": f"L{i}"}) for i in range(130)]
    sb.sell.delete_record("lead", ids[3])
    found = client(sb).get_records("lead", [*ids, 1])
    assert set(found) == set(ids) - {ids[3]}
    assert sb.sell.count(endpoint="leads.list") == 2
    # each id left out was read alone; Sell's 404 not_found proved it deleted
    assert sb.sell.count(endpoint="leads.get", status=404) == 2


def test_round_trip_of_every_mapped_field(sb: Sandbox) -> None:
    sb.sell.add_custom_field("lead", "HubSpot score", "number")
    sb.sell.add_custom_field("lead", "Tier", "list", ["Gold", "Silver"])
    sell = client(sb)
    values = {
        "first_name": "Ann",
        "last_name": "Lee",
        "email": "ann@example.test",
        "phone": "+47 1",
        "mobile": "+47 2",
        "fax": "+47 3",
        "title": "CTO",
        "website": "https://acme.test",
        "industry": "Software",
        "organization_name": "Acme",
        "address.line1": "1 Main St",
        "address.city": "Oslo",
        "address.state": "Oslo",
        "address.postal_code": "0150",
        "address.country": "NO",
        "lead_source": "Organic Search",
        "custom_fields.HubSpot score": "42",
        "custom_fields.Tier": "Gold",
    }
    created = sell.create_record("lead", values)
    for key, value in values.items():
        if key != "custom_fields.HubSpot score":
            assert created.values[key] == value, key
    assert float(created.values["custom_fields.HubSpot score"]) == 42
    assert [s["name"] for s in sb.sell.lead_sources] == ["Organic Search"]
    stored = sb.sell.get_record("lead", created.id)
    assert stored is not None and stored["address"]["city"] == "Oslo"

    updated = sell.update_record(
        "lead", created.id, {"address.city": "Bergen", "lead_source": "Referrals"}
    )
    assert updated.values["address.line1"] == "1 Main St"  # partial address kept the rest
    assert updated.values["address.city"] == "Bergen"
    assert updated.values["lead_source"] == "Referrals"
    [again] = sell.get_records("lead", [created.id]).values()
    assert again.values == updated.values


def test_contact_fields(sb: Sandbox) -> None:
    sb.sell.add_custom_field("contact", "HubSpot source", "string")
    sell = client(sb)
    contact = sell.create_record(
        "contact",
        {
            "first_name": "Bo",
            "last_name": "Ek",
            "customer_status": "current",
            "custom_fields.HubSpot source": "Organic Search",
        },
    )
    assert contact.kind == "contact" and not contact.is_organization
    assert contact.values["customer_status"] == "current"
    assert contact.values["custom_fields.HubSpot source"] == "Organic Search"
    org_id = sb.sell.add_record("contact", {"name": "Acme", "is_organization": True})
    assert sell.get_records("contact", [org_id])[org_id].is_organization


def test_custom_fields(sb: Sandbox) -> None:
    sb.sell.add_custom_field("contact", "Tier", "multi_select_list", ["A", "B"])
    sb.sell.add_custom_field("contact", "Since", "date")
    sell = client(sb)
    fields = {f.name: f for f in sell.custom_fields("contact")}
    assert fields["Tier"].type == "multi_select_list" and fields["Tier"].choices == ("A", "B")
    assert fields["Since"].type == "date"
    assert sell.custom_fields("lead") == []
    sell.custom_fields("contact")
    assert sell.stats["custom_fields"] == 2  # once per kind


# --------------------------------------------------------------------------- writes


def test_one_rejected_record_does_not_stop_the_rest(sb: Sandbox) -> None:
    ids = [sb.sell.add_record("lead", {"last_name": f"L{i}"}) for i in range(3)]
    sell = client(sb)
    outcomes: dict[int, str] = {}
    for record_id, values in zip(
        ids,
        [{"title": "A"}, {"custom_fields.No such field": "x"}, {"title": "C"}],
        strict=True,
    ):
        try:
            sell.update_record("lead", record_id, values)
            outcomes[record_id] = "ok"
        except RecordRejected as exc:
            outcomes[record_id] = exc.reason
    assert outcomes[ids[0]] == outcomes[ids[2]] == "ok"
    assert "No such field" in outcomes[ids[1]]
    assert sb.sell.count("PUT") == 3  # a 422 is not retried


def test_create_rejected(sb: Sandbox) -> None:
    with pytest.raises(RecordRejected) as caught:
        client(sb).create_record("lead", {"email": "nameless@example.test"})
    assert "nameless@example.test" in caught.value.item


def test_update_of_a_deleted_record(sb: Sandbox) -> None:
    record_id = sb.sell.add_record("contact", {"last_name": "Gone"})
    sb.sell.delete_record("contact", record_id)
    with pytest.raises(RecordNotFound) as caught:
        client(sb).update_record("contact", record_id, {"title": "x"})
    assert caught.value.item == f"contact:{record_id}"


@pytest.mark.parametrize("fault", ["timeout", "drop", "500"])
def test_create_that_failed_after_applying_is_not_duplicated(sb: Sandbox, fault: str) -> None:
    sb.sell.inject(fault, method="POST", path_prefix="/v2/leads", apply=True, delay=1.0)
    sell = client(sb, timeout=httpx.Timeout(0.3, connect=1.0))
    record = sell.create_record("lead", {"last_name": "Once", "email": "once@example.test"})
    assert [r["id"] for r in sb.sell.records("lead")] == [record.id]
    assert sell.stats["find_created"] == 1


def test_create_that_failed_without_applying_is_sent_again(sb: Sandbox) -> None:
    sb.sell.inject("drop", method="POST", path_prefix="/v2/leads")
    sell = client(sb)
    record = sell.create_record("lead", {"last_name": "Once", "email": "once@example.test"})
    assert [r["id"] for r in sb.sell.records("lead")] == [record.id]
    assert sb.sell.count("POST", "/v2/leads") == 2


def test_lead_source_created_once(sb: Sandbox) -> None:
    sell = client(sb)
    for i in range(3):
        sell.create_record("lead", {"last_name": f"L{i}", "lead_source": "Paid Social"})
    assert [s["name"] for s in sb.sell.lead_sources] == ["Paid Social"]
    assert sb.sell.count("POST", "/v2/lead_sources") == 1
    assert sb.sell.count("GET", "/v2/lead_sources") == 1


# --------------------------------------------------------------------------- error paths

RETRIED = [
    "429",
    "429-no-retry-after",
    "429-empty",
    "404-429",
    "500",
    "502",
    "503",
    "timeout",
    "drop",
]


@pytest.mark.parametrize("fault", RETRIED)
def test_transient_faults_are_retried(sb: Sandbox, fault: str) -> None:
    sb.sell.add_record("lead", {"last_name": "Lee"})
    sb.sell.inject(fault, path_prefix="/v2/leads", delay=1.0)
    sell = client(sb, timeout=httpx.Timeout(0.3, connect=1.0))
    assert len(next(sell.changed_pages("lead", None))) == 1
    assert sb.sell.count("GET", "/v2/leads") == 2
    assert sell.stats["retries"] == 1
    if fault in ("429", "429-no-retry-after", "429-empty", "404-429"):
        assert sell.stats["rate_limited"] == 1


@pytest.mark.parametrize("fault", ["429-empty", "404-429", "503"])
def test_faults_on_updates_are_retried(sb: Sandbox, fault: str) -> None:
    record_id = sb.sell.add_record("contact", {"last_name": "Lee"})
    sb.sell.inject(fault, method="PUT")
    assert client(sb).update_record("contact", record_id, {"title": "Boss"}).values["title"] == (
        "Boss"
    )
    assert sb.sell.count("PUT") == 2


def test_persistent_rate_limit_raises(sb: Sandbox) -> None:
    sb.sell.inject("429-empty", times=None)
    sell = client(sb)
    with pytest.raises(ApiError) as caught:
        sell.get_records("lead", [1])
    assert caught.value.status == 429
    assert sb.sell.count() == FAST_RETRY.max_attempts


def test_401_is_not_retried(sb: Sandbox) -> None:
    sb.sell.inject("401")
    with pytest.raises(AuthError):
        client(sb).check_credentials()
    assert sb.sell.count() == 1


def test_wrong_token_never_shown(sb: Sandbox, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    token = "x" * 64
    with pytest.raises(AuthError) as caught:
        client(sb, token).check_credentials()
    assert token not in str(caught.value)
    assert token not in caplog.text
    assert "/v2/users/self -> 401" in caplog.text


def test_token_never_logged(sb: Sandbox, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    sb.sell.inject("503")
    sell = client(sb)
    sell.create_record("lead", {"last_name": "Log", "email": "log@example.test"})
    list(sell.changed_pages("lead", None))
    assert "/v2/leads" in caplog.text
    assert sb.sell_token not in caplog.text
    assert "log@example.test" not in caplog.text


# --------------------------------------------------------------------------- pacing


def test_pacing_keeps_under_the_limit(sb: Sandbox) -> None:
    sb.limits.update({"scale": 1, "sell_per_s": 20})
    sell = client(sb, per_s=20, pacing_safety=0.15)  # margin for CI jitter
    started = time.monotonic()
    for _ in range(50):
        sell.check_credentials()
    elapsed = time.monotonic() - started
    assert sb.sell.count(status=429) == 0
    assert 1.0 <= elapsed < 3.5  # 50 calls at 20/s: two windows after the first 20
