"""SellClient against an httpx.MockTransport handler that mimics Sell's Core API."""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from sync.clients.retry import RetryPolicy
from sync.clients.sell import SellClient, parse_sell_time
from sync.errors import AuthError, RateLimited, RecordNotFound, RecordRejected

TOKEN = "f" * 32 + "0123456789abcdef0123456789abcdef"  # 64 characters, like a Sell PAT
BASE = "https://sell.test"
T0 = datetime(2026, 1, 10, 12, 0, tzinfo=UTC)


def iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def envelope_error(
    status: int,
    code: str,
    details: str,
    field: str | None = None,
) -> httpx.Response:
    error: dict[str, Any] = {"code": code, "message": details, "details": details}
    if field:
        error["field"] = field
    return httpx.Response(
        status,
        json={
            "errors": [{"error": error, "meta": {"type": "error"}}],
            "meta": {"type": "errors", "logref": "x"},
        },
    )


class FakeSell:
    def __init__(self) -> None:
        self.records: dict[str, dict[int, dict[str, Any]]] = {"leads": {}, "contacts": {}}
        self.sources: dict[int, str] = {1: "Organic Search"}
        self.custom: dict[str, list[dict[str, Any]]] = {"lead": [], "contact": []}
        self.requests: list[httpx.Request] = []
        self.faults: list[httpx.Response | Exception] = []
        self.next_id = 100
        self.clock = T0

    def add(self, plural: str, **data: Any) -> dict[str, Any]:
        self.next_id += 1
        record = {
            "id": self.next_id,
            "updated_at": iso(self.clock),
            "created_at": iso(self.clock),
            "tags": [],
            "custom_fields": {},
            **data,
        }
        self.records[plural][record["id"]] = record
        return record

    def page(
        self, items: list[dict[str, Any]], page: int, per_page: int, path: str
    ) -> httpx.Response:
        chunk = items[(page - 1) * per_page : page * per_page]
        links: dict[str, str] = {"self": path}
        if page * per_page < len(items):
            links["next_page"] = f"{path}?page={page + 1}"
        return httpx.Response(
            200,
            json={
                "items": [{"data": d, "meta": {"type": "x"}} for d in chunk],
                "meta": {"type": "collection", "count": len(chunk), "links": links},
            },
        )

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        assert request.headers["User-Agent"].startswith("sellsync/")
        assert request.headers["Authorization"] == f"Bearer {TOKEN}"
        if self.faults:
            fault = self.faults.pop(0)
            if isinstance(fault, Exception):
                raise fault
            return fault
        path = request.url.path
        params = request.url.params
        page, per_page = int(params.get("page", 1)), int(params.get("per_page", 25))
        payload: Any = json.loads(request.content) if request.content else None
        parts = path.strip("/").split("/")[1:]  # drop "v2"
        if parts == ["users", "self"]:
            return httpx.Response(200, json={"data": {"id": 1, "name": "Sam Seller"}})
        if parts == ["lead_sources"]:
            if request.method == "POST":
                self.next_id += 1
                self.sources[self.next_id] = payload["data"]["name"]
                return httpx.Response(
                    200, json={"data": {"id": self.next_id, "name": payload["data"]["name"]}}
                )
            items = [{"id": i, "name": n} for i, n in sorted(self.sources.items())]
            return self.page(items, page, per_page, path)
        if len(parts) == 2 and parts[1] == "custom_fields":
            return self.page(self.custom[parts[0]], page, per_page, path)
        plural = parts[0]
        store = self.records[plural]
        if len(parts) == 1 and request.method == "GET":
            items = list(store.values())
            if "ids" in params:
                wanted = {int(i) for i in params["ids"].split(",")}
                items = [r for r in items if r["id"] in wanted]
            if "email" in params:
                items = [r for r in items if r.get("email") == params["email"]]
            if params.get("sort_by") == "updated_at:desc":
                items.sort(key=lambda r: (r["updated_at"], r["id"]), reverse=True)
            return self.page(items, page, per_page, path)
        if len(parts) == 1 and request.method == "POST":
            data = payload["data"]
            if not data.get("last_name") and not data.get("organization_name"):
                return envelope_error(422, "blank", "can't be blank", "/data/last_name")
            record = self.add(plural, **data)
            return httpx.Response(200, json={"data": record})
        record_id = int(parts[1])
        if record_id not in store:
            return envelope_error(404, "not_found", "Resource not found")
        if request.method == "GET":
            return httpx.Response(200, json={"data": store[record_id]})
        data = payload["data"]
        if data.get("email") == "invalid":
            return envelope_error(422, "invalid", "is invalid", "/data/email")
        record = store[record_id]
        for key, value in data.items():
            if key == "custom_fields":
                record["custom_fields"] = {**record.get("custom_fields", {}), **value}
            else:
                record[key] = value  # the address object is replaced whole
        self.clock += timedelta(seconds=1)
        record["updated_at"] = iso(self.clock)
        return httpx.Response(200, json={"data": record})

    def paths(self, method: str | None = None) -> list[str]:
        return [r.url.path for r in self.requests if method in (None, r.method)]


