"""HubSpot merges (SPEC L2) on the client side: ``HubSpotContact.merged_ids`` parsing and
``HubSpotClient.read_contacts`` keying a survivor by the merged-away id that was asked for."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from sync.clients.hubspot import API_VERSION, HubSpotClient, HubSpotLimits, HubSpotSession
from sync.domain import MERGED_IDS_PROPERTY, HubSpotContact


def contact_with(raw: str | None) -> HubSpotContact:
    return HubSpotContact("1", {MERGED_IDS_PROPERTY: raw}, 0, None)


@pytest.mark.parametrize(
    ("raw", "ids"),
    [
        (None, set()),
        ("", set()),
        ("51000000002", {"51000000002"}),
        ("2;3", {"2", "3"}),
        (" 2 ; 3 ;;", {"2", "3"}),
        ("2;abc;-4;0;0000;3.5;１２;", {"2"}),  # words, signs, zeros, decimals, non-ASCII digits
        ("2;" + "9" * 20, {"2"}),  # longer than any 63-bit id
        ("2,3", set()),  # not HubSpot's separator
    ],
)
def test_l2_merged_ids_are_the_valid_ids_of_the_property(raw: str | None, ids: set[str]) -> None:
    assert contact_with(raw).merged_ids == ids


def test_l2_merged_ids_without_the_property() -> None:
    assert HubSpotContact("1", {}, 0, None).merged_ids == frozenset()


# --------------------------------------------------------------------------- read_contacts


def record(cid: str, merged: str | None = None) -> dict[str, Any]:
    props = {"hs_object_id": cid, "lastmodifieddate": "1700000000000", "email": f"{cid}@x.test"}
    if merged is not None:
        props[MERGED_IDS_PROPERTY] = merged
    return {"id": cid, "properties": props, "archived": False}


def redirecting(records: dict[str, dict[str, Any]], answers_for: dict[str, str]) -> HubSpotClient:
    """A HubSpot that answers a batch/read of each id in ``answers_for`` with another record,
    and a read of one id it does not hold with a 404 ``OBJECT_NOT_FOUND``."""

    def handler(request: httpx.Request) -> httpx.Response:
        one = request.url.path.rsplit("/", 1)[-1]
        if request.method == "GET" and one not in records:
            body = {"status": "error", "message": "not found", "category": "OBJECT_NOT_FOUND"}
            return httpx.Response(404, json=body)
        assert request.url.path == f"/crm/objects/{API_VERSION}/contacts/batch/read"
        payload = json.loads(request.content)
        assert MERGED_IDS_PROPERTY in payload["properties"]
        results, seen = [], set()
        for item in payload["inputs"]:
            cid = answers_for.get(item["id"], item["id"])
            if cid in records and cid not in seen:
                seen.add(cid)
                results.append(records[cid])
        return httpx.Response(200, json={"status": "COMPLETE", "results": results})

    return HubSpotClient(
        HubSpotSession(
            "https://hubspot.test", "t", http=httpx.Client(transport=httpx.MockTransport(handler))
        ),
        HubSpotLimits.unpaced(),
    )


def test_l2_a_merged_away_id_maps_to_its_survivor() -> None:
    client = redirecting({"1": record("1", "2;3")}, {"2": "1", "3": "1"})
    found, missing = client.read_contacts(["2", "1", "3"], [])
    assert missing == set() and set(found) == {"1", "2", "3"}
    assert {c.id for c in found.values()} == {"1"}


def test_l2_the_survivor_is_not_keyed_by_its_own_id_unless_asked() -> None:
    client = redirecting({"1": record("1", "2")}, {"2": "1"})
    found, missing = client.read_contacts(["2"], [])
    assert list(found) == ["2"] and found["2"].id == "1" and missing == set()


def test_l2_an_answer_that_does_not_list_the_requested_id_leaves_it_missing() -> None:
    # HubSpot answered "4" with record 5, whose merged ids do not include 4: no guess is made,
    # and "4" read alone is not found
    client = redirecting({"5": record("5", "6")}, {"4": "5"})
    found, missing = client.read_contacts(["4"], [])
    assert found == {} and missing == {"4"}
