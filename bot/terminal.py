"""What the command line shows: a live progress display for syncs, and the text of its answers.

The terminal counterpart of ``bot/blocks`` (pure functions from service values to text), plus
:class:`SyncProgress`. On a terminal the progress is a `rich` live bar that disappears when the
run ends; anywhere else (a pipe, a CI log, cron mail) it is one plain line whenever the stage
changes and every few seconds in between, so logs stay readable and never fill with redraws.
Progress goes to stderr: stdout carries only the answer (and stays valid JSON with ``--json``).
"""

from __future__ import annotations

import csv
import json
import re
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime
from types import TracebackType
from typing import IO, Any

from rich.console import Console
from rich.progress import (
    BarColumn,
    Progress,
    SpinnerColumn,
    TaskProgressColumn,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Table
from rich.text import Text

from bot.blocks.common import counted_outcomes, outcome_label, plural, stamp, trigger_text
from bot.blocks.sell_mode import MODE_WORDS
from bot.blocks.status import explanation_facts, verdict_text
from bot.settings_text import how_to
from sync.api import (
    AuditEvent,
    AuditTrail,
    ConflictPage,
    Direction,
    Explanation,
    HeldLinkPage,
    Outcome,
    RunRecord,
    ScheduleState,
    StatusView,
    SyncReport,
    field_label,
)

#: A field's direction as the field table prints it.
DIRECTIONS = {Direction.BOTH: "both", Direction.TO_SELL: "HubSpot → Sell"}

#: Skipped records listed one by one before "… and N more" (all with --verbose).
MAX_LISTED = 10

#: Seconds between two plain progress lines when nothing else changed.
PLAIN_INTERVAL = 5.0

RUN_STATUS = {
    "ok": "ok",
    "errors": "finished with errors",
    "failed": "failed",
    "running": "running",
    "interrupted": "interrupted",
}


# --------------------------------------------------------------------------- text from outside

#: Characters a terminal acts on instead of showing: C0 controls (escape, carriage return,
#: backspace…), DEL, C1 controls, the line and paragraph separators and the bidirectional
#: overrides that reorder what is shown.
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]")


def outside(text: object, *, lines: bool = False) -> str:
    """Text from outside (CRM records, what people typed, stored values and errors) as a terminal
    shows it: every control character written as its escape (``\\x1b``, ``\\r``), so no escape
    sequence, cursor move or hidden text reaches the terminal. With ``lines``, line breaks are
    kept (a multi-line text of ours around outside values). Rich tables get it as
    :class:`rich.text.Text` (:func:`_cells`), so ``[link=…]`` or ``[/x]`` is never markup.
    """
    value = str(text)
    if lines:
        return "\n".join(_CONTROL.sub(_escaped, line) for line in value.split("\n"))
    return _CONTROL.sub(_escaped, value)


def _escaped(match: re.Match[str]) -> str:
    return repr(match.group())[1:-1]


def _cells(*values: object) -> list[Text]:
    """A table row of outside text: shown literally, never read as markup or emoji codes."""
    return [Text(outside(v)) for v in values]


# --------------------------------------------------------------------------- small pieces


def counts_text(counts: Mapping[str, int], *, empty: str = "no changes") -> str:
    """``created in Sell 3, merged 1, skipped 4 (no email 4)``: labels, never raw keys."""
    parts = []
    reasons = {k.removeprefix("skipped:"): v for k, v in counts.items() if k.startswith("skipped:")}
    for k in counted_outcomes(counts):
        part = f"{outside(outcome_label(k))} {counts[k]:,}"
        if k == Outcome.SKIPPED.value and reasons:
            part += (
                " (" + ", ".join(f"{outside(r)} {n:,}" for r, n in sorted(reasons.items())) + ")"
            )
        parts.append(part)
    return ", ".join(parts) or empty


