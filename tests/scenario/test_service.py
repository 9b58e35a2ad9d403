"""The service functions behind Slack and the CLI: status, "why didn't this sync", threshold
impact, approvals, restore."""

from __future__ import annotations

from datetime import timedelta

import pytest

from bot.blocks.status import explanation_facts, explanation_message, verdict_text
from bot.blocks.threshold import decision_text
from bot.terminal import explanation_dict, render_explanation
from sync.domain import LinkState
from sync.service import (
    Actor,
    ChangeKind,
    DecisionOutcome,
    Refused,
    SettingChange,
    SyncService,
    Verdict,
)
from tests.conftest import World

REP = Actor("U_REP")
BOSS = Actor("U_BOSS", is_manager=True)
BOSS2 = Actor("U_BOSS2", is_manager=True)


def test_status_counts_and_last_run(world: World) -> None:
    world.member(80, email="a@x.com", lastname="A")
    assert world.service.status().last_run is None
    world.sync()
    status = world.service.status()
    assert status.threshold == 50 and status.list_id == "7"
    assert status.last_run is not None and status.last_run.status == "ok"
    assert status.links["active"] == 1 and status.open_conflicts == 0
    data = status.to_dict()
    assert {"threshold", "last_run", "next_run", "open_conflicts", "pending_requests"} <= set(data)


def test_explain_why_a_record_did_or_did_not_sync(world: World) -> None:
    low = world.member(20, email="low@x.com", lastname="Low")
    world.hubspot.add_contact(email="out@x.com", hubspotscore=99)
    ok = world.member(90, email="ok@x.com", lastname="Ok")
    world.sync()
    assert "below the threshold 50" in verdict_text(world.service.explain("low@x.com"))
    assert "not a member" in verdict_text(world.service.explain("out@x.com"))
    synced = world.service.explain("ok@x.com")
    assert verdict_text(synced).startswith("synced") and synced.link is not None
    assert synced.link.hubspot_id == ok
    lead = next(r for r in world.sell.of_kind("lead") if r.values["email"] == "ok@x.com")
    assert world.service.explain(f"lead:{lead.id}").link == synced.link
    world.sell.delete("lead", lead.id)
    world.sync(full=True)
    assert "deleted" in verdict_text(world.service.explain(f"hubspot:{ok}"))
    org = world.sell.add("contact", is_organization=True, name="Org", email="org@x.com")
    assert "company contacts" in verdict_text(world.service.explain(f"contact:{org}"))
    assert verdict_text(world.service.explain("nobody@x.com")).startswith("not found")
    with pytest.raises(Refused):
        world.service.explain("what?")
    assert low  # the member exists: only its score keeps it out


def test_threshold_impact_counts_members_at_nearby_values(world: World) -> None:
    for score in (10, 40, 45, 50, 55, 70, None):
        world.member(score, email=f"s{score}@x.com", lastname="S")
    linked = world.member(90, email="l@x.com", lastname="L")
    world.sync()
    impact = world.service.threshold_impact(42)
    assert impact.current == 50 and impact.members == 8 and impact.linked == 4  # 50, 55, 70, 90
    row = {r.threshold: r for r in impact.rows}
    # 50, 55, 70 linked after the sync (they qualified): the rest are the would-be imports
    assert row[50].qualifying == 0
    assert row[42].qualifying == 1  # 45
    assert row[40].qualifying == 2  # 40, 45
    assert row[30].qualifying == 2 and row[70].qualifying == 0
    assert linked in world.hubspot.members["7"]


def test_threshold_requests_validate_and_supersede(world: World) -> None:
    for bad in ("abc", "-", "-5", "10**9", "2000000", ""):
        with pytest.raises(Refused):
            world.service.request_change("threshold", bad, actor=REP)
    with pytest.raises(Refused):
        world.service.request_change("threshold", "50", actor=REP)  # already 50
    first = world.service.request_change("threshold", "60", actor=REP, reason="too many")
    assert first.impact is not None and first.impact.proposed == 60
    second = world.service.request_change("threshold", "65", actor=BOSS)
    assert [r.id for r in second.superseded] == [first.request.id]
    assert [r.id for r in world.service.pending_requests()] == [second.request.id]
    decision = world.service.decide(first.request.id, approve=True, actor=BOSS2)
    assert decision.outcome is DecisionOutcome.ALREADY_CLOSED
    assert not decision.changed and "superseded" in decision_text(decision)
    assert world.service.settings().threshold == 50


