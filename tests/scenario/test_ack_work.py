"""What a ``/sellsync`` command costs the web process beyond its ack: commands whose ack is the
whole answer (the status board, help, bad input) start no background work; the others still do
theirs after the ack, as before."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from tests.scenario.conftest import Bot


@pytest.fixture
def submitted(bot: Bot, monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """The name of every function handed to the listener executor (acks and lazy work)."""
    names: list[str] = []
    submit = bot.executor.submit

    def counting(fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Any:
        names.append(getattr(fn, "__name__", repr(fn)))
        return submit(fn, *args, **kwargs)

    monkeypatch.setattr(bot.executor, "submit", counting)
    yield names


@pytest.mark.parametrize("text", ["status", "", "help", "frobnicate"])
def test_a_command_answered_in_the_ack_runs_only_its_ack(
    bot: Bot, submitted: list[str], text: str
) -> None:
    sent = bot.command(text)
    assert sent.status == 200
    assert sent.body["blocks"]  # the answer is the ack itself
    assert len(submitted) == 1, submitted  # no lazy call after it
    assert sent.replies() == []  # and nothing through response_url


@pytest.mark.parametrize("text", ["threshold", "status ann@example.com", "conflicts"])
def test_commands_with_work_after_the_ack_still_do_it(
    bot: Bot, submitted: list[str], text: str
) -> None:
    sent = bot.command(text)
    assert sent.status == 200
    assert len(submitted) == 2, submitted  # the ack, then the lazy work
    assert sent.replies(), "the answer comes through response_url"