@pytest.fixture
def fake() -> FakeSell:
    return FakeSell()


def make(fake: FakeSell, **kwargs: Any) -> SellClient:
    kwargs.setdefault("retry", RetryPolicy(max_attempts=3, base_delay=0.0, rate_limit_wait=0.0))
    kwargs.setdefault("sleep", lambda s: None)
    return SellClient(
        BASE, TOKEN, http=httpx.Client(transport=httpx.MockTransport(fake)), per_s=None, **kwargs
    )


# --------------------------------------------------------------------------- reads


def test_record_conversion(fake: FakeSell) -> None:
    fake.add(
        "leads",
        first_name="Ann",
        last_name="Lee",
        email="ann@x.test",
        organization_name="Acme",
        status="New",
        source_id=1,
        owner_id=7,
        tags=["vip"],
        address={
            "line1": "1 Main St",
            "city": "Oslo",
            "postal_code": "0150",
            "state": None,
            "country": "NO",
        },
        custom_fields={"HubSpot score": "42"},
        twitter="@ann",
    )
    record = next(make(fake).changed_pages("lead", None))[0]
    assert record.kind == "lead" and record.tags == ("vip",)
    assert record.updated_at == T0
    assert record.values == {
        "first_name": "Ann",
        "last_name": "Lee",
        "email": "ann@x.test",
        "organization_name": "Acme",
        "status": "New",
        "owner_id": 7,
        "lead_source": "Organic Search",
        "address.line1": "1 Main St",
        "address.city": "Oslo",
        "address.state": None,
        "address.postal_code": "0150",
        "address.country": "NO",
        "custom_fields.HubSpot score": "42",
    }


def test_contact_conversion(fake: FakeSell) -> None:
    fake.add(
        "contacts",
        name="Acme Inc",
        is_organization=True,
        customer_status="current",
        prospect_status="none",
    )
    record = next(make(fake).changed_pages("contact", None))[0]
    assert record.is_organization
    assert record.values["name"] == "Acme Inc"
    assert record.values["customer_status"] == "current"
    assert "lead_source" not in record.values


def test_changed_pages_desc_stop_at_watermark(fake: FakeSell) -> None:
    for minute in range(250):  # one lead updated per minute
        fake.clock = T0 + timedelta(minutes=minute)
        fake.add("leads", last_name=f"L{minute}")
    client = make(fake, overlap_seconds=60)
    since = T0 + timedelta(minutes=120)
    pages = list(client.changed_pages("lead", since))
    got = [r.values["last_name"] for page in pages for r in page]
    # newest first, down to since - 60 s (minute 119), nothing older
    assert got == [f"L{m}" for m in range(249, 118, -1)]
    assert [len(p) for p in pages] == [100, 31]
    requested = [dict(r.url.params) for r in fake.requests]
    assert requested == [
        {"sort_by": "updated_at:desc", "per_page": "100", "page": "1"},
        {"sort_by": "updated_at:desc", "per_page": "95", "page": "2"},  # overlaps page 1 by 5
    ]


