"""The pure pieces of the sync core: qualification, per-field decisions, conversions, S13 types,
push item parsing and selection. No I/O, no clock."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime

import pytest
from sqlalchemy.exc import OperationalError

from sync.domain import (
    FieldSnapshot,
    PropertyInfo,
    PropertyOption,
    SellCustomField,
    SellRecord,
    SellRef,
    is_empty,
    normalize_email,
)
from sync.errors import (
    ApiError,
    AuthError,
    ConfigError,
    DailyLimitReached,
    LeaseLost,
    RateLimited,
    ServiceUnavailable,
    SyncError,
)
from sync.mapping import (
    STANDARD_FIELDS,
    Direction,
    FieldMapping,
    ValueType,
    check_custom_mapping,
    hubspot_canonical,
    hubspot_owned_fields,
    sell_canonical,
    sell_type_for,
    to_hubspot_value,
    to_sell_value,
)
from sync.merge import FieldMove, decide_field
from sync.push import parse_items, select_records
from sync.qualify import qualify
from sync.report import FailureKind, classify_failure

TEXT = FieldMapping("title", "jobtitle", "title")
MIRROR = hubspot_owned_fields()[2]  # score


# --------------------------------------------------------------------------- S1


@pytest.mark.parametrize(
    ("score", "in_list", "threshold", "expected"),
    [
        ("50", True, 50, True),
        ("50.0", True, 50, True),
        ("49.99", True, 50, False),
        ("100", False, 50, False),
        (None, True, 0, False),
        ("", True, 0, False),
        ("  ", True, 0, False),
        ("n/a", True, 0, False),
        ("NaN", True, 0, False),
        ("Infinity", True, 0, False),
        ("0", True, 0, True),
        ("-5", True, 0, False),
    ],
)
def test_s1_qualify(score: str | None, in_list: bool, threshold: int, expected: bool) -> None:
    assert qualify(score, in_list=in_list, threshold=threshold).qualifies is expected


def test_s1_reasons_are_readable() -> None:
    assert qualify("12", in_list=True, threshold=40).reason == "score 12 is below the threshold 40"
    assert qualify(None, in_list=True, threshold=40).reason == "has no score"
    assert "not a member" in qualify("99", in_list=False, threshold=40).reason


# --------------------------------------------------------------------------- S8 / S9 table


@pytest.mark.parametrize(
    ("sell", "hub", "last", "action"),
    [
        # S8 first link
        (None, None, None, FieldMove.NONE),
        (None, "h", None, FieldMove.TO_SELL),
        ("s", None, None, FieldMove.TO_HUBSPOT),
        ("x", "x", None, FieldMove.NONE),
        ("s", "h", None, FieldMove.CONFLICT),
        # S9 ongoing
        ("s2", "v", FieldSnapshot("v", "v"), FieldMove.TO_HUBSPOT),
        ("v", "h2", FieldSnapshot("v", "v"), FieldMove.CONFLICT),
        ("s2", "h2", FieldSnapshot("v", "v"), FieldMove.TO_HUBSPOT_AND_CONFLICT),
        (None, "h2", FieldSnapshot("v", "v"), FieldMove.TO_SELL),  # cleared in Sell: refilled
        ("s", None, FieldSnapshot("s", "s"), FieldMove.TO_HUBSPOT),  # cleared in HubSpot: refilled
        ("s", "h", FieldSnapshot("s", "h"), FieldMove.NONE),  # a known difference stays
        ("s", "h3", FieldSnapshot("s", "h"), FieldMove.CONFLICT),  # HubSpot changed again
        (None, None, FieldSnapshot("v", "v"), FieldMove.NONE),
    ],
)
def test_s8_s9_decisions(
    sell: str | None, hub: str | None, last: FieldSnapshot | None, action: FieldMove
) -> None:
    assert decide_field(TEXT, sell, hub, last).action is action


def test_s9_conflicted_field_keeps_both_values_in_the_snapshot() -> None:
    d = decide_field(TEXT, "v", "h2", FieldSnapshot("v", "v"))
    assert d.snapshot == FieldSnapshot("v", "h2")
    both = decide_field(TEXT, "s2", "h2", FieldSnapshot("v", "v"))
    assert both.snapshot == FieldSnapshot("s2", "s2")


def test_s10_mirror_always_refreshed_from_hubspot_and_never_sent_back() -> None:
    assert decide_field(MIRROR, "10", "90", FieldSnapshot("10", "10")).action is FieldMove.TO_SELL
    assert decide_field(MIRROR, "90", None, FieldSnapshot("90", "90")).action is FieldMove.NONE
    assert decide_field(MIRROR, "77", "90", FieldSnapshot("90", "90")).action is FieldMove.TO_SELL
    assert MIRROR.direction is Direction.TO_SELL and not MIRROR.writes_hubspot


def test_s11_fields_never_written_to_hubspot_even_if_mapped() -> None:
    status = FieldMapping("status", "hs_lead_status", "status")
    assert not status.writes_hubspot
    assert decide_field(status, "New", None, None).action is FieldMove.NONE


def test_s12_table_pairs() -> None:
    pairs = {(m.sell, m.hubspot) for m in STANDARD_FIELDS}
    assert ("address.postal_code", "zip") in pairs and ("mobile", "mobilephone") in pairs
    assert len(pairs) == 15
    org = next(m for m in STANDARD_FIELDS if m.sell == "organization_name")
    assert org.kinds == ("lead",)


# --------------------------------------------------------------------------- values


def test_empty_and_email_normalisation() -> None:
    assert is_empty(None) and is_empty(" \t") and is_empty([]) and not is_empty(0)
    assert normalize_email("  Ann@Example.COM ") == "ann@example.com"
    assert normalize_email("   ") is None


def test_canonical_numbers_dates_bools_and_labels() -> None:
    num = FieldMapping("n", "n", "custom_fields.N", value_type=ValueType.NUMBER)
    assert sell_canonical(num, "12.50") == hubspot_canonical(num, "12.5") == "12.5"
    assert sell_canonical(num, 12) == "12" == hubspot_canonical(num, "12.0")
    with pytest.raises(ValueError):
        hubspot_canonical(num, "twelve")
    day = FieldMapping("d", "d", "custom_fields.D", value_type=ValueType.DATE)
    assert (
        hubspot_canonical(day, "1735689600000") == "2025-01-01" == sell_canonical(day, "2025-01-01")
    )
    when = FieldMapping("t", "t", "custom_fields.T", value_type=ValueType.DATETIME)
    assert hubspot_canonical(when, "2025-01-01T10:00:00.000Z") == "2025-01-01T10:00:00Z"
    flag = FieldMapping("b", "b", "custom_fields.B", value_type=ValueType.BOOL)
    assert to_sell_value(flag, hubspot_canonical(flag, "true")) is True
    assert sell_canonical(flag, False) == "false"
    prop = PropertyInfo("tier", "Tier", "enumeration", "checkbox",
                        (PropertyOption("g", "Gold"), PropertyOption("s", "Silver")))  # fmt: skip
    multi = FieldMapping("m", "tier", "custom_fields.Tier", value_type=ValueType.MULTI)
    assert hubspot_canonical(multi, "s;g", prop) == "Gold;Silver"
    assert sell_canonical(multi, ["Silver", "Gold"]) == "Gold;Silver"
    assert to_hubspot_value(multi, "Gold;Silver", prop) == "g;s"
    assert to_sell_value(multi, "Gold;Silver") == ["Gold", "Silver"]


# --------------------------------------------------------------------------- S13


@pytest.mark.parametrize(
    ("type_", "field_type", "sell_type"),
    [
        ("number", "number", "number"),
        ("string", "text", "string"),
        ("string", "textarea", "text"),
        ("string", "phonenumber", "phone"),
        ("enumeration", "select", "list"),
        ("enumeration", "radio", "list"),
        ("enumeration", "checkbox", "multi_select_list"),
        ("bool", "booleancheckbox", "bool"),
        ("enumeration", "booleancheckbox", "bool"),
        ("date", "date", "date"),
        ("datetime", "date", "datetime"),
    ],
)
def test_s13_sell_type_for_each_hubspot_type(type_: str, field_type: str, sell_type: str) -> None:
    choice = sell_type_for(PropertyInfo("p", "P", type_, field_type))
    assert choice is not None and choice.suggested == sell_type


def test_s13_list_mapping_needs_the_same_choices() -> None:
    prop = PropertyInfo("tier", "Tier", "enumeration", "select",
                        (PropertyOption("g", "Gold"), PropertyOption("s", "Silver")))  # fmt: skip
    fields = {"lead": [SellCustomField("Tier", "list", ("Gold",))], "contact": []}
    check = check_custom_mapping("tier", "Tier", {"tier": prop}, fields)
    assert check.status == "refused" and "silver" in check.message
    missing = check_custom_mapping("tier", "Level", {"tier": prop}, fields)
    assert missing.status == "missing" and "with the choices Gold, Silver" in missing.message


def test_s13_refuses_read_only_unknown_and_s11_targets() -> None:
    props = {"score": PropertyInfo("score", "S", "number", "number", read_only=True)}
    assert check_custom_mapping("score", "X", props, {}).status == "refused"
    assert check_custom_mapping("nope", "X", props, {}).status == "refused"
    ok_prop = {"p": PropertyInfo("p", "P", "string", "text")}
    assert check_custom_mapping("p", "Lead status", ok_prop, {}).status == "refused"


# --------------------------------------------------------------------------- S4 items


def test_s4_parse_items_of_every_kind() -> None:
    parsed = parse_items(
        [
            "Ann@X.com",
            "<mailto:bob@x.com|bob@x.com>",
            "lead:12",
            "CONTACT:7",
            "https://app.futuresimple.com/leads/99",
            "<https://acme.zendesk.com/sales/contacts/5>",
            "tag:VIP",
            "lead:abc",
            "hello",
            "tag:",
        ]
    )
    assert parsed.emails == ("ann@x.com", "bob@x.com")
    assert parsed.refs == (
        SellRef("lead", 12), SellRef("contact", 7), SellRef("lead", 99), SellRef("contact", 5)
    )  # fmt: skip
    assert parsed.tags == ("VIP",)
    assert [s.item for s in parsed.invalid] == ["lead:abc", "hello", "tag:"]


def _rec(kind: str, rid: int, email: str | None, minute: int, org: bool = False) -> SellRecord:
    return SellRecord(
        kind,  # type: ignore[arg-type]
        rid,
        {"email": email},
        datetime(2026, 1, 1, 9, minute, tzinfo=UTC),
        is_organization=org,
    )


def test_s4_select_records() -> None:
    sel = select_records(
        [
            _rec("lead", 1, "a@x.com", 1),
            _rec("lead", 2, "A@x.com ", 5),
            _rec("contact", 3, None, 1),
            _rec("contact", 4, "org@x.com", 1, org=True),
            _rec("lead", 5, "bad-email", 1),
        ]
    )
    assert [r.id for r in sel.chosen] == [2]
    reasons = {s.item: s.reason for s in sel.skipped}
    assert reasons["contact:3"] == "no email"
    assert reasons["contact:4"] == "company contacts can't be added"
    assert reasons["lead:1"].startswith("duplicate email a@x.com")
    assert "invalid email" in reasons["lead:5"]


def test_s4_parse_items_refuses_other_hosts_huge_ids_and_unicode_digits_with_a_reason() -> None:
    items = [
        "https://app.hubspot.com/contacts/4242/record/0-1/77",
        "https://example.com/crm/contacts/5",
        f"lead:{2**63}",
        "contact:²",
        f"https://app.futuresimple.com/leads/{2**63}",
    ]
    parsed = parse_items(items)
    assert parsed.refs == () and parsed.emails == ()
    reasons = {s.item: s.reason for s in parsed.invalid}
    assert list(reasons) == items
    assert reasons[items[0]] == "a HubSpot link, not a Sell record URL"
    assert reasons[items[1]] == "not a Sell record URL"
    assert "1 to 2^63-1" in reasons[items[2]] and "1 to 2^63-1" in reasons[items[3]]
    assert parse_items([f"lead:{2**63 - 1}"]).refs == (SellRef("lead", 2**63 - 1),)


# --------------------------------------------------------------------------- failure kinds


class _Unprintable(Exception):
    def __str__(self) -> str:
        raise RuntimeError("no text")


@pytest.mark.parametrize(
    ("error", "kind"),
    [
        (AuthError("HubSpot", "expired", 401), FailureKind.HUBSPOT_AUTH),
        (AuthError("Sell", "invalid", 403), FailureKind.SELL_AUTH),
        (ServiceUnavailable("HubSpot", "timeout"), FailureKind.HUBSPOT_UNREACHABLE),
        (ServiceUnavailable("Sell", "502", 502), FailureKind.SELL_UNREACHABLE),
        (RateLimited("Sell", 3.0), FailureKind.SELL_RATE_LIMIT),
        (DailyLimitReached(), FailureKind.HUBSPOT_RATE_LIMIT),
        (ApiError("HubSpot", "HubSpot list 7 not found", 404), FailureKind.HUBSPOT_LIST_MISSING),
        (ApiError("HubSpot", "bad request", 400), FailureKind.HUBSPOT_REFUSED),
        (ApiError("Sell", "not found", 404), FailureKind.SELL_REFUSED),
        (ApiError("Mailchimp", "?", 500), FailureKind.UNEXPECTED),
        (ConfigError("HUBSPOT_ACCESS_TOKEN"), FailureKind.CONFIG),
        (sqlite3.OperationalError("database is locked"), FailureKind.DATABASE),
        (OperationalError("SELECT 1", {}, Exception("gone")), FailureKind.DATABASE),
        (LeaseLost("sync"), FailureKind.LOST_LOCK),
        (SyncError("a message that says it lost the lock"), FailureKind.UNEXPECTED),
        (KeyError("email"), FailureKind.UNEXPECTED),
        (_Unprintable(), FailureKind.UNEXPECTED),
        (KeyboardInterrupt(), FailureKind.UNEXPECTED),
    ],
    ids=lambda v: type(v).__name__ if isinstance(v, BaseException) else str(v),
)
def test_every_run_failure_has_a_kind(error: BaseException, kind: FailureKind) -> None:
    assert classify_failure(error) is kind


def test_s14_an_email_check_is_cheap_on_any_crm_value() -> None:
    """A CRM value is checked as an email in time linear in nothing but the 254-character cap:
    a long dotted value (quadratic for the pattern) is refused at once by its length."""
    import time

    from sync.mapping import MAX_EMAIL_LENGTH, valid_email

    hostile = "a@" + "b." * 50_000 + " "
    started = time.perf_counter()
    assert not valid_email(hostile)
    assert time.perf_counter() - started < 0.05
    assert valid_email("ann@example.com")
    assert not valid_email("a@" + "b" * MAX_EMAIL_LENGTH + ".com")
