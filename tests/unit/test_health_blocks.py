"""The Health inbox and the bulk conflict decision in Block Kit, golden (exact), and each failure
reason in words."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from bot import action_ids as ids
from bot.blocks.conflicts_bulk import field_buttons, field_decision_modal
from bot.blocks.health import health_message
from bot.blocks.links import RecordUrls
from sync.api import HealthEntry, HealthView, SellRef
from sync.usecases.health import ReasonKind, reason_in_words

URLS = RecordUrls(hubspot=lambda cid: f"https://app.hubspot.com/contacts/62515/record/0-1/{cid}")
ENTRY = HealthEntry(
    "lead:12",
    "record",
    SellRef("lead", 12),
    "901",
    reason_in_words("HubSpot refused: Property values were not valid: <b>phone</b>"),
    2,
    datetime(2026, 11, 30, 6, 0, tzinfo=UTC),
    datetime(2026, 11, 30, 6, 15, tzinfo=UTC),
)


def mrkdwn(text: str) -> dict[str, Any]:
    return {"type": "mrkdwn", "text": text}


def plain(text: str) -> dict[str, Any]:
    return {"type": "plain_text", "text": text, "emoji": True}


def test_golden_health_message_for_a_manager() -> None:
    message = health_message(HealthView([ENTRY]), can_act=True, urls=URLS).to_dict()
    assert message == {
        "text": "Health: 1 record failing",
        "blocks": [
            {"type": "section", "text": mrkdwn("*Health*: 1 record keeps failing")},
            {
                "type": "section",
                "text": mrkdwn(
                    ":warning: *<https://app.futuresimple.com/leads/12|lead:12> ↔ HubSpot "
                    "<https://app.hubspot.com/contacts/62515/record/0-1/901|901>*\n"
                    "Refused by HubSpot: Property values were not valid: &lt;b&gt;phone&lt;/b&gt;"
                ),
            },
            {
                "type": "context",
                "elements": [
                    mrkdwn(
                        "Failed 2 times · first <!date^1796018400^{date_short_pretty} {time}|"
                        "2026-11-30 06:00 UTC> · last <!date^1796019300^{date_short_pretty} "
                        "{time}|2026-11-30 06:15 UTC>"
                    ),
                    mrkdwn(
                        "HubSpot's message names the property or validation rule: fix the value "
                        "(or the rule in HubSpot), then Retry now."
                    ),
                ],
            },
            {
                "type": "actions",
                "block_id": "health:lead:12",
                "elements": [
                    {
                        "type": "button",
                        "action_id": ids.HEALTH_RETRY,
                        "text": plain("Retry now"),
                        "value": "health:lead:12",
                        "style": "primary",
                    },
                    {
                        "type": "button",
                        "action_id": ids.HEALTH_IGNORE,
                        "text": plain("Ignore"),
                        "value": "health:lead:12",
                        "confirm": {
                            "title": plain("Ignore this record?"),
                            "text": mrkdwn(
                                "It stops being listed until it syncs again. The sync keeps "
                                "trying it."
                            ),
                            "confirm": plain("Ignore"),
                            "deny": plain("Cancel"),
                        },
                    },
                ],
            },
            {
                "type": "context",
                "elements": [
                    mrkdwn(
                        "*Retry now* runs the record through the sync at once · *Ignore* stops "
                        "listing it until it syncs."
                    )
                ],
            },
        ],
    }


def test_golden_health_message_for_anyone_else_has_no_buttons() -> None:
    blocks = health_message(HealthView([ENTRY]), can_act=False, urls=URLS).to_dict()["blocks"]
    assert [b["type"] for b in blocks] == ["section", "section", "context", "context"]
    assert blocks[-1]["elements"] == [mrkdwn("Only managers can retry or ignore.")]


def test_golden_field_decision_modal_names_the_count() -> None:
    view = field_decision_modal(ids.FieldChoice("phone", 42, 3)).to_dict()
    options = [
        ("Keep Sell", "keep_sell", "Sell's value is written to HubSpot"),
        ("Use HubSpot", "use_hubspot", "HubSpot's value is written to Sell"),
        ("Dismiss", "dismiss", "both sides keep their values"),
    ]
    assert view == {
        "type": "modal",
        "callback_id": ids.FIELD_DECISION_VIEW,
        "title": plain("Decide 3 conflicts"),
        "submit": plain("Decide 3"),
        "close": plain("Cancel"),
        "private_metadata": "field:42:3:phone",
        "blocks": [
            {
                "type": "section",
                "text": mrkdwn("Decide all *3 open conflicts* of *Phone* at once:"),
            },
            {
                "type": "input",
                "block_id": ids.FIELD_ACTION_BLOCK,
                "label": plain("Decision"),
                "element": {
                    "type": "radio_buttons",
                    "action_id": ids.FIELD_ACTION_INPUT,
                    "options": [
                        {"text": plain(name), "value": value, "description": plain(what)}
                        for name, value, what in options
                    ],
                },
            },
            {
                "type": "context",
                "elements": [
                    mrkdwn(
                        "Each conflict is decided and audited on its own; one another manager "
                        "decides meanwhile keeps their decision. Conflicts opened after this "
                        "confirmation stay open."
                    )
                ],
            },
        ],
    }
    assert ids.decode_field_choice(view["private_metadata"]) == ids.FieldChoice("phone", 42, 3)


def test_field_buttons_offer_fields_with_two_open_conflicts_or_more() -> None:
    assert field_buttons({"phone": 1}) == []
    [note, buttons] = [b.to_dict() for b in field_buttons({"phone": 3, "email": 2, "fax": 1})]
    assert note["elements"] == [mrkdwn("Decide every open conflict of one field at once:")]
    assert [(e["text"]["text"], e["value"]) for e in buttons["elements"]] == [
        ("All Phone (3)…", "conflicts-of:phone"),
        ("All Email (2)…", "conflicts-of:email"),
    ]


@pytest.mark.parametrize(
    ("reason", "kind", "words"),
    [
        ("invalid email 'bob@'", ReasonKind.INVALID_EMAIL, "Invalid email address 'bob@'"),
        (
            "HubSpot refused: Property values were not valid",
            ReasonKind.HUBSPOT_REFUSED,
            "Refused by HubSpot: Property values were not valid",
        ),
        (
            "Sell refused: phone is locked",
            ReasonKind.SELL_REFUSED,
            "Refused by Sell: phone is locked",
        ),
        (
            "Sell refused: lead:12: not found",
            ReasonKind.GONE,
            "The other record is gone (Sell refused: lead:12: not found)",
        ),
        ("refused by HubSpot", ReasonKind.HUBSPOT_REFUSED, "Refused by HubSpot"),
        ("hubspot_unreachable", ReasonKind.RUN_FAILED, "The run stopped: hubspot unreachable"),
        (
            "unreadable value: bad date",
            ReasonKind.UNREADABLE,
            "A value could not be read: bad date",
        ),
        ("", ReasonKind.OTHER, "The record could not be written"),
    ],
)
def test_health_reasons_in_words(reason: str, kind: ReasonKind, words: str) -> None:
    got = reason_in_words(reason)
    assert (got.kind, got.words) == (kind, words)
    assert got.advice


def test_health_reasons_are_bounded() -> None:
    assert len(reason_in_words("HubSpot refused: " + "x" * 5000).words) == 500


@pytest.mark.parametrize(
    "value", [None, 1, "", "health:", "health:lead:x", "health:deal:1", "health:event:", "x" * 300]
)
def test_health_button_values_that_do_not_parse_decode_to_none(value: object) -> None:
    assert ids.decode_health(value) is None
    assert ids.decode_field_choice(value) is None
    assert ids.decode_field(value) is None


def test_health_button_values_round_trip() -> None:
    for key in ("lead:12", "contact:3", "HubSpot 901", "event:7"):
        assert ids.decode_health(ids.encode_health(key)) == key
