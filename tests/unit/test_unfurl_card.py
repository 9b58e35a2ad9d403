"""The unfurled record card, golden (exact Block Kit), and what a link or a step's item names."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from bot import action_ids as ids
from bot.blocks.links import RecordUrls
from bot.blocks.unfurl import card_dict, unfurl_card, unreadable_card
from bot.listeners.functions import StepFailed, push_item, status_item, status_outputs
from bot.listeners.unfurls import record_item, shared_records
from sync.api import Conflict, Explanation, Link, LinkState, SellRef, Verdict
from sync.domain import HubSpotContact, SellRecord

URLS = RecordUrls(hubspot=lambda cid: f"https://app.hubspot.com/contacts/62515/record/0-1/{cid}")
ANN = SellRecord(
    kind="lead",
    id=12,
    values={"first_name": "Ann", "last_name": "Lee", "email": "Ann@Example.com"},
    updated_at=datetime(2026, 11, 1, tzinfo=UTC),
)
CONTACT = HubSpotContact(id="901", properties={"email": "ann@example.com", "lastname": "Lee"})
LINK = Link(
    sell=SellRef("lead", 12),
    hubspot_id="901",
    last_synced_at=datetime(2026, 11, 30, 6, 29, tzinfo=UTC),
)
PHONE = Conflict(
    sell=SellRef("lead", 12), hubspot_id="901", field="phone", sell_value="1", hubspot_value="2"
)


def mrkdwn(text: str) -> dict[str, Any]:
    return {"type": "mrkdwn", "text": text}


def why(item: str) -> dict[str, Any]:
    return {
        "type": "button",
        "action_id": ids.UNFURL_WHY,
        "text": {"type": "plain_text", "text": "Why", "emoji": True},
        "value": f"record:{item}",
    }


HEAD = "*Ann Lee* · Sell lead <https://app.futuresimple.com/leads/12|lead:12>\nann@example.com"


def test_golden_card_of_a_linked_lead_with_an_open_conflict() -> None:
    exp = Explanation(
        "lead:12", Verdict.SYNCED, link=LINK, record=ANN, contact=CONTACT, conflicts=[PHONE]
    )
    assert card_dict(unfurl_card(exp, urls=URLS)) == {
        "blocks": [
            {"type": "section", "text": mrkdwn(HEAD)},
            {
                "type": "section",
                "text": mrkdwn(
                    ":link: *Linked* to HubSpot contact "
                    "<https://app.hubspot.com/contacts/62515/record/0-1/901|901>\n"
                    "synced: linked pairs keep syncing both ways whatever their list or score "
                    "(1 open conflict)"
                ),
            },
            {
                "type": "context",
                "elements": [
                    mrkdwn(
                        "Last sync: <!date^1796020140^{date_short_pretty} {time}|"
                        "2026-11-30 06:29 UTC> · 1 open conflict (Phone)"
                    )
                ],
            },
            {"type": "actions", "elements": [why("lead:12")]},
        ]
    }


def test_golden_card_of_an_unlinked_lead_offers_push_and_why() -> None:
    exp = Explanation("lead:12", Verdict.NOT_LINKED, record=ANN)
    assert card_dict(unfurl_card(exp, urls=URLS)) == {
        "blocks": [
            {"type": "section", "text": mrkdwn(HEAD)},
            {
                "type": "section",
                "text": mrkdwn(
                    ":heavy_minus_sign: *Not linked*\n"
                    "not linked yet: push it with /sellsync push lead:12"
                ),
            },
            {"type": "context", "elements": [mrkdwn("Never synced · no open conflicts")]},
            {
                "type": "actions",
                "elements": [
                    {
                        "type": "button",
                        "action_id": ids.UNFURL_PUSH,
                        "text": {"type": "plain_text", "text": "Push to HubSpot", "emoji": True},
                        "value": "record:lead:12",
                        "style": "primary",
                    },
                    why("lead:12"),
                ],
            },
        ]
    }


def test_golden_card_of_a_tombstone_asked_from_hubspot() -> None:
    tomb = Link(
        sell=SellRef("lead", 12),
        hubspot_id="901",
        state=LinkState.TOMBSTONED,
        last_synced_at=datetime(2026, 11, 30, 6, 29, tzinfo=UTC),
    )
    exp = Explanation(
        "hubspot:901", Verdict.TOMBSTONED, link=tomb, contact=CONTACT, missing=SellRef("lead", 12)
    )
    blocks = card_dict(unfurl_card(exp, urls=URLS))["blocks"]
    assert blocks[0]["text"]["text"] == (
        "*Lee* · HubSpot contact <https://app.hubspot.com/contacts/62515/record/0-1/901|901>\n"
        "ann@example.com"
    )
    assert blocks[1]["text"]["text"] == (
        ":headstone: *Tombstone*\nnot synced: its Sell record lead:12 was deleted, so HubSpot "
        "contact 901 is never created in Sell again (a manager can restore it)"
    )
    assert blocks[3] == {"type": "actions", "elements": [why("hubspot:901")]}  # no push


def test_golden_card_of_an_unknown_record() -> None:
    exp = Explanation("contact:5", Verdict.NOT_FOUND, missing=SellRef("contact", 5))
    assert card_dict(unfurl_card(exp, urls=URLS)) == {
        "blocks": [
            {
                "type": "section",
                "text": mrkdwn(
                    ":grey_question: Sell contact <https://app.futuresimple.com/crm/contacts/5|"
                    "contact:5>: sellsync knows no such record. It is not in Sell, in HubSpot or "
                    "among the synced records."
                ),
            }
        ]
    }


def test_a_lead_without_a_person_s_name_is_named_by_its_company() -> None:
    company = SellRecord(
        kind="lead",
        id=3,
        values={"first_name": None, "last_name": " ", "organization_name": "Pioneer Schools"},
        updated_at=datetime(2026, 11, 1, tzinfo=UTC),
    )
    head = unfurl_card(Explanation("lead:3", Verdict.NO_EMAIL, record=company))[0].to_dict()
    assert head["text"]["text"].startswith("*Pioneer Schools* · Sell lead")


def test_hostile_names_and_reasons_are_escaped_and_clipped() -> None:
    evil = SellRecord(
        kind="lead",
        id=12,
        values={"first_name": "<!here> *x*\n>quote", "last_name": "y" * 40_000, "email": None},
        updated_at=datetime(2026, 11, 1, tzinfo=UTC),
    )
    head = unfurl_card(Explanation("lead:12", Verdict.NO_EMAIL, record=evil))[0].to_dict()
    text = head["text"]["text"]
    assert text.startswith("*&lt;!here&gt; *x* &gt;quote y") and "\n_no email_" in text
    assert len(text) < 300
    down = unreadable_card("lead:12", "Sell 503: <@U1> down\n" + "z" * 5000)[0].to_dict()
    assert "&lt;@U1&gt;" in down["text"]["text"] and len(down["text"]["text"]) < 600


@pytest.mark.parametrize(
    ("url", "item"),
    [
        ("https://app.futuresimple.com/leads/12", "lead:12"),
        ("https://app.futuresimple.com/crm/contacts/7", "contact:7"),
        ("https://APP.futuresimple.com/sales/leads/12/notes", "lead:12"),
        ("https://app.hubspot.com/contacts/62515/record/0-1/901", "hubspot:901"),
        ("https://app.hubspot.com/contacts/62515/contact/901/", "hubspot:901"),
        ("https://app.hubspot.com/contacts/62515/record/0-2/901", None),  # a company
        ("https://app.hubspot.com/contacts/62515/record/0-1/abc", None),
        ("https://app.getbase.com/leads/12", None),  # Sell's, but not an unfurl domain
        ("https://evil.example/leads/12", None),
        ("https://app.futuresimple.com.evil.example/leads/12", None),
        ("https://user@app.futuresimple.com/leads/12", None),
        ("https://app.futuresimple.com:8443/leads/12", None),
        ("javascript:alert(1)//app.futuresimple.com/leads/12", None),
        ("https://app.futuresimple.com/leads/99999999999999999999", None),
        ("https://app.futuresimple.com/leads/" + "1" * 40_000, None),
        ("https://[::1/leads/12", None),
        (None, None),
        (12, None),
    ],
)
def test_record_links_name_their_record(url: object, item: str | None) -> None:
    assert record_item(url) == item


def test_an_event_unfurls_each_record_once_and_at_most_five() -> None:
    links = [{"url": f"https://app.futuresimple.com/leads/{i % 7 + 1}"} for i in range(20)]
    found = shared_records({"links": [{"url": "https://x.example/1"}, "junk", *links]})
    assert list(found.values()) == [f"lead:{i}" for i in range(1, 6)]
    assert shared_records({"links": "nope"}) == {}


@pytest.mark.parametrize(
    ("value", "item"),
    [
        (ids.encode_record("lead:12"), "lead:12"),
        (ids.encode_record("hubspot:901"), "hubspot:901"),
        ("record:lead:0", None),
        ("record:lead:9223372036854775808", None),
        ("record:tag:x", None),
        ("lead:12", None),
        (None, None),
    ],
)
def test_unfurl_button_values_round_trip_and_refuse_garbage(
    value: object, item: str | None
) -> None:
    assert ids.decode_record(value) == item


def test_step_items() -> None:
    assert push_item({"item": " https://app.futuresimple.com/leads/12 "}) == "lead:12"
    assert push_item({"item": "Ann@Example.com"}) == "ann@example.com"
    assert status_item({"item": "https://app.hubspot.com/contacts/1/record/0-1/901"}) == (
        "hubspot:901"
    )
    assert status_item({"item": "hubspot:0901"}) == "hubspot:901"
    for bad in ({"item": "hubspot:x"}, {"item": "tag:a"}, None, {"item": ["lead:1"]}):
        with pytest.raises(StepFailed):
            status_item(bad)
    with pytest.raises(StepFailed, match="HubSpot record URL"):
        status_item({"item": "nonsense"})  # the status step names what it takes


def test_status_outputs_name_both_records() -> None:
    exp = Explanation("hubspot:901", Verdict.SYNCED, link=LINK, contact=CONTACT)
    assert status_outputs(exp) == {
        "verdict": "synced",
        "reason": "synced: linked pairs keep syncing both ways whatever their list or score",
        "sell_id": "lead:12",
        "hubspot_id": "901",
    }
    unknown = Explanation("contact:5", Verdict.NOT_FOUND, missing=SellRef("contact", 5))
    assert status_outputs(unknown)["sell_id"] == "contact:5"
    assert status_outputs(unknown)["hubspot_id"] == ""
