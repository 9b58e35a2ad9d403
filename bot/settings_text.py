"""The approved settings in words, for the terminal and the log: ``sellsync settings``, the
one line every command shows when a stored value differs from the environment's, and the
answer to ``sellsync settings set``."""

from __future__ import annotations

from typing import Any

from sync.api import HowToSet, Origin, Refused, RunsHeld, SettingChanged, SettingRow, SettingsView

ORIGIN_WORDS = {
    Origin.APPROVED: "approved in Slack",
    Origin.COMMAND_LINE: "set from the command line",
    Origin.FIRST_SYNC: "stored by the first sync",
}


def _plain(value: str) -> str:
    """A value as one line of plain text: no control characters reach the terminal."""
    return "".join(c if c.isprintable() else "?" for c in value)


def how_to(how: HowToSet) -> str:
    r"""``\`sellsync settings set pause off --reason …\` or /sellsync resume``: how a person
    sets a setting, from a terminal and (where a subcommand asks for it) from Slack."""
    terminal = f"`sellsync settings set {how.command} {how.value} --reason …`"
    return terminal if how.slack_args is None else f"{terminal} or /sellsync {how.slack_args}"


def how_to_change(row: SettingRow, value: str) -> str:
    return how_to(row.entry.how_to_set(value))


def refusal_text(error: Refused) -> str:
    """A refusal in one line; one that held a run says how to let runs go again."""
    if isinstance(error, RunsHeld):
        return f"{error}; {error.held.action} with {how_to(error.held.undo)}"
    return str(error)


def difference_line(row: SettingRow) -> str:
    """``threshold: stored 40 (approved in Slack) differs from SYNC_THRESHOLD=77; the stored
    value wins — change it with …``."""
    stored, env = _plain(row.stored or ""), _plain(row.environment or "")
    origin = f" ({ORIGIN_WORDS[row.origin]})" if row.origin is not None else ""
    return (
        f"{row.command}: stored {stored}{origin} differs from {row.variable}={env}; the "
        f"stored value wins — change it with {how_to_change(row, env)}"
    )


def difference_lines(rows: list[SettingRow]) -> list[str]:
    return [difference_line(r) for r in rows if r.differs]


def render_settings(view: SettingsView) -> str:
    lines = []
    for row in view.rows:
        stored = _plain(row.stored) if row.stored is not None else "not stored yet"
        env = _plain(row.environment) if row.environment is not None else "not set"
        origin = f" ({ORIGIN_WORDS[row.origin]})" if row.origin is not None else ""
        variable = f"  {row.variable}: {env}" if row.variable is not None else ""
        lines.append(
            f"{row.command:<10} in force {_plain(row.in_force) or '(none)'}  "
            f"stored: {stored}{origin}{variable}"
        )
    if view.custom_mappings:
        mapped = ", ".join(
            f"{_plain(m.hubspot_property)} → {_plain(m.sell_field)}" for m in view.custom_mappings
        )
        lines.append(f"{'mappings':<10} {mapped}  (sellsync fields)")
    lines.extend(difference_lines(list(view.rows)))
    if any(r.stored is None and r.entry.seeded for r in view.rows):
        lines.append(
            "A setting not stored yet takes the environment's value; the first real sync "
            "(or serve, or worker) stores it."
        )
    return "\n".join(lines)


def settings_dict(view: SettingsView) -> dict[str, Any]:
    return {
        "settings": [
            {
                "name": r.command,
                "in_force": r.in_force,
                "stored": r.stored,
                "origin": None if r.origin is None else r.origin.value,
                "variable": r.variable,
                "environment": r.environment,
                "differs": r.differs,
            }
            for r in view.rows
        ],
        "custom_mappings": [
            {"hubspot_property": m.hubspot_property, "sell_field": m.sell_field}
            for m in view.custom_mappings
        ],
        "version": view.version,
    }


def changed_line(change: SettingChanged) -> str:
    line = f"{change.entry.command}: {_plain(change.old) or '(none)'} → {_plain(change.new)} "
    if not change.entry.replans:
        return line + "(from the next sync)"
    return line + (
        f"(settings version {change.version}; every list member is evaluated again at the "
        "next sync)"
    )
