"""Absence from a bulk read is no proof of deletion (S5, S6): the clients read every record a
bulk read left out alone, and only the service's own "not found" takes it out of the answer.

Against httpx.MockTransport handlers speaking Sell's and HubSpot's wire formats; the same faults
end to end over the sandbox are in ``tests/e2e/test_absence_sandbox.py``.
"""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest

from sync.clients.absence import CONFIRM_LIMIT
from sync.errors import ApiError, AuthError, UnprovenAbsence
from sync.report import FailureKind, classify_failure
from tests.unit.test_clients_hubspot import V, body, contact
from tests.unit.test_clients_hubspot import make as make_hubspot
from tests.unit.test_clients_sell import FakeSell, envelope_error
from tests.unit.test_clients_sell import make as make_sell

EMPTY_PAGE = {"items": [], "meta": {"type": "collection", "count": 0, "links": {}}}
NULL_ITEMS = {"items": [None, {"data": None}], "meta": {"type": "collection", "count": 2}}


def sell_with(n: int) -> tuple[FakeSell, list[int]]:
    fake = FakeSell()
    return fake, [fake.add("leads", last_name=f"L{i}")["id"] for i in range(n)]


def single_reads(fake: FakeSell) -> list[str]:
    return [r.url.path for r in fake.requests if "ids" not in r.url.params]


# --------------------------------------------------------------------------- Sell


@pytest.mark.parametrize("answer", [EMPTY_PAGE, NULL_ITEMS], ids=["empty", "null-items"])
def test_s5_ids_left_out_of_a_sell_read_are_read_alone(answer: dict[str, Any]) -> None:
    fake, (kept, deleted) = sell_with(2)
    del fake.records["leads"][deleted]
    fake.faults = [httpx.Response(200, json=answer)]
    found = make_sell(fake).get_records("lead", [kept, deleted])
    # kept came back when read alone; deleted answered 404 not_found: proven gone
    assert set(found) == {kept} and found[kept].values["last_name"] == "L0"
    assert single_reads(fake) == [f"/v2/leads/{kept}", f"/v2/leads/{deleted}"]


@pytest.mark.parametrize("answer", [EMPTY_PAGE, NULL_ITEMS], ids=["empty", "null-items"])
def test_s5_a_whole_sell_page_left_out_stops_after_a_few_reads(answer: dict[str, Any]) -> None:
    fake, ids = sell_with(100)
    fake.faults = [httpx.Response(200, json=answer)]
    with pytest.raises(UnprovenAbsence) as raised:
        make_sell(fake).get_records("lead", ids)
    assert len(single_reads(fake)) == CONFIRM_LIMIT  # not 100 single reads
    assert str(raised.value).startswith(
        "Sell: Sell answered 100 of 100 leads as absent without saying they were deleted"
    )
    assert "a changed role or token?" in str(raised.value)
    assert classify_failure(raised.value) is FailureKind.SELL_UNPROVEN_ABSENCE


def test_s5_a_bulk_deletion_is_proven_record_by_record() -> None:
    fake, ids = sell_with(10)
    fake.records["leads"].clear()
    assert make_sell(fake).get_records("lead", ids) == {}
    assert len(single_reads(fake)) == 10


@pytest.mark.parametrize(
    "answer",
    [
        httpx.Response(404, text="<html>Not Found</html>"),  # a proxy's 404
        envelope_error(404, "incorrect_path", "The requested path is incorrect."),
        httpx.Response(200, json={"data": None}),
        httpx.Response(200, json={"data": {"id": 999999, "last_name": "Other"}}),
    ],
    ids=["proxy-404", "incorrect-path", "no-record", "another-record"],
)
def test_s5_only_sells_not_found_proves_a_deletion(answer: httpx.Response) -> None:
    fake, ids = sell_with(1)
    fake.faults = [httpx.Response(200, json=EMPTY_PAGE), answer]
    with pytest.raises(ApiError) as raised:
        make_sell(fake).get_records("lead", ids)
    assert type(raised.value) is ApiError
    assert f"lead:{ids[0]}" in str(raised.value)


def test_s5_a_refused_single_read_stops_the_run() -> None:
    fake, ids = sell_with(1)
    fake.faults = [
        httpx.Response(200, json=EMPTY_PAGE),
        envelope_error(403, "insufficient_scope", "not allowed"),
    ]
    with pytest.raises(AuthError):
        make_sell(fake).get_records("lead", ids)


