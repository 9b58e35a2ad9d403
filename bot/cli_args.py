"""The ``sellsync`` command line's grammar: subcommands, options, help texts and examples.

Only parsing: what each command does is ``bot/cli.py``, what it prints ``bot/terminal.py``.
Bad usage exits 2 with the usage line and one sentence (argparse's own ``error``, redirected).
"""

from __future__ import annotations

import argparse
import difflib
import sys
from collections.abc import Sequence
from datetime import UTC, datetime
from importlib.metadata import PackageNotFoundError, version
from typing import Any, NoReturn

EXIT_OK, EXIT_ERRORS, EXIT_USAGE = 0, 1, 2


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        self.print_usage(sys.stderr)
        self.exit(EXIT_USAGE, f"sellsync: {message}{_close_match(message, self)}\n")

    def parse_args(  # type: ignore[override]
        self, args: Sequence[str] | None = None, namespace: argparse.Namespace | None = None
    ) -> argparse.Namespace:
        """As argparse's, except that ``sellsync`` alone prints the command list (exit 2), and
        an unknown option is told against the options of the command it was given to, with
        the closest one suggested (``sync --dryrun``: did you mean --dry-run?)."""
        argv = list(sys.argv[1:] if args is None else args)
        if not argv:
            self.print_help(sys.stderr)
            self.exit(EXIT_USAGE, "\nsellsync: give a COMMAND (the list is above)\n")
        parsed, extras = self.parse_known_args(argv, namespace)
        if extras:
            command = _subcommand(self, getattr(parsed, "command", None))
            (command or self).error(f"unrecognized arguments: {' '.join(extras)}")
        return parsed


def _subcommand(
    parser: argparse.ArgumentParser, name: str | None
) -> argparse.ArgumentParser | None:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction) and name in action.choices:
            found: argparse.ArgumentParser = action.choices[name]
            return found
    return None


def _close_match(message: str, parser: argparse.ArgumentParser) -> str:
    """``; did you mean --dry-run?`` for an unknown option or command close to a real one."""
    if message.startswith("unrecognized arguments: "):
        words = [w.split("=", 1)[0] for w in message.split(": ", 1)[1].split()]
        known = [o for a in parser._actions for o in a.option_strings]
    elif message.startswith("argument COMMAND: invalid choice: "):
        words = [message.split("'")[1]] if message.count("'") >= 2 else []
        sub = next((a for a in parser._actions if isinstance(a, argparse._SubParsersAction)), None)
        known = list(sub.choices) if sub is not None else []
    else:
        return ""
    for word in words:
        close = difflib.get_close_matches(word, known, n=1, cutoff=0.7)
        if close:
            return f"; did you mean {close[0]}?"
    return ""


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


#: The most rows a --limit asks for (a database integer holds more; nobody reads more).
MAX_LIMIT = 1_000_000


def _count(text: str) -> int:
    """A --limit: ASCII digits, 1 to :data:`MAX_LIMIT` (a huge number would overflow the
    database's integer and end in a traceback)."""
    if not (text.isascii() and text.isdigit() and 1 <= int(text) <= MAX_LIMIT):
        raise argparse.ArgumentTypeError(f"not a number from 1 to {MAX_LIMIT:,}: {text!r}")
    return int(text)


