"""``sellsync health [--json]`` and ``sellsync conflicts decide …`` on the command line.

* ``health``: records and events that keep failing, with the reason in words, when they first
  and last failed, and what to do; reads the database only.
* ``conflicts decide ID keep-sell|use-hubspot|dismiss``: one conflict, as the Slack buttons
  decide it; ``conflicts decide --field FIELD ACTION``: every open conflict of one field, each
  decided and audited on its own (the command line acts as a manager).

Bad usage is one line and exit 2; a decision some conflicts of which stayed open exits 1.
Every CRM value printed goes through :func:`bot.terminal.outside`.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from bot import cli_services, terminal
from bot.blocks.common import plural, stamp
from bot.cli_args import EXIT_ERRORS, EXIT_OK, EXIT_USAGE
from sync.api import (
    CLI_ACTOR,
    ConflictAction,
    FieldDecision,
    HealthEntry,
    HealthView,
    field_label,
)

DECIDE_USAGE = (
    "usage: sellsync conflicts decide ID keep-sell|use-hubspot|dismiss, or "
    "decide --field FIELD keep-sell|use-hubspot|dismiss"
)

#: The command line's words for each decision.
ACTIONS = {
    "keep-sell": ConflictAction.KEEP_SELL,
    "use-hubspot": ConflictAction.USE_HUBSPOT,
    "dismiss": ConflictAction.DISMISS,
}

_DONE = {
    ConflictAction.KEEP_SELL: "kept Sell's value (written to HubSpot)",
    ConflictAction.USE_HUBSPOT: "used HubSpot's value (written to Sell)",
    ConflictAction.DISMISS: "dismissed (both sides keep their values)",
}


def _usage(reason: str) -> int:
    """Bad usage: one line, the reason and the usage, exit 2."""
    print(f"sellsync: {terminal.outside(reason)} ({DECIDE_USAGE})", file=sys.stderr)
    return EXIT_USAGE


# --------------------------------------------------------------------------- health


def render_health(view: HealthView) -> str:
    if not view.entries:
        lines = ["Nothing keeps failing."]
    else:
        lines = [f"{plural(view.count, 'record')} keep failing:"]
        for entry in view.entries:
            lines += _entry_lines(entry)
    if view.ignored:
        lines.append(
            f"{plural(len(view.ignored), 'ignored record')} not listed (--json lists them)."
        )
    return "\n".join(lines)


def _entry_lines(entry: HealthEntry) -> list[str]:
    names = [str(entry.sell)] if entry.sell is not None else []
    if entry.hubspot_id:
        names.append(f"HubSpot {entry.hubspot_id}")
    title = " ↔ ".join(names) or entry.key
    if entry.kind == "event":
        title = f"HubSpot event #{entry.key.removeprefix('event:')} for {title}"
    return [
        f"  {terminal.outside(title)}  [{terminal.outside(entry.key)}]",
        f"    {terminal.outside(entry.reason.words)}",
        f"    failed {plural(entry.failures, 'time')}, first "
        f"{stamp(entry.first_failed_at)}, last {stamp(entry.last_failed_at)}",
        f"    what to do: {entry.reason.advice}",
    ]


def cmd_health(args: argparse.Namespace) -> int:
    svc = cli_services.database_services()
    try:
        view = svc.service.health()
    finally:
        svc.close()
    if args.json:
        print(json.dumps(view.to_dict(), indent=2, default=str))
    else:
        print(render_health(view))
    return EXIT_OK


# --------------------------------------------------------------------------- conflicts decide


def cmd_conflicts_decide(args: argparse.Namespace) -> int:
    """``conflicts decide …``: the words after ``conflicts`` are in ``args.args``."""
    words: list[str] = []
    field: str | None = args.field
    json_out: bool = args.json
    given = iter(args.args)  # after the first word, --field and --json may come anywhere
    for word in given:
        if word == "--json":
            json_out = True
        elif word == "--field":
            field = next(given, "")
        elif word.startswith("--field="):
            field = word.removeprefix("--field=")
        elif word.startswith("-") and not word.lstrip("-").isdigit():
            return _usage(f"unrecognized option {word[:40]!r}")
        else:
            words.append(word)
    if not words or words[0] != "decide":
        return _usage(f"unknown conflicts action {' '.join(words)[:60]!r}")
    rest = words[1:]
    if field is not None:
        if not field.strip():
            return _usage("--field needs a field name")
        if len(rest) != 1:
            return _usage("give --field FIELD and one decision")
        action_word = rest[0]
        conflict_id = None
    else:
        if len(rest) != 2:
            return _usage("give a conflict number and a decision")
        id_word, action_word = rest
        if not (id_word.isascii() and id_word.isdigit() and 0 < int(id_word) < 2**63):
            return _usage(f"{id_word[:40]!r} is not a conflict number")
        conflict_id = int(id_word)
    action = ACTIONS.get(action_word.strip().lower().replace("_", "-"))
    if action is None:
        return _usage(f"{action_word[:40]!r} is not keep-sell, use-hubspot or dismiss")
    # Keep Sell and Use HubSpot read both CRMs before they write; Dismiss writes nothing there
    needs_crms = action is not ConflictAction.DISMISS
    svc = cli_services.services() if needs_crms else cli_services.database_services()
    try:
        if conflict_id is not None:
            _, changed = svc.service.resolve_conflict(conflict_id, action, actor=CLI_ACTOR)
            if json_out:
                _emit({"id": conflict_id, "action": action.value, "decided": changed})
            elif changed:
                print(f"Conflict #{conflict_id}: {_DONE[action]}.")
            else:
                print(f"Conflict #{conflict_id} was already decided (nothing written).")
            return EXIT_OK
        assert field is not None
        result = svc.service.resolve_conflicts_of_field(field.strip(), action, actor=CLI_ACTOR)
    finally:
        svc.close()
    if json_out:
        _emit(result.to_dict())
    else:
        print(render_field_decision(result))
    return EXIT_OK if not (result.changed or result.refused) else EXIT_ERRORS


def render_field_decision(result: FieldDecision) -> str:
    label = terminal.outside(field_label(result.field))
    lines = [f"{label}: {plural(len(result.decided), 'conflict')} {_DONE[result.action]}."]
    if result.already:
        lines.append(f"  {len(result.already):,} already decided by someone else.")
    if result.changed:
        lines.append(
            f"  {len(result.changed):,} changed since they were opened (nothing written; "
            "review them: sellsync conflicts)."
        )
    for conflict, why in result.refused:
        lines.append(f"  #{conflict.id} still open: {terminal.outside(why)}")
    return "\n".join(lines)


def _emit(data: Any) -> None:
    print(json.dumps(data, indent=2, default=str))