@pytest.mark.parametrize(
    "answer", [{"items": "nope"}, {"meta": {}}, [1, 2]], ids=["string", "no-items", "list"]
)
def test_s5_a_mis_shaped_sell_answer_is_a_classified_failure(answer: Any) -> None:
    fake, ids = sell_with(1)
    fake.faults = [httpx.Response(200, json=answer)]
    with pytest.raises(ApiError) as raised:
        make_sell(fake).get_records("lead", ids)
    assert "Sell answered a record read by ids with an unexpected shape" in str(raised.value)
    assert classify_failure(raised.value) is FailureKind.SELL_REFUSED


# --------------------------------------------------------------------------- HubSpot


def not_found_404() -> httpx.Response:
    return httpx.Response(
        404, json={"status": "error", "message": "not found", "category": "OBJECT_NOT_FOUND"}
    )


def hubspot(batch: httpx.Response, store: dict[str, dict[str, Any]], calls: list[str]) -> Any:
    """A HubSpot whose batch/read answers ``batch`` and whose single reads answer from
    ``store`` (404 OBJECT_NOT_FOUND otherwise)."""

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(f"{request.method} {request.url.path}")
        if request.url.path.endswith("/batch/read"):
            assert body(request)["inputs"]
            return batch
        cid = request.url.path.rsplit("/", 1)[-1]
        return httpx.Response(200, json=store[cid]) if cid in store else not_found_404()

    return make_hubspot(handler)


EMPTY_BATCH = httpx.Response(200, json={"status": "COMPLETE", "results": []})


def test_s6_ids_left_out_of_an_empty_batch_read_are_read_alone() -> None:
    calls: list[str] = []
    client = hubspot(EMPTY_BATCH, {"1": contact("1", 1_700_000_000_000)}, calls)
    found, missing = client.read_contacts(["1", "2"], [])
    assert set(found) == {"1"} and missing == {"2"}  # "2": HubSpot's own 404 OBJECT_NOT_FOUND
    assert calls[1:] == [f"GET /crm/objects/{V}/contacts/1", f"GET /crm/objects/{V}/contacts/2"]


def test_s6_a_whole_empty_batch_read_stops_after_a_few_reads() -> None:
    calls: list[str] = []
    store = {str(i): contact(str(i), 1_700_000_000_000) for i in range(1, 51)}
    client = hubspot(EMPTY_BATCH, store, calls)
    with pytest.raises(UnprovenAbsence) as raised:
        client.read_contacts(list(store), [])
    assert len(calls) == 1 + CONFIRM_LIMIT
    assert "HubSpot answered 50 of 50 contacts as absent" in str(raised.value)
    assert classify_failure(raised.value) is FailureKind.HUBSPOT_UNPROVEN_ABSENCE


def test_s6_ids_hubspot_names_not_found_or_archived_are_missing_at_once() -> None:
    calls: list[str] = []
    archived = {**contact("3", 1_700_000_000_000), "archived": True}
    answer = httpx.Response(
        207,
        json={
            "status": "COMPLETE",
            "results": [contact("1", 1_700_000_000_000), archived],
            "numErrors": 1,
            "errors": [
                {
                    "status": "error",
                    "category": "OBJECT_NOT_FOUND",
                    "message": "Could not get some CONTACT objects, they may be deleted or not exist.",
                    "context": {"ids": ["2"]},
                }
            ],
        },
    )
    found, missing = hubspot(answer, {}, calls).read_contacts(["1", "2", "3"], [])
    assert set(found) == {"1"} and missing == {"2", "3"}
    assert len(calls) == 1  # nothing to confirm: HubSpot said so itself


@pytest.mark.parametrize(
    "single",
    [
        httpx.Response(404, text="<html>Not Found</html>"),
        httpx.Response(200, json={"id": "9", "properties": {}}),  # another contact
        httpx.Response(200, json={"results": "nope"}),
    ],
    ids=["proxy-404", "another-contact", "mis-shaped"],
)
def test_s6_only_hubspots_not_found_proves_a_deletion(single: httpx.Response) -> None:
    calls: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request.url.path)
        return EMPTY_BATCH if request.url.path.endswith("/batch/read") else single

    with pytest.raises(ApiError) as raised:
        make_hubspot(handler).read_contacts(["1"], [])
    assert type(raised.value) is ApiError and "contact 1" in str(raised.value)


@pytest.mark.parametrize(
    "batch",
    [
        httpx.Response(404, json={"status": "error", "message": "not found"}),
        httpx.Response(200, json={"results": "nope"}),
    ],
    ids=["404-naming-nothing", "mis-shaped"],
)
def test_s6_a_batch_answer_that_names_nothing_proves_nothing(batch: httpx.Response) -> None:
    calls: list[str] = []
    with pytest.raises(ApiError) as raised:
        hubspot(batch, {}, calls).read_contacts(["1"], [])
    assert re.search(r"batch[ /]read", str(raised.value))
    assert classify_failure(raised.value) is FailureKind.HUBSPOT_REFUSED