def run_error_text(error: str | None) -> str:
    """A stored run error as a person reads it (``KeyboardInterrupt: `` says nothing)."""
    if not error:
        return ""
    name, sep, rest = error.partition(":")
    if name in ("KeyboardInterrupt", "SystemExit", "GeneratorExit"):
        return "interrupted before it finished (Ctrl-C or a stop signal); the next run resumes"
    if sep and not rest.strip() and name.isidentifier():
        return f"stopped by an unexpected {name}; the next run resumes"
    return error.strip()


def took(started: datetime, finished: datetime | None) -> str:
    if finished is None:
        return ""
    seconds = (finished - started).total_seconds()
    return f"{seconds:.0f}s" if seconds < 120 else f"{seconds / 60:.0f} min"


# --------------------------------------------------------------------------- progress

#: A run's steps in the order it takes them (sync/pipeline/sync_run.py): the stages its progress
#: reports, each mapped to its step. The list is read twice: first its ids, later the members
#: never evaluated; the deletion check is one of three stages.
STEPS = (
    "going through the synced list",
    "following lead conversions",
    "reading Sell leads",
    "reading Sell contacts",
    "reading HubSpot changes",
    "importing new list members",
    "checking for deletions",
)
_STEP_OF = {
    "lead conversions": 1,
    "sell leads": 2,
    "sell contacts": 3,
    "hubspot changes": 4,
    "sell sync api": 6,
    "link check": 6,
    "full check": 6,
    "bulk": 6,  # the creations and removals that waited for the bulk guard's count
    "held links": 6,
}


class SyncProgress:
    """The engine's ``progress`` callback for the command line (see the module docstring).

    The known total is the run's steps (:data:`STEPS`): the bar and the plain lines say which
    step of how many runs, and the share of steps done."""

    def __init__(
        self,
        title: str = "Sync",
        *,
        stream: IO[str] | None = None,
        interactive: bool | None = None,
        interval: float = PLAIN_INTERVAL,
        monotonic: Callable[[], float] = time.monotonic,
        console: Console | None = None,
    ) -> None:
        self.title = title
        self.stream = stream if stream is not None else sys.stderr
        self.console = console or Console(file=self.stream, highlight=False)
        self.interactive = self.console.is_terminal if interactive is None else interactive
        self.interval = interval
        self.monotonic = monotonic
        self.started = monotonic()
        self.last_line: float | None = None
        self.last_stage: str | None = None
        self.step: int | None = None  # index in STEPS of the step under way
        self.bar: Progress | None = None
        self.task: Any = None

    def __enter__(self) -> SyncProgress:
        self.started = self.monotonic()
        if self.interactive:
            self.bar = Progress(
                SpinnerColumn(),
                TextColumn("[bold]{task.description}", markup=True),
                BarColumn(),
                TaskProgressColumn(),
                TextColumn("{task.fields[counts]}", markup=False),
                TimeElapsedColumn(),
                console=self.console,
                transient=True,
            )
            self.bar.start()
            self.task = self.bar.add_task(
                f"{self.title}: starting", total=len(STEPS), completed=0, counts=""
            )
        return self

    def _step(self, stage: str) -> int | None:
        """The step a stage belongs to; steps only move forward."""
        if stage == "start":
            return None
        step: int | None
        if stage == "members":
            # the list's ids come first; members read after the HubSpot changes are new ones
            step = 5 if self.step is not None and self.step >= 4 else 0
        else:
            step = _STEP_OF.get(stage)
        if step is None:  # a stage this display does not know: stay where it was
            return self.step
        return max(step, self.step if self.step is not None else 0)

    def __call__(self, stage: str, report: SyncReport) -> None:
        self.step = self._step(stage)
        counts = counts_text(report.counts(), empty="no changes yet")
        if self.step is None:
            doing, where, done = "starting", "", 0
        else:
            doing = STEPS[self.step]
            done = self.step  # the steps before this one are done
            where = f"step {self.step + 1} of {len(STEPS)}, {done * 100 // len(STEPS)}%"
        if self.bar is not None:
            self.bar.update(
                self.task,
                description=f"{self.title}: {doing}"
                + (f" (step {self.step + 1}/{len(STEPS)})" if self.step is not None else ""),
                completed=done,
                counts=counts,
            )
            return
        now = self.monotonic()
        due = self.last_line is None or now - self.last_line >= self.interval
        if stage != self.last_stage or due:
            elapsed = now - self.started
            at = f" ({where})" if where else ""
            print(f"{self.title.lower()}: {doing}{at}; {counts} ({elapsed:.0f}s)", file=self.stream)
            self.stream.flush()
            self.last_line, self.last_stage = now, stage

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self.bar is not None:
            self.bar.stop()


