"""Reading HubSpot's batch-write answers (sync.clients.hubspot_writes) on plain dictionaries."""

from __future__ import annotations

from sync.clients.errors import HUBSPOT, Remedy, Resolution
from sync.clients.hubspot_writes import (
    created_results,
    culprits,
    unique_id_chunks,
    updated_results,
)
from sync.ports import ContactWrite, WriteResult


def w(key: str, email: str | None = None, cid: str | None = None) -> ContactWrite:
    return ContactWrite(key, {"email": email} if email else {}, id=cid)


def refusal(message: str, body: object = None) -> Resolution:
    return Resolution(Remedy.FAIL, HUBSPOT, message, status=400, body=body)


def test_created_results_match_by_trace_id_then_email_then_position() -> None:
    writes = [w("lead:1", "a@x.test"), w("lead:2", "b@x.test"), w("lead:3")]
    data = {
        "results": [
            {"id": "30", "properties": {}},  # names nothing: the only input left is lead:3
            {"id": "20", "properties": {"email": "B@x.test"}},
            {"id": "10", "objectWriteTraceId": "lead:1", "properties": {"email": "a@x.test"}},
        ]
    }
    assert created_results(writes, data) == {
        "lead:1": WriteResult(key="lead:1", id="10"),
        "lead:2": WriteResult(key="lead:2", id="20"),
        "lead:3": WriteResult(key="lead:3", id="30"),
    }


def test_a_create_error_naming_an_existing_contact_is_a_duplicate() -> None:
    data = {
        "results": [],
        "errors": [
            {
                "message": "Contact already exists. Existing ID: 777",
                "context": {"objectWriteTraceId": ["lead:1"]},
            }
        ],
    }
    [result] = created_results([w("lead:1", "a@x.test")], data).values()
    assert result.duplicate_of == "777" and not result.ok


def test_an_update_neither_updated_nor_named_is_an_error_not_a_missing_contact() -> None:
    writes = [w("k1", cid="1"), w("k2", cid="2"), w("k3", cid="3")]
    data = {
        "results": [{"id": "1"}],
        "errors": [{"category": "OBJECT_NOT_FOUND", "message": "gone", "context": {"ids": ["2"]}}],
    }
    results = updated_results(writes, data)
    assert results["k1"].ok and results["k2"].missing
    assert results["k3"].error and not results["k3"].missing


def test_culprits_are_found_by_context_then_by_whole_words_in_the_text() -> None:
    writes = [w("k1", "ann@x.test", "12"), w("k2", "bo@x.test", "123")]
    by_context = refusal("bad", {"message": "bad", "context": {"ids": ["123"]}})
    assert culprits(writes, by_context, by_id=True) == [writes[1]]
    by_text = refusal("Property values were not valid for 123", {"message": "for 123"})
    assert culprits(writes, by_text, by_id=True) == [writes[1]]  # not "12" inside "123"
    by_email = refusal("x", {"message": "Email ann@x.test is invalid"})
    assert culprits(writes, by_email, by_id=False) == [writes[0]]
    assert culprits(writes, refusal("something else"), by_id=True) == []


def test_no_update_batch_holds_one_contact_twice() -> None:
    writes = [w(f"k{n}", cid=str(n % 3)) for n in range(7)]
    batches = unique_id_chunks(writes)
    assert sorted(w.key for b in batches for w in b) == sorted(x.key for x in writes)
    for batch in batches:
        assert len({x.id for x in batch}) == len(batch)
    assert len(batches) == 3
