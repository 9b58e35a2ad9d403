"""The synced list's members, the members never evaluated, and every link for ``--full``.

Members are the one per-run read that grows with the list; the ones never evaluated (new to
the list, or all of them after a settings change) are read in chunks of 100, HubSpot's batch
size. A full run also walks every stored link, catching deletions no change feed reports.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from sync.domain import Link
from sync.ports import HubSpotPort, Store

CHUNK = 100


def list_members(hubspot: HubSpotPort, list_id: str) -> Iterator[set[str]]:
    """The list's member ids, page by page."""
    for page in hubspot.list_member_pages(list_id):
        yield set(page)


def never_evaluated(members: Iterable[str], evaluated: set[str]) -> Iterator[list[str]]:
    """Members not in ``evaluated``, in id order, in chunks of :data:`CHUNK`."""
    fresh = sorted((m for m in members if m not in evaluated), key=_id_key)
    for start in range(0, len(fresh), CHUNK):
        yield fresh[start : start + CHUNK]


def all_links(store: Store) -> Iterator[list[Link]]:
    """Every stored link, in batches of :data:`CHUNK` (the ``--full`` re-check)."""
    yield from store.iter_links(batch_size=CHUNK)


def _id_key(value: str) -> tuple[int, str]:
    return (int(value), value) if value.isdigit() else (0, value)
