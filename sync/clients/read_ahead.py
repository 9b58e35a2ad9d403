"""Reading a paged source ahead of its consumer, on a thread of its own, a few pages at most.

Leaving Sell reads Sell and writes HubSpot, each at its own rate limit. Read in turn, the move
takes the sum of both; with Sell's next pages read while HubSpot is written, it takes about the
slower of the two. :func:`read_ahead` hands on the items of an iterator in their order while a
daemon thread reads them ahead, holding at most ``pages`` chunks of ``page`` items (so memory
stays flat whatever the source's length). An error the source raises is raised to the consumer
where it would have met it; a consumer that stops early (closes the generator, or drops it)
stops the thread at its next item.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Generator, Iterable
from dataclasses import dataclass
from typing import TypeVar

T = TypeVar("T")

#: How long the reading thread waits for room before it checks whether the consumer left.
_POLL_SECONDS = 0.1


@dataclass(frozen=True)
class _End:
    error: BaseException | None = None


def read_ahead(
    items: Iterable[T], *, page: int = 100, pages: int = 2, name: str = "read-ahead"
) -> Generator[T, None, None]:
    """``items``, in order, read up to ``pages`` chunks of ``page`` items ahead of the caller."""
    chunks: queue.Queue[list[T] | _End] = queue.Queue(maxsize=max(1, pages))
    left = threading.Event()

    def put(chunk: list[T] | _End) -> bool:
        while not left.is_set():
            try:
                chunks.put(chunk, timeout=_POLL_SECONDS)
            except queue.Full:
                continue
            return True
        return False

    source = iter(items)

    def pump() -> None:
        try:
            chunk: list[T] = []
            for item in source:
                chunk.append(item)
                if len(chunk) >= page:
                    if not put(chunk):
                        return
                    chunk = []
            if chunk and not put(chunk):
                return
            put(_End())
        except BaseException as exc:  # handed to the consumer, raised where it reads
            put(_End(exc))
        finally:
            close = getattr(source, "close", None)
            if close is not None:  # a generator left early lets go of what it holds now
                close()

    thread = threading.Thread(target=pump, name=name, daemon=True)
    thread.start()
    try:
        while True:
            got = chunks.get()
            if isinstance(got, _End):
                if got.error is not None:
                    raise got.error
                return
            yield from got
    finally:
        left.set()
