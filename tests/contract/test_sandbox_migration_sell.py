"""The Sell stand-in serves what a move out of Sell reads: users, organizations with their people,
notes, deals, tags, tasks, calls and documents, over plain HTTP and through ``basecrm``."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import basecrm
import httpx
import pytest

from sandbox import Sandbox, SandboxLimits
from sandbox.seed_archive import OWNERS


@pytest.fixture(scope="module")
def demo() -> Iterator[Sandbox]:
    """The demo seed, read only, without rate limits."""
    with Sandbox(seed="demo", limits=SandboxLimits(enabled=False)) as sandbox:
        yield sandbox


def client(sandbox: Sandbox) -> httpx.Client:
    headers = {"Authorization": f"Bearer {sandbox.sell_token}", "User-Agent": "sellsync-tests/1"}
    return httpx.Client(base_url=sandbox.sell_url, headers=headers, timeout=5)


@pytest.fixture
def http(demo: Sandbox) -> Iterator[httpx.Client]:
    with client(demo) as c:
        yield c


def every(http: httpx.Client, path: str, **params: Any) -> list[dict[str, Any]]:
    """Page through a list by ``meta.links.next_page``, checking each envelope."""
    items: list[dict[str, Any]] = []
    response = http.get(path, params={"per_page": 100, **params})
    while True:
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["meta"]["type"] == "collection"
        assert body["meta"]["count"] == len(body["items"]) <= 100
        items.extend(item["data"] for item in body["items"])
        next_page = body["meta"]["links"].get("next_page")
        if not next_page:
            return items
        response = http.get(next_page)


def error_of(response: httpx.Response) -> dict[str, Any]:
    body = response.json()
    assert body["meta"]["type"] == "errors"
    assert body["meta"]["logref"] == response.headers["X-Request-Id"]
    first: dict[str, Any] = body["errors"][0]["error"]
    return first


# ---------------------------------------------------------------------- seed


def test_migration_seed_counts_are_stable(demo: Sandbox) -> None:
    sell = demo.sell
    assert (len(sell.records("lead")), len(sell.records("contact"))) == (150, 80)
    assert [u["id"] for u in sell.users] == [9001, 9002, 9003, 9004, 9005]
    assert len(sell.deals) == 24
    assert (len(sell.tasks_by_id), len(sell.calls_by_id), len(sell.documents_by_id)) == (30, 20, 10)
    assert len(sell.notes()) == demo.seed_summary.archive.notes == 287
    assert {n["resource_type"] for n in sell.notes()} == {"lead", "contact", "deal"}
    assert {n["creator_id"] for n in sell.notes()} <= set(OWNERS)
    assert len({n["creator_id"] for n in sell.notes()}) == 4
    assert any("\n" in n["content"] for n in sell.notes())
    assert any(len(n["content"]) > 3000 for n in sell.notes())
    again = Sandbox(seed="demo")  # the same ids and values every time
    assert again.sell.notes() == sell.notes() and again.sell.deals == sell.deals


def test_migration_seed_organizations_hold_their_people(demo: Sandbox) -> None:
    contacts = demo.sell.records("contact")
    orgs = {c["id"]: c for c in contacts if c["is_organization"]}
    members = [c for c in contacts if c["contact_id"] is not None]
    assert len(orgs) == 6 and len(members) >= 15
    for person in members:
        org = orgs[person["contact_id"]]
        assert person["email"].strip().lower().endswith("@" + org["website"][len("https://") :])
    assert sum(1 for o in orgs.values() if o["parent_organization_id"] in orgs) == 1
    for deal in demo.sell.deals:
        contact = next(c for c in contacts if c["id"] == deal["contact_id"])
        expected = contact["id"] if contact["is_organization"] else contact["contact_id"]
        assert deal["organization_id"] == expected


# ---------------------------------------------------------------------- users


def test_users_list_with_emails_and_filters(http: httpx.Client) -> None:
    users = every(http, "/v2/users")
    assert [u["id"] for u in users] == [9001, 9002, 9003, 9004, 9005]
    assert all("@" in u["email"] for u in users)
    by_email = every(http, "/v2/users", email="PRIYA.natarajan@sandbox.example")
    assert [u["name"] for u in by_email] == ["Priya Natarajan"]
    assert [u["id"] for u in every(http, "/v2/users", status="inactive")] == [9004, 9005]
    assert [u["id"] for u in every(http, "/v2/users", confirmed="false")] == [9005]
    assert http.get("/v2/users/9003").json()["data"]["email"] == "priya.natarajan@sandbox.example"
    assert http.get("/v2/users/9999").status_code == 404


def test_lead_owner_may_be_any_user_of_the_account(demo: Sandbox) -> None:
    demo.reset("demo")
    with client(demo) as http:
        ok = http.post("/v2/leads", json={"data": {"last_name": "Owned", "owner_id": 9003}})
        assert ok.status_code == 200 and ok.json()["data"]["owner_id"] == 9003
        bad = http.post("/v2/leads", json={"data": {"last_name": "Owned", "owner_id": 1234}})
        assert bad.status_code == 422 and error_of(bad)["field"] == "/data/owner_id"
    demo.reset("demo")


# ---------------------------------------------------------------------- organizations


def test_organizations_are_contacts_with_is_organization(http: httpx.Client) -> None:
    orgs = every(http, "/v2/contacts", is_organization="true")
    people = every(http, "/v2/contacts", is_organization="False")
    assert len(orgs) == 6 and all(o["is_organization"] for o in orgs)
    assert len(orgs) + len(people) == 80 and not any(p["is_organization"] for p in people)
    org = orgs[0]
    members = every(http, "/v2/contacts", contact_id=org["id"])
    assert members and all(m["contact_id"] == org["id"] for m in members)
    bad = http.get("/v2/contacts", params={"is_organization": "maybe"})
    assert bad.status_code == 400 and error_of(bad)["code"] == "invalid_param"


# ---------------------------------------------------------------------- notes


def test_notes_page_by_resource_with_envelopes(http: httpx.Client, demo: Sandbox) -> None:
    first = http.get("/v2/notes", params={"per_page": 100})
    body = first.json()
    assert body["meta"]["count"] == 100 and "next_page" in body["meta"]["links"]
    assert body["items"][0]["meta"] == {"type": "note"}
    note = body["items"][0]["data"]
    assert set(note) >= {
        *("id", "creator_id", "resource_type", "resource_id", "content"),
        *("is_important", "tags", "created_at", "updated_at"),
    }
    stamps = [(i["data"]["updated_at"], i["data"]["id"]) for i in body["items"]]
    assert stamps == sorted(stamps)  # default sort updated_at:asc, ties by id
    assert len(every(http, "/v2/notes")) == 287
    assert len(every(http, "/v2/notes", includes="creator")) == 287  # documented, selects nothing
    lead = next(n for n in demo.sell.notes() if n["resource_type"] == "lead")
    mine = every(http, "/v2/notes", resource_type="lead", resource_id=lead["resource_id"])
    assert sorted(mine, key=lambda n: n["id"]) == demo.sell.notes("lead", lead["resource_id"])
    desc = every(http, "/v2/notes", sort_by="created_at:desc", resource_type="deal")
    assert [n["created_at"] for n in desc] == sorted((n["created_at"] for n in desc), reverse=True)


def test_notes_refuse_bad_paging_and_filters(http: httpx.Client) -> None:
    for params in (
        {"per_page": 101},
        {"page": 0},
        {"resource_type": "organization"},
        {"resource_id": "x"},
        {"sort_by": "content:asc"},
        {"contact_id": 1},
    ):
        response = http.get("/v2/notes", params=params)
        assert response.status_code == 400, params
        assert error_of(response)["code"] == "invalid_param"


def test_note_create_checks_its_resource(sandbox: Sandbox) -> None:
    lead_id = sandbox.sell.add_record("lead", {"last_name": "Noted"})
    with client(sandbox) as http:
        created = http.post(
            "/v2/notes",
            json={"data": {"resource_type": "lead", "resource_id": lead_id, "content": "Hi <b>"}},
        )
        assert created.status_code == 200
        assert created.json()["meta"] == {"type": "note"}
        note = created.json()["data"]
        assert (note["creator_id"], note["content"], note["is_important"]) == (
            9001,
            "Hi <b>",
            False,
        )
        assert http.get(f"/v2/notes/{note['id']}").json()["data"] == note
        bad = http.post(
            "/v2/notes",
            json={"data": {"resource_type": "lead", "resource_id": 42, "content": " ", "x": 1}},
        )
        assert bad.status_code == 422
        fields = {e["error"]["field"] for e in bad.json()["errors"]}
        assert fields == {"/data/x", "/data/content", "/data/resource_id"}
        assert http.post("/v2/notes", json={"content": "no envelope"}).status_code == 400
    assert len(sandbox.sell.notes("lead", lead_id)) == 1


# ---------------------------------------------------------------------- deals, tags, activities


def test_deals_list_for_counts_and_filters(http: httpx.Client, demo: Sandbox) -> None:
    deals = every(http, "/v2/deals")
    assert len(deals) == 24 and [d["id"] for d in deals] == sorted(d["id"] for d in deals)
    assert any(isinstance(d["value"], str) for d in deals)
    org_id = next(d["organization_id"] for d in deals if d["organization_id"])
    of_org = every(http, "/v2/deals", organization_id=org_id)
    assert of_org and all(d["organization_id"] == org_id for d in of_org)
    hot = every(http, "/v2/deals", hot="true")
    assert 0 < len(hot) < 24 and all(d["hot"] for d in hot)
    assert http.get(f"/v2/deals/{deals[0]['id']}").json()["data"] == deals[0]
    assert http.get("/v2/deals/1").status_code == 404


def test_tags_are_defined_per_resource_type(http: httpx.Client, demo: Sandbox) -> None:
    tags = every(http, "/v2/tags")
    carried = {
        (kind, name)
        for kind in ("lead", "contact")
        for record in demo.sell.records(kind)
        for name in record["tags"]
    } | {("deal", name) for deal in demo.sell.deals for name in deal["tags"]}
    assert {(t["resource_type"], t["name"]) for t in tags} == carried
    leads = every(http, "/v2/tags", resource_type="lead", sort_by="name:asc")
    assert [t["name"] for t in leads] == sorted(n for k, n in carried if k == "lead")
    assert http.get("/v2/tags", params={"resource_type": "note"}).status_code == 400


def test_new_tag_on_a_lead_gets_a_definition(sandbox: Sandbox) -> None:
    with client(sandbox) as http:
        http.post("/v2/leads", json={"data": {"last_name": "T", "tags": ["fresh"]}})
        tags = every(http, "/v2/tags")
        assert [(t["resource_type"], t["name"]) for t in tags] == [("lead", "fresh")]
        assert every(http, "/v2/tags") == tags  # the same id when listed again


def test_tasks_calls_documents_can_be_counted(http: httpx.Client, demo: Sandbox) -> None:
    assert len(every(http, "/v2/tasks")) == 30
    assert len(every(http, "/v2/calls")) == 20
    document = next(iter(demo.sell.documents_by_id.values()))
    docs = every(
        http,
        "/v2/documents",
        resource_type=document["resource_type"],
        resource_id=document["resource_id"],
    )
    assert document["id"] in {d["id"] for d in docs}
    every_doc = list(demo.sell.documents_by_id.values())
    both = every(
        http,
        "/v2/documents",
        resource_type="contact,deal",
        resource_id=",".join(str(d["resource_id"]) for d in every_doc),
    )
    assert len(both) == 10  # comma-separated lists of types and ids
    missing = http.get("/v2/documents")
    assert missing.status_code == 400 and error_of(missing)["code"] == "invalid_param"


# ---------------------------------------------------------------------- basecrm


def test_basecrm_reads_the_migration_resources(demo: Sandbox) -> None:
    sell = basecrm.Client(access_token=demo.sell_token, base_url=demo.sell_url)
    notes = sell.notes.list(resource_type="contact", per_page=100)
    assert notes and all(n.resource_type == "contact" for n in notes)
    users = sell.users.list(per_page=100)
    assert {u.email for u in users} >= {"sandra.box@sandbox.example", "marco.ruiz@sandbox.example"}
    orgs = sell.contacts.list(is_organization=True, per_page=100)
    assert len(orgs) == 6 and all(o.is_organization for o in orgs)
    deals = sell.deals.list(per_page=100)
    assert len(deals) == 24  # basecrm turns every value into a Decimal
    tags = sell.tags.list(resource_type="deal")
    assert {t.name for t in tags} == {n for d in demo.sell.deals for n in d["tags"]}
    with pytest.raises(basecrm.errors.RequestError):
        sell.notes.list(per_page=500)


def test_basecrm_creates_a_note(sandbox: Sandbox) -> None:
    sell = basecrm.Client(access_token=sandbox.sell_token, base_url=sandbox.sell_url)
    contact_id = sandbox.sell.add_record("contact", {"last_name": "Person"})
    note = sell.notes.create(resource_type="contact", resource_id=contact_id, content="Met at café")
    assert note.content == "Met at café"
    assert sandbox.sell.notes("contact", contact_id)[0]["id"] == note.id


def test_a_conversion_that_creates_a_deal_lists_it(sandbox: Sandbox) -> None:
    lead_id = sandbox.sell.add_record(
        "lead", {"last_name": "Lovelace", "organization_name": "Engines", "tags": ["vip"]}
    )
    with client(sandbox) as http:
        converted = http.post(
            "/v2/lead_conversions", json={"data": {"lead_id": lead_id, "create_deal": True}}
        ).json()["data"]
        deals = every(http, "/v2/deals")
    assert [d["id"] for d in deals] == [converted["deal_id"]]
    assert deals[0]["contact_id"] == converted["individual_id"]
    assert deals[0]["organization_id"] == converted["organization_id"]
    assert deals[0]["tags"] == ["vip"]
