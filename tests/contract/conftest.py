"""Sandbox fixtures shared by the contract suites: one server set per module, reset per test."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, TypeVar

import pytest

from sandbox import Sandbox, SandboxLimits
from sync.clients.retry import RetryPolicy

SCALE = 10  # client suites: the sandbox and the clients run at 10x the real limits
FAST_RETRY = RetryPolicy(max_attempts=4, base_delay=0.01, max_delay=0.05, rate_limit_wait=0.01)

C = TypeVar("C")
_open: list[Any] = []


def closing(client: C) -> C:
    """Close ``client`` when the test ends."""
    _open.append(client)
    return client


@pytest.fixture(autouse=True)
def _close_clients() -> Iterator[None]:
    yield
    while _open:
        _open.pop().close()


@pytest.fixture(scope="module")
def scaled() -> Iterator[Sandbox]:
    """The servers enforcing the real limits times SCALE."""
    with Sandbox(seed="empty", limits=SandboxLimits(scale=SCALE)) as sandbox:
        yield sandbox


@pytest.fixture(scope="module")
def running() -> Iterator[Sandbox]:
    """The servers, without rate limits (suites that test limits set their own)."""
    with Sandbox(limits=SandboxLimits(enabled=False)) as sandbox:
        yield sandbox


@pytest.fixture
def sandbox(running: Sandbox) -> Sandbox:
    """The running servers with empty data, no faults, fresh logs and no limits."""
    running.reset("empty")
    running.limits.update(SandboxLimits(enabled=False).to_dict())
    return running


@pytest.fixture(scope="module")
def demo_running() -> Iterator[Sandbox]:
    """The servers seeded with the demo data (the `check` suites)."""
    with Sandbox(seed="demo") as sandbox:
        yield sandbox


@pytest.fixture
def sb(demo_running: Sandbox) -> Sandbox:
    """The demo servers, their data as seeded."""
    demo_running.reset("demo")
    return demo_running
