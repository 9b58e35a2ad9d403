"""Every id and encoded value Slack sends back decodes to what was encoded, and garbage to None."""

from __future__ import annotations

import pytest

from bot import action_ids as ids
from sync.domain import SellRef


def test_every_action_id_is_unique_and_within_slack_limits() -> None:
    everything = [
        ids.ADD_TO_HUBSPOT,
        ids.ADD_MESSAGE_TO_HUBSPOT,
        ids.PUSH_VIEW,
        ids.ITEMS_BLOCK,
        ids.TAG_BLOCK,
        *ids.ALL_ACTIONS,
        ids.PAGER_BLOCK,
    ]
    assert len(set(everything)) == len(everything)
    assert all(0 < len(x) <= 255 for x in everything)
    assert set(ids.CONFLICT_RESOLUTION) == set(ids.CONFLICT_ACTIONS)
    assert set(ids.CONFLICT_RESOLUTION.values()) == {"keep_sell", "use_hubspot", "dismiss"}


def test_request_value_round_trips() -> None:
    assert ids.decode_request(ids.encode_request(42)) == 42


def test_conflict_value_round_trips_with_its_page_offset() -> None:
    assert ids.decode_conflict(ids.encode_conflict(7, 20)) == ids.ConflictRef(7, 20)
    assert ids.decode_conflict(ids.encode_conflict(7, -5)) == ids.ConflictRef(7, 0)


def test_page_value_round_trips() -> None:
    assert ids.decode_page(ids.encode_page(490)) == 490


@pytest.mark.parametrize(
    "value",
    [None, 42, "", "req:", "req:abc", "req:-1", "conflict:1", "conflict:a:0", "page:x", "x" * 3000],
)
def test_garbage_values_decode_to_none(value: object) -> None:
    assert ids.decode_request(value) is None
    assert ids.decode_conflict(value) is None
    assert ids.decode_page(value) is None


def test_values_do_not_decode_as_each_other() -> None:
    assert ids.decode_request(ids.encode_page(3)) is None
    assert ids.decode_page(ids.encode_request(3)) is None
    assert ids.decode_conflict(ids.encode_request(3)) is None


def test_push_origin_metadata_round_trips_and_fits_a_view() -> None:
    origin = ids.PushOrigin("message", channel="C123", message_ts="1700000000.000100")
    text = ids.encode_push_origin(origin)
    assert len(text) <= ids.MAX_METADATA
    assert ids.decode_push_origin(text) == origin


@pytest.mark.parametrize("text", [None, "", "{", "[]", '{"v": 2, "s": "message"}', '{"v":1,"c":5}'])
def test_unreadable_push_origin_is_a_global_push(text: object) -> None:
    origin = ids.decode_push_origin(text)
    assert origin.source == "global"
    assert origin.channel is None


def test_block_ids_name_their_record() -> None:
    assert ids.request_block(3) != ids.conflict_block(3)
    assert ids.request_block(3) == "request:3"


def test_l2_link_choice_values_round_trip_and_refuse_garbage() -> None:
    held, keep = SellRef("lead", 11), SellRef("contact", 2**63 - 1)
    assert ids.decode_link_choice(ids.encode_link_choice(held, keep)) == ids.LinkChoice(held, keep)
    assert ids.decode_link_choice(ids.encode_link_choice(held, None)) == ids.LinkChoice(held, None)
    for value in (
        None,
        "link:lead:11",
        "link:lead:11:x",
        "link:lead:0:-",
        "link:deal:1:-",
        "link:lead:٣:-",
        f"link:lead:{2**63}:-",
        "link:lead:1:contact:-1",
        ids.encode_conflict(3),
    ):
        assert ids.decode_link_choice(value) is None, value
    assert ids.decode_conflict(ids.encode_link_choice(held, keep)) is None