# --------------------------------------------------------------------------- sync and push


def _skip_lines(skips: Iterable[Any], *, verbose: bool, label: str = "skipped") -> list[str]:
    skips = list(skips)
    if not skips:
        return []
    reasons = Counter(s.reason.split(":", 1)[0] for s in skips)
    lines = [
        f"  {label} {len(skips):,}: " + ", ".join(f"{r} ({n:,})" for r, n in reasons.most_common())
    ]
    shown = skips if verbose else skips[:MAX_LISTED]
    lines += [f"    {outside(s.item)}: {outside(s.reason)}" for s in shown]
    if len(skips) > len(shown):
        lines.append(f"    … and {len(skips) - len(shown):,} more (--verbose lists them all)")
    return lines


def render_report(report: SyncReport, *, title: str = "Sync", verbose: bool = False) -> str:
    """A run's (or a push's) answer: status, counts with labels, skips grouped by reason."""
    outcome = RUN_STATUS.get(report.status, report.status)
    if title == "Push" and report.status == "ok" and not pushed_anything(report):
        outcome = "refused: nothing was pushed"
    head = f"{title} {'(dry run) ' if report.dry_run else ''}{outcome}"
    spent = took(report.started_at, report.finished_at)
    lines = [head + (f" in {spent}" if spent else "")]
    counts = Counter({k: v for k, v in report.counts().items() if k != Outcome.SKIPPED.value})
    lines.append(
        f"  {'would be' if report.dry_run else 'done'}: {counts_text(counts, empty='nothing to do')}"
    )
    if report.not_qualified:
        lines.append(
            f"  {plural(report.not_qualified, 'list member')} below the threshold or without a score"
        )
    skipped = report.plan.skipped if report.dry_run else report.applied.skipped
    lines += _skip_lines(skipped, verbose=verbose)
    lines += _skip_lines(report.errors, verbose=verbose, label="errors")
    lines += [f"  warning: {outside(w)}" for w in report.plan.warnings]
    held = report.bulk.line(dry_run=report.dry_run) if report.bulk is not None else None
    if held:
        lines.append(f"  bulk guard: {held}")
    if report.failure:
        lines.append(
            f"  stopped: {outside(report.failure)} (the next run resumes where this one stopped)"
        )
    return "\n".join(lines)


def render_dry_run(report: SyncReport, *, verbose: bool) -> str:
    text = render_report(report, verbose=verbose)
    if verbose:
        return text + "\n\n" + outside(report.plan.render(), lines=True)
    actions = sum(1 for _ in report.plan.actions)
    return (
        text
        + f"\n  {plural(actions, 'record')} would change; the full plan: "
        + "sellsync sync --dry-run --verbose (or --json)"
    )


def push_lines(report: SyncReport, url: Callable[[str], str | None]) -> list[str]:
    """Each HubSpot contact the push created or merged into, with its URL."""
    plan = report.plan if report.dry_run else report.applied
    lines = []
    for action in plan.actions:
        if action.hubspot_id is None:
            continue
        if Outcome.CREATED_IN_HUBSPOT in action.outcomes:
            verb = "would create" if report.dry_run else "created"
        elif Outcome.MERGED in action.outcomes:
            verb = "would merge into" if report.dry_run else "merged into"
        elif action.outcomes:
            verb = "would update" if report.dry_run else "updated"
        else:
            continue
        link = url(action.hubspot_id)
        lines.append(
            f"  {action.sell} {verb} HubSpot contact {outside(action.hubspot_id)}"
            + (f"  {outside(link)}" if link else "")
        )
    return lines


