"""Through the real app: the dispatcher answers from the subcommand table (a new subcommand is
one row and its handler), the managers-only gate comes from the table, and the ack's path parses
the command once."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import pytest

from bot import parsing as p
from bot.blocks.common import notice
from bot.listeners import commands
from tests.scenario.conftest import MANAGER, REP, Bot, block_text


@dataclass(frozen=True)
class Ping:
    loud: bool = False


@dataclass(frozen=True)
class Secret:
    pass


# a new value joins the parser's Command union in bot/parsing.py; here it stays outside it
def _parse_ping(args: list[str]) -> Any:
    if args and args != ["loud"]:
        return "ping takes only “loud”"
    return Ping(loud=bool(args))


PING = p.Subcommand("ping", ("[loud]",), "Answer pong.", _parse_ping, (p.Form(Ping, instant=True),))
SECRET = p.Subcommand(
    "secret",
    (),
    "Tell a secret.",
    lambda args: Secret(),  # type: ignore[arg-type,return-value]
    (p.Form(Secret, managers="hear secrets"),),
)


@pytest.fixture
def extended(monkeypatch: pytest.MonkeyPatch) -> None:
    """Two subcommands added as a row each plus a handler each, and nothing else."""
    monkeypatch.setattr(p, "TABLE", (*p.TABLE, PING, SECRET))
    monkeypatch.setitem(
        commands.HANDLERS,
        Ping,
        commands.Handler[Ping](lambda ctx, c: notice("PONG" if c.loud else "pong")),
    )
    monkeypatch.setitem(
        commands.HANDLERS,
        Secret,
        commands.Handler[Secret](
            lambda ctx, c: notice(f"the secret, for {ctx.user}"),
            acked=lambda c: notice("Looking it up…"),
        ),
    )


def test_a_new_subcommand_is_one_table_row_and_its_handler(bot: Bot, extended: None) -> None:
    sent = bot.command("ping loud")
    assert sent.body["response_type"] == "ephemeral" and sent.body["text"] == "PONG"
    assert sent.replies() == []  # instant: answered inside the ack, nothing after it
    bad = bot.command("ping twice")
    assert "ping takes only" in bad.body["text"]
    assert "/sellsync ping [loud]" in block_text(bad.body["blocks"])
    help_text = block_text(bot.command("help").body["blocks"])
    assert "/sellsync ping [loud]" in help_text and "Answer pong." in help_text
    assert "Only managers can hear secrets." in help_text

    later = bot.command("secret", user=MANAGER)
    assert later.body["text"] == "Looking it up…"
    assert f"the secret, for {MANAGER}" in later.reply()["text"]


def test_the_managers_only_gate_comes_from_the_table(
    bot: Bot, extended: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    refused = bot.command("secret", user=REP).reply()
    assert "only managers can hear secrets" in refused["text"]
    assert refused["response_type"] == "ephemeral" and refused["replace_original"] is False
    assert "the secret" not in refused["text"]

    # a subcommand anyone runs becomes managers-only by its row alone
    fields = p.subcommand("fields")
    assert fields is not None
    gated = replace(fields, forms=(p.Form(p.Fields, managers="list the fields"),))
    monkeypatch.setattr(p, "TABLE", tuple(gated if r is fields else r for r in p.TABLE))
    assert "only managers can list the fields" in bot.command("fields", user=REP).reply()["text"]
    assert "first_name" in block_text(bot.command("fields", user=MANAGER).reply()["blocks"])


def test_the_ack_path_parses_the_command_once(bot: Bot, monkeypatch: pytest.MonkeyPatch) -> None:
    reads: list[str | None] = []
    real = p.read_command

    def counting(text: str | None) -> tuple[p.Command, p.Form]:
        reads.append(text)
        return real(text)

    monkeypatch.setattr(p, "read_command", counting)
    bot.command("status", settle=True)
    assert reads == ["status"]  # the matcher parses; the ack reads what it left
    reads.clear()
    bot.command("threshold", user=REP)
    # once for the matcher and the ack, once in the lazy work (a copy of the request)
    assert reads == ["threshold", "threshold"]
