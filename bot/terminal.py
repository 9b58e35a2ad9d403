"""What the command line shows: a live progress display for syncs, and the text of its answers.

The terminal counterpart of ``bot/blocks`` (pure functions from service values to text), plus
:class:`SyncProgress`. On a terminal the progress is a `rich` live bar that disappears when the
run ends; anywhere else (a pipe, a CI log, cron mail) it is one plain line whenever the stage
changes and every few seconds in between, so logs stay readable and never fill with redraws.
Progress goes to stderr: stdout carries only the answer (and stays valid JSON with ``--json``).
"""

from __future__ import annotations

import csv
import io
import json
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime
from types import TracebackType
from typing import IO, Any

from rich.console import Console
from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from bot.blocks.common import counted_outcomes, outcome_label, plural, stamp
from bot.blocks.runs import STAGES
from bot.blocks.status import explanation_facts, verdict_text
from sync.domain import Outcome
from sync.mapping import Direction
from sync.ports import AuditEvent, RunRecord
from sync.report import SyncReport
from sync.service import (
    AuditTrail,
    ConflictPage,
    Explanation,
    LinkConflictPage,
    ScheduleState,
    StatusView,
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
}


# --------------------------------------------------------------------------- small pieces


def counts_text(counts: Mapping[str, int], *, empty: str = "no changes") -> str:
    """``created in Sell 3, merged 1, skipped 4 (no email 4)``: labels, never raw keys."""
    parts = []
    reasons = {k.removeprefix("skipped:"): v for k, v in counts.items() if k.startswith("skipped:")}
    for k in counted_outcomes(counts):
        part = f"{outcome_label(k)} {counts[k]:,}"
        if k == Outcome.SKIPPED.value and reasons:
            part += " (" + ", ".join(f"{r} {n:,}" for r, n in sorted(reasons.items())) + ")"
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


class SyncProgress:
    """The engine's ``progress`` callback for the command line (see the module docstring)."""

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
        self.bar: Progress | None = None
        self.task: Any = None

    def __enter__(self) -> SyncProgress:
        self.started = self.monotonic()
        if self.interactive:
            self.bar = Progress(
                SpinnerColumn(),
                TextColumn("[bold]{task.description}"),
                BarColumn(),
                TextColumn("{task.fields[counts]}"),
                TimeElapsedColumn(),
                console=self.console,
                transient=True,
            )
            self.bar.start()
            self.task = self.bar.add_task(f"{self.title}: starting", total=None, counts="")
        return self

    def __call__(self, stage: str, report: SyncReport) -> None:
        doing = STAGES.get(stage, stage)
        counts = counts_text(report.counts(), empty="no changes yet")
        if self.bar is not None:
            self.bar.update(self.task, description=f"{self.title}: {doing}", counts=counts)
            return
        now = self.monotonic()
        due = self.last_line is None or now - self.last_line >= self.interval
        if stage != self.last_stage or due:
            elapsed = now - self.started
            print(f"{self.title.lower()}: {doing}; {counts} ({elapsed:.0f}s)", file=self.stream)
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
    lines += [f"    {s.item}: {s.reason}" for s in shown]
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
    lines += [f"  warning: {w}" for w in report.plan.warnings]
    if report.failure:
        lines.append(f"  stopped: {report.failure} (the next run resumes where this one stopped)")
    return "\n".join(lines)


def render_dry_run(report: SyncReport, *, verbose: bool) -> str:
    text = render_report(report, verbose=verbose)
    if verbose:
        return text + "\n\n" + report.plan.render()
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
            f"  {action.sell} {verb} HubSpot contact {action.hubspot_id}"
            + (f"  {link}" if link else "")
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


