"""The Sell archive readers against an httpx.MockTransport that answers with Sell's documented
collection envelopes, page links, sorting and 429s."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from sync.clients.retry import RetryPolicy
from sync.clients.sell import SellClient
from sync.clients.sell_archive import COUNTED, SellNote
from sync.errors import AuthError

BASE = "https://sell.test"
T0 = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)


def iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


class ArchiveSell:
    """Sell collections in memory: ``page``/``per_page`` (≤100), ``sort_by``, the
    ``is_organization`` filter, ``meta.links.next_page``."""

    def __init__(self) -> None:
        self.collections: dict[str, list[dict[str, Any]]] = {
            name: [] for name in ("leads", "contacts", "notes", "users", "tags", *COUNTED)
        }
        self.requests: list[httpx.Request] = []
        self.faults: list[httpx.Response] = []
        self.on_request: Callable[[httpx.Request], None] | None = None
        self.next_id = 1000

    def add(self, collection: str, /, **data: Any) -> dict[str, Any]:
        self.next_id += 1
        moment = T0 + timedelta(seconds=self.next_id)
        record = {"id": self.next_id, "created_at": iso(moment), "updated_at": iso(moment), **data}
        self.collections[collection].append(record)
        return record

    def handler(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if self.faults:
            return self.faults.pop(0)
        if self.on_request is not None:
            self.on_request(request)
        name = request.url.path.removeprefix("/v2/")
        items = list(self.collections[name])
        params = request.url.params
        per_page = int(params.get("per_page", "25"))
        page = int(params.get("page", "1"))
        assert per_page <= 100, "Sell answers at most 100 items a page"
        if "is_organization" in params:
            wanted = params["is_organization"] == "true"
            items = [i for i in items if bool(i.get("is_organization")) == wanted]
        sort_by = params.get("sort_by", "id:asc")
        key, _, order = sort_by.partition(":")
        items.sort(key=lambda i: (i[key], i["id"]), reverse=order == "desc")
        chunk = items[(page - 1) * per_page : page * per_page]
        links = {"self": str(request.url)}
        if page * per_page < len(items):
            links["next_page"] = str(request.url.copy_merge_params({"page": page + 1}))
        return httpx.Response(
            200,
            json={
                "items": [{"data": d, "meta": {"type": name[:-1]}} for d in chunk],
                "meta": {"type": "collection", "count": len(chunk), "links": links},
            },
        )


@pytest.fixture
def sell() -> ArchiveSell:
    return ArchiveSell()


def client_for(sell: ArchiveSell) -> SellClient:
    return SellClient(
        BASE,
        "t" * 64,
        http=httpx.Client(transport=httpx.MockTransport(sell.handler)),
        per_s=None,
        retry=RetryPolicy(max_attempts=3, base_delay=0.0, max_delay=0.0, rate_limit_wait=0.0),
        sleep=lambda _s: None,
    )


def test_m4_archive_reads_every_lead_page_by_page(sell: ArchiveSell) -> None:
    made = [sell.add("leads", first_name=f"L{i}", email=f"l{i}@x.test") for i in range(250)]
    read = list(client_for(sell).archive().leads())
    assert sorted(r["id"] for r in read) == sorted(r["id"] for r in made)
    assert len(read) == 250
    assert read[0] == max(made, key=lambda r: r["updated_at"])  # raw, as Sell sent it
    assert all(int(r.url.params["per_page"]) <= 100 for r in sell.requests)
    assert len(sell.requests) <= 5


def test_m4_archive_splits_people_from_organizations(sell: ArchiveSell) -> None:
    people = [sell.add("contacts", name=f"P{i}", is_organization=False) for i in range(3)]
    orgs = [sell.add("contacts", name=f"O{i}", is_organization=True) for i in range(2)]
    archive = client_for(sell).archive()
    assert {c["id"] for c in archive.contacts()} == {p["id"] for p in people}
    assert {o["id"] for o in archive.organizations()} == {o["id"] for o in orgs}


def test_m4_archive_notes_carry_resource_and_creator(sell: ArchiveSell) -> None:
    raw = sell.add(
        "notes", content="Called back", resource_type="lead", resource_id=7, creator_id=3
    )
    (note,) = client_for(sell).archive().notes()
    assert isinstance(note, SellNote)
    assert (note.id, note.resource_type, note.resource_id, note.creator_id, note.content) == (
        raw["id"],
        "lead",
        7,
        3,
        "Called back",
    )
    assert note.created_at == T0 + timedelta(seconds=raw["id"])
    assert dict(note.raw) == raw


def test_m4_archive_users_and_tags_page_by_page(sell: ArchiveSell) -> None:
    for i in range(120):
        sell.add("users", name=f"U{i}", email=f"u{i}@x.test", status="active", role="user")
    sell.add("tags", name="vip", resource_type="lead")
    archive = client_for(sell).archive()
    users = list(archive.users())
    assert [u.id for u in users] == sorted(u["id"] for u in sell.collections["users"])
    assert users[0].email == "u0@x.test"
    assert [(t.name, t.resource_type) for t in archive.tags()] == [("vip", "lead")]


def test_m4_archive_counts_what_is_not_moved(sell: ArchiveSell) -> None:
    for _ in range(205):
        sell.add("deals", name="d")
    sell.add("tasks", content="t")
    counts = client_for(sell).archive().counts()
    assert counts == {"deals": 205, "tasks": 1, "calls": 0, "documents": 0}
    # Sell lists documents only per record: refused account-wide, they are left out
    refuse = httpx.Response(
        400,
        json={
            "errors": [
                {
                    "error": {
                        "code": "invalid_param",
                        "message": "The request query parameter 'resource_type' is required.",
                    }
                }
            ],
            "meta": {"type": "errors"},
        },
    )
    original = sell.handler

    def documents_refused(request: httpx.Request) -> httpx.Response:
        return refuse if request.url.path == "/v2/documents" else original(request)

    archive = SellClient(
        BASE,
        "t" * 64,
        http=httpx.Client(transport=httpx.MockTransport(documents_refused)),
        per_s=None,
    ).archive()
    assert archive.counts() == {"deals": 205, "tasks": 1, "calls": 0}
    with pytest.raises(ValueError):
        client_for(sell).archive().count("leads")


def test_m4_archive_deletion_while_paging_hides_no_record(sell: ArchiveSell) -> None:
    made = [sell.add("leads", first_name=f"L{i}") for i in range(300)]
    newest_first = sorted(made, key=lambda r: r["updated_at"], reverse=True)
    deleted = newest_first[3]

    def delete_once(request: httpx.Request) -> None:
        if len(sell.requests) == 2 and deleted in sell.collections["leads"]:
            sell.collections["leads"].remove(deleted)

    sell.on_request = delete_once
    read = [r["id"] for r in client_for(sell).archive().leads()]
    assert len(read) == len(set(read))
    assert set(read) == {r["id"] for r in made}  # the deleted one was read before it went


def test_m4_archive_reuses_the_clients_retries_and_errors(sell: ArchiveSell) -> None:
    sell.add("users", name="A", email="a@x.test")
    sell.faults.append(httpx.Response(429))
    client = client_for(sell)
    assert [u.name for u in client.archive().users()] == ["A"]
    assert client.stats["rate_limited"] == 1
    assert client.stats["archive"] == 2
    sell.faults.append(
        httpx.Response(
            401,
            json={
                "errors": [{"error": {"code": "unauthorized", "message": "bad token"}}],
                "meta": {"type": "errors"},
            },
        )
    )
    with pytest.raises(AuthError):
        list(client.archive().tags())
