"""HubSpotClient against the sandbox HubSpot server: behaviour, error paths, pacing."""

from __future__ import annotations

import dataclasses
import logging
import time
from typing import Any

import httpx
import pytest

from sandbox.server import Sandbox
from sync.clients.hubspot import API_VERSION, HubSpotClient, HubSpotLimits, HubSpotSession
from sync.errors import ApiError, AuthError, DailyLimitReached
from sync.ports import ContactWrite
from tests.contract.conftest import FAST_RETRY, SCALE, closing

OBJECTS = f"/crm/objects/{API_VERSION}/contacts"


@pytest.fixture
def sb(scaled: Sandbox) -> Sandbox:
    sandbox = scaled
    sandbox.reset()
    sandbox.limits.update({"scale": SCALE, "hubspot_window_s": 10.0, "enabled": True})
    return sandbox


SESSION_FIELDS = {f.name for f in dataclasses.fields(HubSpotSession)}


def client(sb: Sandbox, token: str | None = None, **kwargs: Any) -> HubSpotClient:
    kwargs.setdefault("retry", FAST_RETRY)
    kwargs.setdefault("timeout", httpx.Timeout(2.0, connect=1.0))
    kwargs.setdefault("per_10s", 190 * SCALE)
    kwargs.setdefault("search_per_s", 5 * SCALE)
    session = {k: kwargs.pop(k) for k in list(kwargs) if k in SESSION_FIELDS}
    hs = HubSpotClient(
        HubSpotSession(
            sb.hubspot_url, token or sb.hubspot_token, portal_id=sb.hubspot.portal_id, **session
        ),
        HubSpotLimits(**kwargs),
    )
    return closing(hs)


def add_contacts(sb: Sandbox, n: int, **extra: Any) -> list[str]:
    return [
        sb.hubspot.add_contact({"email": f"c{i}@example.test", "firstname": f"C{i}", **extra})
        for i in range(n)
    ]


# --------------------------------------------------------------------------- lists


def test_list_and_members(sb: Sandbox) -> None:
    ids = add_contacts(sb, 300)
    list_id = sb.hubspot.create_list("Hot leads", "MANUAL")
    sb.hubspot.add_to_list(list_id, ids[:260])
    hs = client(sb)
    hs_list = hs.get_list(list_id)
    assert (hs_list.name, hs_list.processing_type) == ("Hot leads", "MANUAL")
    pages = list(hs.list_member_pages(list_id))
    assert [len(p) for p in pages] == [250, 10]
    assert sorted(i for p in pages for i in p) == sorted(ids[:260])
    hs.add_list_members(list_id, ids[250:])
    assert set(sb.hubspot.list_members(list_id)) == set(ids)
    assert hs.stats["memberships"] == 2
    assert sb.hubspot.count(path_prefix=f"/crm/lists/{API_VERSION}/") == hs.stats["requests"]


def test_e2_join_order_pages_then_one_call_from_the_last_page(sb: Sandbox) -> None:
    ids = add_contacts(sb, 300)
    list_id = sb.hubspot.create_list("Joins", "MANUAL")
    sb.hubspot.add_to_list(list_id, ids[:260])
    hs = client(sb)
    pages = list(hs.list_join_pages(list_id))
    assert [len(p.ids) for p in pages] == [250, 10]
    assert pages[0].after is None and pages[1].after is not None
    assert sorted(i for p in pages for i in p.ids) == sorted(ids[:260])
    sb.hubspot.add_to_list(list_id, ids[260:])
    again = list(hs.list_join_pages(list_id, pages[-1].after))
    assert [list(p.ids) for p in again] == [[*pages[-1].ids, *ids[260:]]]
    assert hs.stats["join_order"] == 3


def test_missing_list_and_dynamic_list(sb: Sandbox) -> None:
    hs = client(sb)
    with pytest.raises(ApiError, match="HubSpot list 999999 not found"):
        hs.get_list("999999")
    dynamic = sb.hubspot.create_list("Dyn", "DYNAMIC")
    assert not hs.get_list(dynamic).accepts_members
    with pytest.raises(ApiError, match="DYNAMIC"):
        hs.add_list_members(dynamic, add_contacts(sb, 1))


