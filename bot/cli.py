"""``sellsync``: the command line (docs/operations.md): each command calls the service and prints
its answer.

Exit codes: 0 success, 1 the work had errors (or nothing could be done: the reasons are
printed), 2 bad usage or configuration, 130 / 143 a sync stopped by SIGINT / SIGTERM (recorded
as interrupted). Answers go to stdout, progress and errors to stderr.
The grammar is ``bot/cli_args.py``, the text of the answers ``bot/terminal.py``, and the
settings and services a command works with ``bot/cli_services.py``.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import sys
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from bot import cli_services, health_cli, terminal
from bot.cli_args import EXIT_ERRORS, EXIT_OK, EXIT_USAGE, build_parser
from bot.migrate_cli import cmd_migrate
from bot.settings import AppSettings
from bot.settings_text import refusal_text
from bot.signals import StopOnSignals
from sync.api import (
    CLI_ACTOR,
    ApiError,
    ConfigError,
    Refused,
    RetireUnverified,
    RunInProgress,
    SellClient,
    SyncError,
    SyncReport,
    parse_items,
    run_dict,
    setting_needs_crm,
    setup_variable,
)

if TYPE_CHECKING:
    from bot.wiring import Services


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    handlers: dict[str, Callable[[argparse.Namespace], int]] = {
        "sync": cmd_sync,
        "push": cmd_push,
        "status": cmd_status,
        "conflicts": cmd_conflicts,
        "health": health_cli.cmd_health,
        "runs": cmd_runs,
        "audit": cmd_audit,
        "fields": cmd_fields,
        "settings": cmd_settings,
        "export": cmd_export,
        "restore": cmd_restore,
        "db": cmd_db,
        "serve": cmd_serve,
        "worker": cmd_worker,
        "check": cmd_check,
        "sandbox": cmd_sandbox,
        "demo": cmd_demo,
        "migrate": cmd_migrate,
    }
    try:
        return handlers[args.command](args)
    except ConfigError as exc:
        return _fail(EXIT_USAGE, f"configuration error: {exc}")
    except Refused as exc:
        return _fail(EXIT_USAGE, refusal_text(exc))
    except RunInProgress as exc:
        return _fail(EXIT_ERRORS, str(exc))
    except (ApiError, SyncError) as exc:
        variable = setup_variable(exc)
        if variable is not None:  # a setting is wrong, not the work: exit 2 and name it
            return _fail(EXIT_USAGE, f"configuration error: {variable} is wrong: {exc}")
        return _fail(EXIT_ERRORS, str(exc))
    except KeyboardInterrupt:
        return _fail(130, "interrupted")
    except BrokenPipeError:
        # The reader went away (`sellsync audit | head`): not an error; say nothing more, and
        # keep Python from complaining when it flushes stdout at exit.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return EXIT_OK
    except Exception as exc:  # one line, never a traceback (SELLSYNC_DEBUG=1 shows it)
        if os.environ.get("SELLSYNC_DEBUG"):
            raise
        first = (str(exc).strip().splitlines() or [""])[0]
        if type(exc).__name__ == "OperationalError":
            return _fail(EXIT_ERRORS, f"cannot use the database (DATABASE_URL): {first}")
        return _fail(EXIT_ERRORS, f"unexpected error: {type(exc).__name__}: {first}")


def _fail(code: int, message: str) -> int:
    print(f"sellsync: {terminal.outside(cli_services.scrub_text(message))}", file=sys.stderr)
    return code


def _emit(data: Any) -> None:
    print(json.dumps(data, indent=2, default=str))


# --------------------------------------------------------------------------- commands


def cmd_sync(args: argparse.Namespace) -> int:
    svc = cli_services.services()
    # SIGINT / SIGTERM: the run stops at its next page, is recorded as interrupted, and the
    # command exits 130 / 143 (a second signal stops at once, still recorded).
    signals = StopOnSignals(svc.service.interrupt, note=_stopping)
    try:
        with signals:
            _say_differences(svc)
            if args.yes_bulk and not args.dry_run:  # the operator lets a held bulk through
                svc.service.approve_bulk_from_terminal()
            with terminal.SyncProgress("Dry run" if args.dry_run else "Sync") as progress:
                report = svc.service.run(
                    actor=CLI_ACTOR,
                    trigger="cli",
                    dry_run=args.dry_run,
                    full=args.full,
                    progress=progress,
                    yes_bulk=args.yes_bulk,
                )
    except KeyboardInterrupt:
        svc.close()
        code = signals.exit_code or 130
        return _fail(code, "interrupted at once: the run is recorded as interrupted")
    except BaseException:
        svc.close()
        raise
    try:
        _raise_setup_failure(report, json_output=args.json, svc=svc)
        if args.json:
            _emit({**report.to_dict(), "api_calls": svc.api_calls()})
        elif args.dry_run:
            print(terminal.render_dry_run(report, verbose=args.verbose))
        else:
            print(terminal.render_report(report, verbose=args.verbose))
    finally:
        svc.close()
    if report.status == "interrupted":
        return signals.exit_code or 130
    return EXIT_OK if report.status == "ok" else EXIT_ERRORS


def _stopping(name: str) -> None:
    print(
        f"sellsync: {name}: stopping at the next page (the run is recorded as interrupted); "
        "send it again to stop at once",
        file=sys.stderr,
    )


def cmd_push(args: argparse.Namespace) -> int:
    # An argument that is no item at all is a typing mistake: refused before anything runs
    # (exit 2, like an unknown option). Items the rules refuse are the work's result (exit 1).
    invalid = parse_items(args.items).invalid
    if invalid:
        bad = ", ".join(repr(i.item) for i in invalid)
        return _fail(
            EXIT_USAGE,
            f"not an item: {bad} (use an email, lead:ID, contact:ID, a Sell URL or tag:NAME); "
            "nothing was pushed",
        )
    svc = cli_services.services()
    try:
        _say_differences(svc)  # a push adds its contacts to the synced list
        report = svc.service.push(args.items, actor=CLI_ACTOR, dry_run=args.dry_run)
        _raise_setup_failure(report, json_output=args.json, svc=svc)
        if args.json:
            _emit({**report.to_dict(), "api_calls": svc.api_calls()})
        else:
            print(terminal.render_report(report, title="Push", verbose=True))
            for line in terminal.push_lines(report, svc.service.hubspot_url):
                print(line)
    finally:
        svc.close()
    if report.status != "ok":
        return EXIT_ERRORS
    if not terminal.pushed_anything(report):
        return _fail(EXIT_ERRORS, "nothing was pushed: no item could be (the reasons are above)")
    return EXIT_OK


def _raise_setup_failure(report: SyncReport, *, json_output: bool, svc: Services) -> None:
    """A run stopped by a wrong setting (a refused token, an unknown list) is a configuration
    error: exit 2 naming the variable, not "the next run resumes" (it would fail the same way)."""
    cause = report.failure_cause
    variable = setup_variable(cause)
    if variable is None:
        return
    if json_output:
        _emit({**report.to_dict(), "api_calls": svc.api_calls()})
    raise ConfigError(variable, f"is wrong: {cause}")


def cmd_status(args: argparse.Namespace) -> int:
    svc = cli_services.services() if args.item else cli_services.database_services()
    try:
        _say_differences(svc)
        if args.item:
            explanation = svc.service.explain(args.item)
            if args.json:
                _emit(terminal.explanation_dict(explanation))
            else:
                print(terminal.render_explanation(explanation))
        else:
            status = svc.service.status()
            _emit(status.to_dict()) if args.json else print(terminal.render_status(status))
    finally:
        svc.close()
    return EXIT_OK


def cmd_conflicts(args: argparse.Namespace) -> int:
    if args.args or args.field is not None:
        return health_cli.cmd_conflicts_decide(args)
    svc = cli_services.database_services()
    try:
        page = svc.service.conflicts(limit=1000)
        links = svc.service.held_links(limit=1000)
        if args.json:
            _emit(
                {
                    "link_conflicts": [
                        {
                            "held": str(c.held.sell),
                            "hubspot_id": c.held.hubspot_id,
                            "linked": None if c.linked is None else str(c.linked.sell),
                        }
                        for c in links.links
                    ],
                    "total": page.total,
                    "conflicts": [
                        {
                            "id": c.id,
                            "sell": str(c.sell),
                            "hubspot_id": c.hubspot_id,
                            "field": c.field,
                            "sell_value": c.sell_value,
                            "hubspot_value": c.hubspot_value,
                            "opened_at": c.opened_at.isoformat() if c.opened_at else None,
                        }
                        for c in page.conflicts
                    ],
                }
            )
        else:
            print(terminal.render_conflicts(page, links))
    finally:
        svc.close()
    return EXIT_OK


def cmd_runs(args: argparse.Namespace) -> int:
    svc = cli_services.database_services()
    try:
        runs = svc.service.runs(args.limit)
        if args.json:
            _emit({"runs": [run_dict(r) for r in runs]})
        else:
            terminal.print_runs(runs, sys.stdout)
    finally:
        svc.close()
    return EXIT_OK


#: The events the audit table shows without --limit (an export has them all).
AUDIT_TABLE_LIMIT = 100


def cmd_audit(args: argparse.Namespace) -> int:
    export = args.json or args.csv
    table = args.limit if args.limit is not None else AUDIT_TABLE_LIMIT
    limit = args.limit if export else table + 1  # one more: the table says when it left some out
    svc = cli_services.database_services()
    try:
        trail = svc.service.audit_trail(args.item, limit=limit, run_id=args.run, since=args.since)
        if args.json:
            terminal.write_audit_json(trail, sys.stdout)
        elif args.csv:
            terminal.write_audit_csv(trail.events, sys.stdout)
        else:
            terminal.print_audit(trail, sys.stdout, shown=table)
    finally:
        svc.close()
    return EXIT_OK


def cmd_fields(args: argparse.Namespace) -> int:
    if args.args and (args.args[0] != "map" or len(args.args) != 3):
        return _fail(EXIT_USAGE, 'usage: sellsync fields [map PROPERTY "Sell field"]')
    svc = cli_services.services()
    try:
        if args.args:
            check = svc.service.map_field(args.args[1], args.args[2], actor=CLI_ACTOR)
            if check.status == "refused":  # the mapping asked for cannot be: bad usage
                return _fail(EXIT_USAGE, f"refused: {check.message}")
            print(terminal.outside(f"{check.status}: {check.message}"))
            return EXIT_OK
        for row in svc.service.fields():
            note = f"  [{row.status}] {row.note}" if row.status != "ok" else ""
            print(
                terminal.outside(
                    f"  {row.hubspot:<24} {terminal.DIRECTIONS[row.direction]:<15} {row.sell}  "
                    f"({'/'.join(row.kinds)}){note}"
                )
            )
    finally:
        svc.close()
    return EXIT_OK


def cmd_settings(args: argparse.Namespace) -> int:
    from bot.settings_text import changed_line, render_settings, settings_dict

    if args.args and (args.args[0] != "set" or len(args.args) != 3):
        return _fail(EXIT_USAGE, "usage: sellsync settings [set NAME VALUE --reason R]")
    if not args.args:
        svc = cli_services.database_services()
        try:
            view = svc.service.settings_view()
            _emit(settings_dict(view)) if args.json else print(render_settings(view))
        finally:
            svc.close()
        return EXIT_OK
    needs_hubspot = setting_needs_crm(args.args[1])  # the list must exist
    svc = cli_services.hubspot_services() if needs_hubspot else cli_services.database_services()
    try:
        try:
            change = svc.service.change_setting(
                args.args[1],
                args.args[2],
                actor=CLI_ACTOR,
                reason=args.reason,
                confirm_unverified=args.confirm_unverified,
            )
        except RetireUnverified as exc:
            return _fail(
                EXIT_USAGE,
                f"{exc}; verify it with `sellsync migrate --verify`, or repeat with "
                "--confirm-unverified",
            )
        if args.json:
            _emit(
                {
                    "setting": change.setting.value,
                    "old": change.old,
                    "new": change.new,
                    "version": change.version,
                }
            )
        else:
            print(changed_line(change))
    finally:
        svc.close()
    return EXIT_OK


def cmd_export(args: argparse.Namespace) -> int:
    from pathlib import Path

    from bot.export_writer import check_target, write_export
    from bot.wiring import sell_client

    path = Path(args.path).expanduser()
    check_target(path, force=args.force)  # before any call: a refused path loses nothing
    current = cli_services.settings()
    svc = cli_services.database_services()
    sell: SellClient | None = None

    def open_archive() -> Any:
        nonlocal sell
        current.require("sell_access_token")
        sell = sell_client(current)
        return sell.archive()

    def progress(table: str, records: int) -> None:
        print(f"  {table}: {records:,}", file=sys.stderr, flush=True)

    try:
        tables = svc.service.export_tables(open_archive)
        result = write_export(
            tables,
            path,
            force=args.force,
            extra={"sell_mode": svc.service.sell_mode().value},
            progress=progress,
        )
    finally:
        if sell is not None:
            sell.close()
        svc.close()
    for table in result.tables:
        print(terminal.outside(f"{table.name:<28} {table.records:>10,} records"))
    where = "zip" if result.zipped else "folder"
    print(terminal.outside(f"Exported {result.records():,} records to the {where} {path}"))
    return EXIT_OK


def _say_differences(svc: Services) -> None:
    """One line on stderr for each stored setting that differs from the environment's."""
    from bot.settings_text import difference_lines

    for line in difference_lines(svc.service.settings_differences()):
        print(f"sellsync: {cli_services.scrub_text(line)}", file=sys.stderr)


