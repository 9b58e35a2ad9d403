"""The settings `sellsync check` runs with against the sandbox (the `check` suites)."""

from __future__ import annotations

from pathlib import Path

from bot.settings import AppSettings
from sandbox.server import Sandbox

WRONG_SELL_TOKEN = "wrong-sell-token".ljust(64, "0")


def settings_for(sb: Sandbox, tmp_path: Path, **changes: str) -> AppSettings:
    env = sb.settings_env(f"sqlite:///{tmp_path}/check.db") | changes
    return AppSettings(_env_file=None, **{k.lower(): v for k, v in env.items()})  # type: ignore[arg-type]
