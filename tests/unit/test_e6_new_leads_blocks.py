"""The new-record announcement builders: what a rep reads, every CRM value escaped, links built
from ids, one message for many records."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from bot.blocks.new_leads import SHOWN, new_records_message
from sync.domain import SellRecord
from sync.new_records import NewSellRecord, new_sell_record

HOSTILE = "<!channel> *Eve* <https://evil.example|click> & co"


def record(name: str = "Ada Lovelace", **values: object) -> NewSellRecord:
    first, _, last = name.partition(" ")
    sell = SellRecord(
        kind="lead",
        id=3000001,
        values={
            "first_name": first,
            "last_name": last,
            "owner_id": 7,
            "lead_source": "Organic Search",
            "custom_fields.HubSpot score": "80",
            "email": "ada@example.com",
            **values,
        },
        updated_at=datetime(2026, 12, 7, tzinfo=UTC),
    )
    return new_sell_record(sell, "501", "https://app.hubspot.com/contacts/1/record/0-1/501")


def test_e6_a_new_record_reads_its_name_score_source_and_both_links() -> None:
    new = record()
    assert (new.name, new.score, new.source, new.owner_id) == (
        "Ada Lovelace",
        "80",
        "Organic Search",
        7,
    )
    message = new_records_message([new]).to_dict()
    assert message["text"] == "New lead in Sell: Ada Lovelace"
    body = json.dumps(message["blocks"])
    assert "<https://app.futuresimple.com/leads/3000001|Ada Lovelace>" in body
    assert "score *80*" in body and "source *Organic Search*" in body
    assert "<https://app.hubspot.com/contacts/1/record/0-1/501|HubSpot contact>" in body


def test_e6_hostile_names_and_values_are_escaped() -> None:
    new = record(HOSTILE, lead_source="<@U123> src", **{"custom_fields.HubSpot score": "<!here>"})
    message = new_records_message([new], for_owner=True).to_dict()
    text = message["text"] + json.dumps(message["blocks"])
    for raw in ("<!channel>", "<https://evil", "<@U123>", "<!here>"):
        assert raw not in text
    assert "&lt;!channel&gt;" in text and "&amp; co" in text


def test_e6_a_record_without_score_or_source_says_so() -> None:
    values: dict[str, object] = {"lead_source": None, "custom_fields.HubSpot score": None}
    new = record("Ada Lovelace", **values)
    body = json.dumps(new_records_message([new]).to_dict()["blocks"])
    assert "no score" in body and "source" not in body


def test_e6_many_new_records_are_one_message_listing_the_first_few() -> None:
    many = [record(f"Rep {n}") for n in range(SHOWN + 5)]
    message = new_records_message(many).to_dict()
    assert message["text"].startswith(f"{SHOWN + 5} new records in Sell")
    sections = [b for b in message["blocks"] if b["type"] == "section"]
    assert len(sections) == SHOWN
    assert "…and 5 more records" in json.dumps(message["blocks"], ensure_ascii=False)