def pushed_anything(report: SyncReport) -> bool:
    plan = report.plan if report.dry_run else report.applied
    return bool(plan.actions) or any(
        v for k, v in plan.counts().items() if k != Outcome.SKIPPED.value
    )


# --------------------------------------------------------------------------- status


def schedule_text(schedule: ScheduleState) -> str:
    if schedule.state == "running":
        nxt = stamp(schedule.next_sync) if schedule.next_sync else "not scheduled"
        return f"{nxt} (scheduler last seen {stamp(schedule.seen_at)})"
    if schedule.state == "stale":
        return (
            f"none: no scheduler heartbeat since {stamp(schedule.seen_at)}; "
            "is `sellsync worker` running?"
        )
    if schedule.state == "stopped":
        return f"none: the scheduler stopped at {stamp(schedule.stopped_at)}"
    return "none: no scheduler has run yet (start `sellsync worker`)"


def _run_line(run: RunRecord) -> str:
    spent = took(run.started_at, run.finished_at)
    return (
        f"#{run.id} {stamp(run.started_at)}, {run_trigger(run.trigger)}, "
        f"{RUN_STATUS.get(run.status, outside(run.status))}" + (f" in {spent}" if spent else "")
    )


def render_status(status: StatusView) -> str:
    """The status board, the terminal's one renderer of it (Slack's is
    ``bot.blocks.status.status_message``). While a run is under way, it says so first, and the
    figures below are what the database holds so far (that run has not finished writing them)."""
    running, last = status.running, status.last_finished
    lines = [
        f"Threshold:          {status.threshold:,}",
        f"Synced list:        {outside(status.list_id) or '(not set)'}",
        f"Sell:               {MODE_WORDS[status.sell_mode]}",
    ]
    for note in status.notes:  # what a setting in force asks to show (a pause)
        why = f": {outside(note.reason)}" if note.reason.strip() else ""
        lines.append(
            f"{note.label + ':':<20}by {_person(note.by)} since {stamp(note.at)}{why}; {how_to(note.undo)}"
        )
    if running is not None:
        lines.append(
            f"Running now:        run #{running.id}, {run_trigger(running.trigger)}, "
            f"since {stamp(running.started_at)}; the figures below are so far"
        )
    if last is None:
        lines.append("Last run:           " + ("none finished yet" if running else "none yet"))
    else:
        lines.append(f"Last run:           {_run_line(last)}")
        lines.append(f"                    {counts_text(last.counts)}")
        if last.error:
            lines.append(f"                    {outside(run_error_text(last.error))}")
    links = ", ".join(f"{k.replace('_', ' ')} {n:,}" for k, n in status.link_counts)
    if running is not None:  # what the store holds while the run is still writing
        links = f"{links} so far" if links else f"none so far (run #{running.id} is running)"
    so_far = " so far" if status.so_far else ""
    lines += [
        f"Next run:           {schedule_text(status.schedule)}",
        f"Open conflicts:     {status.open_conflicts:,}{so_far}",
        f"Pending approvals:  {status.pending_requests:,}",
        f"Links:              {links or 'none yet'}",
    ]
    lines += [f"{label + ':':<20}{text}" for label, text in _sources(status)]
    return "\n".join(lines)