def cmd_restore(args: argparse.Namespace) -> int:
    from bot.blocks.fields import restored_line, restored_run_line

    if (args.item is None) == (args.run is None):
        return _fail(EXIT_USAGE, "restore takes ITEM or --run N (one of them)")
    svc = cli_services.services()
    try:
        if args.run is not None:
            done = svc.service.restore_run(args.run, actor=CLI_ACTOR, reason=args.reason)
            if args.json:
                _emit({**dataclasses.asdict(done), "lifted": done.lifted})
            else:
                print(f"restored {restored_run_line(done)}")
            return EXIT_OK
        link = svc.service.restore(args.item, actor=CLI_ACTOR)
        if args.json:
            _emit({"restored": str(link.sell), "hubspot_id": link.hubspot_id, "was": link.state})
        else:
            print(restored_line(link))
    finally:
        svc.close()
    return EXIT_OK


def cmd_db(args: argparse.Namespace) -> int:
    from storage.db import current_revision, upgrade

    url = cli_services.settings().database_url
    upgrade(url)
    print(f"database at revision {current_revision(url)}")
    return EXIT_OK


def cmd_serve(args: argparse.Namespace) -> int:
    from bot.serve import serve
    from bot.settings import SLACK_VARIABLES

    settings = cli_services.settings()
    settings.require(*SLACK_VARIABLES)
    if settings.slack_app_token:
        settings.require("slack_app_token")  # set, so Socket Mode: it must be a real token
    else:
        settings.require("slack_signing_secret")
    svc = cli_services.services("INFO")
    try:
        serve(
            settings,
            svc.service,
            scheduler=not args.no_scheduler,
            preflight=lambda: _startup(settings, svc),
        )
    finally:
        svc.close()
    return EXIT_OK