# --------------------------------------------------------------------------- reads


def test_read_contacts_found_missing_archived(sb: Sandbox) -> None:
    ids = add_contacts(sb, 230, hubspotscore="40")
    sb.hubspot.archive_contact(ids[5])
    hs = client(sb, max_workers=3)
    found, missing = hs.read_contacts([*ids, "99999999999"], ["firstname"])
    assert missing == {ids[5], "99999999999"}
    assert len(found) == 229
    one = found[ids[0]]
    assert one.properties["firstname"] == "C0"
    assert one.properties["hubspotscore"] == "40"
    assert one.updated_at_ms > 1_600_000_000_000
    assert one.url == sb.hubspot.contact_url(ids[0])
    assert hs.stats["batch_read"] == 3


def test_read_by_email(sb: Sandbox) -> None:
    add_contacts(sb, 3)
    found = client(sb).read_contacts_by_email(["C1@Example.test", "nobody@example.test"], [])
    assert list(found) == ["c1@example.test"]


def test_l2_read_contacts_of_merged_ids_gives_the_survivor_keyed_as_asked(sb: Sandbox) -> None:
    ids = add_contacts(sb, 120)
    survivor, absorbed = ids[110], ids[3]  # in different batches of 100
    sb.hubspot.merge_contacts(survivor, absorbed)
    hs = client(sb)
    found, missing = hs.read_contacts(ids, ["firstname"])
    assert missing == set() and set(found) == set(ids)
    assert found[absorbed].id == survivor and found[survivor].id == survivor
    assert found[absorbed].merged_ids == {absorbed}
    assert found[absorbed].properties["firstname"] == "C110"
    found, _ = hs.read_contacts([absorbed], [])
    assert list(found) == [absorbed] and found[absorbed].id == survivor
    bodies = [c.json for c in sb.hubspot.calls_matching("POST", f"{OBJECTS}/batch/read")]
    assert bodies and all("hs_merged_object_ids" in b["properties"] for b in bodies)
    assert sb.hubspot.writes_to_merged_ids == []


def test_l2_read_by_email_finds_the_survivor_by_the_absorbed_address(sb: Sandbox) -> None:
    ids = add_contacts(sb, 2)
    sb.hubspot.merge_contacts(ids[0], ids[1])
    found = client(sb).read_contacts_by_email(["c1@example.test"], [])
    assert list(found) == ["c1@example.test"] and found["c1@example.test"].id == ids[0]


def test_l2_search_pages_carry_the_merged_ids(sb: Sandbox) -> None:
    ids = add_contacts(sb, 3)
    sb.hubspot.merge_contacts(ids[2], ids[0])
    sb.hubspot.merge_contacts(ids[2], ids[1])
    contacts = [c for page in client(sb).changed_pages(0, ["email"]) for c in page.contacts]
    assert [c.id for c in contacts] == [ids[2]]
    assert contacts[0].merged_ids == {ids[0], ids[1]}
    bodies = [c.json for c in sb.hubspot.calls_matching("POST", f"{OBJECTS}/search")]
    assert all("hs_merged_object_ids" in b["properties"] for b in bodies)


