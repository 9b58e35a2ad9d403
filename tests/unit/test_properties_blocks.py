"""Property tests of the escaping every message relies on: whatever a person, a CRM or an error
puts in a string, it reaches Slack as text (no mention, link or broken entity), and a quoted text
cannot leave its quote."""

from __future__ import annotations

from datetime import UTC, datetime

from hypothesis import example, given, settings
from hypothesis import strategies as st

from bot.blocks.common import clip, escape, quote
from bot.blocks.runs import failure_alert, run_finished
from bot.blocks.threshold import request_message
from bot.parsing import unescape
from sync.ports import ChangeRequest
from sync.report import FailureKind, SyncReport

PROPERTIES = settings(max_examples=300, deadline=None, database=None)
T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)

hostile = st.one_of(
    st.text(max_size=200),
    st.text(alphabet="<>&|!@#*_~`\n\r\u2028\u2029\x0b\x0c\x1c\x85 ab", max_size=60),
    st.sampled_from(["<!channel>", "<https://evil|Click>", "<@U123>", "&lt;!here&gt;"]),
)


@PROPERTIES
@given(hostile)
def test_escaped_text_has_no_markup_and_reads_back_the_same(text: str) -> None:
    escaped = escape(text)
    assert "<" not in escaped and ">" not in escaped
    assert unescape(escaped) == text


@PROPERTIES
@given(hostile, st.integers(min_value=1, max_value=300))
def test_clipping_escaped_text_never_cuts_an_entity(text: str, limit: int) -> None:
    clipped = clip(escape(text), limit)
    assert len(clipped) <= max(limit, 1)
    amp = clipped.rfind("&")
    assert amp < 0 or ";" in clipped[amp:]


@PROPERTIES
@given(hostile)
@example("ok\n*Approved by Head of Sales*")
def test_every_line_of_a_quote_stays_in_the_quote(text: str) -> None:
    for line in quote(text).split("\n"):
        assert line.startswith("> ")
        assert "<" not in line and ">" not in line[1:]


@PROPERTIES
@given(hostile.filter(lambda t: t.strip() != ""))
def test_a_request_reason_never_adds_a_line_of_its_own(reason: str) -> None:
    request = ChangeRequest(
        id=1,
        setting="threshold",
        new_value="60",
        old_value="50",
        requested_by="UREP1",
        reason=reason,
        status="pending",
        created_at=T0,
        decided_by=None,
        decided_at=None,
        channel="C1",
        message_ts="1.1",
    )
    text = request_message(request).to_dict()["blocks"][0]["text"]["text"]
    head, *rest = text.split("\n")
    assert head.startswith(":scales: *Request #1*")
    assert all(line.startswith("> ") or line.endswith("…") for line in rest)


@PROPERTIES
@given(
    st.text(min_size=6, max_size=200).filter(lambda t: t.strip() != ""),
    st.sampled_from(FailureKind),
)
def test_a_failed_runs_messages_never_repeat_the_errors_text(error: str, kind: FailureKind) -> None:
    marker = f"LEAK{error}"
    report = SyncReport(trigger="schedule", dry_run=False, started_at=T0, finished_at=T0)
    report.failure, report.failure_kind = marker, kind
    for message in (failure_alert(report), run_finished(report, actor="UMGR1")):
        data = str(message.to_dict())
        assert "LEAK" not in data and escape(marker) not in data