def test_changed_pages_idle_costs_one_call(fake: FakeSell) -> None:
    for _ in range(150):
        fake.add("leads", last_name="x")
    client = make(fake)
    assert list(client.changed_pages("lead", T0 + timedelta(hours=1))) == []
    assert client.stats["list"] == 1


def test_changed_pages_since_none_reads_everything(fake: FakeSell) -> None:
    for _ in range(201):
        fake.add("contacts", last_name="x")
    client = make(fake)
    # windows [0, 100), [95, 190), [184, 276): each re-reads the end of the one before
    assert [len(p) for p in client.changed_pages("contact", None)] == [100, 90, 11]
    assert client.stats["list"] == 3


def test_get_records_ids_filter_in_chunks(fake: FakeSell) -> None:
    ids = [fake.add("leads", last_name=f"L{i}")["id"] for i in range(150)]
    client = make(fake)
    found = client.get_records("lead", [*ids, 99999, ids[0]])
    assert set(found) == set(ids)
    reads = [r for r in fake.requests if "ids" in r.url.params]
    assert [len(r.url.params["ids"].split(",")) for r in reads] == [100, 51]
    assert all(r.url.params["per_page"] == "100" for r in reads)
    # the id left out was read alone, and Sell's 404 not_found proved it deleted
    assert fake.paths()[-1] == "/v2/leads/99999"


def test_custom_fields_cached(fake: FakeSell) -> None:
    fake.custom["lead"] = [
        {"id": 1, "name": "HubSpot score", "type": "number"},
        {
            "id": 2,
            "name": "Tier",
            "type": "list",
            "choices": [{"id": 1, "name": "Gold"}, {"id": 2, "name": "Silver"}],
        },
    ]
    client = make(fake)
    fields = client.custom_fields("lead")
    assert client.custom_fields("lead") == fields
    assert fields[1].choices == ("Gold", "Silver")
    assert fake.paths() == ["/v2/lead/custom_fields"]


def test_check_credentials(fake: FakeSell) -> None:
    assert make(fake).check_credentials() == "Sam Seller"
    assert fake.paths() == ["/v2/users/self"]


# --------------------------------------------------------------------------- writes


def test_create_maps_values_and_creates_missing_lead_source(fake: FakeSell) -> None:
    client = make(fake)
    record = client.create_record(
        "lead",
        {
            "last_name": "Lee",
            "email": "ann@x.test",
            "address.city": "Oslo",
            "lead_source": "Paid Social",
            "custom_fields.HubSpot score": "12",
        },
    )
    posted = json.loads(fake.requests[-1].content)["data"]
    new_id = next(i for i, n in fake.sources.items() if n == "Paid Social")
    assert posted == {
        "last_name": "Lee",
        "email": "ann@x.test",
        "address": {"city": "Oslo"},
        "source_id": new_id,
        "custom_fields": {"HubSpot score": "12"},
    }
    assert record.values["lead_source"] == "Paid Social"
    # the second use of the source costs no lookup
    client.create_record("lead", {"last_name": "B", "lead_source": "paid social"})
    assert fake.paths("POST").count("/v2/lead_sources") == 1
    assert fake.paths("GET").count("/v2/lead_sources") == 1


def test_create_rejected_422(fake: FakeSell) -> None:
    with pytest.raises(RecordRejected) as caught:
        make(fake).create_record("lead", {"email": "x@y.test"})
    assert caught.value.reason == "last_name: can't be blank"
    assert "x@y.test" in caught.value.item


def test_create_after_a_dropped_connection_does_not_duplicate(fake: FakeSell) -> None:
    client = make(fake, now=lambda: T0)
    real = fake.__call__

    def apply_then_drop(request: httpx.Request) -> httpx.Response:
        response = real(request)
        if request.method == "POST" and len(fake.records["leads"]) == 1:
            fake.requests.append(request)
            raise httpx.RemoteProtocolError("Server disconnected without sending a response.")
        return response

    client._session.http = httpx.Client(transport=httpx.MockTransport(apply_then_drop))
    record = client.create_record("lead", {"last_name": "Lee", "email": "Ann@X.test"})
    assert len(fake.records["leads"]) == 1
    assert record.id == next(iter(fake.records["leads"]))
    assert client.stats["find_created"] == 1