def _sources(status: StatusView) -> list[tuple[str, str]]:
    """Each source of changes between scheduled runs: (label, what it says)."""
    out = []
    for source in status.sources:
        if source.name == "hubspot_webhooks":
            if not source.enabled and not source.received:
                out.append(
                    ("Webhooks", "off (HubSpot's changes come with the poll or the scheduled sync)")
                )
                continue
            text = (
                f"{source.received or 0:,} received, last {stamp(source.last_event_at)}, "
                f"{source.queue_depth or 0:,} waiting"
            )
            if source.oldest_unapplied_at is not None:
                text += f" (oldest since {stamp(source.oldest_unapplied_at)})"
            if source.failing:
                reasons = ", ".join(outside(r) for r in source.failing_reasons)
                text += f"; {source.failing:,} keep failing ({reasons}): sellsync health"
            out.append(("Webhooks", text))
        elif source.name == "sell_firehose":
            age = source.position_age_seconds
            out.append(
                (
                    "Sell Firehose",
                    "not followed (Sell's changes come with the poll or the scheduled sync)"
                    if not source.enabled or age is None
                    else f"position {age:,.0f} s old",
                )
            )
        elif source.name == "poll":
            every = f"every {source.interval_seconds or 0:,} s" if source.enabled else "off"
            out.append(("Short poll", every))
    return out


def run_trigger(stored: str) -> str:
    """What started a run, worded as in Slack (``on schedule``, ``push by U123``)."""
    return trigger_text(stored, person=_person, raw=outside)


def _person(actor: str) -> str:
    return {"cli": "the command line", "schedule": "the schedule"}.get(actor, outside(actor))


#: How a terminal reader pushes a record (a Slack reader is told the slash command).
PUSH_COMMAND = "sellsync push"


def render_explanation(e: Explanation) -> str:
    verdict = verdict_text(e, push=PUSH_COMMAND)
    return "\n".join(
        [
            f"{outside(e.item)}: {outside(verdict)}",
            *(f"  {outside(f)}" for f in explanation_facts(e)),
        ]
    )


def explanation_dict(e: Explanation) -> dict[str, object]:
    """``status ITEM --json``."""
    link = e.link
    return {
        "item": e.item,
        "verdict": verdict_text(e, push=PUSH_COMMAND),
        "kind": e.kind.value,
        "facts": explanation_facts(e),
        "link": None
        if link is None
        else {
            "sell": str(link.sell),
            "hubspot_id": link.hubspot_id,
            "state": link.state.value,
            "last_synced_at": link.last_synced_at.isoformat() if link.last_synced_at else None,
        },
        "open_conflicts": [c.field for c in e.conflicts],
    }


def render_conflicts(page: ConflictPage, links: HeldLinkPage | None = None) -> str:
    lines = []
    if links is not None and links.total:
        lines.append(f"{plural(links.total, 'link conflict')} (HubSpot merges; resolve in Slack)")
        for lc in links.links:
            other = "no other record" if lc.linked is None else f"also linked to {lc.linked.sell}"
            lines.append(f"  {lc.held.sell} held on HubSpot {outside(lc.held.hubspot_id)}, {other}")
    lines.append(f"{plural(page.total, 'open conflict')}")
    for c in page.conflicts:
        lines.append(
            outside(
                f"  #{c.id} {field_label(c.field)} on {c.sell} ↔ HubSpot {c.hubspot_id}: "
                f"Sell {c.sell_value!r} vs HubSpot {c.hubspot_value!r}"
            )
        )
    if page.total > len(page.conflicts):
        lines.append(f"  … and {page.total - len(page.conflicts):,} more")
    return "\n".join(lines)


# --------------------------------------------------------------------------- runs and audit


def _table_console(stream: IO[str]) -> Console:
    console = Console(file=stream, highlight=False)
    if not console.is_terminal:
        console = Console(file=stream, highlight=False, width=160, no_color=True)
    return console


def print_runs(runs: list[RunRecord], stream: IO[str]) -> None:
    if not runs:
        print("No sync has run yet.", file=stream)
        return
    table = Table("Run", "Started", "Trigger", "Status", "Took", "Counts", box=None)
    for r in runs:
        counts = counts_text(r.counts)
        if r.error:
            counts += f"; {run_error_text(r.error)}"
        table.add_row(
            *_cells(
                f"#{r.id}",
                stamp(r.started_at),
                run_trigger(r.trigger),
                RUN_STATUS.get(r.status, r.status),
                took(r.started_at, r.finished_at),
                counts,
            )
        )
    _table_console(stream).print(table)


