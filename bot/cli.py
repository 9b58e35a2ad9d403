"""``sellsync``: the command line (SPEC §4).

Exit codes: 0 success, 1 the work had errors (or nothing could be done: the reasons are
printed), 2 bad usage or configuration. Answers go to stdout, progress and errors to stderr; the
text of the answers is built in ``bot/terminal.py``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable, Sequence
from importlib.metadata import PackageNotFoundError, version
from typing import TYPE_CHECKING, Any, NoReturn

from bot import terminal
from bot.settings import AppSettings, load_settings
from sync.engine import RunInProgress
from sync.errors import ApiError, ConfigError, SyncError
from sync.preflight import setup_variable
from sync.push import parse_items
from sync.report import SyncReport
from sync.scrub import scrub
from sync.service import CLI_ACTOR, Refused

if TYPE_CHECKING:
    from bot.wiring import Services

EXIT_OK, EXIT_ERRORS, EXIT_USAGE = 0, 1, 2


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        self.print_usage(sys.stderr)
        self.exit(EXIT_USAGE, f"sellsync: {message}\n")


def _version() -> str:
    try:
        return version("sellsync")
    except PackageNotFoundError:  # run from a checkout that was never installed
        return "unknown"


def _port(text: str) -> int:
    """A TCP port: ASCII digits, 1 to 65535 (``int()`` alone takes "-5" and "٣")."""
    if not (text.isascii() and text.isdigit() and 1 <= int(text) <= 65535):
        raise argparse.ArgumentTypeError(f"not a port number (1 to 65535): {text!r}")
    return int(text)


def _command(
    sub: Any, name: str, summary: str, examples: Sequence[str], details: str = ""
) -> argparse.ArgumentParser:
    """A subcommand whose ``--help`` has a description and examples."""
    epilog = "examples:\n" + "\n".join(f"  {e}" for e in examples)
    parser: argparse.ArgumentParser = sub.add_parser(
        name,
        help=summary,
        description=summary[0].upper() + summary[1:] + "." + (f"\n\n{details}" if details else ""),
        epilog=epilog,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    return parser


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(
        prog="sellsync",
        description="Keep Zendesk Sell and HubSpot in step, from Slack.",
        epilog="Run `sellsync COMMAND --help` for a command's options and examples.",
    )
    p.add_argument("--version", action="version", version=f"sellsync {_version()}")
    sub = p.add_subparsers(dest="command", required=True, parser_class=_Parser, metavar="COMMAND")

    s = _command(
        sub,
        "sync",
        "run one sync cycle now",
        ["sellsync sync", "sellsync sync --dry-run", "sellsync sync --dry-run --verbose"],
        "Shows progress while it runs: a bar on a terminal, a line every few seconds otherwise.",
    )
    s.add_argument("--dry-run", action="store_true", help="print the plan; write nothing anywhere")
    s.add_argument("--full", action="store_true", help="also re-check every link on both sides")
    s.add_argument(
        "-v", "--verbose", action="store_true", help="the full plan, every skipped record"
    )
    s.add_argument("--json", action="store_true", help="the report (and plan) as JSON")

    s = _command(
        sub,
        "push",
        'push Sell records to HubSpot ("Add to HubSpot", S4)',
        [
            "sellsync push ann@example.com lead:123",
            "sellsync push https://app.futuresimple.com/leads/123",
            "sellsync push tag:webinar --dry-run",
        ],
        "Names each HubSpot contact created or merged into, with its URL. Exits 1 when no item\n"
        "could be pushed (the reasons are listed), 2 when an argument is not an item at all.",
    )
    s.add_argument(
        "items", nargs="+", metavar="ITEM", help="email, lead:ID, contact:ID, Sell URL, tag:NAME"
    )
    s.add_argument("--dry-run", action="store_true", help="show what would happen; write nothing")
    s.add_argument("--json", action="store_true", help="the report as JSON")

    s = _command(
        sub,
        "status",
        "last and next run, counts; with ITEM: why it did or didn't sync",
        ["sellsync status", "sellsync status ann@example.com", "sellsync status --json"],
        "Without ITEM it reads the database only (no API token needed).",
    )
    s.add_argument("item", nargs="?", metavar="ITEM")
    s.add_argument("--json", action="store_true", help="one JSON object")

    s = _command(
        sub,
        "conflicts",
        "open merge conflicts",
        ["sellsync conflicts", "sellsync conflicts --json"],
        "Reads the database only (no API token needed). Resolve them in Slack.",
    )
    s.add_argument("--json", action="store_true", help="as JSON")

    s = _command(
        sub,
        "runs",
        "run history: when, who or what started it, how it ended, its counts",
        ["sellsync runs", "sellsync runs --limit 100 --json"],
        "Reads the database only (no API token needed).",
    )
    s.add_argument("--limit", type=int, default=20, metavar="N", help="newest N runs (20)")
    s.add_argument("--json", action="store_true", help="as JSON")

    s = _command(
        sub,
        "audit",
        "the audit trail: what changed, where, why and by whom",
        [
            "sellsync audit",
            "sellsync audit lead:123",
            "sellsync audit ann@example.com --csv > ann.csv",
            "sellsync audit --limit 5000 --json",
        ],
        "ITEM is lead:ID, contact:ID, a Sell URL, an email or a HubSpot contact id; it shows\n"
        "the events of that record and of the record it is linked to. Reads the database only.",
    )
    s.add_argument("item", nargs="?", metavar="ITEM")
    s.add_argument("--limit", type=int, default=100, metavar="N", help="newest N events (100)")
    fmt = s.add_mutually_exclusive_group()
    fmt.add_argument("--json", action="store_true", help="as JSON")
    fmt.add_argument("--csv", action="store_true", help="as CSV (for a spreadsheet)")

    s = _command(
        sub,
        "fields",
        "field mappings; \"fields map PROPERTY 'Sell field'\" adds one",
        ["sellsync fields", "sellsync fields map favorite_color 'Favorite color'"],
    )
    s.add_argument("args", nargs="*", metavar="map PROPERTY FIELD")

    s = _command(
        sub,
        "restore",
        "lift a tombstone (S5)",
        ["sellsync restore lead:123", "sellsync restore ann@example.com"],
        "The HubSpot contact is treated as never linked from the next sync.",
    )
    s.add_argument("item", metavar="ITEM")

    s = _command(sub, "db", "database maintenance", ["sellsync db upgrade"])
    s.add_argument("action", choices=["upgrade"])

    s = _command(
        sub,
        "serve",
        "the Slack bot (HTTP or Socket Mode) plus the scheduler",
        ["sellsync serve", "sellsync serve --no-scheduler   # web only; run `sellsync worker`"],
    )
    s.add_argument("--no-scheduler", action="store_true", help="web only (run a worker too)")

    _command(
        sub,
        "worker",
        "the scheduler alone (one per deployment)",
        ["sellsync worker", "LOG_FORMAT=json sellsync worker"],
    )

    _command(
        sub,
        "check",
        "preflight: tokens and scopes, the list, the score property, Sell fields, Slack",
        ["sellsync check", "HUBSPOT_ACCESS_TOKEN=pat-... sellsync check"],
        "Check every setting against HubSpot, Sell and Slack before going live; each item is "
        "shown with ✓ or ✗ and the fix. Exit 0 when all hold, 2 otherwise.",
    )

    s = _command(
        sub,
        "sandbox",
        "run the stand-in HubSpot, Sell and Slack servers",
        ["sellsync sandbox", "sellsync sandbox --seed empty --hubspot-port 9101"],
    )
    s.add_argument("--hubspot-port", type=_port, default=8101)
    s.add_argument("--sell-port", type=_port, default=8102)
    s.add_argument("--slack-port", type=_port, default=8103)
    s.add_argument("--seed", choices=["demo", "empty"], default="demo")

    _command(
        sub,
        "demo",
        "the whole app on embedded defaults against the sandbox",
        ["sellsync demo"],
    )
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    handlers: dict[str, Callable[[argparse.Namespace], int]] = {
        "sync": cmd_sync,
        "push": cmd_push,
        "status": cmd_status,
        "conflicts": cmd_conflicts,
        "runs": cmd_runs,
        "audit": cmd_audit,
        "fields": cmd_fields,
        "restore": cmd_restore,
        "db": cmd_db,
        "serve": cmd_serve,
        "worker": cmd_worker,
        "check": cmd_check,
        "sandbox": cmd_sandbox,
        "demo": cmd_demo,
    }
    try:
        return handlers[args.command](args)
    except ConfigError as exc:
        return _fail(EXIT_USAGE, f"configuration error: {exc}")
    except Refused as exc:
        return _fail(EXIT_USAGE, str(exc))
    except RunInProgress as exc:
        return _fail(EXIT_ERRORS, str(exc))
    except (ApiError, SyncError) as exc:
        variable = setup_variable(exc)
        if variable is not None:  # a setting is wrong, not the work: exit 2 and name it
            return _fail(EXIT_USAGE, f"configuration error: {variable} is wrong: {exc}")
        return _fail(EXIT_ERRORS, str(exc))
    except KeyboardInterrupt:
        return _fail(130, "interrupted")
    except Exception as exc:  # one line, never a traceback (SELLSYNC_DEBUG=1 shows it)
        if os.environ.get("SELLSYNC_DEBUG"):
            raise
        first = (str(exc).strip().splitlines() or [""])[0]
        if type(exc).__name__ == "OperationalError":
            return _fail(EXIT_ERRORS, f"cannot use the database (DATABASE_URL): {first}")
        return _fail(EXIT_ERRORS, f"unexpected error: {type(exc).__name__}: {first}")


_SETTINGS: AppSettings | None = None


def _settings() -> AppSettings:
    global _SETTINGS
    if _SETTINGS is None:
        _SETTINGS = load_settings()
    return _SETTINGS


def _scrub(text: str) -> str:
    try:
        secrets = _settings().secrets()
    except ConfigError:
        secrets = []  # token-shaped text is still hidden
    return scrub(text, secrets)


def _fail(code: int, message: str) -> int:
    print(f"sellsync: {_scrub(message)}", file=sys.stderr)
    return code


def _emit(data: Any) -> None:
    print(json.dumps(data, indent=2, default=str))


def _services(log_level: str = "WARNING") -> Services:
    """Clients, store and service; one-shot commands log warnings only unless LOG_LEVEL says
    otherwise (their output is the answer), long-running ones pass INFO."""
    from bot.wiring import build_services, configure_logging

    settings = _settings()
    configure_logging(settings, log_level)
    return build_services(settings)


def _database_services() -> Services:
    """For commands that only read stored state: no API token needed."""
    from bot.wiring import build_database_services, configure_logging

    settings = _settings()
    configure_logging(settings, "WARNING")
    return build_database_services(settings)


# --------------------------------------------------------------------------- commands


def cmd_sync(args: argparse.Namespace) -> int:
    svc = _services()
    try:
        with terminal.SyncProgress("Dry run" if args.dry_run else "Sync") as progress:
            report = svc.service.run(
                actor=CLI_ACTOR,
                trigger="cli",
                dry_run=args.dry_run,
                full=args.full,
                progress=progress,
            )
        _raise_setup_failure(report, json_output=args.json, svc=svc)
        if args.json:
            _emit({**report.to_dict(), "api_calls": svc.api_calls()})
        elif args.dry_run:
            print(terminal.render_dry_run(report, verbose=args.verbose))
        else:
            print(terminal.render_report(report, verbose=args.verbose))
    finally:
        svc.close()
    return EXIT_OK if report.status == "ok" else EXIT_ERRORS


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
    svc = _services()
    try:
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
    svc = _services() if args.item else _database_services()
    try:
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
    svc = _database_services()
    try:
        page = svc.service.conflicts(limit=1000)
        if args.json:
            _emit(
                {
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
            print(terminal.render_conflicts(page))
    finally:
        svc.close()
    return EXIT_OK


def cmd_runs(args: argparse.Namespace) -> int:
    if args.limit < 1:
        return _fail(EXIT_USAGE, "--limit must be at least 1")
    svc = _database_services()
    try:
        runs = svc.service.runs(args.limit)
        if args.json:
            _emit({"runs": [terminal.run_dict(r) for r in runs]})
        else:
            terminal.print_runs(runs, sys.stdout)
    finally:
        svc.close()
    return EXIT_OK


def cmd_audit(args: argparse.Namespace) -> int:
    if args.limit < 1:
        return _fail(EXIT_USAGE, "--limit must be at least 1")
    svc = _database_services()
    try:
        trail = svc.service.audit_trail(args.item, limit=args.limit)
        if args.json:
            _emit(
                {
                    "item": trail.item,
                    "subjects": list(trail.subjects),
                    "events": [terminal.audit_dict(e) for e in trail.events],
                }
            )
        elif args.csv:
            sys.stdout.write(terminal.audit_csv(trail))
        else:
            terminal.print_audit(trail, sys.stdout)
    finally:
        svc.close()
    return EXIT_OK


def cmd_fields(args: argparse.Namespace) -> int:
    if args.args and (args.args[0] != "map" or len(args.args) != 3):
        return _fail(EXIT_USAGE, 'usage: sellsync fields [map PROPERTY "Sell field"]')
    svc = _services()
    try:
        if args.args:
            check = svc.service.map_field(args.args[1], args.args[2], actor=CLI_ACTOR)
            print(f"{check.status}: {check.message}")
            return EXIT_OK if check.status != "refused" else EXIT_ERRORS
        for row in svc.service.fields():
            note = f"  [{row.status}] {row.note}" if row.status != "ok" else ""
            print(
                f"  {row.hubspot:<24} {terminal.DIRECTIONS[row.direction]:<15} {row.sell}  ({'/'.join(row.kinds)}){note}"
            )
    finally:
        svc.close()
    return EXIT_OK


def cmd_restore(args: argparse.Namespace) -> int:
    svc = _services()
    try:
        link = svc.service.restore(args.item, actor=CLI_ACTOR)
        print(
            f"restored: {link.sell} ↔ HubSpot {link.hubspot_id} is treated as never linked from the next sync"
        )
    finally:
        svc.close()
    return EXIT_OK


def cmd_db(args: argparse.Namespace) -> int:
    from storage.db import current_revision, upgrade

    url = _settings().database_url
    upgrade(url)
    print(f"database at revision {current_revision(url)}")
    return EXIT_OK


def cmd_serve(args: argparse.Namespace) -> int:
    from bot.serve import serve
    from bot.settings import SLACK_VARIABLES

    settings = _settings()
    settings.require(*SLACK_VARIABLES)
    if settings.slack_app_token:
        settings.require("slack_app_token")  # set, so Socket Mode: it must be a real token
    else:
        settings.require("slack_signing_secret")
    svc = _services("INFO")
    try:
        serve(
            settings,
            svc.service,
            scheduler=not args.no_scheduler,
            preflight=lambda: _startup_check(settings),
        )
    finally:
        svc.close()
    return EXIT_OK


def cmd_worker(args: argparse.Namespace) -> int:
    from bot.scheduler import run_worker
    from bot.settings import SLACK_VARIABLES

    settings = _settings()
    settings.require(*SLACK_VARIABLES)
    svc = _services("INFO")
    try:
        _startup_check(settings)
        run_worker(settings, svc.service)
    finally:
        svc.close()
    return EXIT_OK


def _startup_check(settings: AppSettings) -> None:
    from bot.check import startup_check

    startup_check(settings)


def cmd_check(args: argparse.Namespace) -> int:
    from bot.check import render, run_check
    from sync.preflight import passed

    settings = _settings()
    findings = run_check(settings)
    print(_scrub(render(findings)))
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
