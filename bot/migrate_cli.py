"""``sellsync migrate``: leaving Sell from the command line (docs/leaving-sell.md).

* ``--dry-run [--json]``: the plan (counts, samples, conflicts, refusals); writes nothing;
* ``--yes``: the run under the run lock, with a progress bar on a terminal (a line every few
  seconds otherwise) whose total an approved order, the last plan or complete run counted;
  without ``--yes`` a terminal is asked to confirm after the plan, anything else exits 2;
* ``--verify [--csv FILE] [--json]``: every difference between Sell and HubSpot; exit 0 only
  when there is none;
* ``--status``: the newest verification against what moved, from the database alone.

Every CRM value printed goes through :func:`bot.terminal.outside`; CSV cells through
:func:`bot.terminal.csv_cell`.
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from functools import partial
from typing import IO, Any, Protocol

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TextColumn,
    TimeElapsedColumn,
)

from bot import cli_services, terminal
from bot.cli_args import EXIT_ERRORS, EXIT_OK, EXIT_USAGE
from bot.signals import StopOnSignals
from sync.api import (
    MigrationDifference,
    MigrationProgress,
    MigrationReport,
    MigrationService,
    MigrationStanding,
    VerifyReport,
    migration_standing,
    run_migration_from_terminal,
)

#: Lines of each list (conflicts, refusals, differences) the terminal shows; --json and --csv
#: have them all.
SHOWN = 20
CSV_COLUMNS = ("key", "field", "sell", "hubspot")


class RunLocked(Protocol):
    """The move under the run lock (:func:`sync.api.run_migration_from_terminal`, bound)."""

    def __call__(
        self,
        *,
        on_progress: Callable[[MigrationProgress], None] | None = ...,
        should_stop: Callable[[], bool] | None = ...,
        total: int | None = ...,
        count_first: Callable[[], int | None] | None = ...,
    ) -> MigrationReport: ...


class _Clock:
    def now(self) -> datetime:
        return datetime.now(UTC)


class MigrateProgress:
    """The run's ``on_progress`` for a terminal (a rich bar of the known total, or a spinner
    and a count) or a log (a line every ``interval`` seconds)."""

    def __init__(self, title: str, *, stream: IO[str] | None = None, interval: float = 5.0) -> None:
        self.title = title
        self.stream = stream if stream is not None else sys.stderr
        self.console = Console(file=self.stream, highlight=False)
        self.interactive = self.console.is_terminal
        self.interval = interval
        self.last = 0.0
        self.bar: Progress | None = None
        self.task: Any = None

    def __enter__(self) -> MigrateProgress:
        if self.interactive:
            self.bar = Progress(
                SpinnerColumn(),
                TextColumn("[bold]{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TimeElapsedColumn(),
                console=self.console,
                transient=True,
            )
            self.bar.start()
            self.task = self.bar.add_task(self.title, total=None)
        return self

    def __call__(self, progress: MigrationProgress) -> None:
        label = f"{self.title}: {progress.phase}"
        if self.bar is not None:
            self.bar.update(
                self.task, description=label, completed=progress.done, total=progress.total
            )
            return
        now = time.monotonic()
        if now - self.last >= self.interval:
            self.last = now
            total = f" of about {progress.total}" if progress.total else ""
            print(f"{label}: {progress.done}{total} items", file=self.stream, flush=True)

    def __exit__(self, *exc: object) -> None:
        if self.bar is not None:
            self.bar.stop()


@contextmanager
def _service() -> Iterator[MigrationService]:
    """The migration on the configured HubSpot, Sell and database (no list id needed); closed
    afterwards."""
    with _opened() as (service, _run_locked):
        yield service


@contextmanager
def _opened() -> Iterator[tuple[MigrationService, RunLocked]]:
    """:func:`_service`, and the run it makes under the run lock the syncs take."""
    from bot.wiring import (
        configure_logging,
        engine_config,
        hubspot_client,
        open_store_for,
        sell_client,
    )

    settings = cli_services.settings()
    settings.require("hubspot_access_token", "sell_access_token")
    configure_logging(settings, "WARNING")
    hubspot = hubspot_client(settings)
    sell = sell_client(settings)
    try:
        store = open_store_for(settings)
    except BaseException:
        hubspot.close()
        sell.close()
        raise
    try:
        service = MigrationService(hubspot, sell, store, _Clock())
        yield service, partial(run_migration_from_terminal, service, store, engine_config(settings))
    finally:
        hubspot.close()
        sell.close()
        store.close()


def cmd_migrate(args: argparse.Namespace) -> int:
    if args.csv and not args.verify:
        print(
            "sellsync: --csv FILE goes with --verify (see sellsync migrate --help)", file=sys.stderr
        )
        return EXIT_USAGE
    if args.status:
        return _status(args)
    if args.verify:
        return _verify(args)
    if args.dry_run:
        return _plan(args)
    if not args.yes and not sys.stdin.isatty():
        print(
            "sellsync: migrate writes to HubSpot: pass --yes to run it "
            "(or --dry-run to see the plan first)",
            file=sys.stderr,
        )
        return EXIT_USAGE
    with _opened() as (service, run_locked):
        return _run(service, args, run_locked)


def _run(service: MigrationService, args: argparse.Namespace, run_locked: RunLocked) -> int:
    """The plan and confirmation (without ``--yes``), then the move under the run lock: while a
    sync or another move holds it, RunInProgress (one line naming the holder, exit 1) before
    anything is written."""
    total: int | None = None
    if not args.yes:
        with MigrateProgress("Planning") as progress:
            plan = service.plan(on_progress=progress)
        print(render_plan(plan))
        answer = input(f"Move {plan.moved} items to HubSpot now? [y/N] ").strip().lower()
        if answer not in ("y", "yes"):
            print("Nothing was written.")
            return EXIT_OK
        total = plan.walked
    stop = threading.Event()
    signals = StopOnSignals(lambda _name: stop.set())
    with signals, MigrateProgress("Moving") as progress:
        report = run_locked(
            on_progress=progress,
            should_stop=stop.is_set,
            total=total,
            count_first=lambda: _known_total(service),
        )
    if args.json:
        print(json.dumps(report.as_json(), indent=2, default=str))
    else:
        print(render_run(report))
    if report.status == "interrupted":
        return signals.exit_code or 130
    return EXIT_ERRORS if report.counts.get("refused") else EXIT_OK


def _known_total(service: MigrationService, stream: IO[str] | None = None) -> int | None:
    """The progress total of a run with ``--yes``, counted before (said on ``stream``, stderr
    by default), or None: the run counts as it goes, and one line says how to know it."""
    out = stream if stream is not None else sys.stderr
    known = service.known_total()
    if known is None:
        print(
            "The total is not known yet: counting as it goes "
            "(sellsync migrate --dry-run first gives a known total).",
            file=out,
        )
        return None
    when = f" of {known.at:%Y-%m-%d %H:%M} UTC" if known.at is not None else ""
    print(
        f"About {known.items} Sell items to move (counted by {known.source}{when}; "
        "Sell may have changed since).",
        file=out,
    )
    return known.items


def _plan(args: argparse.Namespace) -> int:
    with _service() as service, MigrateProgress("Planning") as progress:
        plan = service.plan(on_progress=progress)
        standing = service.standing()
    if args.json:
        data = plan.as_json()
        data["standing"] = _standing_json(standing)
        print(json.dumps(data, indent=2, default=str))
    else:
        print(render_plan(plan))
    return EXIT_OK


def _verify(args: argparse.Namespace) -> int:
    sink: IO[str] | None = None
    writer: Any = None
    if args.csv:
        try:
            sink = open(args.csv, "w", newline="", encoding="utf-8")  # noqa: SIM115
        except OSError as exc:
            print(
                f"sellsync: cannot write {terminal.outside(args.csv)}: {exc.strerror}",
                file=sys.stderr,
            )
            return EXIT_USAGE
        writer = csv.writer(sink)
        writer.writerow(CSV_COLUMNS)
    shown: list[MigrationDifference] = []

    def heard(difference: MigrationDifference) -> None:
        if writer is not None:
            writer.writerow([terminal.csv_cell(v) for v in difference.row().values()])
        if len(shown) < SHOWN:
            shown.append(difference)

    try:
        with _service() as service, MigrateProgress("Verifying") as progress:
            report = service.verify(on_difference=heard, on_progress=progress)
    finally:
        if sink is not None:
            sink.close()
    if args.json:
        print(json.dumps(report.as_json(), indent=2, default=str))
    else:
        print(render_verify(report, shown, csv_path=args.csv))
    return EXIT_OK if report.clean else EXIT_ERRORS


def _status(args: argparse.Namespace) -> int:
    svc = cli_services.database_services()
    try:
        standing = migration_standing(svc.store)
    finally:
        svc.close()
    if args.json:
        print(json.dumps(_standing_json(standing), indent=2))
        return EXIT_OK
    print(render_standing(standing))
    return EXIT_OK


# --------------------------------------------------------------------------- text


def _standing_json(standing: MigrationStanding) -> dict[str, Any]:
    return {
        "verified_at": None if standing.verified_at is None else standing.verified_at.isoformat(),
        "verified": standing.verified,
        "differences": standing.differences,
        "unverified": standing.unverified,
        "moved": standing.moved,
    }


def render_standing(standing: MigrationStanding) -> str:
    if standing.unverified is None:
        return "Nothing has been moved to HubSpot yet (sellsync migrate --dry-run shows the plan)."
    lines = [f"Moved to HubSpot: {standing.moved} items."]
    if standing.verified_at is None:
        lines.append("Never verified: run sellsync migrate --verify.")
    else:
        lines.append(
            f"Last verified {standing.verified_at:%Y-%m-%d %H:%M} UTC: {standing.verified} equal, "
            f"{standing.differences} differences; {standing.unverified} not vouched for."
        )
    return "\n".join(lines)


_OBJECTS = ("companies", "contacts", "notes", "associations")
_ACTIONS = {
    "create": "to create",
    "update": "to update",
    "adopt": "matched (existing record)",
    "merge": "merged (same e-mail)",
    "unchanged": "already equal",
}


def _count_lines(report: MigrationReport, *, done: bool) -> list[str]:
    lines: list[str] = []
    for obj in _OBJECTS:
        parts = []
        for action, words in _ACTIONS.items():
            n = report.counts.get(f"{obj}.{action}", 0)
            if n:
                if done:
                    words = {
                        "to create": "created",
                        "to update": "updated",
                    }.get(words, words)
                parts.append(f"{n} {words}")
        if parts:
            lines.append(f"  {obj}: " + ", ".join(parts))
    extra = [
        ("contacts.without_email", "contacts without e-mail"),
        ("contacts.unassigned", "contacts left unassigned (no HubSpot owner)"),
        ("companies.unassigned", "companies left unassigned"),
        ("notes.unassigned", "notes without author"),
        ("conflicts", "conflicting fields (HubSpot's value kept)"),
        ("refused", "refused"),
    ]
    for key, words in extra:
        if report.counts.get(key):
            lines.append(f"  {report.counts[key]} {words}")
    return lines


def _detail_lines(report: MigrationReport) -> list[str]:
    lines: list[str] = []
    if report.new_properties:
        lines.append(
            "HubSpot properties: " + ", ".join(map(terminal.outside, report.new_properties))
        )
    if report.unassigned:
        lines.append(
            "Sell users with no HubSpot owner: "
            + ", ".join(terminal.outside(u) for u in report.unassigned[:SHOWN])
        )
    if report.conflicts:
        lines.append("Conflicts (HubSpot keeps its value):")
        lines += [
            f"  {terminal.outside(c.key)} {terminal.outside(c.property)}: Sell "
            f"{terminal.outside(c.sell)!s} / HubSpot {terminal.outside(c.hubspot)}"
            for c in report.conflicts[:SHOWN]
        ]
    if report.refusals:
        lines.append("Refused:")
        lines += [
            f"  {terminal.outside(r.sell_key)}: {terminal.outside(r.reason)}"
            for r in report.refusals[:SHOWN]
        ]
        more = report.counts.get("refused", 0) - min(SHOWN, len(report.refusals))
        if more > 0:
            lines.append(f"  … and {more} more (--json lists the first 200)")
    if report.not_moved:
        lines.append(
            "Not moved (stay in Sell; export them): "
            + ", ".join(f"{n} {terminal.outside(k)}" for k, n in sorted(report.not_moved.items()))
        )
    for action, keys in sorted(report.samples.items()):
        if action.split(".")[-1] in ("create", "adopt", "merge"):
            lines.append(f"e.g. {action}: " + ", ".join(terminal.outside(k) for k in keys))
    return lines


def render_plan(report: MigrationReport) -> str:
    lines = ["Plan (nothing written):", *_count_lines(report, done=False), *_detail_lines(report)]
    return "\n".join(lines)


def render_run(report: MigrationReport) -> str:
    head = {
        "finished": "Moved to HubSpot",
        "interrupted": "Stopped (run it again to resume)",
        "failed": "Failed",
    }.get(report.status, report.status)
    lines = [f"{head} (migration run {report.run_id}):", *_count_lines(report, done=True)]
    lines += _detail_lines(report)
    if report.status == "finished":
        lines.append("Next: sellsync migrate --verify")
    return "\n".join(lines)


def render_verify(
    report: VerifyReport, shown: list[MigrationDifference], *, csv_path: str | None
) -> str:
    lines = [
        f"Verified {report.checked} items: {report.verified} equal, "
        f"{report.differences} differences."
    ]
    for obj, (checked, equal) in sorted(report.by_object.items()):
        lines.append(f"  {obj}: {equal} of {checked} equal")
    for d in shown:
        hubspot = "missing" if d.hubspot is None else f'"{terminal.outside(d.hubspot)}"'
        lines.append(
            f"  {terminal.outside(d.key)} {terminal.outside(d.field)}: Sell "
            f'"{terminal.outside(d.sell)}", HubSpot {hubspot}'
        )
    if report.differences > len(shown):
        where = f"all in {terminal.outside(csv_path)}" if csv_path else "--csv FILE lists them all"
        lines.append(f"  … {report.differences - len(shown)} more ({where})")
    return "\n".join(lines)
