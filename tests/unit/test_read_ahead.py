"""Sell's pages read ahead of the migration: same items, same order, errors where they were,
bounded memory, and a consumer that stops early stops the reading thread."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import pytest

from sync.clients.read_ahead import read_ahead
from sync.errors import ApiError


def test_m2_read_ahead_hands_on_every_item_in_order() -> None:
    assert list(read_ahead(range(1234), page=100)) == list(range(1234))
    assert list(read_ahead([], page=100)) == []


def test_m2_read_ahead_reads_while_the_consumer_works() -> None:
    def slow_source() -> Iterator[int]:
        for i in range(4):
            time.sleep(0.05)  # a Sell page
            yield i

    started = time.perf_counter()
    for _ in read_ahead(slow_source(), page=1, pages=4):
        time.sleep(0.05)  # a HubSpot page
    assert time.perf_counter() - started < 0.37  # overlapped, not 0.4 s in turn


def test_m2_read_ahead_raises_the_sources_error_after_the_items_before_it() -> None:
    def failing() -> Iterator[int]:
        yield 1
        yield 2
        raise ApiError("sell", "Sell 500 after retries")

    seen: list[int] = []
    with pytest.raises(ApiError, match="after retries"):
        for item in read_ahead(failing(), page=1):
            seen.append(item)
    assert seen == [1, 2]


def test_m2_read_ahead_holds_at_most_its_pages_and_stops_when_the_consumer_leaves() -> None:
    read: list[int] = []
    done = threading.Event()

    def counted() -> Iterator[int]:
        try:
            for i in range(10_000):
                read.append(i)
                yield i
        finally:
            done.set()

    items = read_ahead(counted(), page=10, pages=2)
    assert next(items) == 0
    time.sleep(0.2)
    assert len(read) <= 10 * 4  # the chunk handed on, two queued, one being filled
    items.close()
    assert done.wait(2.0)  # the thread let go of the source
    assert len(read) < 100