def test_changed_pages_oldest_first_and_restart_before_the_cap(sb: Sandbox) -> None:
    sb.limits.update({"enabled": False})
    base = 1_750_000_000_000
    ids = [
        sb.hubspot.add_contact({"email": f"s{i}@example.test"}, updated_ms=base + i // 4)
        for i in range(60)
    ]
    hs = client(sb, per_10s=None, search_per_s=None, search_page_size=5, search_result_cap=20)
    pages = list(hs.changed_pages(base + 2, ["email"]))
    seen = [c.id for page in pages for c in page.contacts]
    assert sorted(seen) == sorted(ids[8:])  # updated_ms >= base + 2
    assert len(seen) == len(set(seen))
    marks = [page.high_water_ms for page in pages]
    assert marks == sorted(marks) and marks[-1] == base + 14
    bodies = [c.json for c in sb.hubspot.calls_matching("POST", f"{OBJECTS}/search")]
    assert all(int(b["after"]) + b["limit"] <= 20 for b in bodies)
    assert sum(1 for b in bodies if b["after"] == "0") > 1  # it restarted


def test_changed_pages_at_the_servers_result_cap(
    sb: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The sandbox's 10,000-result cap shrunk to 30 (no 10k contacts needed): at the cap it
    # offers no next page although ``total`` is larger, as HubSpot does.
    monkeypatch.setattr("sandbox.hubspot.MAX_RESULTS", 30)
    sb.limits.update({"enabled": False})
    base = 1_760_000_000_000
    for i in range(95):
        sb.hubspot.add_contact({"email": f"big{i}@example.test"}, updated_ms=base + i // 3)
    hs = client(sb, per_10s=None, search_per_s=None, search_page_size=10, search_result_cap=30)
    seen = [c.id for p in hs.changed_pages(base, []) for c in p.contacts]
    assert len(seen) == len(set(seen)) == 95
    assert sb.hubspot.count(status=400) == 0


def test_properties(sb: Sandbox) -> None:
    hs = client(sb)
    props = hs.properties()
    assert hs.properties() is not props  # a copy, but cached:
    assert hs.stats["properties"] == 1
    assert "email" in props and not props["email"].read_only
    assert props["hs_object_id"].read_only
    source = props["hs_analytics_source"]
    assert source.type == "enumeration"
    assert source.label_for("ORGANIC_SEARCH") == "Organic Search"
    assert source.value_for("organic search") == "ORGANIC_SEARCH"


# --------------------------------------------------------------------------- writes


def test_create_with_duplicate_and_invalid_in_one_batch(sb: Sandbox) -> None:
    existing = sb.hubspot.add_contact({"email": "taken@example.test"})
    hs = client(sb)
    writes = [
        ContactWrite("lead:1", {"email": "new1@example.test", "firstname": "N1"}),
        ContactWrite("lead:2", {"email": "Taken@example.test"}),
        ContactWrite("lead:3", {"email": "not-an-email"}),
        ContactWrite("lead:4", {"email": "new2@example.test"}),
    ]
    results = hs.create_contacts(writes)
    assert [r.key for r in results] == ["lead:1", "lead:2", "lead:3", "lead:4"]
    assert results[0].ok and results[3].ok
    assert results[1].duplicate_of == existing
    assert results[2].error and not results[2].ok
    assert sb.hubspot.find_contact("new1@example.test") == results[0].id
    assert sb.hubspot.find_contact("new2@example.test") == results[3].id
    assert hs.stats["batch_create"] == 1


def test_create_after_a_dropped_response_reports_the_duplicate(sb: Sandbox) -> None:
    sb.hubspot.inject("drop", path_prefix=f"{OBJECTS}/batch/create", apply=True)
    hs = client(sb)
    [result] = hs.create_contacts([ContactWrite("lead:9", {"email": "once@example.test"})])
    # the first attempt was applied; the retry finds the contact and names it
    assert result.duplicate_of == sb.hubspot.find_contact("once@example.test")
    assert len(sb.hubspot.contact_ids()) == 1


def test_update_one_bad_one_gone_rest_applied(sb: Sandbox) -> None:
    ids = add_contacts(sb, 4)
    sb.hubspot.archive_contact(ids[1])
    hs = client(sb)
    results = hs.update_contacts(
        [
            ContactWrite("a", {"firstname": "Ann"}, id=ids[0]),
            ContactWrite("b", {"firstname": "Bob"}, id=ids[1]),
            ContactWrite("c", {"email": "broken"}, id=ids[2]),
            ContactWrite("d", {"firstname": "Dee"}, id=ids[3]),
        ]
    )
    assert [r.ok for r in results] == [True, False, False, True]
    assert results[1].missing
    assert results[2].error and not results[2].missing
    assert sb.hubspot.get_contact(ids[0])["properties"]["firstname"] == "Ann"  # type: ignore[index]
    assert sb.hubspot.get_contact(ids[3])["properties"]["firstname"] == "Dee"  # type: ignore[index]


def test_update_to_an_email_another_contact_has(sb: Sandbox) -> None:
    ids = add_contacts(sb, 2)
    [result] = client(sb).update_contacts(
        [ContactWrite("x", {"email": "c1@example.test"}, id=ids[0])]
    )
    assert result.error and "already exists" in result.error
    assert result.duplicate_of is None


# --------------------------------------------------------------------------- error paths

RETRIED = ["429", "429-no-retry-after", "429-empty", "500", "502", "503", "timeout", "drop"]


@pytest.mark.parametrize("fault", RETRIED)
def test_transient_faults_are_retried(sb: Sandbox, fault: str) -> None:
    ids = add_contacts(sb, 2)
    delay = 0.05 if fault == "429" else 1.0 if fault == "timeout" else None
    sb.hubspot.inject(fault, path_prefix=f"{OBJECTS}/batch/read", delay=delay)
    hs = client(sb, timeout=httpx.Timeout(0.3, connect=1.0))
    found, missing = hs.read_contacts(ids, [])
    assert set(found) == set(ids) and not missing
    assert sb.hubspot.count("POST", f"{OBJECTS}/batch/read") == 2
    assert hs.stats["retries"] == 1


@pytest.mark.parametrize("fault", ["429", "503", "drop"])
def test_search_faults_are_retried(sb: Sandbox, fault: str) -> None:
    add_contacts(sb, 3)
    sb.hubspot.inject(fault, path_prefix=f"{OBJECTS}/search", delay=0.05)
    hs = client(sb)
    assert sum(len(p.contacts) for p in hs.changed_pages(0, [])) == 3


def test_persistent_5xx_gives_up(sb: Sandbox) -> None:
    sb.hubspot.inject("503", times=None)
    hs = client(sb)
    with pytest.raises(ApiError) as caught:
        hs.properties()
    assert caught.value.status == 503
    assert hs.stats["properties"] == FAST_RETRY.max_attempts


def test_401_is_not_retried(sb: Sandbox) -> None:
    sb.hubspot.inject("401")
    hs = client(sb)
    with pytest.raises(AuthError):
        hs.get_list("1")
    assert sb.hubspot.count() == 1


def test_wrong_token(sb: Sandbox, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    token = "pat-na1-wrong-token-value-1234567890"
    hs = client(sb, token)
    with pytest.raises(AuthError) as caught:
        hs.properties()
    assert token not in str(caught.value)
    assert token not in caplog.text


def test_daily_limit_stops_at_once(sb: Sandbox) -> None:
    sb.hubspot.inject("daily", times=None)
    hs = client(sb)
    with pytest.raises(DailyLimitReached):
        hs.read_contacts(add_contacts(sb, 2), [])
    assert sb.hubspot.count() == 1


def test_token_never_logged(sb: Sandbox, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    sb.hubspot.inject("429-no-retry-after")
    sb.hubspot.inject("500")
    hs = client(sb)
    hs.read_contacts(add_contacts(sb, 2), [])
    hs.create_contacts([ContactWrite("k", {"email": "log@example.test"})])
    assert "batch/read" in caplog.text
    assert sb.hubspot_token not in caplog.text


# --------------------------------------------------------------------------- pacing


def test_pacing_keeps_under_the_rolling_window(sb: Sandbox) -> None:
    sb.limits.update({"scale": 1, "hubspot_per_10s": 8, "hubspot_window_s": 0.5})
    list_id = sb.hubspot.create_list("L", "MANUAL")
    hs = client(sb, per_10s=8, window_s=0.5, max_workers=4, pacing_safety=0.15)
    started = time.monotonic()
    for _ in range(24):
        hs.get_list(list_id)
    elapsed = time.monotonic() - started
    assert sb.hubspot.count(status=429) == 0
    assert elapsed >= 1.0  # 24 calls at 8 per 0.5 s need two full windows
    assert elapsed < 3.0
    sb.limits.update({"hubspot_per_10s": 190})


def test_parallel_reads_share_the_pacer(sb: Sandbox) -> None:
    sb.limits.update({"scale": 1, "hubspot_per_10s": 4, "hubspot_window_s": 0.5})
    ids = add_contacts(sb, 1000)
    hs = client(sb, per_10s=4, window_s=0.5, max_workers=4, pacing_safety=0.15)
    found, _ = hs.read_contacts(ids, [])
    assert len(found) == 1000
    assert sb.hubspot.count(status=429) == 0
    assert hs.stats["batch_read"] == 10
    sb.limits.update({"hubspot_per_10s": 190})
