"""``sellsync``: the command line (SPEC §4).

Exit codes: 0 success, 1 the work had errors, 2 bad usage or configuration.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, NoReturn

from bot.settings import AppSettings, load_settings
from sync.engine import RunInProgress
from sync.errors import ApiError, ConfigError, SyncError
from sync.report import SyncReport
from sync.service import CLI_ACTOR, Explanation, Refused, StatusView

if TYPE_CHECKING:
    from bot.wiring import Services

EXIT_OK, EXIT_ERRORS, EXIT_USAGE = 0, 1, 2


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        self.print_usage(sys.stderr)
        self.exit(EXIT_USAGE, f"sellsync: {message}\n")


def _port(text: str) -> int:
    """A TCP port: ASCII digits, 1 to 65535 (``int()`` alone takes "-5" and "٣")."""
    if not (text.isascii() and text.isdigit() and 1 <= int(text) <= 65535):
        raise argparse.ArgumentTypeError(f"not a port number (1 to 65535): {text!r}")
    return int(text)


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(prog="sellsync", description="Keep Zendesk Sell and HubSpot in step, from Slack.")
    sub = p.add_subparsers(dest="command", required=True, parser_class=_Parser)

    s = sub.add_parser("sync", help="run one sync cycle now")
    s.add_argument("--dry-run", action="store_true", help="print the plan; write nothing anywhere")
    s.add_argument("--full", action="store_true", help="also re-check every link on both sides")
    s.add_argument("--json", action="store_true")

    s = sub.add_parser("push", help='push Sell records to HubSpot ("Add to HubSpot", S4)')
    s.add_argument(
        "items", nargs="+", metavar="ITEM", help="email, lead:ID, contact:ID, Sell URL, tag:NAME"
    )
    s.add_argument("--dry-run", action="store_true")
    s.add_argument("--json", action="store_true")

    s = sub.add_parser(
        "status", help="last and next run, counts; with ITEM: why it did or didn't sync"
    )
    s.add_argument("item", nargs="?", metavar="ITEM")
    s.add_argument("--json", action="store_true")

    s = sub.add_parser("conflicts", help="open merge conflicts")
    s.add_argument("--json", action="store_true")

    s = sub.add_parser(
        "fields", help="field mappings; \"fields map PROPERTY 'Sell field'\" adds one"
    )
    s.add_argument("args", nargs="*", metavar="map PROPERTY FIELD")

    s = sub.add_parser("restore", help="lift a tombstone (S5)")
    s.add_argument("item", metavar="ITEM")

    s = sub.add_parser("db", help="database maintenance")
    s.add_argument("action", choices=["upgrade"])

    s = sub.add_parser("serve", help="the Slack bot (HTTP or Socket Mode) plus the scheduler")
    s.add_argument("--no-scheduler", action="store_true")

    sub.add_parser("worker", help="the scheduler alone (one per deployment)")

    s = sub.add_parser("sandbox", help="run the stand-in HubSpot, Sell and Slack servers")
    s.add_argument("--hubspot-port", type=_port, default=8101)
    s.add_argument("--sell-port", type=_port, default=8102)
    s.add_argument("--slack-port", type=_port, default=8103)
    s.add_argument("--seed", choices=["demo", "empty"], default="demo")

    sub.add_parser("demo", help="the whole app on embedded defaults against the sandbox")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    handlers: dict[str, Callable[[argparse.Namespace], int]] = {
        "sync": cmd_sync,
        "push": cmd_push,
        "status": cmd_status,
        "conflicts": cmd_conflicts,
        "fields": cmd_fields,
        "restore": cmd_restore,
        "db": cmd_db,
        "serve": cmd_serve,
        "worker": cmd_worker,
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
        return text
    for s in secrets:
        if len(s) >= 6:
            text = text.replace(s, "***")
    return text


def _fail(code: int, message: str) -> int:
    print(f"sellsync: {_scrub(message)}", file=sys.stderr)
    return code


def _emit(data: Any) -> None:
    print(json.dumps(data, indent=2, default=str))


def _services() -> Services:
    from bot.wiring import build_services, configure_logging

    settings = _settings()
    configure_logging(settings)
    return build_services(settings)


# --------------------------------------------------------------------------- commands


def cmd_sync(args: argparse.Namespace) -> int:
    svc = _services()
    try:
        report = svc.service.run(
            actor=CLI_ACTOR, trigger="cli", dry_run=args.dry_run, full=args.full
        )
        if args.json:
            _emit({**report.to_dict(), "api_calls": svc.api_calls()})
        else:
            print(render_report(report))
            if args.dry_run:
                print(report.plan.render())
    finally:
        svc.close()
    return EXIT_OK if report.status == "ok" else EXIT_ERRORS


def cmd_push(args: argparse.Namespace) -> int:
    svc = _services()
    try:
        report = svc.service.push(args.items, actor=CLI_ACTOR, dry_run=args.dry_run)
        if args.json:
            _emit({**report.to_dict(), "api_calls": svc.api_calls()})
        else:
            print(render_report(report, title="Push"))
    finally:
        svc.close()
    return EXIT_OK if report.status == "ok" else EXIT_ERRORS


def cmd_status(args: argparse.Namespace) -> int:
    svc = _services()
    try:
        if args.item:
            explanation = svc.service.explain(args.item)
            _emit(explanation.to_dict()) if args.json else print(render_explanation(explanation))
        else:
            status = svc.service.status()
            _emit(status.to_dict()) if args.json else print(render_status(status))
    finally:
        svc.close()
    return EXIT_OK


def cmd_conflicts(args: argparse.Namespace) -> int:
    svc = _services()
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
            print(f"{page.total} open conflict(s)")
            for c in page.conflicts:
                print(
                    f"  #{c.id} {c.sell} ↔ HubSpot {c.hubspot_id} {c.field}: "
                    f"Sell {c.sell_value!r} vs HubSpot {c.hubspot_value!r}"
                )
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
                f"  {row.hubspot:<24} {row.direction:<15} {row.sell}  ({'/'.join(row.kinds)}){note}"
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
    from bot.settings import SLACK_VARIABLES
    from bot.web import serve

    settings = _settings()
    settings.require(*SLACK_VARIABLES)
    if not settings.slack_app_token:
        settings.require("slack_signing_secret")
    svc = _services()
    try:
        serve(settings, svc.service, scheduler=not args.no_scheduler)
    finally:
        svc.close()
    return EXIT_OK


def cmd_worker(args: argparse.Namespace) -> int:
    from bot.scheduler import run_worker
    from bot.settings import SLACK_VARIABLES

    settings = _settings()
    settings.require(*SLACK_VARIABLES)
    svc = _services()
    try:
        run_worker(settings, svc.service)
    finally:
        svc.close()
    return EXIT_OK


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
    from bot.demo import run_demo

    return int(run_demo())


# --------------------------------------------------------------------------- rendering


def render_report(report: SyncReport, *, title: str = "Sync") -> str:
    counts = report.counts()
    lines = [f"{title} {'(dry run) ' if report.dry_run else ''}{report.status}"]
    shown = ", ".join(f"{k.replace('_', ' ')}: {v}" for k, v in sorted(counts.items()))
    lines.append(f"  {shown or 'nothing to do'}")
    if report.not_qualified:
        lines.append(
            f"  list members below the threshold or without a score: {report.not_qualified}"
        )
    skipped = report.plan.skipped if report.dry_run else report.applied.skipped
    for s in skipped:
        lines.append(f"  skipped {s.item}: {s.reason}")
    for e in report.errors:
        lines.append(f"  error {e.item}: {e.reason}")
    for w in report.plan.warnings:
        lines.append(f"  warning: {w}")
    if report.failure:
        lines.append(f"  stopped: {report.failure} (the next run resumes where this one stopped)")
    return "\n".join(lines)


def render_status(status: StatusView) -> str:
    last = status.last_run
    lines = [
        f"threshold: {status.threshold}   list: {status.list_id}",
        "last run: "
        + (
            f"{last.started_at:%Y-%m-%d %H:%M} UTC, {last.status}, {dict(last.counts)}"
            if last
            else "never"
        ),
        f"next run: {status.next_run:%Y-%m-%d %H:%M} UTC"
        if status.next_run
        else "next run: not scheduled here",
        f"open conflicts: {status.open_conflicts}   pending approvals: {status.pending_requests}",
        "links: " + (", ".join(f"{k} {v}" for k, v in sorted(status.links.items())) or "none"),
    ]
    return "\n".join(lines)


def render_explanation(e: Explanation) -> str:
    return "\n".join([f"{e.item}: {e.verdict}", *(f"  {f}" for f in e.facts)])


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
