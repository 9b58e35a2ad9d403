"""The ``/sellsync`` subcommand table is the one home of the subcommands: the manifests' usage
hint, ``/sellsync help``, the usage lines and the handlers all follow it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from bot import parsing as p
from bot.blocks.help import help_message
from bot.listeners.commands import HANDLERS

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("name", ["manifest.yml", "manifest.socket.yml"])
def test_both_manifests_usage_hint_is_the_one_the_table_produces(name: str) -> None:
    manifest = yaml.safe_load((ROOT / name).read_text())
    (command,) = manifest["features"]["slash_commands"]
    assert command["usage_hint"] == " | ".join(row.hint for row in p.TABLE)
    assert [part.split()[0] for part in command["usage_hint"].split(" | ")] == [
        row.name for row in p.TABLE
    ]


def test_help_shows_every_subcommand_of_the_table_with_its_help_and_who_may_run_it() -> None:
    text = json.dumps(help_message().to_dict(), ensure_ascii=False)
    for row in p.TABLE:
        assert json.dumps(f"`{row.usage}`", ensure_ascii=False)[1:-1] in text, row.name
        assert json.dumps(row.help, ensure_ascii=False)[1:-1] in text, row.name
        for form in row.forms:
            if form.managers is not None:
                assert f"Only managers can {form.managers}." in text, row.name


def test_usage_lines_are_the_tables_rows_in_order() -> None:
    assert tuple(row.name for row in p.TABLE) == p.SUBCOMMANDS
    assert "\n".join(row.usage for row in p.TABLE) == p.USAGE
    for row in p.TABLE:
        assert row.usage.startswith(f"/sellsync {row.name}")


def test_every_form_of_the_table_has_a_handler_and_no_instant_form_is_for_managers() -> None:
    for row in p.TABLE:
        for form in row.forms:
            assert form.value in HANDLERS, (row.name, form.value)
            # an instant form is answered inside the ack: asking Slack who is a manager there
            # could miss the three seconds Slack waits
            assert not (form.instant and form.managers), (row.name, form.value)
    produced = {form.value for row in p.TABLE for form in row.forms}
    assert set(HANDLERS) == produced


@pytest.mark.parametrize(
    ("text", "name", "instant", "managers"),
    [
        ("", "help", True, None),
        ("-h", "help", True, None),
        ("status", "status", True, None),
        ("status lead:1", "status", False, None),
        ("fields", "fields", False, None),
        ('fields map region "Region"', "fields", False, "map fields"),
        ("restore run:3", "restore", False, "restore deleted records"),
        ("run", "run", False, "start a sync"),
        ("threshold 60", "threshold", False, None),
    ],
)
def test_read_command_gives_the_forms_answer_and_gate(
    text: str, name: str, instant: bool, managers: str | None
) -> None:
    command, form = p.read_command(text)
    assert not isinstance(command, p.Invalid)
    row = p.subcommand(name)
    assert row is not None and form in row.forms
    assert (form.instant, form.managers) == (instant, managers)
    assert p.form_of(command) == form


def test_a_parsers_refusal_carries_its_rows_usage_and_unknown_words_all_of_it() -> None:
    command, form = p.read_command("restore")
    assert isinstance(command, p.Invalid) and form.instant
    assert command.usage == p.subcommand("restore").usage  # type: ignore[union-attr]
    unknown, _ = p.read_command("pause-everything")
    assert isinstance(unknown, p.Invalid) and unknown.usage == p.USAGE