@pytest.mark.parametrize("digits", ["٦٠", "６０", "६०"])
def test_a_threshold_in_other_scripts_digits_is_refused_not_read(world: World, digits: str) -> None:
    with pytest.raises(Refused, match="whole number"):
        world.service.request_change("threshold", digits, actor=REP)
    assert world.service.pending_requests() == []


def test_approvals_refuse_non_managers_and_own_requests_and_are_idempotent(world: World) -> None:
    request = world.service.request_change("threshold", "60", actor=BOSS).request
    with pytest.raises(Refused):
        world.service.decide(request.id, approve=True, actor=REP)
    with pytest.raises(Refused):
        world.service.decide(request.id, approve=True, actor=BOSS)  # own request
    done = world.service.decide(request.id, approve=True, actor=BOSS2)
    assert done.changed and world.service.settings().threshold == 60
    again = world.service.decide(request.id, approve=False, actor=BOSS2)
    assert not again.changed and world.service.settings().threshold == 60
    kinds = [e.kind for e in world.store.audit_since(None)]
    assert kinds.count("change_approved") == 1


def test_requests_expire_after_seven_days(world: World) -> None:
    request = world.service.request_change("threshold", "70", actor=REP).request
    world.clock.tick(timedelta(days=7).total_seconds())
    decision = world.service.decide(request.id, approve=True, actor=BOSS)
    assert decision.outcome is DecisionOutcome.EXPIRED
    assert not decision.changed and "expired" in decision_text(decision)
    assert world.service.settings().threshold == 50
    assert world.service.pending_requests() == []


def test_restore_needs_a_tombstone(world: World) -> None:
    cid = world.member(90, email="r@x.com", lastname="R")
    world.sync()
    with pytest.raises(Refused):
        world.service.restore(f"hubspot:{cid}", actor=BOSS)  # linked, not a tombstone
    with pytest.raises(Refused):
        world.service.restore("tag:x", actor=BOSS)
    (lead,) = world.sell.of_kind("lead")
    world.sell.delete("lead", lead.id)
    world.sync(full=True)
    assert world.link_of_hubspot(cid).state is LinkState.TOMBSTONED
    restored = world.service.restore("r@x.com", actor=BOSS)
    assert restored.hubspot_id == cid and world.link_of_hubspot(cid) is None


def test_summary_counts_everything_since_a_time(world: World) -> None:
    world.member(80, email="a@x.com", lastname="A")
    start = world.clock.now()
    world.sync()
    request = world.service.request_change("threshold", "55", actor=REP).request
    world.service.decide(request.id, approve=True, actor=BOSS)
    summary = world.service.summary_since(start)
    assert summary.counts["created_in_sell"] == 1 and summary.runs == 1
    assert summary.setting_changes == [
        SettingChange(ChangeKind.SETTING, "threshold=55", approved_by="U_BOSS")
    ]
    later = world.service.summary_since(world.clock.tick(1))
    assert later.empty


def test_push_with_nothing_to_push_is_refused(world: World) -> None:
    with pytest.raises(Refused):
        world.service.push([], actor=REP)
    with pytest.raises(Refused):
        world.service.push(["  "], actor=REP)


def test_only_managers_run(world: World) -> None:
    with pytest.raises(Refused):
        world.service.run(actor=REP)
    assert isinstance(world.service, SyncService)
    assert world.service.run(actor=REP, dry_run=True).dry_run


def test_a_record_to_push_is_told_the_command_of_the_place_it_is_read_in(world: World) -> None:
    lead = world.sell.add("lead", email="new@x.com", last_name="New")
    explanation = world.service.explain(f"lead:{lead}")
    assert explanation.kind is Verdict.NOT_LINKED and explanation.record is not None
    assert str(explanation.record.ref) == f"lead:{lead}"
    slack = explanation_message(explanation).text or ""
    assert f"push it with /sellsync push lead:{lead}" in slack
    terminal = render_explanation(explanation)
    assert f"push it with sellsync push lead:{lead}" in terminal and "/sellsync" not in terminal
    assert explanation_dict(explanation)["kind"] == "not_linked"


def test_status_of_a_member_says_what_the_sync_does_with_it(world: World) -> None:
    nomail = world.member(90, lastname="Nomail")
    report = world.sync()
    assert [s.reason for s in report.plan.skipped] == ["no email"]
    skipped = world.service.explain(f"hubspot:{nomail}")
    assert skipped.kind is Verdict.SKIPPED and skipped.skip == "no email"
    assert verdict_text(skipped) == "not synced: it qualifies, but a sync skips it: no email"
    assert "Score: score 90 meets the threshold 50" in explanation_facts(skipped)