def test_update_partial_address_is_merged(fake: FakeSell) -> None:
    lead = fake.add(
        "leads",
        last_name="Lee",
        address={
            "line1": "1 Main",
            "city": "Oslo",
            "state": None,
            "postal_code": "0150",
            "country": "NO",
        },
    )
    record = make(fake).update_record("lead", lead["id"], {"address.city": "Bergen"})
    assert record.values["address.line1"] == "1 Main"
    assert record.values["address.city"] == "Bergen"
    assert fake.paths() == [f"/v2/leads/{lead['id']}"] * 2  # GET then PUT


def test_update_full_address_needs_no_read(fake: FakeSell) -> None:
    lead = fake.add("leads", last_name="Lee")
    address = {f"address.{k}": "v" for k in ("line1", "city", "state", "postal_code", "country")}
    make(fake).update_record("lead", lead["id"], {**address, "custom_fields.Tier": "Gold"})
    assert [r.method for r in fake.requests] == ["PUT"]
    sent = json.loads(fake.requests[0].content)["data"]
    assert sent["custom_fields"] == {"Tier": "Gold"}
    assert set(sent["address"]) == {"line1", "city", "state", "postal_code", "country"}


def test_update_deleted_is_record_not_found(fake: FakeSell) -> None:
    with pytest.raises(RecordNotFound) as caught:
        make(fake).update_record("contact", 5, {"first_name": "X"})
    assert caught.value.item == "contact:5"


def test_update_422_is_rejected_with_details(fake: FakeSell) -> None:
    lead = fake.add("leads", last_name="Lee")
    with pytest.raises(RecordRejected) as caught:
        make(fake).update_record("lead", lead["id"], {"email": "invalid"})
    assert caught.value.reason == "email: is invalid"


def test_lead_source_on_a_contact_is_rejected(fake: FakeSell) -> None:
    with pytest.raises(RecordRejected):
        make(fake).create_record("contact", {"last_name": "x", "lead_source": "Web"})


# --------------------------------------------------------------------------- throttling


def test_empty_429_and_404_429json_are_rate_limits(fake: FakeSell) -> None:
    fake.add("leads", last_name="Lee")
    fake.faults = [
        httpx.Response(429, content=b""),
        envelope_error(404, "incorrect_path", "The requested path /429.json was not found"),
    ]
    client = make(fake)
    assert len(next(client.changed_pages("lead", None))) == 1
    assert client.stats["rate_limited"] == 2
    assert client.stats["list"] == 3


def test_rate_limit_that_does_not_end(fake: FakeSell) -> None:
    fake.faults = [httpx.Response(429, content=b"") for _ in range(5)]
    client = make(fake)
    with pytest.raises(RateLimited):
        client.get_records("lead", [1])


def test_401_and_token_never_logged(fake: FakeSell, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    fake.faults = [envelope_error(401, "unauthorized", f"Token {TOKEN} is invalid")]
    client = make(fake)
    with pytest.raises(AuthError) as caught:
        client.check_credentials()
    assert TOKEN not in str(caught.value)
    assert TOKEN not in caplog.text


def test_parse_sell_time() -> None:
    assert parse_sell_time("2016-03-15T09:13:06Z") == datetime(2016, 3, 15, 9, 13, 6, tzinfo=UTC)
    assert parse_sell_time(None) is None
    assert parse_sell_time("nope") is None


def test_create_after_a_timeout_that_did_not_apply_is_sent_again(fake: FakeSell) -> None:
    fake.faults = [httpx.ReadTimeout("slow")]
    client = make(fake, now=lambda: T0)
    record = client.create_record("lead", {"last_name": "Lee", "email": "ann@x.test"})
    assert list(fake.records["leads"]) == [record.id]
    assert [r.method for r in fake.requests] == ["POST", "GET", "POST"]