#: The CSV's columns: the event, then the detail's common keys flat, then the rest of it as JSON.
AUDIT_COLUMNS = ("at", "kind", "subject", "actor", "run_id", "detail")
CSV_DETAIL_COLUMNS = ("field", "old", "new", "reason", "summary")
CSV_COLUMNS = (*AUDIT_COLUMNS[:-1], *CSV_DETAIL_COLUMNS, "detail")

#: A spreadsheet reads a cell starting with one of these as a formula (OWASP's CSV injection).
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def audit_dict(e: AuditEvent) -> dict[str, Any]:
    return {
        "at": e.at.isoformat(),
        "kind": e.kind,
        "subject": e.subject,
        "actor": e.actor,
        "run_id": e.run_id,
        "detail": dict(e.detail),
    }


def csv_cell(value: object) -> str:
    """A CSV cell a spreadsheet shows as text: one starting like a formula gets a leading
    single quote (the OWASP way), so ``=HYPERLINK(…)`` is shown, never evaluated."""
    if value is None:
        return ""
    text = value if isinstance(value, str) else json.dumps(value, sort_keys=True, default=str)
    return "'" + text if text.startswith(FORMULA_START) else text


def audit_csv_row(e: AuditEvent) -> list[str]:
    detail = dict(e.detail)
    flat = [detail.pop(k, None) for k in CSV_DETAIL_COLUMNS]
    rest = json.dumps(detail, sort_keys=True, default=str) if detail else ""
    values = [e.at.isoformat(), e.kind, e.subject, e.actor, e.run_id, *flat, rest]
    return [csv_cell(v) for v in values]


def write_audit_csv(events: Iterable[AuditEvent], stream: IO[str]) -> None:
    """Every event as one CSV row (:data:`CSV_COLUMNS`), each written as it is read."""
    writer = csv.writer(stream, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for e in events:
        writer.writerow(audit_csv_row(e))


def write_audit_json(trail: AuditTrail, stream: IO[str]) -> None:
    """``{"item", "subjects", "events": […]}``, each event written as it is read."""
    head = json.dumps({"item": trail.item, "subjects": list(trail.subjects)}, indent=2)
    stream.write(head[:-2] + ',\n  "events": [')
    for n, e in enumerate(trail.events):
        stream.write(("," if n else "") + "\n    " + json.dumps(audit_dict(e), default=str))
    stream.write("\n  ]\n}\n")


def _detail_text(detail: Mapping[str, Any]) -> str:
    if detail.get("summary"):
        return str(detail["summary"])
    return ", ".join(f"{k}: {v}" for k, v in detail.items() if v not in (None, "", [], {}))


def print_audit(trail: AuditTrail, stream: IO[str], *, shown: int | None = None) -> None:
    """The events as a table; with ``shown``, only the newest ``shown`` of them, and a line
    saying that older ones were left out (and how to see them all)."""
    events = list(trail.events)
    older = len(events) > shown if shown is not None else False
    if shown is not None:
        events = events[-shown:]
    if not events:
        about = f" about {outside(trail.item)}" if trail.item else ""
        print(f"No audit events{about}.", file=stream)
        return
    table = Table("When", "What", "Record", "Who", "Run", "Detail", box=None)
    for e in events:
        table.add_row(
            *_cells(
                stamp(e.at),
                outcome_label(e.kind),
                e.subject.replace("|", " ↔ HubSpot "),
                e.actor or "sync",
                f"#{e.run_id}" if e.run_id is not None else "",
                _detail_text(e.detail),
            )
        )
    _table_console(stream).print(table)
    if older:
        print(
            f"Older events are not shown: the newest {len(events):,} are. "
            "--limit N shows more; --csv or --json exports them all.",
            file=stream,
        )
