"""Thin Bolt listeners: ack, parse, call one service function, render with a builder, answer.

Each module (commands, shortcuts, actions, views, events) has a ``register(app, deps)``;
:func:`register_all` registers them all. What they share lives in :mod:`bot.listeners.common`.
"""

from __future__ import annotations

from slack_bolt import App

from bot.listeners import (
    actions,
    commands,
    conflicts_bulk,
    events,
    functions,
    health,
    shortcuts,
    unfurls,
    views,
)
from bot.listeners.common import Body, Deps, guarded, report_error, tell, user_message

__all__ = ["Body", "Deps", "guarded", "register_all", "report_error", "tell", "user_message"]


def register_all(app: App, deps: Deps) -> None:
    for module in (
        commands,
        shortcuts,
        actions,
        views,
        events,
        unfurls,
        functions,
        health,
        conflicts_bulk,
    ):
        module.register(app, deps)
