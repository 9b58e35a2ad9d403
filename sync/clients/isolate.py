"""Find the bad inputs of a refused batch, so one bad record never blocks the others (S14).

HubSpot answers a batch write either per input (a result or an error for each) or, for some
faults, by refusing the whole batch because of one input. This module holds the algorithm for
the second case, apart from HTTP and from HubSpot's wire format, so that it can be read and
tested on its own: :func:`isolate` sends a batch through a ``send`` callable; when the batch is
refused it fails the inputs the refusal names and sends the rest again, or, when the refusal
names none, splits the batch in two and isolates each half. A batch of one that is refused is
that input's failure.

Cost: a refusal that names its culprits costs one more request; one that names none costs about
``2 * log2(n)`` requests per bad input, and the good inputs are still written.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

W = TypeVar("W")  # one input of the batch
R = TypeVar("R")  # the result for one input
E = TypeVar("E")  # why a whole batch was refused


@dataclass(frozen=True)
class BatchRefused(Generic[E]):
    """``send``'s answer when the whole batch was refused, for ``reason``."""

    reason: E


def isolate(
    batch: Sequence[W],
    send: Callable[[list[W]], Mapping[str, R] | BatchRefused[E]],
    *,
    key: Callable[[W], str],
    culprits: Callable[[list[W], E], Sequence[W]],
    failure: Callable[[W, E], R],
) -> dict[str, R]:
    """A result for every input of ``batch``, by ``key``.

    * ``send(inputs)`` writes ``inputs`` and returns their results by key, or :class:`BatchRefused`.
    * ``culprits(inputs, reason)`` names the inputs a refusal blames (possibly none).
    * ``failure(input, reason)`` is the result of an input that was refused.
    """
    out: dict[str, R] = {}
    pending = list(batch)
    while pending:
        outcome = send(pending)
        if not isinstance(outcome, BatchRefused):
            out.update(outcome)
            return out
        reason = outcome.reason
        named = pending if len(pending) == 1 else list(culprits(pending, reason))
        if named:
            for item in named:
                out[key(item)] = failure(item, reason)
            blamed = {key(item) for item in named}
            pending = [item for item in pending if key(item) not in blamed]
            continue
        mid = len(pending) // 2
        for half in (pending[:mid], pending[mid:]):
            out.update(isolate(half, send, key=key, culprits=culprits, failure=failure))
        return out
    return out