def cmd_worker(args: argparse.Namespace) -> int:
    from bot.scheduler import run_worker
    from bot.settings import SLACK_VARIABLES

    if args.healthcheck:
        return _worker_healthcheck()
    settings = cli_services.settings()
    settings.require(*SLACK_VARIABLES)
    svc = cli_services.services("INFO")
    try:
        _startup(settings, svc)
        run_worker(settings, svc.service)
    finally:
        svc.close()
    return EXIT_OK


def _worker_healthcheck() -> int:
    """Exit 0 or 1 only, as container health checks expect: whatever stops the check (an
    unreadable configuration, a database that does not answer) is one line and exit 1."""
    from bot.scheduler import scheduler_health

    try:
        svc = cli_services.database_services()
        try:
            healthy, line = scheduler_health(svc.service)
        finally:
            svc.close()
    except Exception as exc:
        first = (str(exc).strip().splitlines() or [""])[0]
        return _fail(EXIT_ERRORS, f"unhealthy: {type(exc).__name__}: {first}")
    if not healthy:
        return _fail(EXIT_ERRORS, f"unhealthy: {line}")
    print(line)
    return EXIT_OK


def _startup(settings: AppSettings, svc: Services) -> None:
    """``serve`` and ``worker`` at start: the check (a refused CRM token stops only an install
    that never ran a sync), then the settings stored, and every difference from the
    environment logged."""
    import logging

    from bot.check import startup_check
    from bot.settings_text import difference_lines

    log = logging.getLogger("sellsync.check")
    ran_before = svc.service.figures().runs.last_success is not None
    startup_check(settings, ran_before=ran_before)
    try:
        svc.service.store_settings()
    except (ApiError, SyncError) as exc:
        log.warning("settings not stored yet (%s): the first sync that runs stores them", exc)
    for line in difference_lines(svc.service.settings_differences()):
        log.warning("%s", line)


def cmd_check(args: argparse.Namespace) -> int:
    from bot.check import render, run_check, settings_notes
    from sync.api import passed

    settings = cli_services.settings()
    findings = run_check(settings)
    print(cli_services.scrub_text(render(findings)))
    for line in settings_notes(settings):
        print(terminal.outside(cli_services.scrub_text(f"note: {line}")))
    return EXIT_OK if passed(findings) else EXIT_USAGE


def cmd_sandbox(args: argparse.Namespace) -> int:
    from sandbox.server import run_forever

    run_forever(
        seed=args.seed,
        hubspot_port=args.hubspot_port,
        sell_port=args.sell_port,
        slack_port=args.slack_port,
    )
    return EXIT_OK


def cmd_demo(args: argparse.Namespace) -> int:
    from demo.walkthrough import run_demo

    return int(run_demo())


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
