"""The ``empty`` and ``demo`` seeds, ``Sandbox.reset`` and ``run_forever`` (``python -m sandbox``)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import httpx
import pytest

from sandbox import Sandbox
from sandbox.hubspot_properties import standard_properties

ROOT = Path(__file__).resolve().parents[2]


def normalized(email: Any) -> str | None:
    return email.strip().lower() if isinstance(email, str) and email.strip() else None


@pytest.fixture(scope="module")
def demo() -> Sandbox:
    return Sandbox(seed="demo")  # data only: no servers needed


def test_empty_seed_holds_only_the_account() -> None:
    sandbox = Sandbox(seed="empty")
    assert sandbox.hubspot.contact_ids() == []
    assert set(sandbox.hubspot.properties) == {p["name"] for p in standard_properties()}
    assert sandbox.hubspot.demo_list_id is None
    assert sandbox.sell.records("lead") == sandbox.sell.records("contact") == []
    assert sandbox.sell.lead_sources == []
    assert sandbox.sell.user["id"] == 9001
    assert "HUBSPOT_LIST_ID" not in sandbox.env()
    with pytest.raises(ValueError, match="unknown seed"):
        Sandbox(seed="big")


def test_demo_list_and_scores(demo: Sandbox) -> None:
    list_id = demo.hubspot.demo_list_id
    assert list_id is not None
    members = demo.hubspot.list_members(list_id)
    assert len(members) == 300
    scores = [
        (demo.hubspot.get_contact(cid) or {})["properties"].get("hubspotscore") for cid in members
    ]
    numbers = [int(s) for s in scores if s is not None]
    assert 15 <= scores.count(None) <= 50  # about one in ten blank
    assert min(numbers) <= 5 and max(numbers) >= 95
    assert len({n // 10 for n in numbers}) >= 10  # spread over every decile
    stages = Counter(
        (demo.hubspot.get_contact(cid) or {})["properties"].get("lifecyclestage") for cid in members
    )
    assert len(stages) >= 6
    assert (
        len(demo.hubspot.contact_ids()) == 340 and len(demo.hubspot.contact_ids(archived=True)) == 3
    )


def test_demo_custom_properties_cover_every_type(demo: Sandbox) -> None:
    custom = [p for p in demo.hubspot.properties.values() if not p.get("hubspotDefined")]
    kinds = {(p["type"], p["fieldType"]) for p in custom}
    assert kinds >= {
        ("number", "number"),
        ("string", "text"),
        ("string", "textarea"),
        ("string", "phonenumber"),
        ("enumeration", "select"),
        ("enumeration", "radio"),
        ("enumeration", "checkbox"),
        ("bool", "booleancheckbox"),
        ("date", "date"),
        ("datetime", "date"),
    }


def test_demo_sell_records_and_overlap(demo: Sandbox) -> None:
    leads, contacts = demo.sell.records("lead"), demo.sell.records("contact")
    assert (len(leads), len(contacts)) == (150, 80)
    assert sum(1 for c in contacts if c["is_organization"]) == 6
    assert sum(1 for r in leads + contacts if not r["email"]) >= 10
    hubspot_emails = {
        normalized((demo.hubspot.get_contact(cid) or {})["properties"].get("email"))
        for cid in demo.hubspot.list_members(demo.hubspot.demo_list_id or "")
    }
    sell_emails = [normalized(r["email"]) for r in leads + contacts]
    overlap = {e for e in sell_emails if e in hubspot_emails}
    assert 55 <= len(overlap) <= 65
    raw = [r["email"] for r in leads + contacts if normalized(r["email"]) in overlap]
    assert any(e != e.strip() for e in raw) and any(e.strip() != e.strip().lower() for e in raw)
    assert len(demo.seed_summary.shared_emails) == 3
    for email in demo.seed_summary.shared_emails:  # both a lead and a contact hold it
        kinds = {
            kind
            for kind, records in (("lead", leads), ("contact", contacts))
            if any(normalized(r["email"]) == email for r in records)
        }
        assert kinds == {"lead", "contact"}
    assert set(demo.seed_summary.overlaps) == {
        "same",
        "caps",
        "whitespace",
        "conflict",
        "blank_in_sell",
        "blank_in_hubspot",
    }


def test_demo_sell_fields_and_sources(demo: Sandbox) -> None:
    lead_fields = {f["name"]: f["type"] for f in demo.sell.custom_fields("lead")}
    contact_fields = {f["name"]: f["type"] for f in demo.sell.custom_fields("contact")}
    assert lead_fields["HubSpot score"] == "number"
    assert lead_fields["HubSpot lifecycle stage"] == "string"
    assert lead_fields["HubSpot public contact URL"] == "url"
    assert "HubSpot source" not in lead_fields and contact_fields["HubSpot source"] == "string"
    assert {"list", "multi_select_list", "bool", "date", "datetime", "phone", "text"} <= set(
        contact_fields.values()
    )
    assert [s["name"] for s in demo.sell.lead_sources] == [
        "Organic Search",
        "Referral",
        "Trade Show",
    ]


def test_demo_seed_is_deterministic(demo: Sandbox) -> None:
    again = Sandbox(seed="demo")
    assert again.sell.records("lead") == demo.sell.records("lead")
    assert again.sell.records("contact") == demo.sell.records("contact")
    ids = demo.hubspot.contact_ids()
    assert again.hubspot.contact_ids() == ids
    for cid in ids[::17]:
        assert again.hubspot.get_contact(cid) == demo.hubspot.get_contact(cid)


def test_reset_restores_the_seed(demo: Sandbox) -> None:
    sandbox = Sandbox(seed="demo")
    first = sandbox.hubspot.contact_ids()[0]
    sandbox.hubspot.archive_contact(first)
    sandbox.sell.delete_record("lead", sandbox.sell.records("lead")[0]["id"])
    sandbox.hubspot.inject("500")
    sandbox.reset()
    assert first in sandbox.hubspot.contact_ids()
    assert len(sandbox.sell.records("lead")) == 150
    assert sandbox.hubspot.faults == []
    sandbox.reset("empty")
    assert sandbox.hubspot.contact_ids() == [] and sandbox.seed == "empty"


def test_python_m_sandbox_serves_until_interrupted() -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    with subprocess.Popen(
        [sys.executable, "-m", "sandbox", "--seed", "demo"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    ) as process:
        try:
            settings = _read_banner(process)
            info = httpx.get(settings["HUBSPOT_BASE_URL"] + "/_sandbox/info").json()
            assert info["demo_list_id"] == settings["HUBSPOT_LIST_ID"]
            assert len(settings["SELL_ACCESS_TOKEN"]) == 64
            leads = httpx.get(
                settings["SELL_BASE_URL"] + "/v2/leads",
                headers={"Authorization": f"Bearer {settings['SELL_ACCESS_TOKEN']}"},
            )
            assert leads.status_code == 200 and leads.json()["meta"]["count"] == 25
            assert settings["SLACK_API_URL"].endswith("/api/")
            process.send_signal(signal.SIGINT)
            out, err = process.communicate(timeout=10)
        finally:
            if process.poll() is None:
                process.kill()
                process.communicate()
    assert process.returncode == 0, err
    assert "sandbox stopped" in out


def _read_banner(process: subprocess.Popen[str]) -> dict[str, str]:
    """The KEY=value lines ``run_forever`` prints, up to its closing comment."""
    assert process.stdout is not None
    settings: dict[str, str] = {}
    while True:
        line = process.stdout.readline()
        assert line, "the sandbox exited before printing its settings"
        if line.startswith("# control API"):
            return settings
        if "=" in line and not line.startswith("#"):
            key, _, value = line.strip().partition("=")
            settings[key] = value
