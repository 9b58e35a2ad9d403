"""The web process moves its start-up objects out of the collector's reach before it answers
(the Slack ack's p99 tail beside a busy sync was full collections walking them)."""

from __future__ import annotations

import gc
import inspect
from collections.abc import Iterator

import pytest

from bot import serve
from bot.web import settle_heap


@pytest.fixture
def unfrozen() -> Iterator[None]:
    gc.unfreeze()
    yield
    gc.unfreeze()


def test_settling_the_heap_freezes_what_start_up_made(unfrozen: None) -> None:
    assert gc.get_freeze_count() == 0
    kept = [object() for _ in range(1000)]
    frozen = settle_heap()
    assert frozen == gc.get_freeze_count() >= len(kept)
    assert gc.collect() >= 0  # collections still run, on what is made afterwards


def test_serve_settles_the_heap_just_before_it_answers() -> None:
    source = inspect.getsource(serve.serve)
    assert source.index("settle_heap()") < source.index("_Server(")
