"""Every message and view the app can build passes ``to_dict()`` and stays within Slack's limits,
whatever the data: 500 conflicts, 1,000 skipped records, values full of ``<``, ``&`` and
kilobytes of text."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from slack_sdk.models.views import View

from bot import action_ids as ids
from bot.blocks.common import (
    MAX_MESSAGE_BLOCKS,
    MAX_VIEW_BLOCKS,
    Message,
    clip,
    code,
    context,
    escape,
    invalid_input,
    notice,
    plural,
    quote,
    section,
    when,
)
from bot.blocks.conflicts import PAGE_SIZE, conflicts_message, resolved_note
from bot.blocks.fields import fields_message, mapping_message, restored_message
from bot.blocks.help import help_message
from bot.blocks.home import home_view
from bot.blocks.links import RecordUrls, link
from bot.blocks.modals import push_modal
from bot.blocks.push import push_result, push_started
from bot.blocks.runs import (
    failure_alert,
    recovered_message,
    run_finished,
    run_in_progress,
    run_progress,
    summary_fields,
    summary_message,
)
from bot.blocks.status import explanation_message, status_message
from bot.blocks.threshold import (
    decision_text,
    pending_line,
    request_closed_message,
    request_message,
    request_preview,
    requester_notice,
    threshold_message,
)
from bot.listeners import user_message
from bot.parsing import USAGE
from sync.domain import (
    Conflict,
    ConflictStatus,
    HubSpotContact,
    Link,
    LinkState,
    Outcome,
    SellRef,
    Skip,
)
from sync.errors import SyncError
from sync.mapping import MappingCheck
from sync.plan import RecordDecision
from sync.ports import ChangeRequest, RunRecord
from sync.push import parse_items
from sync.report import FailureKind, SyncReport
from sync.service import (
    Actor,
    ChangeKind,
    ConflictPage,
    Decision,
    DecisionOutcome,
    Explanation,
    FieldRow,
    HeldLink,
    HeldLinkPage,
    ImpactRow,
    Refused,
    RequestResult,
    SettingChange,
    StatusView,
    Summary,
    ThresholdImpact,
    Verdict,
)
from tests.conftest import World
from tests.scenario.conftest import limit_problems

T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
NASTY = "<!channel> <https://evil|Click> & <@U1> *bold* `tick` " + "é" * 50 + "x" * 9000
#: What hostile text must never become in a message: live markup (a mention or a link).
LIVE_MARKUP = ("<!channel>", "<https://evil", "<@U1>")


def report(n_skipped: int = 3, *, failure: str | None = None, nasty: bool = False) -> SyncReport:
    r = SyncReport(
        trigger="push:UREP1", dry_run=False, started_at=T0, finished_at=T0 + timedelta(seconds=3)
    )
    for i in range(1, 4):
        r.applied.add(
            RecordDecision(
                (Outcome.CREATED_IN_HUBSPOT,), SellRef("lead", i), f"51{i}", "new HubSpot contact"
            )
        )
    r.applied.add(
        RecordDecision(
            (Outcome.MERGED,), SellRef("contact", 9), "519", "merged" + (NASTY if nasty else "")
        )
    )
    for i in range(n_skipped):
        r.applied.skipped.append(Skip(f"lead:{100 + i}" + (NASTY if nasty else ""), "no email"))
    r.errors.append(Skip("lead:99", "HubSpot refused: " + (NASTY if nasty else "bad phone")))
    r.failure = failure
    return r


def run_record(i: int = 1, status: str = "ok", error: str | None = None) -> RunRecord:
    return RunRecord(
        i,
        T0,
        T0 + timedelta(seconds=5),
        "schedule",
        status,
        {"created_in_sell": 4, "skipped:no email": 2},
        error,
    )


def status_view(**changes: Any) -> StatusView:
    values: dict[str, Any] = {
        "threshold": 50,
        "list_id": "7",
        "last_run": run_record(),
        "next_run": T0 + timedelta(minutes=15),
        "open_conflicts": 3,
        "pending_requests": 1,
        "links": {"active": 10, "tombstoned": 1},
        "recent_runs": [
            run_record(i, s) for i, s in enumerate(["ok", "errors", "failed", "running"] * 3)
        ],
    }
    values.update(changes)
    return StatusView(**values)


def impact(proposed: int | None = 60) -> ThresholdImpact:
    rows = [ImpactRow(t, 100 - t, 50 - t // 2) for t in (30, 40, 45, 50, 55, 60, 70)]
    return ThresholdImpact(50, proposed, 300, 270, 120, 3, rows)


def request(
    i: int = 1, status: str = "pending", reason: str = "more leads", **changes: Any
) -> ChangeRequest:
    values: dict[str, Any] = {
        "id": i,
        "setting": "threshold",
        "new_value": "60",
        "old_value": "50",
        "requested_by": "UREP1",
        "reason": reason,
        "status": status,
        "created_at": T0,
        "decided_by": "UMGR1" if status in ("approved", "rejected") else None,
        "decided_at": T0 + timedelta(hours=1) if status != "pending" else None,
        "channel": "C0APPROVALS",
        "message_ts": "1.000001",
    }
    values.update(changes)
    return ChangeRequest(**values)


def conflict(i: int, value: str = "+1 555 0100") -> Conflict:
    return Conflict(
        SellRef("lead", i), f"51{i}", "phone", value, value[::-1] + "9", ConflictStatus.OPEN, i, T0
    )


def conflict_pages(total: int) -> Iterator[ConflictPage]:
    everything = [conflict(i) for i in range(1, total + 1)]
    for offset in range(0, max(total, 1), PAGE_SIZE):
        yield ConflictPage(everything[offset : offset + PAGE_SIZE], total, offset, PAGE_SIZE)


def summary(empty: bool = False) -> Summary:
    if empty:
        return Summary(T0, T0 + timedelta(days=1), {}, {}, [], 0, 0)
    return Summary(
        T0,
        T0 + timedelta(days=1),
        {
            "created_in_sell": 12,
            "created_in_hubspot": 3,
            "merged": 2,
            "conflict_opened": 4,
            "error": 1,
        },
        {f"reason {i} " + "y" * 100: i for i in range(30)},
        [
            SettingChange(ChangeKind.SETTING, f"threshold=6{i}", approved_by="UMGR1")
            for i in range(20)
        ]
        + [SettingChange(ChangeKind.FIELD_MAPPED, "region", NASTY)],
        96,
        2,
    )


def every_message() -> Iterator[tuple[str, Message]]:
    yield "help", help_message()
    yield "invalid", invalid_input("threshold must be a whole number, not 'abc'", USAGE)
    yield "notice", notice(NASTY)
    yield "push started", push_started(1000)
    for n in (0, 3, 1000):
        yield f"push result {n} skipped", push_result(report(n))
    yield "push result nasty", push_result(report(1000, nasty=True))
    yield "push failed", push_result(report(2, failure="HubSpot 503: unavailable"))
    yield "status", status_message(status_view())
    yield (
        "status empty",
        status_message(status_view(last_run=None, next_run=None, links={}, recent_runs=[])),
    )
    link = Link(SellRef("lead", 1), "511", LinkState.TOMBSTONED, last_synced_at=T0)
    yield (
        "explanation",
        explanation_message(
            Explanation(
                "lead:1",
                Verdict.NOT_QUALIFIED,
                link,
                [conflict(i, NASTY) for i in range(30)],
                contact=HubSpotContact("511", {"email": NASTY}),
                score=NASTY,
                list_id=NASTY,
                in_list=False,
                reason=NASTY,
            )
        ),
    )
    yield "threshold", threshold_message(impact(None))
    yield (
        "preview",
        request_preview(
            RequestResult(request(reason=NASTY), [request(0)], impact()), channel="C0APPROVALS"
        ),
    )
    yield "preview no channel", request_preview(RequestResult(request(), [], None), channel=None)
    yield "request", request_message(request(reason=NASTY), impact())
    for status in ("approved", "rejected", "expired", "superseded", "weird"):
        yield f"closed {status}", request_closed_message(request(status=status), superseded_by=2)
        yield f"notice {status}", requester_notice(request(status=status))
    for total in (0, 1, 500):
        for page in conflict_pages(total):
            yield (
                f"conflicts {total} @{page.offset}",
                conflicts_message(page, can_resolve=True, note="note"),
            )
            yield (
                f"conflicts {total} @{page.offset} viewer",
                conflicts_message(page, can_resolve=False),
            )
    nasty_page = ConflictPage([conflict(i, NASTY) for i in range(1, 11)], 10, 0, 10)
    yield "conflicts nasty", conflicts_message(nasty_page, can_resolve=True)
    resolved = Conflict(
        SellRef("lead", 1), "511", "phone", "a", "b", ConflictStatus.KEPT_SELL, 1, T0, "UMGR1", T0
    )
    yield "resolved", Message("x", [notice(resolved_note(resolved, changed=True)).blocks[0]])
    rows = [
        FieldRow(f"prop{i}" + NASTY[:100], f"custom_fields.F{i}", "both", ("lead", "contact"))
        for i in range(200)
    ]
    rows += [FieldRow("region", "custom_fields.Region", "both", ("lead",), "missing", NASTY)]
    yield "fields", fields_message(rows)
    for status in ("ok", "missing", "refused"):
        yield (
            f"mapping {status}",
            mapping_message(MappingCheck(status, NASTY), "region", "Sales region"),
        )
    yield "restored", restored_message(link)
    yield "run started", run_progress("members", report(0), actor="UMGR1")
    yield "run finished", run_finished(report(0), actor="UMGR1")
    many_errors = report(0)
    many_errors.errors = [Skip(f"lead:{i}", NASTY) for i in range(500)]
    many_errors.plan.warnings = [NASTY] * 30
    yield "run finished with errors", run_finished(many_errors, actor="UMGR1")
    yield "run failed", run_finished(report(0, failure=NASTY), actor="schedule")
    yield "run in progress", run_in_progress()
    yield "summary", summary_message(summary())
    yield "summary empty", summary_message(summary(empty=True))
    yield "alert", failure_alert(report(0, failure=NASTY))
    for kind in FailureKind:
        yield f"alert {kind}", failure_alert(None, kind=kind)
    yield "recovered", recovered_message(report(0), failing_since=T0)


def every_view() -> Iterator[tuple[str, View]]:
    yield "modal", push_modal()
    yield (
        "modal from message",
        push_modal(
            items=[f"user{i}@example.com" for i in range(1000)],
            origin=ids.PushOrigin("message", "C1", "1.2"),
        ),
    )
    pending = [request(i, reason=NASTY) for i in range(1, 60)]
    page = next(conflict_pages(500))
    for manager in (True, False):
        yield (
            f"home manager={manager}",
            home_view(status_view(), pending, page, viewer="UMGR1", viewer_is_manager=manager),
        )
    yield (
        "home empty",
        home_view(
            status_view(last_run=None, recent_runs=[]),
            [],
            ConflictPage([], 0, 0, 10),
            viewer="U1",
            viewer_is_manager=False,
        ),
    )


@pytest.mark.parametrize(
    ("name", "message"), list(every_message()), ids=lambda x: x if isinstance(x, str) else ""
)
def test_every_message_passes_to_dict_and_slack_limits(name: str, message: Message) -> None:
    blocks = [b.to_dict() for b in message.blocks]  # raises SlackObjectFormationError if invalid
    assert 0 < len(blocks) <= MAX_MESSAGE_BLOCKS, name
    assert limit_problems(blocks, MAX_MESSAGE_BLOCKS) == [], name
    assert message.text and len(message.text) <= 3000


@pytest.mark.parametrize(
    ("name", "view"), list(every_view()), ids=lambda x: x if isinstance(x, str) else ""
)
def test_every_view_passes_to_dict_and_slack_limits(name: str, view: View) -> None:
    data = view.to_dict()
    assert 0 < len(data["blocks"]) <= MAX_VIEW_BLOCKS, name
    assert limit_problems(data["blocks"], MAX_VIEW_BLOCKS) == [], name


def test_a_list_of_500_conflicts_takes_50_pages_each_with_resolution_buttons_and_a_pager() -> None:
    pages = list(conflict_pages(500))
    assert len(pages) == 50
    for page in pages:
        data = conflicts_message(page, can_resolve=True).to_dict()
        actions = [b for b in data["blocks"] if b["type"] == "actions"]
        assert (
            len([a for a in actions if a.get("block_id", "").startswith("conflict:")]) == PAGE_SIZE
        )
        pager = [a for a in actions if a.get("block_id") == ids.PAGER_BLOCK]
        assert pager, page.offset
        buttons = {e["action_id"]: ids.decode_page(e["value"]) for e in pager[0]["elements"]}
        if page.offset:
            assert buttons[ids.CONFLICTS_PREV] == page.offset - PAGE_SIZE
        if page.offset + PAGE_SIZE < 500:
            assert buttons[ids.CONFLICTS_NEXT] == page.offset + PAGE_SIZE
        else:
            assert ids.CONFLICTS_NEXT not in buttons
    last = conflicts_message(pages[-1], can_resolve=True).to_dict()
    assert "491–500 of 500" in last["blocks"][0]["text"]["text"]


def test_conflict_buttons_carry_the_conflict_and_its_page() -> None:
    page = list(conflict_pages(30))[1]
    data = conflicts_message(page, can_resolve=True).to_dict()
    values = [
        ids.decode_conflict(e["value"])
        for b in data["blocks"]
        if b.get("block_id", "").startswith("conflict:")
        for e in b["elements"]
    ]
    assert {v.conflict_id for v in values if v} == set(range(11, 21))
    assert {v.offset for v in values if v} == {10}


def test_viewers_who_are_not_managers_get_no_resolution_buttons() -> None:
    data = conflicts_message(next(conflict_pages(5)), can_resolve=False).to_dict()
    ids_seen = [
        e["action_id"] for b in data["blocks"] if b["type"] == "actions" for e in b["elements"]
    ]
    assert not set(ids_seen) & set(ids.CONFLICT_ACTIONS)
    assert "Only managers" in str(data)


def test_push_result_names_every_record_not_pushed_with_its_reason() -> None:
    r = report(5)
    text = str(push_result(r).to_dict())
    for i in range(5):
        assert f"lead:{100 + i}" in text
    assert "no email" in text and "lead:99" in text and "bad phone" in text


def test_push_result_of_1000_skips_stays_within_50_blocks_and_says_how_many_are_left_out() -> None:
    data = push_result(report(1000, nasty=True)).to_dict()
    assert len(data["blocks"]) <= MAX_MESSAGE_BLOCKS
    text = str(data)
    assert "more" in text and "Not created or linked (1,001)" in text


def test_user_data_cannot_mention_or_link() -> None:
    data = str(
        conflicts_message(
            ConflictPage([conflict(1, "<!channel> <@U1>")], 1, 0, 10), can_resolve=True
        ).to_dict()
    )
    assert "<!channel>" not in data and "<@U1>" not in data
    assert "&lt;!channel&gt;" in data


def test_clip_never_cuts_an_entity_in_half() -> None:
    text = escape("a" * 9 + "<b")
    clipped = clip(text, 12)
    assert clipped.endswith("…") and "&l…" not in clipped and len(clipped) <= 12


def test_code_shows_empty_values_and_keeps_one_line() -> None:
    assert code(None) == "_empty_" and code("  ") == "_empty_"
    assert code("a\nb`c") == "`a b'c`"


def test_approval_message_has_approve_and_reject_for_its_request_and_none_once_closed() -> None:
    pending = request_message(request(7)).to_dict()
    buttons = {
        e["action_id"]: e["value"]
        for b in pending["blocks"]
        if b["type"] == "actions"
        for e in b["elements"]
    }
    assert buttons == {ids.APPROVE: "req:7", ids.REJECT: "req:7"}
    closed = request_closed_message(request(7, status="approved")).to_dict()
    assert not [b for b in closed["blocks"] if b["type"] == "actions"]
    assert "Approved by <@UMGR1>" in str(closed) and "<!date^" in str(closed)


def test_the_home_tab_shows_buttons_only_for_others_requests_to_managers() -> None:
    mine, theirs = request(1, requested_by="UMGR1"), request(2, requested_by="UREP1")
    view = home_view(
        status_view(),
        [mine, theirs],
        ConflictPage([], 0, 0, 10),
        viewer="UMGR1",
        viewer_is_manager=True,
    ).to_dict()
    request_blocks = [b["block_id"] for b in view["blocks"] if b["type"] == "actions"]
    assert request_blocks == [ids.request_block(2)]


# --------------------------------------------------------------------------- links, "and N more",
# plurals, paging and the run history (issue 10 item 8)


def hubspot_url(cid: str) -> str:
    return f"https://app.hubspot.com/contacts/4242/record/0-1/{cid}"


HUBSPOT_URLS = RecordUrls(hubspot=hubspot_url)


def test_link_escapes_its_label_and_refuses_a_url_that_would_break_out_of_the_link() -> None:
    assert link("https://example.com/1", "<!channel> & *x*") == (
        "<https://example.com/1|&lt;!channel&gt; &amp; *x*>"
    )
    assert link("https://example.com/a|<!channel>", "x") == "`x`"
    assert link("https://example.com/a b", "x") == "`x`"
    assert link("javascript:alert(1)", "x") == "`x`"
    assert link(None, "lead:1") == "`lead:1`"


def test_sell_links_open_the_record_and_paste_back_into_a_push() -> None:
    for ref in (SellRef("lead", 12), SellRef("contact", 7)):
        text = RecordUrls().sell_link(ref)
        url = text[1 : text.index("|")]
        assert text == f"<{url}|{ref}>" and url == ref.web_url
        assert parse_items([url]).refs == (ref,)  # a reader can paste it into /sellsync push
    assert RecordUrls().sell_link("not a ref <!here>") == "`not a ref &lt;!here&gt;`"


def test_hubspot_links_need_the_portal_and_run_items_are_linked_when_they_name_a_record() -> None:
    assert RecordUrls().hubspot_link("901") == "`901`"
    assert HUBSPOT_URLS.hubspot_link("901") == f"<{hubspot_url('901')}|901>"
    assert HUBSPOT_URLS.item_link("HubSpot 901") == f"HubSpot <{hubspot_url('901')}|901>"
    assert HUBSPOT_URLS.item_link("lead:3") == f"<{SellRef('lead', 3).web_url}|lead:3>"
    assert HUBSPOT_URLS.item_link("jane@example.com") == "`jane@example.com`"


def test_push_result_links_each_record_to_sell_and_hubspot() -> None:
    text = str(push_result(report(1), urls=HUBSPOT_URLS).to_dict())
    for i in range(1, 4):
        assert (
            f"<{SellRef('lead', i).web_url}|lead:{i}> → HubSpot <{hubspot_url(f'51{i}')}|51{i}>"
            in text
        )
    assert f"<{SellRef('contact', 9).web_url}|contact:9>" in text
    assert f"<{SellRef('lead', 100).web_url}|lead:100> — no email" in text  # not pushed, linked too


def test_conflicts_link_both_records_and_the_resolution_note_links_the_sell_record() -> None:
    page = ConflictPage([conflict(1)], 1, 0, 10)
    text = str(conflicts_message(page, can_resolve=True, urls=HUBSPOT_URLS).to_dict())
    assert f"<{SellRef('lead', 1).web_url}|lead:1> ↔ HubSpot <{hubspot_url('511')}|511>" in text
    resolved = Conflict(SellRef("lead", 1), "511", "phone", "a", "b", ConflictStatus.DISMISSED, 1)
    assert f"<{SellRef('lead', 1).web_url}|lead:1>" in resolved_note(
        resolved, changed=True, urls=HUBSPOT_URLS
    )


def test_status_of_a_linked_record_links_both_records() -> None:
    link_ = Link(SellRef("contact", 4), "77", last_synced_at=T0)
    text = str(
        explanation_message(
            Explanation("contact:4", Verdict.SYNCED, link_), urls=HUBSPOT_URLS
        ).to_dict()
    )
    assert (
        f"Sell <{SellRef('contact', 4).web_url}|contact:4> ↔ HubSpot <{hubspot_url('77')}|77>"
        in text
    )


def test_a_finished_run_links_its_errors_and_counts_the_warnings_it_leaves_out() -> None:
    r = report(0)
    r.errors = [Skip("lead:5", "Sell refused: bad phone"), Skip("HubSpot 88", "invalid email")]
    r.plan.warnings = [f"warning {i}" for i in range(30)]
    data = run_finished(r, actor="UMGR1", urls=HUBSPOT_URLS).to_dict()
    text = str(data)
    assert f"<{SellRef('lead', 5).web_url}|lead:5> — Sell refused" in text
    assert f"HubSpot <{hubspot_url('88')}|88> — invalid email" in text
    warnings = data["blocks"][-1]["elements"]
    assert len(warnings) == 10
    assert [w["text"] for w in warnings[:9]] == [f":warning: warning {i}" for i in range(9)]
    assert warnings[-1]["text"] == "…and 21 more warnings"
    r.plan.warnings = ["only one"]
    assert "more" not in str(run_finished(r, actor="UMGR1").to_dict()["blocks"][-1])


def test_counts_are_said_with_the_right_plural() -> None:
    assert plural(1, "run") == "1 run" and plural(2, "run") == "2 runs"
    assert plural(1_000, "entry", "entries") == "1,000 entries"
    one_run = Summary(T0, T0 + timedelta(days=1), {"merged": 1}, {}, [], 1, 0)
    text = str(summary_message(one_run).to_dict())
    assert "· 1 run" in text and "1 runs" not in text
    assert conflicts_message(ConflictPage([conflict(1)], 1, 0, 10), can_resolve=True).text == (
        "1 open conflict"
    )
    one = status_message(status_view(open_conflicts=1, pending_requests=1)).text
    assert "1 open conflict," in one and "1 pending approval" in one and "approvals" not in one
    assert fields_message([FieldRow("phone", "phone", "both", ("lead",))]).text == "1 synced field"
    modal = str(
        push_modal(items=["a@b.co"], origin=ids.PushOrigin("message", "C1", "1.2")).to_dict()
    )
    assert "I found 1 item in the message" in modal
    lone = ThresholdImpact(50, None, 1, 1, 0, 0, [ImpactRow(50, 1, 1)], as_of=T0)
    lone_text = str(threshold_message(lone).to_dict())
    assert "1 list member:" in lone_text and "1 of the others has a numeric score" in lone_text


def pager(page: ConflictPage) -> dict[str, int | None]:
    data = conflicts_message(page, can_resolve=True).to_dict()
    blocks = [b for b in data["blocks"] if b.get("block_id") == ids.PAGER_BLOCK]
    return {e["action_id"]: ids.decode_page(e["value"]) for b in blocks for e in b["elements"]}


def test_the_pager_never_leads_to_an_empty_page() -> None:
    # a page past the end (an old button, a hand-typed page): Previous goes to the last page
    assert pager(ConflictPage([], 25, 9_980, 10)) == {ids.CONFLICTS_PREV: 20}
    # the last page offers no Next; a full last page neither
    assert pager(ConflictPage([conflict(i) for i in range(5)], 25, 20, 10)) == {
        ids.CONFLICTS_PREV: 10
    }
    assert pager(ConflictPage([conflict(i) for i in range(10)], 20, 10, 10)) == {
        ids.CONFLICTS_PREV: 0
    }
    head = conflicts_message(ConflictPage([conflict(1)], 25, 20, 10), can_resolve=True)
    assert "21–21 of 25 · page 3 of 3" in str(head.to_dict())


def test_the_home_tab_has_a_run_history_with_trigger_status_counts_and_when() -> None:
    runs = [
        RunRecord(3, T0, T0 + timedelta(seconds=42), "manual", "ok", {"created_in_sell": 2}),
        RunRecord(2, T0, None, "schedule", "running", {}),
        RunRecord(1, T0, T0 + timedelta(seconds=1), "cli", "failed", {}, "HubSpot 401:\nbad token"),
    ]
    view = home_view(
        status_view(recent_runs=runs),
        [],
        ConflictPage([], 0, 0, 10),
        viewer="U1",
        viewer_is_manager=False,
    ).to_dict()
    text = str(view)
    assert "*Run history* (3 recent runs)" in text
    assert (
        f"• :white_check_mark: ok · {when(T0)} · from Slack · created in Sell *2* · took 42s"
    ) in text
    assert f"• :arrows_counterclockwise: running · {when(T0)} · on schedule · no changes\\n" in text
    assert (
        f"• :x: failed · {when(T0)} · from the command line · no changes · took 1s — "
        "_the error is in `sellsync runs` on the server_"
    ) in text
    assert "bad token" not in text  # an error's text can hold record data: it stays on the server


def test_the_home_tab_says_how_many_conflicts_it_does_not_list() -> None:
    page = next(conflict_pages(23))
    view = home_view(
        status_view(), [], page, viewer="U1", viewer_is_manager=False, urls=HUBSPOT_URLS
    )
    text = str(view.to_dict())
    assert "…and 18 more. Review and resolve them" in text
    assert f"<{SellRef('lead', 1).web_url}|lead:1>" in text
    few = home_view(
        status_view(), [], next(conflict_pages(2)), viewer="U1", viewer_is_manager=False
    )
    assert "more" not in str(few.to_dict()).split("Open conflicts")[1].split("Run history")[0]


def test_every_stage_of_a_run_is_said_in_words() -> None:
    for stage, words in (("start", "starting"), ("full check", "checking every link")):
        assert f"{words}…" in str(run_progress(stage, report(0), actor="UMGR1").to_dict())


def test_a_restore_and_the_status_of_a_sell_item_link_their_records() -> None:
    restored = Link(SellRef("lead", 3), "53", LinkState.ACTIVE)
    text = str(restored_message(restored, urls=HUBSPOT_URLS).to_dict())
    assert f"<{SellRef('lead', 3).web_url}|lead:3> ↔ HubSpot <{hubspot_url('53')}|53>" in text
    title = explanation_message(Explanation("lead:3", Verdict.NOT_FOUND)).to_dict()
    assert title["blocks"][0]["text"]["text"].startswith(f"*<{SellRef('lead', 3).web_url}|lead:3>*")
    by_email = explanation_message(Explanation("a@b.co", Verdict.NOT_FOUND)).to_dict()
    assert by_email["blocks"][0]["text"]["text"].startswith("*`a@b.co`*")


def test_a_context_or_a_section_with_too_many_parts_says_how_many_it_leaves_out() -> None:
    elements = context(*[f"part {i}" for i in range(12)]).to_dict()["elements"]
    assert len(elements) == 10 and elements[-1]["text"] == "…and 3 more"
    assert elements[-2]["text"] == "part 8"
    fields = section("x", fields=[f"f{i}" for i in range(11)]).to_dict()["fields"]
    assert len(fields) == 10 and fields[-1]["text"] == "…and 2 more"
    assert len(context(*[f"p{i}" for i in range(10)]).to_dict()["elements"]) == 10  # all fit


# --------------------------------------------------------------------------- hostile text


@pytest.mark.parametrize(
    ("name", "message"),
    # notice() takes the app's own mrkdwn (callers escape what they put in it)
    [(n, m) for n, m in every_message() if n != "notice"],
    ids=lambda x: x if isinstance(x, str) else "",
)
def test_hostile_text_is_inert_in_every_message_and_its_notification_text(
    name: str, message: Message
) -> None:
    data = str(message.to_dict())  # the blocks and the notification text alike
    for markup in LIVE_MARKUP:
        assert markup not in data, (name, markup)


@pytest.mark.parametrize(
    ("name", "view"), list(every_view()), ids=lambda x: x if isinstance(x, str) else ""
)
def test_hostile_text_is_inert_in_every_view(name: str, view: View) -> None:
    data = str(view.to_dict())
    for markup in LIVE_MARKUP:
        assert markup not in data, (name, markup)


def test_a_sell_field_name_from_a_mapping_is_escaped_in_the_summary(world: World) -> None:
    from sync.domain import PropertyInfo

    world.hubspot.props["tier"] = PropertyInfo("tier", "Tier", "string", "text")
    hostile = "<!channel> <https://evil|Click>"
    world.service.map_field("tier", hostile, actor=Actor("U0BOSS", is_manager=True))
    world.service.request_change("threshold", "60", actor=Actor("U0REP"), reason="more")
    pending = world.store.pending_requests()
    world.service.decide(pending[0].id, approve=True, actor=Actor("U0BOSS", is_manager=True))
    data = str(summary_message(world.service.summary_since(None)).to_dict())
    assert "<!channel>" not in data and "<https://evil" not in data
    assert "&lt;!channel&gt; &lt;https://evil|Click&gt;" in data
    assert "(approved by <@U0BOSS>)" in data  # the approver stays a real mention


FORGED = "more leads\n*Approved by Head of Sales* :white_check_mark:\n\n<!here> too\r\nend"


def quoted_lines(text: str, marker: str) -> list[str]:
    """The lines of ``text`` that hold ``marker``."""
    return [line for line in text.splitlines() if marker in line]


@pytest.mark.parametrize(
    "build",
    [
        lambda r: request_message(r),
        lambda r: request_closed_message(r),
        lambda r: Message("x", [section(pending_line(r))]),
    ],
    ids=["approval", "closed", "home"],
)
def test_a_multi_line_reason_stays_inside_its_quote(build: Any) -> None:
    data = build(request(reason=FORGED)).to_dict()
    texts = [b["text"]["text"] for b in data["blocks"] if b["type"] == "section"]
    (text,) = [t for t in texts if "Head of Sales" in t]
    for marker in ("more leads", "Approved by Head of Sales", "too", "end"):
        (line,) = quoted_lines(text, marker)
        assert line.startswith("> "), line
    assert "<!here>" not in text and "&lt;!here&gt;" in text
    # the lines after the quote are the app's own again
    assert not any(line.startswith(">") for line in text.split("end", 1)[1].splitlines())


def test_quote_puts_every_line_behind_its_own_marker() -> None:
    assert quote("a\nb") == "> a\n> b"
    assert quote("x\u2028*forged*") == "> x\n> *forged*"
    assert quote("") == "> "


def test_a_failed_run_posts_its_kind_and_where_to_look_not_its_text() -> None:
    leaked = "(psycopg.errors.UniqueViolation) INSERT INTO links VALUES ('jane@example.com')"
    r = report(0, failure=leaked)
    r.failure_kind = FailureKind.DATABASE
    for message in (run_finished(r, actor="UMGR1"), push_result(r), failure_alert(r)):
        data = str(message.to_dict())
        assert "jane@example.com" not in data and "INSERT" not in data
        assert "database" in data and "sellsync status" in data


@pytest.mark.parametrize("kind", list(FailureKind))
def test_every_failure_kind_has_its_own_words(kind: FailureKind) -> None:
    text = failure_alert(None, kind=kind).text
    others = [failure_alert(None, kind=k).text for k in FailureKind if k != kind]
    assert text not in others


@pytest.mark.parametrize(
    "error",
    [
        Refused("no Sell record <!channel> <https://evil|Click>"),
        SyncError("HubSpot 400: <!channel> is not a valid value"),
    ],
)
def test_an_error_told_to_the_user_is_escaped(error: Exception) -> None:
    text = user_message(error, "ref")
    assert "<!channel>" not in text and "<https://evil" not in text and "&lt;!channel&gt;" in text


def test_the_status_and_home_tab_keep_a_failed_runs_error_on_the_server() -> None:
    leaked = "(sqlite3.IntegrityError) INSERT INTO links VALUES ('jane@example.com', 'Jane Doe')"
    failed = run_record(status="failed", error=leaked)
    view = status_view(last_run=failed, recent_runs=[failed])
    shown = [
        str(status_message(view).to_dict()),
        str(
            home_view(
                view, [], ConflictPage([], 0, 0, 10), viewer="U1", viewer_is_manager=False
            ).to_dict()
        ),
    ]
    for data in shown:
        assert "jane@example.com" not in data and "INSERT" not in data
        assert "sellsync status --json" in data


def test_a_click_on_a_request_already_decided_names_who_decided_it_with_a_live_mention() -> None:
    already = Decision(request(7, status="approved"), DecisionOutcome.ALREADY_CLOSED)
    assert decision_text(already) == "request #7 was already approved by <@UMGR1>"
    decided = Decision(request(7, status="rejected"), DecisionOutcome.DECIDED)
    assert decision_text(decided) == "threshold change to 60 rejected"
    raced = Decision(request(7, status="approved"), DecisionOutcome.DECIDED_MEANWHILE)
    assert decision_text(raced) == "request #7 was already approved"
    expired = Decision(request(7, status="expired"), DecisionOutcome.EXPIRED)
    assert decision_text(expired) == "request #7 expired after 7 days"
    hostile = Decision(
        request(7, status="approved", decided_by=NASTY), DecisionOutcome.ALREADY_CLOSED
    )
    assert not any(markup in decision_text(hostile) for markup in LIVE_MARKUP)


def _held_links(n: int, *, owned: bool = True) -> HeldLinkPage:
    items = [
        HeldLink(
            Link(SellRef("lead", 100 + i), str(900 + i), LinkState.HELD),
            Link(SellRef("contact", 200 + i), str(900 + i)) if owned else None,
        )
        for i in range(min(n, 5))
    ]
    return HeldLinkPage(items, n)


def test_l2_link_conflicts_show_both_records_and_a_choice_for_managers_only() -> None:
    page = next(conflict_pages(30))
    links = _held_links(7)
    data = conflicts_message(page, can_resolve=True, links=links, urls=HUBSPOT_URLS).to_dict()
    assert limit_problems(data["blocks"], 50) == []
    text = str(data)
    assert "*Link conflicts* (7)" in text and "…and 2 more" in text
    assert f"<{SellRef('lead', 100).web_url}|lead:100>" in text
    assert f"<{SellRef('contact', 200).web_url}|contact:200>" in text
    choices = [
        ids.decode_link_choice(e["value"])
        for b in data["blocks"]
        if b.get("block_id", "").startswith("link:")
        for e in b["elements"]
    ]
    assert ids.LinkChoice(SellRef("lead", 100), SellRef("lead", 100)) in choices
    assert ids.LinkChoice(SellRef("lead", 100), SellRef("contact", 200)) in choices
    rep = conflicts_message(page, can_resolve=False, links=links).to_dict()
    assert not [b for b in rep["blocks"] if b.get("block_id", "").startswith("link:")]
    assert "*Link conflicts* (7)" in str(rep)


def test_l2_a_held_link_whose_survivor_lost_its_link_offers_keep_or_unlink() -> None:
    none = conflicts_message(
        ConflictPage([], 0, 0, PAGE_SIZE), can_resolve=True, links=_held_links(1, owned=False)
    ).to_dict()
    actions = [
        e["action_id"] for b in none["blocks"] if b["type"] == "actions" for e in b["elements"]
    ]
    assert actions == [ids.KEEP_HELD_LINK, ids.UNLINK_HELD]
    assert ":tada:" not in str(none)  # not "no conflicts" while a link conflict waits


def test_l2_the_home_tab_lists_link_conflicts() -> None:
    view = home_view(
        status_view(),
        [],
        next(conflict_pages(2)),
        _held_links(1),
        viewer="U1",
        viewer_is_manager=True,
        urls=HUBSPOT_URLS,
    ).to_dict()
    assert limit_problems(view["blocks"], MAX_VIEW_BLOCKS) == []
    assert any(b.get("block_id") == "link:lead:100" for b in view["blocks"])


def test_l2_a_summary_shows_lifecycle_counts_only_when_they_happened() -> None:
    quiet = summary_fields({"created_in_sell": 2})
    assert len(quiet) == 10 and not any("Merged in HubSpot" in f for f in quiet)
    busy = summary_fields({"hubspot_merged": 3, "link_conflict": 1, "converted": 2})
    assert "*Merged in HubSpot*\n3" in busy and "*Link conflicts*\n1" in busy
    assert "*Leads converted*\n2" in busy
