"""Absence from a bulk read is no proof of deletion: each record left out is read alone.

Sell's ``GET /v2/leads?ids=…`` answers only with the records the token's user may see, and an
empty page is a valid answer; HubSpot's ``batch/read`` names the ids it does not know, but an
answer may also just leave some out. A changed role, a swapped token or a proxy then looks like
a mass deletion. So a client reads every id a bulk read left out (without naming it gone) on its
own, where the service must say one way or the other:

* a 404 saying the record does not exist (Sell's ``not_found``, HubSpot's ``OBJECT_NOT_FOUND``)
  proves the deletion;
* the record coming back means it exists (it is used as read);
* anything else (401/403, server errors after retries, a mis-shaped answer) raises and stops
  the run: nothing is marked deleted on a guess.

A whole page that vanished costs one read per record only while the records read alone keep
proving their deletion (a real bulk deletion, which needs that proof record by record). Once
:data:`CONFIRM_LIMIT` of them came back, the bulk read is known to lie, and reading the rest
one by one (up to 100 calls a page) would only delay the same verdict: the run stops with
:class:`~sync.errors.UnprovenAbsence`, which names how many were left out, before any of the
page's records is marked deleted.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TypeVar

from sync.errors import UnprovenAbsence

#: Records a bulk read left out that may come back when read alone before the read is
#: distrusted and the run stops (fewer left out are all read).
CONFIRM_LIMIT = 3

K = TypeVar("K")
R = TypeVar("R")


def confirm_absent(
    absent: Sequence[K],
    read_one: Callable[[K], R | None],
    *,
    service: str,
    asked: int,
    noun: str,
) -> dict[K, R]:
    """Read each id of ``absent`` (left out of a bulk read of ``asked`` ids) alone, in order.

    ``read_one`` returns the record, None when the service proved it does not exist, or raises.
    → the records that came back (the ids not in it are proven gone). Raises
    :class:`~sync.errors.UnprovenAbsence` once :data:`CONFIRM_LIMIT` came back while more are
    left to read.
    """
    back: dict[K, R] = {}
    for done, key in enumerate(absent, start=1):
        record = read_one(key)
        if record is None:
            continue
        back[key] = record
        if len(back) >= CONFIRM_LIMIT and done < len(absent):
            raise UnprovenAbsence(
                service, absent=len(absent), asked=asked, noun=noun, back=len(back)
            )
    return back