def render_status(status: StatusView) -> str:
    last = status.last_run
    lines = [
        f"Threshold:          {status.threshold:,}",
        f"Synced list:        {status.list_id or '(not set)'}",
    ]
    if last is None:
        lines.append("Last run:           none yet")
    else:
        spent = took(last.started_at, last.finished_at)
        lines.append(
            f"Last run:           #{last.id} {stamp(last.started_at)}, {last.trigger}, "
            f"{RUN_STATUS.get(last.status, last.status)}" + (f" in {spent}" if spent else "")
        )
        lines.append(f"                    {counts_text(last.counts)}")
        if last.error:
            lines.append(f"                    {run_error_text(last.error)}")
    lines += [
        f"Next run:           {schedule_text(status.schedule)}",
        f"Open conflicts:     {status.open_conflicts:,}",
        f"Pending approvals:  {status.pending_requests:,}",
        "Links:              "
        + (
            ", ".join(f"{k.replace('_', ' ')} {v:,}" for k, v in sorted(status.links.items()) if v)
            or "none yet"
        ),
    ]
    return "\n".join(lines)


#: How a terminal reader pushes a record (a Slack reader is told the slash command).
PUSH_COMMAND = "sellsync push"


def render_explanation(e: Explanation) -> str:
    verdict = verdict_text(e, push=PUSH_COMMAND)
    return "\n".join([f"{e.item}: {verdict}", *(f"  {f}" for f in explanation_facts(e))])


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


def render_conflicts(page: ConflictPage, links: LinkConflictPage | None = None) -> str:
    lines = []
    if links is not None and links.total:
        lines.append(f"{plural(links.total, 'link conflict')} (HubSpot merges; resolve in Slack)")
        for lc in links.conflicts:
            other = "no other record" if lc.linked is None else f"also linked to {lc.linked.sell}"
            lines.append(f"  {lc.held.sell} held on HubSpot {lc.held.hubspot_id}, {other}")
    lines.append(f"{plural(page.total, 'open conflict')}")
    for c in page.conflicts:
        lines.append(
            f"  #{c.id} {field_label(c.field)} on {c.sell} ↔ HubSpot {c.hubspot_id}: "
            f"Sell {c.sell_value!r} vs HubSpot {c.hubspot_value!r}"
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
            f"#{r.id}",
            stamp(r.started_at),
            r.trigger,
            RUN_STATUS.get(r.status, r.status),
            took(r.started_at, r.finished_at),
            counts,
        )
    _table_console(stream).print(table)


AUDIT_COLUMNS = ("at", "kind", "subject", "actor", "run_id", "detail")


def audit_dict(e: AuditEvent) -> dict[str, Any]:
    return {
        "at": e.at.isoformat(),
        "kind": e.kind,
        "subject": e.subject,
        "actor": e.actor,
        "run_id": e.run_id,
        "detail": dict(e.detail),
    }


def audit_csv(trail: AuditTrail) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(AUDIT_COLUMNS)
    for e in trail.events:
        row = audit_dict(e)
        row["detail"] = json.dumps(row["detail"], sort_keys=True, default=str)
        writer.writerow(["" if row[c] is None else row[c] for c in AUDIT_COLUMNS])
    return out.getvalue()


def _detail_text(detail: Mapping[str, Any]) -> str:
    if detail.get("summary"):
        return str(detail["summary"])
    return ", ".join(f"{k}: {v}" for k, v in detail.items() if v not in (None, "", [], {}))


def print_audit(trail: AuditTrail, stream: IO[str]) -> None:
    if not trail.events:
        about = f" about {trail.item}" if trail.item else ""
        print(f"No audit events{about}.", file=stream)
        return
    table = Table("When", "What", "Record", "Who", "Run", "Detail", box=None)
    for e in trail.events:
        table.add_row(
            stamp(e.at),
            outcome_label(e.kind),
            e.subject.replace("|", " ↔ HubSpot "),
            e.actor or "sync",
            f"#{e.run_id}" if e.run_id is not None else "",
            _detail_text(e.detail),
        )
    _table_console(stream).print(table)
