"""``/sellsync restore run:N``: a manager undoes every tombstone and "deleted in HubSpot" mark
one run made, in one step, from Slack."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from bot import parsing as p
from sync.domain import Link, LinkOrigin, LinkState, SellRef
from sync.ports import AuditEvent
from tests.scenario.conftest import MANAGER, REP, message_text


@pytest.mark.parametrize(
    ("text", "parsed"),
    [
        ("restore run:7", p.RestoreRun(7)),
        ("restore RUN:7 Sell role changed", p.RestoreRun(7, "Sell role changed")),
        ("restore lead:7", p.Restore("lead:7")),
    ],
)
def test_restore_run_parses(text: str, parsed: object) -> None:
    assert p.parse_command(text) == parsed


@pytest.mark.parametrize("text", ["restore run:", "restore run:x", f"restore run:{2**63}"])
def test_restore_run_needs_a_run_number(text: str) -> None:
    parsed = p.parse_command(text)
    assert isinstance(parsed, p.Invalid) and "names no run number" in parsed.reason


def test_restore_run_in_slack_is_for_managers_and_audited(bot) -> None:  # type: ignore[no-untyped-def]
    store = bot.world.store
    at = datetime(2026, 12, 1, tzinfo=UTC)
    marks = [
        (SellRef("lead", 5), "51005", LinkState.TOMBSTONED),
        (SellRef("contact", 6), "51006", LinkState.HUBSPOT_DELETED),
        (SellRef("lead", 8), "51008", LinkState.TOMBSTONED),  # restored since: left alone
    ]
    for ref, hubspot_id, state in marks:
        store.save_link(Link(ref, hubspot_id, state, LinkOrigin.LIST))
        store.audit(AuditEvent(at, state.value, f"{ref}|{hubspot_id}", run_id=7))
    store.save_link(Link(SellRef("lead", 8), "51008", LinkState.ACTIVE, LinkOrigin.LIST))

    refused = bot.command("restore run:7", user=REP).reply()
    assert "only managers can restore" in refused["text"]
    done = message_text(bot.command("restore run:7 Sell role changed", user=MANAGER).reply())
    assert "run 7: 2 links active again (1 tombstone and 1 deleted-in-HubSpot mark lifted)" in done
    assert "1 link the run marked changed since" in done
    states = store.links_by_sell([ref for ref, _, _ in marks])
    assert {link.state for link in states.values()} == {LinkState.ACTIVE}
    restored = [e for e in store.audit_trail() if e.kind == "restored"]
    assert len(restored) == 2
    assert all(
        e.detail == {"run": 7, "reason": "Sell role changed", "was": e.detail["was"]}
        for e in restored
    )
    nothing = bot.command("restore run:99", user=MANAGER).reply()
    assert "run 99 tombstoned nothing" in nothing["text"]
