"""What a run decided so far, as one value the planner owns.

A run reads a pair from several feeds (a lead's conversion, the Sell change feed, the HubSpot
change feed, the link check …). Once one of them decided the pair, the later ones leave it be:
:class:`RunState` says which pairs that is. The planner records into it as it decides; the run
only asks. A dry run needs it as much as a real one: its store still holds what it did not
write (a converted lead's old link, a link a HubSpot contact merge moved).
"""

from __future__ import annotations

from collections.abc import Iterable

from sync.domain import Link, LinkState, SellRef


class RunState:
    def __init__(self) -> None:
        self._handled: set[str] = set()  # HubSpot ids whose pair this run read and decided
        self._followed: set[SellRef] = set()  # converted leads whose link this run moved (L1)
        self._moved: dict[SellRef, Link] = {}  # … and the links as moved
        self._absorb_decided: set[SellRef] = set()  # records a HubSpot contact merge decided (L2)

    # ------------------------------------------------------------- pairs
    def handle(self, hubspot_ids: Iterable[str]) -> None:
        """These contacts' pairs were read and decided: later feeds of this run skip them."""
        self._handled.update(hubspot_ids)

    def handled(self, hubspot_id: str) -> bool:
        return hubspot_id in self._handled

    @property
    def handled_ids(self) -> set[str]:
        return set(self._handled)

    # --------------------------------------------------------- L1 and L2
    def conversion_followed(self, lead: SellRef, moved: Link | None = None) -> None:
        """L1: the converted lead's link moved (to ``moved``, when it did not become a tombstone)."""
        self._followed.add(lead)
        if moved is not None:
            self._moved[lead] = moved

    def was_followed(self, lead: SellRef) -> bool:
        return lead in self._followed

    def as_moved(self, link: Link) -> Link:
        """``link`` as this run's conversions left it (a dry run's store still has the lead)."""
        return self._moved.get(link.sell, link)

    def absorb_decided(self, record: SellRef) -> None:
        """L2: a HubSpot contact merge decided this record's link (moved or held it)."""
        self._absorb_decided.add(record)

    def still_to_check(self, link: Link) -> bool:
        """An active link no lifecycle event of this run decided: the deletion checks read it."""
        return link.state is LinkState.ACTIVE and link.sell not in self._absorb_decided