def _since(text: str) -> datetime:
    """A date or time, in UTC unless it says otherwise: ``2026-12-01`` or ``2026-12-01T09:30``."""
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"not a date (YYYY-MM-DD or YYYY-MM-DDTHH:MM, UTC): {text!r}"
        ) from None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _run_id(text: str) -> int:
    """A run number: ASCII digits, 1 to 2**63 - 1 (what the database can hold)."""
    if not (text.isascii() and text.isdigit() and 1 <= int(text) < 2**63):
        raise argparse.ArgumentTypeError(f"not a run number: {text!r}")
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
        epilog="Run `sellsync COMMAND --help` for a command's options and examples. The sync "
        "rules (S1…S14, L1…L5) are explained in docs/rules.md.",
    )
    p.add_argument("--version", action="version", version=f"sellsync {_version()}")
    sub = p.add_subparsers(dest="command", required=True, parser_class=_Parser, metavar="COMMAND")

    s = _command(
        sub,
        "sync",
        "run one sync cycle now",
        [
            "sellsync sync",
            "sellsync sync --dry-run",
            "sellsync sync --dry-run --verbose",
            "sellsync sync --yes-bulk",
        ],
        "Shows progress while it runs: a bar on a terminal, a line every few seconds otherwise.\n"
        "Ctrl-C or SIGTERM stops it at the next page: what it did is kept, the run is recorded\n"
        "as interrupted, and it exits 130 (Ctrl-C) or 143 (SIGTERM); the next run resumes.",
    )
    s.add_argument("--dry-run", action="store_true", help="print the plan; write nothing anywhere")
    s.add_argument("--full", action="store_true", help="also re-check every link on both sides")
    s.add_argument(
        "--yes-bulk",
        action="store_true",
        help="create (or tombstone) what the bulk guard would hold for a manager: more than "
        "SYNC_BULK_LIMIT creations, or a mass of deleted links; approves a pending request",
    )
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
        "open merge conflicts; decide one, or every open conflict of one field",
        [
            "sellsync conflicts",
            "sellsync conflicts --json",
            "sellsync conflicts decide 42 keep-sell",
            "sellsync conflicts decide --field phone use-hubspot",
        ],
        "Listing reads the database only (no API token needed). `decide ID ACTION` decides one\n"
        "conflict as the Slack buttons do: keep-sell writes Sell's value to HubSpot, use-hubspot\n"
        "writes HubSpot's value to Sell, dismiss leaves both. `decide --field FIELD ACTION`\n"
        "decides every open conflict of that field, each audited on its own; one whose values\n"
        "changed meanwhile, or whose write is refused, stays open (exit 1).",
    )
    s.add_argument("--field", metavar="FIELD", help="with decide: every open conflict of FIELD")
    s.add_argument(
        "args",
        nargs=argparse.REMAINDER,
        metavar="decide ID ACTION | decide --field FIELD ACTION",
        help="decide one conflict, or every open conflict of FIELD",
    )
    s.add_argument("--json", action="store_true", help="as JSON")

    s = _command(
        sub,
        "health",
        "records that keep failing, with reasons",
        ["sellsync health", "sellsync health --json"],
        "A record is listed once its write failed on two runs in a row, a HubSpot event once it\n"
        "failed three times; each with the reason in words, its first and last failure and what\n"
        "to do. Retry now and Ignore are in Slack (/sellsync health). Reads the database only.",
    )
    s.add_argument("--json", action="store_true", help="as JSON")

    s = _command(
        sub,
        "runs",
        "run history: when, who or what started it, how it ended, its counts",
        ["sellsync runs", "sellsync runs --limit 100 --json"],
        "Reads the database only (no API token needed).",
    )
    s.add_argument("--limit", type=_count, default=20, metavar="N", help="newest N runs (20)")
    s.add_argument("--json", action="store_true", help="as JSON")

    s = _command(
        sub,
        "audit",
        "the audit trail: what changed, where, why and by whom",
        [
            "sellsync audit",
            "sellsync audit lead:123",
            "sellsync audit ann@example.com --csv > ann.csv",
            "sellsync audit --run 12 --csv > run12.csv",
            "sellsync audit --since 2026-12-01 --json",
            "sellsync audit --limit 5000",
        ],
        "ITEM is lead:ID, contact:ID, a Sell URL, an email or a HubSpot contact id; it shows\n"
        "the events of that record and of the record it is linked to. Reads the database only.\n"
        "The table shows the newest 100 events; --csv and --json export every event that\n"
        "matches (streamed, whatever their number) unless --limit is given. The CSV has one\n"
        "column per common detail (field, old, new, reason, summary) and the rest as JSON;\n"
        "a cell a spreadsheet would run as a formula (= + - @) starts with a single quote.",
    )
    s.add_argument("item", nargs="?", metavar="ITEM")
    s.add_argument(
        "--limit",
        type=_count,
        metavar="N",
        help="newest N events (the table: 100; --csv and --json: all)",
    )
    s.add_argument("--run", type=_run_id, metavar="N", help="only the events of run N")
    s.add_argument(
        "--since", type=_since, metavar="DATE", help="only events at or after DATE (UTC)"
    )
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
        "settings",
        "the approved settings (threshold, list, bulk_limit, pause, sell_mode): stored and "
        "from the environment",
        [
            "sellsync settings",
            "sellsync settings --json",
            "sellsync settings set threshold 60 --reason 'fewer, warmer leads'",
            "sellsync settings set list 12345 --reason 'the new webinar list'",
            "sellsync settings set bulk_limit 500 --reason 'the spring import'",
            "sellsync settings set pause on --reason 'CRM migration tonight'",
            "sellsync settings set sell_mode read_only --reason 'HubSpot is the CRM from today'",
            "sellsync settings set sell_mode retired --reason 'Sell shuts down' "
            "--confirm-unverified",
        ],
        "A setting lives in the database once a real sync (or serve, or worker) stored it; until\n"
        "then the environment's value applies (SYNC_THRESHOLD, HUBSPOT_LIST_ID, SYNC_BULK_LIMIT).\n"
        "The stored "
        "value wins, and every command says when it differs from the environment's.\n"
        "`settings set NAME VALUE --reason R` changes one now, as an approved request in Slack\n"
        "would (a list must exist in HubSpot); the change is audited as made from the command line.\n"
        "`settings set pause on|off` pauses or resumes the sync: no run starts while it is paused.\n"
        "`settings set sell_mode read_only` stops every write to Sell (its changes still reach\n"
        "HubSpot); `retired` stops every call to Sell and every sync. Retiring Sell before\n"
        "`sellsync migrate --verify` vouched for everything moved needs --confirm-unverified.",
    )
    s.add_argument(
        "args",
        nargs="*",
        metavar="set NAME VALUE",
        help="NAME is threshold, list, bulk_limit, pause or sell_mode",
    )
    s.add_argument("--reason", default="", help="why (required with set; audited)")
    s.add_argument(
        "--confirm-unverified",
        action="store_true",
        help="retire Sell although no verification vouches for everything the migration moved",
    )
    s.add_argument("--json", action="store_true", help="as JSON")

    s = _command(
        sub,
        "export",
        "write every Sell lead, contact, organization, note and user, and sellsync's own "
        "records, to a folder or a .zip",
        [
            "sellsync export ./sell-archive",
            "sellsync export sell-archive-2027-08.zip",
            "sellsync export ./sell-archive --force",
        ],
        "What a team keeps once Zendesk deletes Sell's data: each Sell table (leads, contacts,\n"
        "organizations, notes, users) as Sell sends it, and sellsync's links, tombstones,\n"
        "conflicts, settings history and audit trail, each as JSON Lines and as CSV, with\n"
        "manifest.json: every file's record count, size and sha256. Records are streamed, at\n"
        "the pace Sell allows. A PATH that exists and is not empty is refused unless --force\n"
        "(files of the same name are replaced). Needs SELL_ACCESS_TOKEN; refused while the Sell\n"
        "mode is retired (Sell is not called then).",
    )
    s.add_argument("path", metavar="PATH", help="a folder, or a file name ending in .zip")
    s.add_argument("--force", action="store_true", help="write into a PATH that is not empty")

    s = _command(
        sub,
        "restore",
        "lift a tombstone or a 'deleted in HubSpot' mark, or every one a run made",
        [
            "sellsync restore lead:123",
            "sellsync restore ann@example.com",
            "sellsync restore --run 42 --reason 'Sell answered empty pages'",
        ],
        "ITEM: a tombstone is lifted and the HubSpot contact is treated as never linked from\n"
        "the next sync; a 'deleted in HubSpot' mark is lifted and the link is active again.\n"
        "--run N: every link run N tombstoned or marked deleted in HubSpot is active again\n"
        "(`sellsync runs` lists the runs). A record really deleted is marked again by a later\n"
        "run. Audited, with the reason.",
    )
    s.add_argument("item", nargs="?", metavar="ITEM")
    s.add_argument("--run", type=_run_id, metavar="N", help="lift every mark run N made")
    s.add_argument("--reason", default="", metavar="TEXT", help="why (kept in the audit log)")
    s.add_argument("--json", action="store_true", help="as JSON")

    s = _command(
        sub,
        "migrate",
        "leave Sell: move leads, contacts, organizations, notes, owners and tags to HubSpot",
        [
            "sellsync migrate --dry-run",
            "sellsync migrate --dry-run --json > plan.json",
            "sellsync migrate --yes",
            "sellsync migrate --verify --csv differences.csv",
            "sellsync migrate --status",
        ],
        "--dry-run reads both sides and prints what would move; it writes nothing. --yes moves\n"
        "it all at the pace HubSpot allows; stopped (Ctrl-C) or killed, run it again: it resumes\n"
        "without duplicates, and a complete run run again writes nothing. Without --yes a\n"
        "terminal is shown the plan and asked to confirm; anything else exits 2. --verify reads\n"
        "both sides again and names every difference; it exits 0 only when nothing differs.\n"
        "Refused records are listed with the reason (exit 1); the run goes on without them.\n"
        "The steps, and what comes after (export, read_only, retired): docs/leaving-sell.md.",
    )
    mode = s.add_mutually_exclusive_group()
    mode.add_argument("--dry-run", action="store_true", help="the plan only; write nothing")
    mode.add_argument("--yes", action="store_true", help="move it all without asking")
    mode.add_argument(
        "--verify", action="store_true", help="compare both sides; exit 1 on any difference"
    )
    mode.add_argument("--status", action="store_true", help="the last verification (database only)")
    s.add_argument("--csv", metavar="FILE", help="with --verify: every difference as CSV")
    s.add_argument("--json", action="store_true", help="as JSON")

    s = _command(sub, "db", "database maintenance", ["sellsync db upgrade"])
    s.add_argument("action", choices=["upgrade"])

    s = _command(
        sub,
        "serve",
        "the Slack bot (HTTP or Socket Mode) plus the scheduler",
        ["sellsync serve", "sellsync serve --no-scheduler   # web only; run `sellsync worker`"],
    )
    s.add_argument("--no-scheduler", action="store_true", help="web only (run a worker too)")

    s = _command(
        sub,
        "worker",
        "the scheduler alone (one per deployment)",
        [
            "sellsync worker",
            "LOG_FORMAT=json sellsync worker",
            "sellsync worker --healthcheck   # a container's health check",
        ],
        "With --healthcheck it starts nothing: it exits 0 while the newest scheduler heartbeat\n"
        "in the database is younger than three minutes (a scheduler records one a minute), 1\n"
        "otherwise, also when the database does not answer. No API token is needed.",
    )
    s.add_argument(
        "--healthcheck",
        action="store_true",
        help="exit 0 if a scheduler recorded a heartbeat in the last 3 minutes, else 1",
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
